package merge

import "testing"

func aggOpts(kv ...string) map[string]string {
	m := map[string]string{"merge-engine": "aggregation"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// docs/docs/primary-key-table/merge-engine/aggregation.mdx (intro, "Retraction");
// AggregateMergeFunction.java.
func TestAggregationEngine(t *testing.T) {
	runEngineCases(t, "product_id BIGINT NOT NULL, price DOUBLE, sales BIGINT", []string{"product_id"}, []engineCase{
		{
			// aggregation.mdx intro: <1, 23.0, 15> and <1, 30.2, 20> give <1, 30.2, 35>.
			name: "max and sum",
			opts: aggOpts("fields.price.aggregate-function", "max", "fields.sales.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"product_id":1,"price":23.0,"sales":15}`, `+I 2 {"product_id":1,"price":30.2,"sales":20}`),
			want: []string{`{"product_id":1,"price":30.2,"sales":35}`},
		},
		{
			name: "last_non_null_value is the default",
			opts: aggOpts(),
			runs: oneRunEach(`+I 1 {"product_id":1,"price":23.0,"sales":15}`, `+I 2 {"product_id":1,"price":null,"sales":20}`),
			want: []string{`{"product_id":1,"price":23,"sales":20}`},
		},
		{
			name: "fields.default-aggregate-function",
			opts: aggOpts("fields.default-aggregate-function", "sum", "fields.price.aggregate-function", "min"),
			runs: oneRunEach(`+I 1 {"product_id":1,"price":23.0,"sales":15}`, `+I 2 {"product_id":1,"price":3.5,"sales":20}`),
			want: []string{`{"product_id":1,"price":3.5,"sales":35}`},
		},
		{
			name: "merged rows are +I with the last record's sequence number",
			opts: aggOpts("fields.sales.aggregate-function", "sum"),
			keep: true,
			runs: oneRunEach(`+I 1 {"product_id":1,"price":1.0,"sales":1}`, `-U 5 {"product_id":1,"price":1.0,"sales":1}`, `+U 6 {"product_id":1,"price":2.0,"sales":4}`),
			want: []string{`+I 6 {"product_id":1,"price":2,"sales":4}`},
		},
		{
			name: "a lone -D passes the reducer as it is",
			opts: aggOpts("fields.sales.aggregate-function", "sum"),
			keep: true,
			runs: [][]string{{`-D 3 {"product_id":1,"price":1.0,"sales":1}`}},
			want: []string{`-D 3 {"product_id":1,"price":1,"sales":1}`},
		},
		{
			name: "retraction of a function without it fails",
			opts: aggOpts("fields.price.aggregate-function", "max", "fields.sales.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"product_id":1,"price":1.0,"sales":1}`, `-U 2 {"product_id":1,"price":1.0,"sales":1}`),
			err:  "aggregate function 'max' does not support retraction",
		},
		{
			name: "ignore-retract",
			opts: aggOpts("fields.price.aggregate-function", "max", "fields.price.ignore-retract", "true", "fields.sales.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"product_id":1,"price":1.0,"sales":5}`, `-U 2 {"product_id":1,"price":1.0,"sales":1}`),
			want: []string{`{"product_id":1,"price":1,"sales":4}`},
		},
		{
			name: "remove-record-on-delete",
			opts: aggOpts("aggregation.remove-record-on-delete", "true", "fields.sales.aggregate-function", "sum"),
			keep: true,
			runs: oneRunEach(`+I 1 {"product_id":1,"price":1.0,"sales":5}`, `-D 2 {"product_id":1,"price":null,"sales":5}`),
			want: []string{`-D 2 {"product_id":1,"price":null,"sales":5}`},
		},
		{
			// The row after a -D is the delete's values: later records aggregate onto them.
			name: "remove-record-on-delete then insert",
			opts: aggOpts("aggregation.remove-record-on-delete", "true", "fields.sales.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"product_id":1,"price":1.0,"sales":5}`, `-D 2 {"product_id":1,"price":null,"sales":5}`, `+I 3 {"product_id":1,"price":2.0,"sales":3}`),
			want: []string{`{"product_id":1,"price":2,"sales":8}`},
		},
		{
			name: "remove-record-on-delete: -U retracts",
			opts: aggOpts("aggregation.remove-record-on-delete", "true", "fields.sales.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"product_id":1,"price":1.0,"sales":5}`, `-U 2 {"product_id":1,"price":null,"sales":2}`),
			want: []string{`{"product_id":1,"price":1,"sales":3}`},
		},
		{
			name: "remove-record-on-delete conflicts with ignore-retract",
			opts: aggOpts("aggregation.remove-record-on-delete", "true", "fields.sales.ignore-retract", "true"),
			runs: oneRunEach(`+I 1 {"product_id":1}`),
			err:  "conflicting behavior",
		},
		{
			name: "unknown function",
			opts: aggOpts("fields.sales.aggregate-function", "median"),
			runs: oneRunEach(`+I 1 {"product_id":1}`),
			err:  "use unsupported aggregation: median",
		},
		{
			name: "count is not a Paimon function",
			opts: aggOpts("fields.sales.aggregate-function", "count"),
			runs: oneRunEach(`+I 1 {"product_id":1}`),
			err:  "Paimon has no count function",
		},
		{
			name: "unknown default function",
			opts: aggOpts("fields.default-aggregate-function", "nope"),
			runs: oneRunEach(`+I 1 {"product_id":1}`),
			err:  "use unsupported aggregation: nope",
		},
		{
			name: "option naming a missing field",
			opts: aggOpts("fields.nope.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"product_id":1}`),
			err:  "field nope can not be found",
		},
		{
			name: "projection",
			opts: aggOpts("fields.sales.aggregate-function", "sum"),
			read: []string{"sales"},
			runs: oneRunEach(`+I 1 {"product_id":1,"price":1.0,"sales":5}`, `+I 2 {"product_id":1,"price":2.0,"sales":6}`),
			want: []string{`{"sales":11}`},
		},
	})
	// AggregateMergeFunction.getAggFuncName: sequence fields are last_value.
	runEngineCases(t, "k INT NOT NULL, ts BIGINT, v INT", []string{"k"}, []engineCase{
		{
			name: "sequence field is last_value in merge order",
			opts: aggOpts("sequence.field", "ts", "fields.v.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"k":1,"ts":5,"v":1}`, `+I 2 {"k":1,"ts":3,"v":2}`, `+I 3 {"k":1,"ts":4,"v":4}`),
			want: []string{`{"k":1,"ts":5,"v":7}`},
		},
		{
			name: "sequence field is set to null by a retraction",
			opts: aggOpts("sequence.field", "ts", "fields.v.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"k":1,"ts":5,"v":10}`, `-U 2 {"k":1,"ts":6,"v":4}`),
			want: []string{`{"k":1,"ts":null,"v":6}`},
		},
		{
			name: "aggregate function on a sequence field",
			opts: aggOpts("sequence.field", "ts", "fields.ts.aggregate-function", "max"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "should not define aggregation on sequence field",
		},
	})
}

// aggregation.mdx "sum", "Retraction"; FieldSumAgg.java.
func TestAggregateSum(t *testing.T) {
	cols := "k INT NOT NULL, i INT, t TINYINT, b BIGINT, f FLOAT, d DOUBLE, m DECIMAL(5,2), w DECIMAL(20,2)"
	opts := aggOpts("fields.default-aggregate-function", "sum")
	runEngineCases(t, cols, []string{"k"}, []engineCase{
		{
			name: "sums, nulls skipped",
			opts: opts,
			runs: oneRunEach(
				`+I 1 {"k":1,"i":1,"t":1,"b":10,"f":0.5,"d":0.25,"m":"1.10","w":"5.00"}`,
				`+I 2 {"k":1,"i":null,"t":2,"b":-3,"f":0.25,"d":null,"m":"2.05","w":null}`,
				`+I 3 {"k":1,"i":4,"t":null,"b":null,"f":null,"d":1.5,"m":null,"w":"0.01"}`),
			want: []string{`{"k":1,"i":5,"t":3,"b":7,"f":0.75,"d":1.75,"m":"3.15","w":"5.01"}`},
		},
		{
			name: "retraction subtracts",
			opts: opts,
			runs: oneRunEach(
				`+I 1 {"k":1,"i":10,"t":10,"b":10,"f":1.5,"d":1.5,"m":"9.99","w":"9.99"}`,
				`-U 2 {"k":1,"i":3,"t":3,"b":3,"f":0.5,"d":0.5,"m":"0.99","w":"0.99"}`),
			want: []string{`{"k":1,"i":7,"t":7,"b":7,"f":1,"d":1,"m":"9.00","w":"9.00"}`},
		},
		{
			name: "retraction onto null negates",
			opts: opts,
			runs: oneRunEach(
				`+I 1 {"k":1}`,
				`-D 2 {"k":1,"i":3,"t":3,"b":3,"f":0.5,"d":0.5,"m":"0.99","w":"0.99"}`),
			want: []string{`{"k":1,"i":-3,"t":-3,"b":-3,"f":-0.5,"d":-0.5,"m":"-0.99","w":"-0.99"}`},
		},
		{
			name: "TINYINT overflow fails",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"t":100}`, `+I 2 {"k":1,"t":100}`),
			err:  "byte overflow: 100 + 100 = 200",
		},
		{
			name: "INT overflow fails",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"i":2147483647}`, `+I 2 {"k":1,"i":1}`),
			err:  "int overflow: 2147483647 + 1",
		},
		{
			name: "BIGINT overflow fails",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"b":9223372036854775807}`, `+I 2 {"k":1,"b":1}`),
			err:  "long overflow: 9223372036854775807 + 1",
		},
		{
			name: "TINYINT negation overflow fails",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1}`, `-D 2 {"k":1,"t":-128}`),
			err:  "byte overflow: --128 = 128",
		},
		{
			// DecimalUtils.add on compact decimals (precision <= 18) does not check the
			// precision of the result.
			name: "compact DECIMAL beyond its precision",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"m":"999.99"}`, `+I 2 {"k":1,"m":"1.00"}`),
			want: []string{`{"k":1,"i":null,"t":null,"b":null,"f":null,"d":null,"m":"1000.99","w":null}`},
		},
		{
			// Wide decimals go through BigDecimal and fromBigDecimal: NULL when too wide.
			name: "wide DECIMAL beyond its precision is null",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"w":"999999999999999999.99"}`, `+I 2 {"k":1,"w":"0.01"}`),
			want: []string{`{"k":1,"i":null,"t":null,"b":null,"f":null,"d":null,"m":null,"w":null}`},
		},
	})
	runEngineCases(t, "k INT NOT NULL, s STRING", []string{"k"}, []engineCase{{
		name: "sum of a string fails",
		opts: aggOpts("fields.s.aggregate-function", "sum"),
		runs: oneRunEach(`+I 1 {"k":1}`),
		err:  "data type for sum column must be 'NumericType' but was 'STRING'",
	}})
}

// aggregation.mdx "product", "Retraction"; FieldProductAgg.java.
func TestAggregateProduct(t *testing.T) {
	cols := "k INT NOT NULL, i INT, d DOUBLE, m DECIMAL(10,2)"
	opts := aggOpts("fields.default-aggregate-function", "product")
	runEngineCases(t, cols, []string{"k"}, []engineCase{
		{
			name: "products, decimals rounded half up",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"i":3,"d":1.5,"m":"0.05"}`, `+I 2 {"k":1,"i":-4,"d":null,"m":"0.50"}`, `+I 3 {"k":1,"i":null,"d":2,"m":null}`),
			want: []string{`{"k":1,"i":-12,"d":3,"m":"0.03"}`},
		},
		{
			name: "retraction divides",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"i":12,"d":3,"m":"7.50"}`, `-U 2 {"k":1,"i":4,"d":2,"m":"2.00"}`),
			want: []string{`{"k":1,"i":3,"d":1.5,"m":"3.75"}`},
		},
		{
			name: "retraction onto null stays null",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1}`, `-U 2 {"k":1,"i":4,"d":2,"m":"2.00"}`),
			want: []string{`{"k":1,"i":null,"d":null,"m":null}`},
		},
		{
			name: "integer division truncates",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"i":7}`, `-U 2 {"k":1,"i":2}`),
			want: []string{`{"k":1,"i":3,"d":null,"m":null}`},
		},
		{
			name: "division by zero fails",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"i":7}`, `-U 2 {"k":1,"i":0}`),
			err:  "/ by zero",
		},
		{
			name: "non-terminating decimal division fails",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"m":"1.00"}`, `-U 2 {"k":1,"m":"3.00"}`),
			err:  "non-terminating decimal expansion",
		},
		{
			name: "INT overflow fails",
			opts: opts,
			runs: oneRunEach(`+I 1 {"k":1,"i":65536}`, `+I 2 {"k":1,"i":65536}`),
			err:  "int overflow: 65536 * 65536",
		},
	})
}

