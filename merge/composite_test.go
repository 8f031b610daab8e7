package merge

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// aggregation.mdx "collect", "Retraction"; FieldCollectAgg.java.
func TestAggregateCollect(t *testing.T) {
	runEngineCases(t, "k INT NOT NULL, a ARRAY<INT>, s ARRAY<STRING>, m MAP<STRING, INT>", []string{"k"}, []engineCase{
		{
			name: "collect appends",
			opts: aggOpts("fields.a.aggregate-function", "collect", "fields.s.aggregate-function", "collect"),
			runs: oneRunEach(`+I 1 {"k":1,"a":[1,2],"s":null}`, `+I 2 {"k":1,"a":[2,null],"s":["x"]}`, `+I 3 {"k":1,"a":null,"s":["x"]}`),
			want: []string{`{"k":1,"a":[1,2,2,null],"s":["x","x"],"m":null}`},
		},
		{
			// Distinct results keep first-seen order (Java: HashSet order).
			name: "collect distinct",
			opts: aggOpts("fields.a.aggregate-function", "collect", "fields.a.distinct", "true", "fields.s.aggregate-function", "collect", "fields.s.distinct", "true"),
			runs: oneRunEach(`+I 1 {"k":1,"a":[3,1,3],"s":["x"]}`, `+I 2 {"k":1,"a":[2,1,null,null],"s":null}`),
			want: []string{`{"k":1,"a":[3,1,2,null],"s":["x"],"m":null}`},
		},
		{
			name: "collect retracts one occurrence per element",
			opts: aggOpts("fields.a.aggregate-function", "collect"),
			runs: oneRunEach(`+I 1 {"k":1,"a":[1,2,1,3]}`, `-U 2 {"k":1,"a":[1,3,9]}`),
			want: []string{`{"k":1,"a":[2,1],"s":null,"m":null}`},
		},
		{
			name: "collect retraction onto null stays null",
			opts: aggOpts("fields.a.aggregate-function", "collect"),
			runs: oneRunEach(`+I 1 {"k":1,"a":null}`, `-U 2 {"k":1,"a":[1]}`),
			want: []string{`{"k":1,"a":null,"s":null,"m":null}`},
		},
		{
			name: "collect of a map fails",
			opts: aggOpts("fields.m.aggregate-function", "collect"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "must be 'Array'",
		},
		{
			name: "merge_map",
			opts: aggOpts("fields.m.aggregate-function", "merge_map"),
			runs: oneRunEach(
				`+I 1 {"k":1,"m":[{"key":"a","value":1},{"key":"b","value":2}]}`,
				`+I 2 {"k":1,"m":null}`,
				`+I 3 {"k":1,"m":[{"key":"b","value":null},{"key":"c","value":3}]}`),
			want: []string{`{"k":1,"a":null,"s":null,"m":[{"key":"a","value":1},{"key":"b","value":null},{"key":"c","value":3}]}`},
		},
		{
			// aggregation.mdx "Retraction", example 2: a retraction removes the keys.
			name: "merge_map retraction removes keys",
			opts: aggOpts("fields.m.aggregate-function", "merge_map"),
			runs: oneRunEach(
				`+I 1 {"k":1,"m":[{"key":"1","value":1}]}`,
				`+I 2 {"k":1,"m":[{"key":"1","value":2}]}`,
				`-D 3 {"k":1,"m":[{"key":"1","value":2}]}`),
			want: []string{`{"k":1,"a":null,"s":null,"m":[]}`},
		},
	})
	runEngineCases(t, "k INT NOT NULL, b ARRAY<BYTES>", []string{"k"}, []engineCase{{
		// Binary elements are compared by value (the generated equaliser), not identity.
		name: "collect distinct of binaries",
		opts: aggOpts("fields.b.aggregate-function", "collect", "fields.b.distinct", "true"),
		runs: oneRunEach(`+I 1 {"k":1,"b":["AQ==","AQ=="]}`, `+I 2 {"k":1,"b":["AQ==","Ag=="]}`),
		want: []string{`{"k":1,"b":["AQ==","Ag=="]}`},
	}})
}

// aggregation.mdx "merge_map_with_keytime"; FieldMergeMapWithKeyTimeAgg.java.
func TestAggregateMergeMapWithKeyTime(t *testing.T) {
	cols := "biz_order_id STRING NOT NULL, key_value_map MAP<STRING, ROW<`value` STRING, `ts` STRING>>"
	opts := aggOpts("fields.key_value_map.aggregate-function", "merge_map_with_keytime", "fields.key_value_map.ts-field", "ts")
	runEngineCases(t, cols, []string{"biz_order_id"}, []engineCase{
		{
			// The documented example with fixed-width times: color stays Black, its
			// time 100 beats 050.
			name: "latest time per key",
			opts: opts,
			runs: oneRunEach(
				`+I 1 {"biz_order_id":"1","key_value_map":[{"key":"product_name","value":{"value":"iPhone","ts":"100"}},{"key":"color","value":{"value":"Black","ts":"100"}}]}`,
				`+I 2 {"biz_order_id":"1","key_value_map":[{"key":"product_name","value":{"value":"iPad","ts":"200"}},{"key":"price","value":{"value":"999","ts":"200"}}]}`,
				`+I 3 {"biz_order_id":"1","key_value_map":[{"key":"color","value":{"value":"White","ts":"050"}}]}`),
			want: []string{`{"biz_order_id":"1","key_value_map":[{"key":"product_name","value":{"ts":"200","value":"iPad"}},{"key":"color","value":{"ts":"100","value":"Black"}},{"key":"price","value":{"ts":"200","value":"999"}}]}`},
		},
		{
			// FieldMergeMapWithKeyTimeAgg compares times as strings (String.compareTo), so
			// the documented "50" is later than "100".
			name: "times compare as strings",
			opts: opts,
			runs: oneRunEach(
				`+I 1 {"biz_order_id":"1","key_value_map":[{"key":"color","value":{"value":"Black","ts":"100"}}]}`,
				`+I 2 {"biz_order_id":"1","key_value_map":[{"key":"color","value":{"value":"White","ts":"50"}}]}`),
			want: []string{`{"biz_order_id":"1","key_value_map":[{"key":"color","value":{"ts":"50","value":"White"}}]}`},
		},
		{
			name: "a null value removes the key, a null time is skipped",
			opts: opts,
			runs: oneRunEach(
				`+I 1 {"biz_order_id":"1","key_value_map":[{"key":"a","value":{"value":"x","ts":"1"}},{"key":"b","value":{"value":"y","ts":"1"}}]}`,
				`+I 2 {"biz_order_id":"1","key_value_map":[{"key":"a","value":null},{"key":"b","value":{"value":"z","ts":null}}]}`),
			want: []string{`{"biz_order_id":"1","key_value_map":[{"key":"b","value":{"ts":"1","value":"y"}}]}`},
		},
		{
			name: "no retraction",
			opts: opts,
			runs: oneRunEach(`+I 1 {"biz_order_id":"1","key_value_map":null}`, `-U 2 {"biz_order_id":"1","key_value_map":null}`),
			err:  "does not support retraction",
		},
	})
}

// aggregation.mdx "nested_update", "nested_partial_update"; FieldNestedUpdateAgg.java,
// FieldNestedPartialUpdateAgg.java.
func TestAggregateNested(t *testing.T) {
	cols := "order_id BIGINT NOT NULL, user_name STRING, sub_orders ARRAY<ROW<sub_order_id BIGINT, product_name STRING, price BIGINT>>"
	keyed := aggOpts("fields.sub_orders.aggregate-function", "nested_update", "fields.sub_orders.nested-key", "sub_order_id")
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	row := func(id any, name string, price any) string {
		return fmt.Sprintf(`{"sub_order_id":%v,"product_name":%q,"price":%v}`, id, name, price)
	}
	out := func(id any, name string, price any) string {
		return fmt.Sprintf(`{"price":%v,"product_name":%q,"sub_order_id":%v}`, price, name, id)
	}
	runEngineCases(t, cols, []string{"order_id"}, []engineCase{
		{
			// The documented order_wide example.
			name: "nested_update with a nested key",
			opts: keyed,
			runs: oneRunEach(
				`+I 1 {"order_id":1,"user_name":"u","sub_orders":null}`,
				`+I 2 {"order_id":1,"user_name":null,"sub_orders":[`+row(1, "a", 10)+`]}`,
				`+I 3 {"order_id":1,"user_name":null,"sub_orders":[`+row(2, "b", 20)+`]}`,
				`+I 4 {"order_id":1,"user_name":null,"sub_orders":[`+row(1, "a2", 11)+`]}`),
			want: []string{`{"order_id":1,"user_name":"u","sub_orders":[` + out(1, "a2", 11) + `,` + out(2, "b", 20) + `]}`},
		},
		{
			name: "nested_update without a key appends",
			opts: aggOpts("fields.sub_orders.aggregate-function", "nested_update"),
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 10)+`,null]}`,
				`+I 2 {"order_id":1,"sub_orders":[`+row(1, "a", 10)+`]}`),
			want: []string{`{"order_id":1,"user_name":null,"sub_orders":[` + out(1, "a", 10) + `,` + out(1, "a", 10) + `]}`},
		},
		{
			name: "count-limit without a key",
			opts: aggOpts("fields.sub_orders.aggregate-function", "nested_update", "fields.sub_orders.count-limit", "2"),
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`]}`,
				`+I 2 {"order_id":1,"sub_orders":[`+row(2, "b", 2)+`,`+row(3, "c", 3)+`]}`,
				`+I 3 {"order_id":1,"sub_orders":[`+row(4, "d", 4)+`]}`),
			want: []string{`{"order_id":1,"user_name":null,"sub_orders":[` + out(1, "a", 1) + `,` + out(2, "b", 2) + `]}`},
		},
		{
			name: "count-limit with a key limits new keys",
			opts: with(keyed, "fields.sub_orders.count-limit", "2"),
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`,`+row(2, "b", 2)+`]}`,
				`+I 2 {"order_id":1,"sub_orders":[`+row(3, "c", 3)+`,`+row(2, "b2", 5)+`]}`),
			want: []string{`{"order_id":1,"user_name":null,"sub_orders":[` + out(1, "a", 1) + `,` + out(2, "b2", 5) + `]}`},
		},
		{
			name: "nested-sequence-field",
			opts: with(keyed, "fields.sub_orders.nested-sequence-field", "price"),
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "new", 10)+`]}`,
				`+I 2 {"order_id":1,"sub_orders":[`+row(1, "old", 5)+`,`+row(2, "x", 1)+`]}`),
			want: []string{`{"order_id":1,"user_name":null,"sub_orders":[` + out(1, "new", 10) + `,` + out(2, "x", 1) + `]}`},
		},
		{
			name: "nested-key-null-strategy ignore",
			opts: with(keyed, "fields.sub_orders.nested-key-null-strategy", "ignore"),
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`]}`,
				`+I 2 {"order_id":1,"sub_orders":[`+row("null", "n", 2)+`]}`),
			want: []string{`{"order_id":1,"user_name":null,"sub_orders":[` + out(1, "a", 1) + `]}`},
		},
		{
			name: "nested-key-null-strategy error",
			opts: with(keyed, "fields.sub_orders.nested-key-null-strategy", "error"),
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`]}`,
				`+I 2 {"order_id":1,"sub_orders":[`+row("null", "n", 2)+`]}`),
			err: "nested key contains null values",
		},
		{
			name: "nested-key-null-strategy needs a nested key",
			opts: aggOpts("fields.sub_orders.aggregate-function", "nested_update", "fields.sub_orders.nested-key-null-strategy", "ignore"),
			runs: oneRunEach(`+I 1 {"order_id":1}`),
			err:  "requires 'fields.<field-name>.nested-key'",
		},
		{
			name: "nested-sequence-field needs a nested key",
			opts: aggOpts("fields.sub_orders.aggregate-function", "nested_update", "fields.sub_orders.nested-sequence-field", "price"),
			runs: oneRunEach(`+I 1 {"order_id":1}`),
			err:  "requires 'fields.<field-name>.nested-key'",
		},
		{
			name: "nested_update retraction by key",
			opts: keyed,
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`,`+row(2, "b", 2)+`]}`,
				`-U 2 {"order_id":1,"sub_orders":[`+row(1, "whatever", 0)+`]}`),
			want: []string{`{"order_id":1,"user_name":null,"sub_orders":[` + out(2, "b", 2) + `]}`},
		},
		{
			name: "nested_update retraction without a key removes equal rows",
			opts: aggOpts("fields.sub_orders.aggregate-function", "nested_update"),
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`,`+row(2, "b", 2)+`,`+row(1, "a", 1)+`]}`,
				`-U 2 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`]}`),
			want: []string{`{"order_id":1,"user_name":null,"sub_orders":[` + out(2, "b", 2) + `]}`},
		},
		{
			name: "nested_update of a non-array fails",
			opts: aggOpts("fields.user_name.aggregate-function", "nested_update"),
			runs: oneRunEach(`+I 1 {"order_id":1}`),
			err:  "must be 'Array<Row>'",
		},
		{
			name: "nested_partial_update",
			opts: aggOpts("fields.sub_orders.aggregate-function", "nested_partial_update", "fields.sub_orders.nested-key", "sub_order_id"),
			runs: oneRunEach(
				`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`]}`,
				`+I 2 {"order_id":1,"sub_orders":[{"sub_order_id":1,"product_name":null,"price":7},`+row(2, "b", 2)+`]}`),
			want: []string{`{"order_id":1,"user_name":null,"sub_orders":[` + out(1, "a", 7) + `,` + out(2, "b", 2) + `]}`},
		},
		{
			name: "nested_partial_update needs a nested key",
			opts: aggOpts("fields.sub_orders.aggregate-function", "nested_partial_update"),
			runs: oneRunEach(`+I 1 {"order_id":1}`),
			err:  "needs option fields.sub_orders.nested-key",
		},
		{
			name: "nested_partial_update does not retract",
			opts: aggOpts("fields.sub_orders.aggregate-function", "nested_partial_update", "fields.sub_orders.nested-key", "sub_order_id"),
			runs: oneRunEach(`+I 1 {"order_id":1,"sub_orders":[`+row(1, "a", 1)+`]}`, `-U 2 {"order_id":1,"sub_orders":null}`),
			err:  "does not support retraction",
		},
	})
}

