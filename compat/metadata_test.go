package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// The "byte-identical metadata" and "pypaimon reads Tarn's" columns of the matrix, for the
// tables TestPaimonReadsTarnTables wrote from the same rows as Paimon's reference tables.

// avroKinds are the Avro files of a table's manifest directory, by file-name prefix.
var avroKinds = []string{"manifest-list-", "index-manifest-", "manifest-"}

func avroKind(name string) string {
	for _, k := range avroKinds {
		if strings.HasPrefix(name, k) {
			return strings.TrimSuffix(k, "-")
		}
	}
	return ""
}

// ocfSchema returns the avro.schema entry of an Avro object container file's header,
// parsed here from the container spec (magic "Obj\x01", then the metadata as an Avro map
// of bytes), independently of Tarn's reader.
func ocfSchema(data []byte) (string, error) {
	if !bytes.HasPrefix(data, []byte("Obj\x01")) {
		return "", errors.New("not an Avro object container file")
	}
	r := bytes.NewReader(data[4:])
	long := func() (int64, error) {
		u, err := binary.ReadUvarint(r)
		return int64(u>>1) ^ -int64(u&1), err
	}
	str := func() (string, error) {
		n, err := long()
		if err != nil || n < 0 || n > int64(r.Len()) {
			return "", fmt.Errorf("bad length %d: %v", n, err)
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return string(b), err
	}
	for {
		n, err := long()
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "", errors.New("no avro.schema in the header")
		}
		if n < 0 { // a block with its byte size
			n = -n
			if _, err := long(); err != nil {
				return "", err
			}
		}
		for ; n > 0; n-- {
			k, err := str()
			if err != nil {
				return "", err
			}
			v, err := str()
			if err != nil {
				return "", err
			}
			if k == "avro.schema" {
				return v, nil
			}
		}
	}
}

// headerSchemas reads the writer schema in the header of every Avro file of a table's
// manifest directory, by kind.
func headerSchemas(dir string) (map[string][]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "manifest"))
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range entries {
		kind := avroKind(e.Name())
		if kind == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "manifest", e.Name()))
		if err != nil {
			return nil, err
		}
		s, err := ocfSchema(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if !slices.Contains(out[kind], s) {
			out[kind] = append(out[kind], s)
		}
	}
	return out, nil
}

// schemaJSON is a schema-N file without its creation time.
func schemaJSON(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "timeMillis")
	if o, ok := m["options"].(map[string]any); ok {
		delete(o, "path")
	}
	return m, nil
}