// aggregation.mdx "max", "min"; FieldMaxAgg.java, FieldMinAgg.java.
func TestAggregateMaxMin(t *testing.T) {
	cols := "k INT NOT NULL, i INT, s STRING, d DOUBLE, ts TIMESTAMP(3), b BOOLEAN, m DECIMAL(5,1)"
	runEngineCases(t, cols, []string{"k"}, []engineCase{
		{
			name: "max",
			opts: aggOpts("fields.default-aggregate-function", "max"),
			runs: oneRunEach(
				`+I 1 {"k":1,"i":5,"s":"b","d":-0.0,"ts":"2024-01-02 00:00:00","b":false,"m":"-1.5"}`,
				`+I 2 {"k":1,"i":null,"s":"ab","d":0.0,"ts":"2024-01-01 00:00:00","b":true,"m":null}`,
				`+I 3 {"k":1,"i":3,"s":null,"d":null,"ts":null,"b":null,"m":"-2.0"}`),
			want: []string{`{"k":1,"i":5,"s":"b","d":0,"ts":"2024-01-02T00:00:00","b":true,"m":"-1.5"}`},
		},
		{
			name: "min",
			opts: aggOpts("fields.default-aggregate-function", "min"),
			runs: oneRunEach(
				`+I 1 {"k":1,"i":5,"s":"b","d":-0.0,"ts":"2024-01-02 00:00:00","b":false,"m":"-1.5"}`,
				`+I 2 {"k":1,"i":null,"s":"ab","d":0.0,"ts":"2024-01-01 00:00:00","b":true,"m":null}`,
				`+I 3 {"k":1,"i":3,"s":null,"d":null,"ts":null,"b":null,"m":"-2.0"}`),
			want: []string{`{"k":1,"i":3,"s":"ab","d":-0,"ts":"2024-01-01T00:00:00","b":false,"m":"-2.0"}`},
		},
		{
			name: "max does not retract",
			opts: aggOpts("fields.i.aggregate-function", "max"),
			runs: oneRunEach(`+I 1 {"k":1,"i":5}`, `-D 2 {"k":1,"i":5}`),
			err:  "'max' does not support retraction",
		},
		{
			name: "min ignoring retractions",
			opts: aggOpts("fields.i.aggregate-function", "min", "fields.i.ignore-retract", "true"),
			runs: oneRunEach(`+I 1 {"k":1,"i":5}`, `-D 2 {"k":1,"i":1}`),
			want: []string{`{"k":1,"i":5,"s":null,"d":null,"ts":null,"b":null,"m":null}`},
		},
	})
	runEngineCases(t, "k INT NOT NULL, a ARRAY<INT>", []string{"k"}, []engineCase{{
		name: "max of an array fails",
		opts: aggOpts("fields.a.aggregate-function", "max"),
		runs: oneRunEach(`+I 1 {"k":1}`),
		err:  "must be comparable",
	}})
}

