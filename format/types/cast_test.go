package types

import "testing"

// LosslessCast is the widening table schema evolution documents.
func TestLosslessCast(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"TINYINT", "SMALLINT", true}, {"SMALLINT", "INT", true}, {"INT", "BIGINT", true}, {"TINYINT", "BIGINT", true},
		{"BIGINT", "INT", false}, {"INT", "SMALLINT", false},
		{"TINYINT", "FLOAT", true}, {"SMALLINT", "FLOAT", true}, {"INT", "FLOAT", false},
		{"INT", "DOUBLE", true}, {"BIGINT", "DOUBLE", false}, {"FLOAT", "DOUBLE", true}, {"DOUBLE", "FLOAT", false},
		{"INT", "DECIMAL(10, 0)", true}, {"INT", "DECIMAL(12, 2)", true}, {"INT", "DECIMAL(11, 2)", false}, {"BIGINT", "DECIMAL(19, 0)", true},
		{"DECIMAL(5, 2)", "DECIMAL(7, 2)", true}, {"DECIMAL(5, 2)", "DECIMAL(7, 4)", true}, {"DECIMAL(5, 2)", "DECIMAL(6, 4)", false},
		{"DECIMAL(5, 2)", "DECIMAL(5, 1)", false}, {"DECIMAL(5, 2)", "DOUBLE", false}, {"DOUBLE", "DECIMAL(38, 10)", false},
		{"CHAR(3)", "VARCHAR(3)", true}, {"CHAR(3)", "STRING", true}, {"CHAR(3)", "CHAR(5)", false}, {"CHAR(3)", "VARCHAR(2)", false},
		{"VARCHAR(3)", "VARCHAR(10)", true}, {"STRING", "VARCHAR(10)", false}, {"VARCHAR(3)", "CHAR(3)", false},
		{"BINARY(3)", "VARBINARY(3)", true}, {"BINARY(3)", "BYTES", true}, {"BINARY(3)", "BINARY(5)", false}, {"VARBINARY(3)", "VARBINARY(2)", false},
		{"TIMESTAMP(3)", "TIMESTAMP(6)", true}, {"TIMESTAMP(6)", "TIMESTAMP(3)", false}, {"TIMESTAMP(3)", "TIMESTAMP(3) WITH LOCAL TIME ZONE", false},
		{"TIMESTAMP(3) WITH LOCAL TIME ZONE", "TIMESTAMP(9) WITH LOCAL TIME ZONE", true},
		{"DATE", "TIMESTAMP(3)", false}, {"TIME(0)", "TIME(3)", false}, {"INT", "STRING", false}, {"STRING", "INT", false},
		{"BOOLEAN", "INT", false}, {"INT NOT NULL", "BIGINT", true}, {"INT", "INT NOT NULL", true},
	} {
		if got := LosslessCast(MustParse(c.from), MustParse(c.to)); got != c.ok {
			t.Errorf("LosslessCast(%s, %s) = %v", c.from, c.to, got)
		}
	}
}