func bitmapOf(t *testing.T, vals ...uint32) string {
	t.Helper()
	b := roaring.BitmapOf(vals...)
	b.RunOptimize()
	data, err := b.ToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(data)
}

// aggregation.mdx "rbm32"; FieldRoaringBitmap32Agg.java.
func TestAggregateRoaringBitmap32(t *testing.T) {
	tt := newTestTable(t, "user_id INT NOT NULL, visits BYTES", []string{"user_id"}, aggOpts("fields.visits.aggregate-function", "rbm32"))
	runs := oneRunEach(
		fmt.Sprintf(`+I 1 {"user_id":1,"visits":%q}`, bitmapOf(t, 100, 101, 102)),
		`+I 2 {"user_id":1,"visits":null}`,
		fmt.Sprintf(`+I 3 {"user_id":1,"visits":%q}`, bitmapOf(t, 103, 105)),
	)
	got, err := tt.sortMerge(t, mergeCase{runs: runs})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"user_id":1,"visits":%q}`, bitmapOf(t, 100, 101, 102, 103, 105))
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	bad := oneRunEach(`+I 1 {"user_id":1,"visits":"AQ=="}`, `+I 2 {"user_id":1,"visits":"AQ=="}`)
	if _, err := tt.sortMerge(t, mergeCase{runs: bad}); err == nil || !strings.Contains(err.Error(), "roaring bitmap") {
		t.Fatalf("corrupt bitmap: %v", err)
	}
	retract := oneRunEach(fmt.Sprintf(`+I 1 {"user_id":1,"visits":%q}`, bitmapOf(t, 1)), `-U 2 {"user_id":1,"visits":null}`)
	if _, err := tt.sortMerge(t, mergeCase{runs: retract}); err == nil || !strings.Contains(err.Error(), "'rbm32' does not support retraction") {
		t.Fatalf("retraction: %v", err)
	}
}

// aggregation.mdx "rbm64", "hll_sketch", "theta_sketch": refused when the engine is made.
func TestAggregateUnsupportedSketches(t *testing.T) {
	for _, fn := range []string{"rbm64", "hll_sketch", "theta_sketch"} {
		tt := newTestTable(t, "k INT NOT NULL, v BYTES, s STRING", []string{"k"}, aggOpts("fields.v.aggregate-function", fn))
		_, err := tt.sortMerge(t, mergeCase{runs: oneRunEach(`+I 1 {"k":1}`)})
		if err == nil || !strings.Contains(err.Error(), "is not supported by Tarn") {
			t.Errorf("%s: %v", fn, err)
		}
		tt = newTestTable(t, "k INT NOT NULL, v BYTES, s STRING", []string{"k"}, aggOpts("fields.s.aggregate-function", fn))
		_, err = tt.sortMerge(t, mergeCase{runs: oneRunEach(`+I 1 {"k":1}`)})
		if err == nil || !strings.Contains(err.Error(), "'VarBinaryType'") {
			t.Errorf("%s on STRING: %v", fn, err)
		}
	}
	if !slices.Contains(Supported(), "rbm32") || slices.Contains(Supported(), "rbm64") {
		t.Fatalf("Supported() = %v", Supported())
	}
}