// aggregation.mdx "last_value", "last_non_null_value", "first_value",
// "first_non_null_value", "Retraction"; FieldLastValueAgg.java,
// FieldLastNonNullValueAgg.java, FieldFirstValueAgg.java, FieldFirstNonNullValueAgg.java.
func TestAggregateFirstLast(t *testing.T) {
	cols := "k INT NOT NULL, lv STRING, lnn STRING, fv STRING, fnn STRING, legacy STRING"
	opts := aggOpts(
		"fields.lv.aggregate-function", "last_value", "fields.lnn.aggregate-function", "last_non_null_value",
		"fields.fv.aggregate-function", "first_value", "fields.fnn.aggregate-function", "first_non_null_value",
		"fields.legacy.aggregate-function", "first_not_null_value")
	runEngineCases(t, cols, []string{"k"}, []engineCase{
		{
			name: "first and last",
			opts: opts,
			runs: oneRunEach(
				`+I 1 {"k":1,"lv":"a","lnn":"a","fv":null,"fnn":null,"legacy":null}`,
				`+I 2 {"k":1,"lv":"b","lnn":"b","fv":"b","fnn":"b","legacy":"b"}`,
				`+I 3 {"k":1,"lv":null,"lnn":null,"fv":"c","fnn":"c","legacy":"c"}`),
			want: []string{`{"k":1,"lv":null,"lnn":"b","fv":null,"fnn":"b","legacy":"b"}`},
		},
		{
			name: "last values retract to null",
			opts: aggOpts("fields.lv.aggregate-function", "last_value", "fields.lnn.aggregate-function", "last_non_null_value"),
			runs: oneRunEach(`+I 1 {"k":1,"lv":"a","lnn":"a"}`, `-U 2 {"k":1,"lv":"x","lnn":"x"}`),
			want: []string{`{"k":1,"lv":null,"lnn":null,"fv":null,"fnn":null,"legacy":null}`},
		},
		{
			name: "last_non_null_value keeps its value on a null retraction",
			opts: aggOpts("fields.lnn.aggregate-function", "last_non_null_value"),
			runs: oneRunEach(`+I 1 {"k":1,"lnn":"a"}`, `-U 2 {"k":1,"lnn":null}`),
			want: []string{`{"k":1,"lv":null,"lnn":"a","fv":null,"fnn":null,"legacy":null}`},
		},
		{
			name: "first_value does not retract",
			opts: aggOpts("fields.fv.aggregate-function", "first_value"),
			runs: oneRunEach(`+I 1 {"k":1,"fv":"a"}`, `-U 2 {"k":1,"fv":"a"}`),
			err:  "'first_value' does not support retraction",
		},
		{
			name: "first_non_null_value does not retract",
			opts: aggOpts("fields.fnn.aggregate-function", "first_non_null_value"),
			runs: oneRunEach(`+I 1 {"k":1,"fnn":"a"}`, `-U 2 {"k":1,"fnn":"a"}`),
			err:  "'first_non_null_value' does not support retraction",
		},
	})
}