// placement lists the partitions (BinaryRow bytes, hex) and, for fixed buckets, the
// buckets the latest snapshot's live files are in.
func placement(ctx context.Context, dir string, fixedBucket bool) ([]string, error) {
	t, err := table.Open(ctx, fileio.NewLocal(), dir)
	if err != nil {
		return nil, err
	}
	plan, err := t.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, s := range plan.Splits {
		k := hex.EncodeToString(s.Partition)
		if fixedBucket {
			k += fmt.Sprintf("/%d", s.Bucket)
		}
		set[k] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// specSchema is Paimon 2.x's writer schema of an Avro file kind, from ../shared/spec/avro.
func specSchema(kind string) (any, error) {
	data, err := os.ReadFile(filepath.Join(repoRoot(), "..", "shared", "spec", "avro", kind+".avsc"))
	if err != nil {
		return nil, err
	}
	var v any
	return v, json.Unmarshal(data, &v)
}

func sameJSON(a string, b any) bool {
	var v any
	return json.Unmarshal([]byte(a), &v) == nil && reflect.DeepEqual(v, b)
}

// metadataDiff compares the metadata Tarn wrote for a shape with Paimon's for the same
// rows: the Avro writer schemas of manifest lists, manifests and index manifests (byte
// for byte, or, where Paimon 2.x changed them, as Paimon 2.x writes them), schema-0 (as
// JSON, but for its creation time), and the partition BinaryRows and buckets of the live
// files. It returns "" when they agree, or a note on what agrees with Paimon 2.x only.
func metadataDiff(ctx context.Context, refDir, tarnDir string, rt refTable) (diff, note string) {
	ps, err := headerSchemas(refDir)
	if err != nil {
		return "reading Paimon's manifests: " + err.Error(), ""
	}
	ts, err := headerSchemas(tarnDir)
	if err != nil {
		return "reading Tarn's manifests: " + err.Error(), ""
	}
	for _, k := range avroKinds {
		kind := strings.TrimSuffix(k, "-")
		if len(ps[kind]) == 0 || len(ts[kind]) == 0 {
			continue // one of them has no such file (no index, or expired)
		}
		for _, s := range ts[kind] {
			if slices.Contains(ps[kind], s) {
				continue
			}
			spec, err := specSchema(kind)
			if err == nil && sameJSON(s, spec) {
				note = fmt.Sprintf("(%s schema as Paimon 2.x writes it; %s writes an older one)", kind, paimonLatest)
				continue
			}
			return fmt.Sprintf("the Avro writer schema of Tarn's %s files differs from Paimon %s's and 2.x's", kind, paimonLatest), ""
		}
	}
	pj, err := schemaJSON(filepath.Join(refDir, "schema", "schema-0"))
	if err != nil {
		return "Paimon's schema-0: " + err.Error(), ""
	}
	tj, err := schemaJSON(filepath.Join(tarnDir, "schema", "schema-0"))
	if err != nil {
		return "Tarn's schema-0: " + err.Error(), ""
	}
	if !reflect.DeepEqual(pj, tj) {
		return "schema-0 differs from Paimon's (fields, keys or options)", ""
	}
	fixed := rt.Bucket > 0
	pp, err := placement(ctx, refDir, fixed)
	if err != nil {
		return "planning Paimon's table: " + err.Error(), ""
	}
	tp, err := placement(ctx, tarnDir, fixed)
	if err != nil {
		return "planning Tarn's table: " + err.Error(), ""
	}
	if !slices.Equal(pp, tp) {
		what := "partition BinaryRows"
		if fixed {
			what += " and buckets"
		}
		return fmt.Sprintf("%s of the live files differ from Paimon's (%d vs %d)", what, len(tp), len(pp)), ""
	}
	return "", note
}

// pypaimonRequest is one read of compat/pypaimon_read.py --batch.
type pypaimonRequest struct {
	Table    string   `json:"table"`
	Snapshot int64    `json:"snapshot"`
	Exclude  []string `json:"exclude,omitempty"`
	Out      string   `json:"out"`

	name, expected string // the table's name and expected rows (not sent)
}

type pypaimonResult struct {
	Out     string `json:"out"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// runPypaimon makes the reads in one pypaimon process.
func runPypaimon(ctx context.Context, reqs []pypaimonRequest) (map[string]pypaimonResult, error) {
	var in bytes.Buffer
	for _, r := range reqs {
		b, _ := json.Marshal(r)
		in.Write(b)
		in.WriteByte('\n')
	}
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(), "compat", "pypaimon"), "--batch")
	cmd.Stdin = &in
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("compat/pypaimon --batch: %v\n%s", err, tail(stderr.String(), 3000))
	}
	out := map[string]pypaimonResult{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r pypaimonResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("compat/pypaimon --batch printed %q: %w", sc.Text(), err)
		}
		out[r.Out] = r
	}
	return out, nil
}

// withoutColumns renders JSON Lines with the columns left out, as a sorted list of rows
// with sorted keys: leaving columns out can change the canonical row order.
func withoutColumns(data []byte, exclude []string) ([]string, error) {
	var out []string
	for _, l := range lines(data) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			return nil, err
		}
		for _, c := range exclude {
			delete(m, c)
		}
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out, nil
}

// pypaimonGaps are the columns pypaimon 2.1.0 cannot read exactly: MULTISET (it cannot
// parse the type) and TIMESTAMP(7..9) (it reads them at microseconds).
func pypaimonGaps(ctx context.Context, dir string) ([]string, error) {
	t, err := table.Open(ctx, fileio.NewLocal(), dir)
	if err != nil {
		return nil, err
	}
	s, err := t.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range s.Fields {
		ts := f.Type.String()
		if strings.Contains(ts, "MULTISET") || strings.Contains(ts, "TIMESTAMP(7)") || strings.Contains(ts, "TIMESTAMP(8)") || strings.Contains(ts, "TIMESTAMP(9)") {
			out = append(out, f.Name)
		}
	}
	return out, nil
}

// pypaimonReads reads every snapshot of every table with pypaimon and returns, per table
// name, whether its rows equal the expected ones ("" or why not) and a note: tables with
// columns pypaimon cannot read are read and compared without them.
func pypaimonReads(ctx context.Context, t *testing.T, dir string, written []refTable) (why, notes map[string]string, err error) {
	out := t.TempDir()
	var reqs []pypaimonRequest
	why, notes = map[string]string{}, map[string]string{}
	for _, w := range written {
		why[w.Name] = ""
		gaps, err := pypaimonGaps(ctx, filepath.Join(dir, w.Path))
		if err != nil {
			return nil, nil, err
		}
		if len(gaps) > 0 {
			notes[w.Name] = fmt.Sprintf("(without %s: pypaimon 2.1.0 cannot read MULTISET and reads TIMESTAMP(7..9) at microseconds)", strings.Join(gaps, ", "))
		}
		for _, f := range w.Files {
			var snap int64
			if _, err := fmt.Sscanf(f, "snapshot-%d.jsonl", &snap); err != nil {
				continue
			}
			reqs = append(reqs, pypaimonRequest{Table: filepath.Join(dir, w.Path), Snapshot: snap, Exclude: gaps,
				Out: filepath.Join(out, fmt.Sprintf("%s-%d.jsonl", w.Name, snap)), name: w.Name, expected: filepath.Join(dir, w.Expected, f)})
		}
	}
	res, err := runPypaimon(ctx, reqs)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range reqs {
		if why[r.name] != "" {
			continue
		}
		got, ok := res[r.Out]
		switch {
		case !ok:
			why[r.name] = fmt.Sprintf("snapshot %d: no answer from pypaimon", r.Snapshot)
		case got.Status == "unsupported":
			why[r.name] = "pypaimon cannot read it: " + firstLineOf(got.Message)
		case got.Status != "ok":
			why[r.name] = fmt.Sprintf("snapshot %d: %s", r.Snapshot, firstLineOf(got.Message))
		default:
			g, err1 := os.ReadFile(r.Out)
			e, err2 := os.ReadFile(r.expected)
			if err := errors.Join(err1, err2); err != nil {
				why[r.name] = fmt.Sprintf("snapshot %d: %v", r.Snapshot, err)
				continue
			}
			gl, err1 := withoutColumns(g, r.Exclude)
			el, err2 := withoutColumns(e, r.Exclude)
			if err := errors.Join(err1, err2); err != nil {
				why[r.name] = fmt.Sprintf("snapshot %d: %v", r.Snapshot, err)
			} else if !slices.Equal(gl, el) {
				why[r.name] = fmt.Sprintf("snapshot %d: rows differ (%d rows, want %d)", r.Snapshot, len(gl), len(el))
			}
		}
	}
	return why, notes, nil
}

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// recordTarnExtras fills the metadata and pypaimon columns for the tables Tarn wrote
// under dir from the reference tables under ref.
func recordTarnExtras(ctx context.Context, t *testing.T, ref, dir string, written []refTable) {
	for _, w := range written {
		rt := w
		rt.Name = "ref." + strings.TrimPrefix(w.Name, "tarn.")
		var refPath string
		for _, r := range loadManifest(t, ref) {
			if r.Name == rt.Name {
				refPath = filepath.Join(ref, r.Path)
			}
		}
		why, note := metadataDiff(ctx, refPath, filepath.Join(dir, w.Path), rt)
		switch {
		case why != "":
			record(rt, "metadata", false, why)
			t.Errorf("metadata of Tarn's %s: %s", w.Name, why)
		case note != "":
			recordPass(rt, "metadata", note)
		default:
			record(rt, "metadata", true, "")
		}
	}
	res, notes, err := pypaimonReads(ctx, t, dir, written)
	if err != nil {
		t.Errorf("pypaimon: %v", err)
		return
	}
	for _, w := range written {
		rt := w
		rt.Name = "ref." + strings.TrimPrefix(w.Name, "tarn.")
		switch why := res[w.Name]; {
		case why != "":
			record(rt, "pypaimon_reads", false, why)
			if !strings.HasPrefix(why, "pypaimon cannot read it") {
				t.Errorf("pypaimon reading Tarn's %s: %s", w.Name, why)
			}
		case notes[w.Name] != "":
			recordPass(rt, "pypaimon_reads", notes[w.Name])
		default:
			record(rt, "pypaimon_reads", true, "")
		}
	}
}
