package compat_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// Tarn and Paimon put each of 100 000 random keys of every key type in the same bucket
// (Paimon's FixedBucketRowKeyExtractor through `compat/oracle buckets`, all tables in one
// JVM), and 20 000 with each other bucket function (bucket-function.type mod and hive;
// BucketFunction.create).
func TestBucketsEqualPaimons(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	const n = 100_000
	keyTypes := []string{"TINYINT", "SMALLINT", "INT", "BIGINT", "BOOLEAN", "FLOAT", "DOUBLE",
		"DECIMAL(10, 2)", "DECIMAL(38, 6)", "CHAR(8)", "VARCHAR(40)", "STRING", "BINARY(6)", "BYTES",
		"DATE", "TIME", "TIMESTAMP(3)", "TIMESTAMP(6)", "TIMESTAMP(3) WITH LOCAL TIME ZONE", "STRING,BIGINT"}
	cases := make([]string, 0, 2*len(keyTypes))
	for _, kt := range keyTypes {
		cases = append(cases, kt)
	}
	cases = append(cases, "mod INT", "mod BIGINT")
	for _, kt := range keyTypes {
		if !strings.HasPrefix(kt, "TIMESTAMP") { // Hive's hash has no timestamps
			cases = append(cases, "hive "+kt)
		}
	}
	dir := t.TempDir()
	cat := catalog.New(fileio.NewLocal(), dir)
	// Every case's table and random keys first, then one JVM gives Paimon's buckets of all.
	type bucketCase struct {
		name   string
		tbl    *table.Table
		fields []types.DataField
		input  string
		n      int
	}
	var all []bucketCase
	var paths []string
	var stdin strings.Builder
	for ti, c := range cases {
		opts := map[string]string{"bucket": "13"}
		kt, n := c, n
		if fn, rest, ok := strings.Cut(c, " "); ok && (fn == "mod" || fn == "hive") {
			opts["bucket-function.type"], kt, n = fn, rest, n/5
		}
		parts := strings.Split(kt, ",")
		if kt == "DECIMAL(10, 2)" || kt == "DECIMAL(38, 6)" {
			parts = []string{kt}
		}
		var cols, pk []string
		for i, p := range parts {
			cols = append(cols, fmt.Sprintf("k%d %s NOT NULL", i, p))
			pk = append(pk, fmt.Sprintf("k%d", i))
		}
		fields, err := types.ParseColumns(strings.Join(cols, ", ") + ", v INT")
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "b", Table: fmt.Sprintf("t%d", ti)}, catalog.TableSpec{
			Fields: fields, PrimaryKeys: pk, Options: opts,
		}, false)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(ti), 99))
		var lines strings.Builder
		for i := 0; i < n; i++ {
			lines.WriteByte('{')
			for j, f := range fields[:len(parts)] {
				if j > 0 {
					lines.WriteByte(',')
				}
				fmt.Fprintf(&lines, "%q:%s", f.Name, randomValue(rng, f.Type))
			}
			lines.WriteString("}\n")
		}
		all = append(all, bucketCase{c, tbl, fields, lines.String(), n})
		paths = append(paths, tbl.Path())
		if ti > 0 {
			stdin.WriteString("---\n")
		}
		stdin.WriteString(lines.String())
	}
	out, _, err := runOracle(ctx, oracleCall{version: paimonLatest, args: append([]string{"buckets"}, paths...), stdin: stdin.String()})
	if err != nil {
		t.Fatal(err)
	}
	sections := strings.Split(string(out), "---\n")
	if len(sections) != len(all) {
		t.Fatalf("oracle gave buckets of %d tables, want %d", len(sections), len(all))
	}
	for ci, c := range all {
		t.Run(c.name, func(t *testing.T) {
			paimon := strings.Fields(sections[ci])
			if len(paimon) != c.n {
				t.Fatalf("oracle gave %d buckets for %d keys", len(paimon), c.n)
			}
			r, err := render.NewJSONLReader(strings.NewReader(c.input), c.fields, 8192)
			if err != nil {
				t.Fatal(err)
			}
			row := 0
			for {
				b, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.tbl.Buckets(ctx, b)
				b.Release()
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range got {
					if want, _ := strconv.Atoi(paimon[row]); g != want {
						t.Fatalf("row %d (%s): Tarn bucket %d, Paimon %d", row, strings.SplitN(c.input, "\n", row+2)[row], g, want)
					}
					row++
				}
			}
			if row != c.n {
				t.Fatalf("Tarn computed %d buckets", row)
			}
		})
	}
}

// randomValue renders a random canonical JSON value of a key type.
func randomValue(rng *rand.Rand, t types.DataType) string {
	switch t.Root {
	case types.TinyInt:
		return strconv.Itoa(rng.IntN(256) - 128)
	case types.SmallInt:
		return strconv.Itoa(rng.IntN(65536) - 32768)
	case types.Int:
		return strconv.Itoa(int(int32(rng.Uint32())))
	case types.BigInt:
		return strconv.FormatInt(int64(rng.Uint64()), 10)
	case types.Boolean:
		return strconv.FormatBool(rng.IntN(2) == 0)
	case types.Float:
		return strconv.FormatFloat(float64(float32(rng.NormFloat64()*1e3)), 'f', -1, 32)
	case types.Double:
		return strconv.FormatFloat(rng.NormFloat64()*1e6, 'f', -1, 64)
	case types.Decimal:
		u := rng.Int64N(1_000_000_000)
		if t.Precision > 18 {
			return fmt.Sprintf(`"%d%09d.%06d"`, rng.Int64N(1e12), u, rng.IntN(1_000_000))
		}
		return fmt.Sprintf(`"%d.%02d"`, u/1000-500_000, rng.IntN(100))
	case types.Char, types.VarChar:
		n := 1 + rng.IntN(min(t.Length, 30))
		if t.Root == types.Char {
			n = t.Length
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return strconv.Quote(string(b))
	case types.Binary, types.VarBinary:
		n := 1 + rng.IntN(20)
		if t.Root == types.Binary {
			n = t.Length
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return strconv.Quote(base64.StdEncoding.EncodeToString(b))
	case types.Date:
		return strconv.Quote(time.Unix(rng.Int64N(2e9)-1e9, 0).UTC().Format("2006-01-02"))
	case types.Time:
		return strconv.Quote(time.Unix(rng.Int64N(86400), 0).UTC().Format("15:04:05"))
	case types.Timestamp, types.LocalZonedTimestamp:
		ts := time.Unix(rng.Int64N(2e9)-1e9, rng.Int64N(1e9)).UTC()
		f := "2006-01-02T15:04:05.000"
		if t.Precision > 3 {
			f = "2006-01-02T15:04:05.000000"
		}
		s := ts.Format(f)
		if t.Root == types.LocalZonedTimestamp {
			s += "Z"
		}
		return strconv.Quote(s)
	}
	panic("no generator for " + t.String())
}