// aggregation.mdx "listagg"; FieldListaggAgg.java, BinaryStringUtils.splitByWholeSeparatorPreserveAllTokens.
func TestAggregateListagg(t *testing.T) {
	runEngineCases(t, "k INT NOT NULL, s STRING", []string{"k"}, []engineCase{
		{
			name: "joined with commas, blanks skipped",
			opts: aggOpts("fields.s.aggregate-function", "listagg"),
			runs: oneRunEach(`+I 1 {"k":1,"s":" "}`, `+I 2 {"k":1,"s":"a"}`, `+I 3 {"k":1,"s":null}`, `+I 4 {"k":1,"s":"\t\n"}`, `+I 5 {"k":1,"s":"b,c"}`, `+I 6 {"k":1,"s":"a"}`),
			want: []string{`{"k":1,"s":"a,b,c,a"}`},
		},
		{
			name: "a non-breaking space is not blank",
			opts: aggOpts("fields.s.aggregate-function", "listagg"),
			runs: oneRunEach(`+I 1 {"k":1,"s":"a"}`, `+I 2 {"k":1,"s":"\u00a0"}`),
			want: []string{"{\"k\":1,\"s\":\"a,\u00a0\"}"},
		},
		{
			name: "delimiter",
			opts: aggOpts("fields.s.aggregate-function", "listagg", "fields.s.list-agg-delimiter", " | "),
			runs: oneRunEach(`+I 1 {"k":1,"s":"a"}`, `+I 2 {"k":1,"s":"b"}`),
			want: []string{`{"k":1,"s":"a | b"}`},
		},
		{
			name: "distinct",
			opts: aggOpts("fields.s.aggregate-function", "listagg", "fields.s.distinct", "true"),
			runs: oneRunEach(`+I 1 {"k":1,"s":"a,b"}`, `+I 2 {"k":1,"s":"b,c,,a, ,d"}`, `+I 3 {"k":1,"s":"d"}`),
			want: []string{`{"k":1,"s":"a,b,c,d"}`},
		},
		{
			// The accumulator itself is not deduplicated.
			name: "distinct keeps the accumulator's repeats",
			opts: aggOpts("fields.s.aggregate-function", "listagg", "fields.s.distinct", "true"),
			runs: oneRunEach(`+I 1 {"k":1,"s":"a,a"}`, `+I 2 {"k":1,"s":"a,b"}`),
			want: []string{`{"k":1,"s":"a,a,b"}`},
		},
		{
			name: "no retraction",
			opts: aggOpts("fields.s.aggregate-function", "listagg"),
			runs: oneRunEach(`+I 1 {"k":1,"s":"a"}`, `-U 2 {"k":1,"s":"a"}`),
			err:  "'listagg' does not support retraction",
		},
	})
	runEngineCases(t, "k INT NOT NULL, s VARCHAR(10)", []string{"k"}, []engineCase{{
		name: "bounded VARCHAR fails",
		opts: aggOpts("fields.s.aggregate-function", "listagg"),
		runs: oneRunEach(`+I 1 {"k":1}`),
		err:  "must be STRING (unbounded VARCHAR), but was VARCHAR(10)",
	}})
}

