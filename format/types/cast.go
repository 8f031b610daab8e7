package types

// LosslessCast reports whether every value of type from reads as the same value of type
// to (nullability aside): integers to wider integers, to FLOAT (TINYINT, SMALLINT), to
// DOUBLE (up to INT) and to a DECIMAL with enough integer digits; FLOAT to DOUBLE; DECIMAL
// to a DECIMAL of no fewer integer and fraction digits; CHAR and VARCHAR to a VARCHAR,
// BINARY and VARBINARY to a VARBINARY no shorter; timestamps to a higher precision. These
// are the type changes schema evolution accepts, and all are implicit casts in Paimon
// (DataTypeCasts), so Paimon's readers read old files the same way.
func LosslessCast(from, to DataType) bool {
	from, to = from.WithNullable(true), to.WithNullable(true)
	if from.Equal(to) {
		return true
	}
	intRank := map[Root]int{TinyInt: 1, SmallInt: 2, Int: 3, BigInt: 4}
	intDigits := map[Root]int{TinyInt: 3, SmallInt: 5, Int: 10, BigInt: 19}
	fr, fromInt := intRank[from.Root]
	switch to.Root {
	case TinyInt, SmallInt, Int, BigInt:
		return fromInt && intRank[to.Root] >= fr
	case Float:
		return fromInt && fr <= 2
	case Double:
		return fromInt && fr <= 3 || from.Root == Float
	case Decimal:
		if fromInt {
			return to.Precision-to.Scale >= intDigits[from.Root]
		}
		return from.Root == Decimal && to.Scale >= from.Scale && to.Precision-to.Scale >= from.Precision-from.Scale
	case VarChar:
		return from.IsString() && to.Length >= from.Length
	case VarBinary:
		return from.IsBinary() && to.Length >= from.Length
	case Timestamp, LocalZonedTimestamp:
		return from.Root == to.Root && to.Precision >= from.Precision
	}
	return false
}
