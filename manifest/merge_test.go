package manifest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// fe builds a manifest entry for merge tests: "+a" adds file a, "-a" deletes
// it; options tweak the identifier.
func fe(spec string, opts ...func(*ManifestEntry)) ManifestEntry {
	e := ManifestEntry{Kind: FileKindAdd, Partition: []byte{0, 0, 0, 0}, TotalBuckets: 1}
	if spec[0] == '-' {
		e.Kind = FileKindDelete
	}
	e.File.FileName = spec[1:]
	e.File.ExtraFiles = []string{}
	for _, o := range opts {
		o(&e)
	}
	return e
}

func level(l int32) func(*ManifestEntry)  { return func(e *ManifestEntry) { e.File.Level = l } }
func bucket(b int32) func(*ManifestEntry) { return func(e *ManifestEntry) { e.Bucket = b } }
func partition(p byte) func(*ManifestEntry) {
	return func(e *ManifestEntry) { e.Partition = []byte{0, 0, 0, p} }
}
func extra(f ...string) func(*ManifestEntry) { return func(e *ManifestEntry) { e.File.ExtraFiles = f } }
func embedded(b []byte) func(*ManifestEntry) {
	return func(e *ManifestEntry) { e.File.EmbeddedIndex = b }
}
func external(p *string) func(*ManifestEntry) {
	return func(e *ManifestEntry) { e.File.ExternalPath = p }
}
func rows(n int64) func(*ManifestEntry) { return func(e *ManifestEntry) { e.File.RowCount = n } }

func TestMergeEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []ManifestEntry
		want    []ManifestEntry
		wantErr string
	}{
		{name: "empty"},
		{name: "add then delete cancel", in: []ManifestEntry{fe("+a"), fe("-a")}},
		{name: "delete of an earlier manifest's file is kept", in: []ManifestEntry{fe("-a")}, want: []ManifestEntry{fe("-a")}},
		{
			name: "order of first appearance",
			in:   []ManifestEntry{fe("+a"), fe("-x"), fe("+b"), fe("-a"), fe("+c")},
			want: []ManifestEntry{fe("-x"), fe("+b"), fe("+c")},
		},
		{
			name: "a re-added identifier goes last",
			in:   []ManifestEntry{fe("+a"), fe("+b"), fe("-a"), fe("+a", rows(9))},
			want: []ManifestEntry{fe("+b"), fe("+a", rows(9))},
		},
		{
			name: "a compaction: level 0 files replaced by a level 1 file",
			in: []ManifestEntry{fe("+a"), fe("+b"), fe("-a"), fe("-b"), fe("+c", level(1)),
				fe("-c", level(1)), fe("+c", level(2))},
			want: []ManifestEntry{fe("+c", level(2))},
		},
		{
			name: "the identifier includes level, bucket and partition",
			in:   []ManifestEntry{fe("+a"), fe("-a", level(1)), fe("-a", bucket(1)), fe("-a", partition(1))},
			want: []ManifestEntry{fe("+a"), fe("-a", level(1)), fe("-a", bucket(1)), fe("-a", partition(1))},
		},
		{
			name: "the identifier includes extra files, embedded index and external path",
			in: []ManifestEntry{fe("+a"), fe("-a", extra("x")), fe("-a", embedded([]byte{})),
				fe("-a", external(str(""))), fe("-a", extra("x", "y")), fe("-a", extra("xy"))},
			want: []ManifestEntry{fe("+a"), fe("-a", extra("x")), fe("-a", embedded([]byte{})),
				fe("-a", external(str(""))), fe("-a", extra("x", "y")), fe("-a", extra("xy"))},
		},
		{
			name: "other fields are not part of the identifier",
			in:   []ManifestEntry{fe("+a", rows(5)), fe("-a", rows(6), extra())},
		},
		{
			name: "equal byte contents are the same identifier",
			in:   []ManifestEntry{fe("+a", embedded([]byte{1, 2}), external(str("p"))), fe("-a", embedded([]byte{1, 2}), external(str("p")))},
		},
		{
			name:    "adding a file twice fails",
			in:      []ManifestEntry{fe("+a"), fe("+a")},
			wantErr: "already ADD",
		},
		{
			name:    "adding a file whose delete is pending fails, as in Paimon",
			in:      []ManifestEntry{fe("-a"), fe("+a")},
			wantErr: "already DELETE",
		},
		{
			name: "a second delete cancels the first, as in Paimon",
			in:   []ManifestEntry{fe("-a"), fe("-a")},
		},
		{
			name:    "unknown kind",
			in:      []ManifestEntry{{Kind: 3}},
			wantErr: "unknown file kind",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MergeEntries(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("got %v\nwant %v", names(got), names(tc.want))
			}
		})
	}
}

func names(es []ManifestEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s%s@%d", map[FileKind]string{FileKindAdd: "+", FileKindDelete: "-"}[e.Kind], e.File.FileName, e.File.Level)
	}
	return out
}

// TestEntryMergerMatchesModel runs random valid commit histories through the
// merger, which compacts its storage as it goes, and through a direct
// transcription of Paimon's LinkedHashMap algorithm.
func TestEntryMergerMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		var in []ManifestEntry
		live := map[string]bool{}
		next := 0
		for i := 0; i < 2000; i++ {
			switch {
			case len(live) > 0 && rng.IntN(2) == 0:
				for name := range live {
					in = append(in, fe("-"+name, level(int32(len(name)%3))))
					delete(live, name)
					break
				}
			case rng.IntN(10) == 0:
				in = append(in, fe(fmt.Sprintf("-old-%d", rng.IntN(1000)), level(9)))
			default:
				name := fmt.Sprintf("f%d", next)
				next++
				live[name] = true
				in = append(in, fe("+"+name, level(int32(len(name)%3))))
			}
		}
		got, err := MergeEntries(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := modelMerge(in); !reflect.DeepEqual(names(got), names(want)) {
			t.Fatalf("round %d: merger and model differ\n%v\n%v", round, names(got), names(want))
		}
	}
}

// modelMerge is FileEntry.mergeEntries over an insertion-ordered map.
func modelMerge(in []ManifestEntry) []ManifestEntry {
	var keys []Identifier
	m := map[Identifier]ManifestEntry{}
	for _, e := range in {
		id := e.Identifier()
		_, ok := m[id]
		if e.Kind == FileKindDelete && ok {
			delete(m, id)
			for i, k := range keys {
				if k == id {
					keys = append(keys[:i], keys[i+1:]...)
					break
				}
			}
			continue
		}
		m[id] = e
		keys = append(keys, id)
	}
	out := []ManifestEntry{}
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}