// aggregation.mdx "bool_and", "bool_or"; FieldBoolAndAgg.java, FieldBoolOrAgg.java.
func TestAggregateBool(t *testing.T) {
	runEngineCases(t, "k INT NOT NULL, a BOOLEAN, o BOOLEAN, i INT", []string{"k"}, []engineCase{
		{
			name: "and, or",
			opts: aggOpts("fields.a.aggregate-function", "bool_and", "fields.o.aggregate-function", "bool_or"),
			runs: oneRunEach(`+I 1 {"k":1,"a":true,"o":false}`, `+I 2 {"k":1,"a":null,"o":null}`, `+I 3 {"k":1,"a":false,"o":true}`, `+I 4 {"k":1,"a":true,"o":false}`),
			want: []string{`{"k":1,"a":false,"o":true,"i":null}`},
		},
		{
			name: "no retraction",
			opts: aggOpts("fields.a.aggregate-function", "bool_and"),
			runs: oneRunEach(`+I 1 {"k":1,"a":true}`, `-D 2 {"k":1,"a":true}`),
			err:  "'bool_and' does not support retraction",
		},
		{
			name: "bool_or of an INT fails",
			opts: aggOpts("fields.i.aggregate-function", "bool_or"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "must be 'BooleanType'",
		},
	})
}
