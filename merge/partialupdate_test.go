package merge

import "testing"

// docs/docs/primary-key-table/merge-engine/partial-update.md; PartialUpdateMergeFunction.java.
func TestPartialUpdate(t *testing.T) {
	pu := map[string]string{"merge-engine": "partial-update"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"merge-engine": "partial-update"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	runEngineCases(t, "k INT NOT NULL, a DOUBLE, b INT, c STRING", []string{"k"}, []engineCase{
		{
			// partial-update.md, first example.
			name: "non-null fields overwrite",
			opts: pu,
			runs: oneRunEach(`+I 1 {"k":1,"a":23.0,"b":10,"c":null}`, `+I 2 {"k":1,"a":null,"b":null,"c":"This is a book"}`, `+I 3 {"k":1,"a":25.2,"b":null,"c":null}`),
			want: []string{`{"k":1,"a":25.2,"b":10,"c":"This is a book"}`},
		},
		{
			name: "one record is kept as it is",
			opts: pu,
			keep: true,
			runs: [][]string{{`+U 7 {"k":1,"a":null,"b":2,"c":null}`}},
			want: []string{`+U 7 {"k":1,"a":null,"b":2,"c":null}`},
		},
		{
			name: "merged rows are +I with the last sequence number",
			opts: pu,
			keep: true,
			runs: oneRunEach(`+U 3 {"k":1,"a":1.5,"b":null,"c":null}`, `+U 8 {"k":1,"a":null,"b":2,"c":null}`),
			want: []string{`+I 8 {"k":1,"a":1.5,"b":2,"c":null}`},
		},
		{
			name: "retractions are errors by default",
			opts: pu,
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`, `-D 2 {"k":1,"a":1.0,"b":1,"c":"x"}`),
			err:  "partial update can not accept delete records",
		},
		{
			name: "ignore-delete skips retractions",
			opts: with("ignore-delete", "true"),
			keep: true,
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`, `-D 2 {"k":1,"a":null,"b":null,"c":null}`, `-U 3 {"k":1,"a":null,"b":null,"c":null}`),
			want: []string{`+I 1 {"k":1,"a":1,"b":1,"c":"x"}`},
		},
		{
			name: "partial-update.ignore-delete fallback key",
			opts: with("partial-update.ignore-delete", "true"),
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`, `-D 2 {"k":1,"a":null,"b":null,"c":null}`),
			want: []string{`{"k":1,"a":1,"b":1,"c":"x"}`},
		},
		{
			// A first retraction still initializes the row with its values
			// (notNullColumnFilled), even when ignored.
			name: "ignore-delete: a leading retraction seeds the row",
			opts: with("ignore-delete", "true"),
			runs: oneRunEach(`-D 1 {"k":1,"a":9.5,"b":9,"c":"old"}`, `+I 2 {"k":1,"a":null,"b":2,"c":null}`),
			want: []string{`{"k":1,"a":9.5,"b":2,"c":"old"}`},
		},
		{
			name: "ignore-delete: only retractions give a delete",
			opts: with("ignore-delete", "true"),
			keep: true,
			runs: oneRunEach(`-D 4 {"k":1,"a":1.0,"b":null,"c":null}`, `-U 5 {"k":1,"a":null,"b":null,"c":null}`),
			want: []string{`-D 0 {"k":1,"a":1,"b":null,"c":null}`},
		},
		{
			name: "remove-record-on-delete deletes the row",
			opts: with("partial-update.remove-record-on-delete", "true"),
			keep: true,
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`, `-D 2 {"k":1,"a":null,"b":null,"c":null}`),
			want: []string{`-D 2 {"k":1,"a":null,"b":null,"c":null}`},
		},
		{
			name: "remove-record-on-delete: the delete drops the row on read",
			opts: with("partial-update.remove-record-on-delete", "true"),
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`, `-D 2 {"k":1,"a":null,"b":null,"c":null}`),
			want: nil,
		},
		{
			// After a -D the row holds the delete's values; later inserts update them.
			name: "remove-record-on-delete: insert after delete starts from the delete's values",
			opts: with("partial-update.remove-record-on-delete", "true"),
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`, `-D 2 {"k":1,"a":7.0,"b":null,"c":"y"}`, `+I 3 {"k":1,"a":null,"b":3,"c":null}`),
			want: []string{`{"k":1,"a":7,"b":3,"c":"y"}`},
		},
		{
			name: "remove-record-on-delete ignores -U",
			opts: with("partial-update.remove-record-on-delete", "true"),
			keep: true,
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`, `-U 2 {"k":1,"a":1.0,"b":1,"c":"x"}`),
			want: []string{`+I 2 {"k":1,"a":1,"b":1,"c":"x"}`},
		},
		{
			name: "remove-record-on-delete conflicts with ignore-delete",
			opts: with("partial-update.remove-record-on-delete", "true", "ignore-delete", "true"),
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`),
			err:  "conflicting behavior",
		},
		{
			name: "an aggregate function needs a sequence group",
			opts: with("fields.b.aggregate-function", "sum"),
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`),
			err:  "must use sequence group for aggregation functions but not found for field b",
		},
		{
			// last_non_null_value needs no group and does what partial-update does.
			name: "last_non_null_value without a group",
			opts: with("fields.b.aggregate-function", "last_non_null_value"),
			runs: oneRunEach(`+I 1 {"k":1,"a":1.0,"b":1,"c":"x"}`, `+I 2 {"k":1,"a":null,"b":null,"c":"y"}`),
			want: []string{`{"k":1,"a":1,"b":1,"c":"y"}`},
		},
		{
			name: "projection",
			opts: pu,
			read: []string{"c", "a"},
			runs: oneRunEach(`+I 1 {"k":1,"a":23.0,"b":10,"c":null}`, `+I 2 {"k":1,"a":null,"b":null,"c":"book"}`),
			want: []string{`{"c":"book","a":23}`},
		},
	})
}

// partial-update.md "Sequence Group"; PartialUpdateMergeFunction.updateWithSequenceGroup,
// retractWithSequenceGroup.
func TestPartialUpdateSequenceGroup(t *testing.T) {
	cols := "k INT NOT NULL, a INT, b INT, g_1 INT, c INT, d INT, g_2 INT, g_3 INT"
	groups := map[string]string{"merge-engine": "partial-update", "fields.g_1.sequence-group": "a,b", "fields.g_2.sequence-group": "c,d"}
	multi := map[string]string{"merge-engine": "partial-update", "fields.g_1.sequence-group": "a,b", "fields.g_2,g_3.sequence-group": "c,d"}
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
	runEngineCases(t, cols, []string{"k"}, []engineCase{
		{
			// partial-update.md, table t: outputs 1,2,2,2,1,1,1 then 1,2,2,2,3,3,3.
			name: "groups update only when their sequence advances",
			opts: groups,
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":1,"d":1,"g_2":1}`,
				`+I 2 {"k":1,"a":2,"b":2,"g_1":2,"c":2,"d":2,"g_2":null}`,
				`+I 3 {"k":1,"a":3,"b":3,"g_1":1,"c":3,"d":3,"g_2":3}`),
			want: []string{`{"k":1,"a":2,"b":2,"g_1":2,"c":3,"d":3,"g_2":3,"g_3":null}`},
		},
		{
			name: "after two records",
			opts: groups,
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":1,"d":1,"g_2":1}`,
				`+I 2 {"k":1,"a":2,"b":2,"g_1":2,"c":2,"d":2,"g_2":null}`),
			want: []string{`{"k":1,"a":2,"b":2,"g_1":2,"c":1,"d":1,"g_2":1,"g_3":null}`},
		},
		{
			name: "an equal sequence updates, nulls included",
			opts: groups,
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"g_1":5}`,
				`+I 2 {"k":1,"a":null,"b":7,"g_1":5}`),
			want: []string{`{"k":1,"a":null,"b":7,"g_1":5,"c":null,"d":null,"g_2":null,"g_3":null}`},
		},
		{
			// partial-update.md, table SG: outputs 1,2,2,2,1,1,1,1 then 1,2,2,2,3,3,3,1.
			name: "multi-field sequence group",
			opts: multi,
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":1,"d":1,"g_2":1,"g_3":1}`,
				`+I 2 {"k":1,"a":2,"b":2,"g_1":2,"c":2,"d":2,"g_2":1,"g_3":null}`,
				`+I 3 {"k":1,"a":3,"b":3,"g_1":1,"c":3,"d":3,"g_2":3,"g_3":1}`),
			want: []string{`{"k":1,"a":2,"b":2,"g_1":2,"c":3,"d":3,"g_2":3,"g_3":1}`},
		},
		{
			name: "multi-field sequence group after two records",
			opts: multi,
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":1,"d":1,"g_2":1,"g_3":1}`,
				`+I 2 {"k":1,"a":2,"b":2,"g_1":2,"c":2,"d":2,"g_2":1,"g_3":null}`),
			want: []string{`{"k":1,"a":2,"b":2,"g_1":2,"c":1,"d":1,"g_2":1,"g_3":1}`},
		},
		{
			name: "fields outside groups update when not null",
			opts: map[string]string{"merge-engine": "partial-update", "fields.g_1.sequence-group": "a"},
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":1,"g_1":1}`, `+I 2 {"k":1,"a":2,"b":null,"c":4,"g_1":0}`),
			want: []string{`{"k":1,"a":1,"b":1,"g_1":1,"c":4,"d":null,"g_2":null,"g_3":null}`},
		},
		{
			name: "a retraction with a newer sequence retracts the group's fields",
			opts: groups,
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":1,"d":1,"g_2":1}`, `-U 2 {"k":1,"a":1,"b":1,"g_1":2}`),
			want: []string{`{"k":1,"a":null,"b":null,"g_1":2,"c":1,"d":1,"g_2":1,"g_3":null}`},
		},
		{
			name: "a retraction with an older sequence does nothing",
			opts: groups,
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":1,"g_1":3,"c":1,"d":1,"g_2":1}`, `-D 2 {"k":1,"a":1,"b":1,"g_1":2}`),
			want: []string{`{"k":1,"a":1,"b":1,"g_1":3,"c":1,"d":1,"g_2":1,"g_3":null}`},
		},
		{
			name: "a retraction with a null group sequence does nothing to that group",
			opts: groups,
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":1,"g_1":3,"c":1,"d":1,"g_2":1}`, `-D 2 {"k":1,"a":1,"b":1,"g_1":null,"c":1,"d":1,"g_2":5}`),
			want: []string{`{"k":1,"a":1,"b":1,"g_1":3,"c":null,"d":null,"g_2":5,"g_3":null}`},
		},
		{
			name: "only retractions: a delete",
			opts: groups,
			keep: true,
			runs: oneRunEach(`-U 1 {"k":1,"a":1,"b":1,"g_1":1}`, `-U 2 {"k":1,"a":2,"b":2,"g_1":2}`),
			want: []string{`-D 2 {"k":1,"a":null,"b":null,"g_1":2,"c":null,"d":null,"g_2":null,"g_3":null}`},
		},
		{
			name: "remove-record-on-sequence-group: a -D of the group removes the row",
			opts: with(groups, "partial-update.remove-record-on-sequence-group", "g_1"),
			keep: true,
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":1,"d":1,"g_2":1}`, `-D 2 {"k":1,"a":null,"b":null,"g_1":2}`),
			want: []string{`-D 2 {"k":1,"a":null,"b":null,"g_1":2,"c":null,"d":null,"g_2":null,"g_3":null}`},
		},
		{
			name: "remove-record-on-sequence-group: a -D of another group retracts",
			opts: with(groups, "partial-update.remove-record-on-sequence-group", "g_1"),
			keep: true,
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":1,"d":1,"g_2":1}`, `-D 2 {"k":1,"c":9,"g_2":2}`),
			want: []string{`+I 2 {"k":1,"a":1,"b":1,"g_1":1,"c":null,"d":null,"g_2":2,"g_3":null}`},
		},
		{
			name: "remove-record-on-sequence-group: -U only retracts",
			opts: with(groups, "partial-update.remove-record-on-sequence-group", "g_1"),
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":1,"d":1,"g_2":1}`, `-U 2 {"k":1,"g_1":2}`),
			want: []string{`{"k":1,"a":null,"b":null,"g_1":2,"c":1,"d":1,"g_2":1,"g_3":null}`},
		},
		{
			name: "remove-record-on-sequence-group must name a sequence field",
			opts: with(groups, "partial-update.remove-record-on-sequence-group", "a"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "must be part of sequence groups",
		},
		{
			name: "remove-record-on-delete conflicts with sequence groups",
			opts: with(groups, "partial-update.remove-record-on-delete", "true"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "conflicting behavior",
		},
		{
			name: "a group field twice",
			opts: with(groups, "fields.g_3.sequence-group", "a"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "defined repeatedly by multiple groups",
		},
		{
			name: "a primary key in a group",
			opts: with(groups, "fields.g_3.sequence-group", "k"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "contains primary key field 'k'",
		},
		{
			name: "a group naming a missing field",
			opts: with(groups, "fields.g_3.sequence-group", "nope"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "field nope can not be found",
		},
		{
			name: "a missing sequence field",
			opts: with(groups, "fields.nope.sequence-group", "g_3"),
			runs: oneRunEach(`+I 1 {"k":1}`),
			err:  "field nope can not be found",
		},
		{
			name: "projection reads the group's sequence field",
			opts: groups,
			read: []string{"a"},
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"g_1":5}`, `+I 2 {"k":1,"a":2,"g_1":4}`),
			want: []string{`{"a":1}`},
		},
	})
}

// partial-update.md "Aggregation For Partial Update".
func TestPartialUpdateAggregation(t *testing.T) {
	runEngineCases(t, "k INT NOT NULL, a INT, b INT, c INT, d INT", []string{"k"}, []engineCase{
		{
			// Table t: output 1, 2, 1, 2, 3.
			name: "first_value and sum in groups",
			opts: map[string]string{
				"merge-engine": "partial-update", "fields.a.sequence-group": "b", "fields.b.aggregate-function": "first_value",
				"fields.c.sequence-group": "d", "fields.d.aggregate-function": "sum",
			},
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"c":null,"d":null}`,
				`+I 2 {"k":1,"a":null,"b":null,"c":1,"d":1}`,
				`+I 3 {"k":1,"a":2,"b":2,"c":null,"d":null}`,
				`+I 4 {"k":1,"a":null,"b":null,"c":2,"d":2}`),
			want: []string{`{"k":1,"a":2,"b":1,"c":2,"d":3}`},
		},
		{
			// Second table t: default last_non_null_value, d sum: output 1, 2, 2, 2, 3.
			name: "default aggregate function",
			opts: map[string]string{
				"merge-engine": "partial-update", "fields.a.sequence-group": "b", "fields.c.sequence-group": "d",
				"fields.default-aggregate-function": "last_non_null_value", "fields.d.aggregate-function": "sum",
			},
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"c":null,"d":null}`,
				`+I 2 {"k":1,"a":null,"b":null,"c":1,"d":1}`,
				`+I 3 {"k":1,"a":2,"b":2,"c":null,"d":null}`,
				`+I 4 {"k":1,"a":null,"b":null,"c":2,"d":2}`),
			want: []string{`{"k":1,"a":2,"b":2,"c":2,"d":3}`},
		},
		{
			// An older sequence still aggregates (aggReversed); the sequence stays.
			name: "older sequence aggregates reversed",
			opts: map[string]string{"merge-engine": "partial-update", "fields.a.sequence-group": "b", "fields.b.aggregate-function": "sum"},
			runs: oneRunEach(`+I 1 {"k":1,"a":5,"b":10}`, `+I 2 {"k":1,"a":3,"b":7}`),
			want: []string{`{"k":1,"a":5,"b":17,"c":null,"d":null}`},
		},
		{
			name: "older sequence with last_value keeps the newer value (reversed)",
			opts: map[string]string{"merge-engine": "partial-update", "fields.a.sequence-group": "b", "fields.b.aggregate-function": "last_value"},
			runs: oneRunEach(`+I 1 {"k":1,"a":5,"b":10}`, `+I 2 {"k":1,"a":3,"b":7}`),
			want: []string{`{"k":1,"a":5,"b":10,"c":null,"d":null}`},
		},
		{
			name: "retraction retracts the aggregate",
			opts: map[string]string{"merge-engine": "partial-update", "fields.a.sequence-group": "b", "fields.b.aggregate-function": "sum"},
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":10}`, `+I 2 {"k":1,"a":2,"b":5}`, `-U 3 {"k":1,"a":3,"b":10}`),
			want: []string{`{"k":1,"a":3,"b":5,"c":null,"d":null}`},
		},
		{
			name: "retraction with an older sequence retracts the aggregate too",
			opts: map[string]string{"merge-engine": "partial-update", "fields.a.sequence-group": "b", "fields.b.aggregate-function": "sum"},
			runs: oneRunEach(`+I 1 {"k":1,"a":5,"b":10}`, `+I 2 {"k":1,"a":6,"b":5}`, `-U 3 {"k":1,"a":1,"b":10}`),
			want: []string{`{"k":1,"a":6,"b":5,"c":null,"d":null}`},
		},
		{
			name: "retracting a function without retraction fails",
			opts: map[string]string{"merge-engine": "partial-update", "fields.a.sequence-group": "b", "fields.b.aggregate-function": "max"},
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":10}`, `-U 2 {"k":1,"a":2,"b":10}`),
			err:  "does not support retraction",
		},
		{
			name: "ignore-retract",
			opts: map[string]string{"merge-engine": "partial-update", "fields.a.sequence-group": "b", "fields.b.aggregate-function": "max", "fields.b.ignore-retract": "true"},
			runs: oneRunEach(`+I 1 {"k":1,"a":1,"b":10}`, `-U 2 {"k":1,"a":2,"b":10}`),
			want: []string{`{"k":1,"a":2,"b":10,"c":null,"d":null}`},
		},
	})
	// partial-update.md, table AGG: 1, 3, 2, 2, "1", 1, 2 then 1, 6, 3, 2, "3", 3, 2.
	runEngineCases(t, "k INT NOT NULL, a INT, b INT, g_1 INT, c STRING, g_2 INT, g_3 INT", []string{"k"}, []engineCase{
		{
			name: "sum in a two-field group",
			opts: map[string]string{"merge-engine": "partial-update", "fields.a.aggregate-function": "sum", "fields.g_1,g_3.sequence-group": "a", "fields.g_2.sequence-group": "c"},
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":"1","g_2":1,"g_3":1}`,
				`+I 2 {"k":1,"a":2,"b":2,"g_1":2,"c":"2","g_2":null,"g_3":2}`,
				`+I 3 {"k":1,"a":3,"b":3,"g_1":2,"c":"3","g_2":3,"g_3":1}`),
			want: []string{`{"k":1,"a":6,"b":3,"g_1":2,"c":"3","g_2":3,"g_3":2}`},
		},
		{
			name: "sum in a two-field group after two records",
			opts: map[string]string{"merge-engine": "partial-update", "fields.a.aggregate-function": "sum", "fields.g_1,g_3.sequence-group": "a", "fields.g_2.sequence-group": "c"},
			runs: oneRunEach(
				`+I 1 {"k":1,"a":1,"b":1,"g_1":1,"c":"1","g_2":1,"g_3":1}`,
				`+I 2 {"k":1,"a":2,"b":2,"g_1":2,"c":"2","g_2":null,"g_3":2}`),
			want: []string{`{"k":1,"a":3,"b":2,"g_1":2,"c":"1","g_2":1,"g_3":2}`},
		},
	})
}
