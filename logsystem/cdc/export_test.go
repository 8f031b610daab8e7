package cdc

// ParseDecimalFast is parseDecimalFast, for tests.
var ParseDecimalFast = parseDecimalFast
