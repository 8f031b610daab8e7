package manifest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tarnlake/tarn/internal/testenv"
)

// fastavroDump prints, as JSON, the codec and rows fastavro reads from each
// file named on the command line: bytes as base64, timestamps as epoch
// milliseconds.
const fastavroDump = `
import base64, datetime, json, sys
import fastavro

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

def plain(v):
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v

out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        r = fastavro.reader(f)
        rows = [plain(x) for x in r]
        out[path] = {"codec": r.codec, "rows": rows}
json.dump(out, sys.stdout)
`

// python returns the test virtualenv's interpreter (testenv.Python: fastavro,
// backports.zstd and cramjam for snappy, pinned in scripts/requirements-test.txt).
func python(t *testing.T) string {
	t.Helper()
	py := testenv.Python(t)
	if out, err := exec.Command(py, "-c", "import fastavro, backports.zstd, cramjam").CombinedOutput(); err != nil {
		t.Fatalf("the test virtualenv lacks fastavro, backports.zstd or cramjam: %v\n%s", err, out)
	}
	return py
}

type fastavroFile struct {
	Codec string            `json:"codec"`
	Rows  []json.RawMessage `json:"rows"`
}

// TestFastavroReadsWhatTarnWrites writes files with every codec and layout
// and has fastavro, an independent Avro implementation, read them back.
func TestFastavroReadsWhatTarnWrites(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	type written struct {
		codec string
		want  []any // expected rows in fastavro's terms
	}
	files := map[string]written{}
	for _, codec := range []string{CodecZstandard, CodecNull, CodecDeflate, CodecSnappy} {
		for _, lc := range testLayouts {
			opts := WriterOptions{Codec: codec, Layout: lc.layout}
			l := lc.layout
			entries, metas, index := lc.rows()
			base := filepath.Join(dir, codec+"-"+lc.name)

			write := func(name string, fn func(f *os.File) error, want []any) {
				f, err := os.Create(base + "-" + name)
				if err != nil {
					t.Fatal(err)
				}
				if err := fn(f); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				files[f.Name()] = written{codec, want}
			}
			write("manifest", func(f *os.File) error {
				_, err := WriteManifestFile(f, f.Name(), entries, opts)
				return err
			}, mapRows(entries, func(e ManifestEntry) any { return entryAvro(e, l) }))
			write("manifest-list", func(f *os.File) error {
				_, err := WriteManifestList(f, f.Name(), metas, opts)
				return err
			}, mapRows(metas, func(m ManifestFileMeta) any { return manifestFileMetaAvro(m, l) }))
			write("index-manifest", func(f *os.File) error {
				_, err := WriteIndexManifest(f, f.Name(), index, opts)
				return err
			}, mapRows(index, func(e IndexManifestEntry) any { return indexEntryAvro(e, l) }))
		}
	}

	args := []string{"-c", fastavroDump}
	for name := range files {
		args = append(args, name)
	}
	cmd := exec.Command(py, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fastavro: %v\n%s", err, stderr.String())
	}
	var got map[string]fastavroFile
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for name, w := range files {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: not read", name)
			continue
		}
		if g.Codec != w.codec {
			t.Errorf("%s: fastavro sees codec %q", name, g.Codec)
		}
		if len(g.Rows) != len(w.want) {
			t.Errorf("%s: fastavro reads %d rows, wrote %d", name, len(g.Rows), len(w.want))
			continue
		}
		for i := range g.Rows {
			gotRow := normalizeJSON(t, g.Rows[i])
			wantJSON, err := json.Marshal(w.want[i])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotRow, normalizeJSON(t, wantJSON)) {
				t.Errorf("%s: row %d\nfastavro: %s\n    want: %s", filepath.Base(name), i, g.Rows[i], wantJSON)
				break
			}
		}
	}
	t.Logf("fastavro read %d files", len(files))
}

// normalizeJSON parses JSON keeping numbers exact.
func normalizeJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mapRows[T any](rows []T, fn func(T) any) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = fn(r)
	}
	return out
}

// The functions below spell out, independently of the package's own field
// tables, how each Go value appears as an Avro record: field names as in
// Paimon's schemas, bytes as base64, null as nil. n keeps the first n fields.

type kv struct {
	k string
	v any
}

func avroRow(n int, fields ...kv) map[string]any {
	if n > len(fields) {
		panic(fmt.Sprintf("record has %d fields, want %d", len(fields), n))
	}
	m := make(map[string]any, n)
	for _, f := range fields[:n] {
		m[f.k] = f.v
	}
	return m
}

func b64(b []byte) any {
	if b == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(b)
}

func ptr[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func slice[T any](s []T) any {
	if s == nil {
		return nil
	}
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func statsAvro(s SimpleStats) map[string]any {
	var nc any
	if s.NullCounts != nil {
		xs := make([]any, len(s.NullCounts))
		for i, x := range s.NullCounts {
			xs[i] = ptr(x)
		}
		nc = xs
	}
	return avroRow(3, kv{"_MIN_VALUES", b64(orEmpty(s.MinValues))}, kv{"_MAX_VALUES", b64(orEmpty(s.MaxValues))}, kv{"_NULL_COUNTS", nc})
}

func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func entryAvro(e ManifestEntry, l Layout) map[string]any {
	f := e.File
	var source any
	if f.FileSource != nil {
		source = int(*f.FileSource)
	}
	extra := f.ExtraFiles
	if extra == nil {
		extra = []string{}
	}
	file := avroRow(l.dataFileMetaFields(),
		kv{"_FILE_NAME", f.FileName},
		kv{"_FILE_SIZE", f.FileSize},
		kv{"_ROW_COUNT", f.RowCount},
		kv{"_MIN_KEY", b64(orEmpty(f.MinKey))},
		kv{"_MAX_KEY", b64(orEmpty(f.MaxKey))},
		kv{"_KEY_STATS", statsAvro(f.KeyStats)},
		kv{"_VALUE_STATS", statsAvro(f.ValueStats)},
		kv{"_MIN_SEQUENCE_NUMBER", f.MinSequenceNumber},
		kv{"_MAX_SEQUENCE_NUMBER", f.MaxSequenceNumber},
		kv{"_SCHEMA_ID", f.SchemaID},
		kv{"_LEVEL", f.Level},
		kv{"_EXTRA_FILES", slice(extra)},
		kv{"_CREATION_TIME", ptr(f.CreationTime)},
		kv{"_DELETE_ROW_COUNT", ptr(f.DeleteRowCount)},
		kv{"_EMBEDDED_FILE_INDEX", b64(f.EmbeddedIndex)},
		kv{"_FILE_SOURCE", source},
		kv{"_VALUE_STATS_COLS", slice(f.ValueStatsCols)},
		kv{"_EXTERNAL_PATH", ptr(f.ExternalPath)},
		kv{"_FIRST_ROW_ID", ptr(f.FirstRowID)},
		kv{"_WRITE_COLS", slice(f.WriteCols)},
		kv{"_WRITE_COLS_SEQUENCES", slice(f.WriteColsSequences)},
	)
	return avroRow(6,
		kv{"_VERSION", 2},
		kv{"_KIND", int(e.Kind)},
		kv{"_PARTITION", b64(orEmpty(e.Partition))},
		kv{"_BUCKET", e.Bucket},
		kv{"_TOTAL_BUCKETS", e.TotalBuckets},
		kv{"_FILE", file},
	)
}

func manifestFileMetaAvro(m ManifestFileMeta, l Layout) map[string]any {
	return avroRow(1+l.manifestFileMetaFields(),
		kv{"_VERSION", 2},
		kv{"_FILE_NAME", m.FileName},
		kv{"_FILE_SIZE", m.FileSize},
		kv{"_NUM_ADDED_FILES", m.NumAddedFiles},
		kv{"_NUM_DELETED_FILES", m.NumDeletedFiles},
		kv{"_PARTITION_STATS", statsAvro(m.PartitionStats)},
		kv{"_SCHEMA_ID", m.SchemaID},
		kv{"_MIN_BUCKET", ptr(m.MinBucket)},
		kv{"_MAX_BUCKET", ptr(m.MaxBucket)},
		kv{"_MIN_LEVEL", ptr(m.MinLevel)},
		kv{"_MAX_LEVEL", ptr(m.MaxLevel)},
		kv{"_MIN_ROW_ID", ptr(m.MinRowID)},
		kv{"_MAX_ROW_ID", ptr(m.MaxRowID)},
	)
}

func indexEntryAvro(e IndexManifestEntry, l Layout) map[string]any {
	f := e.IndexFile
	var dvs any
	if f.DeletionVectorRanges != nil {
		xs := make([]any, len(f.DeletionVectorRanges))
		for i, d := range f.DeletionVectorRanges {
			xs[i] = avroRow(l.deletionVectorMetaFields(),
				kv{"f0", d.DataFileName}, kv{"f1", d.Offset}, kv{"f2", d.Length}, kv{"_CARDINALITY", ptr(d.Cardinality)})
		}
		dvs = xs
	}
	var gi any
	if g := f.GlobalIndexMeta; g != nil {
		gi = avroRow(l.globalIndexMetaFields(),
			kv{"_ROW_RANGE_START", g.RowRangeStart},
			kv{"_ROW_RANGE_END", g.RowRangeEnd},
			kv{"_INDEX_FIELD_ID", g.IndexFieldID},
			kv{"_EXTRA_FIELD_IDS", slice(g.ExtraFieldIDs)},
			kv{"_INDEX_META", b64(g.IndexMeta)},
			kv{"_SOURCE_META", b64(g.SourceMeta)},
		)
	}
	return avroRow(1+l.indexManifestEntryFields(),
		kv{"_VERSION", 1},
		kv{"_KIND", int(e.Kind)},
		kv{"_PARTITION", b64(orEmpty(e.Partition))},
		kv{"_BUCKET", e.Bucket},
		kv{"_INDEX_TYPE", f.IndexType},
		kv{"_FILE_NAME", f.FileName},
		kv{"_FILE_SIZE", f.FileSize},
		kv{"_ROW_COUNT", f.RowCount},
		kv{"_DELETIONS_VECTORS_RANGES", dvs},
		kv{"_EXTERNAL_PATH", ptr(f.ExternalPath)},
		kv{"_GLOBAL_INDEX", gi},
	)
}
