package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/progress"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

func init() {
	register("create-table", "create a table (and its database) in a warehouse", cmdCreateTable)
	register("write", "write rows (JSON Lines, CSV or Parquet) into a table and commit them", cmdWrite)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

func cmdCreateTable(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("create-table", "--warehouse W db.table --schema 'a INT NOT NULL, b STRING' [flags]", stderr)
	st := addStorageFlags(fs)
	warehouse := fs.String("warehouse", "", "warehouse location (required)")
	schema := fs.String("schema", "", "columns, e.g. 'id BIGINT NOT NULL, name STRING, amount DECIMAL(18,2)' (required)")
	pk := fs.String("primary-key", "", "comma-separated primary key columns")
	parts := fs.String("partition-keys", "", "comma-separated partition columns")
	comment := fs.String("comment", "", "table comment")
	ifNotExists := fs.Bool("if-not-exists", false, "succeed if the table exists")
	var options multiFlag
	fs.Var(&options, "option", "table option k=v (repeatable), e.g. bucket=4")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *warehouse == "" || *schema == "" || len(pos) != 1 {
		return usagef("need --warehouse, --schema and one db.table argument")
	}
	id, err := catalog.ParseIdentifier(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	fields, err := types.ParseColumns(*schema)
	if err != nil {
		return usagef("--schema: %v", err)
	}
	opts := map[string]string{}
	for _, o := range options {
		k, v, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usagef("--option %q: want key=value", o)
		}
		opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	spec := catalog.TableSpec{Fields: fields, PrimaryKeys: splitList(*pk), PartitionKeys: splitList(*parts), Options: opts}
	if *comment != "" {
		spec.Comment = comment
	}
	fio, err := st.open(ctx, *warehouse)
	if err != nil {
		return err
	}
	t, err := catalog.New(fio, *warehouse).CreateTable(ctx, id, spec, *ifNotExists)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created table %s at %s\n", id, t.Path())
	return nil
}

func cmdWrite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("write", "--warehouse W db.table [--format jsonl|csv|parquet] [FILE]", stderr)
	tf := addTableFlags(fs)
	inFormat := fs.String("format", "", "input format: jsonl, csv or parquet (default: from the file name, else jsonl)")
	every := fs.Int64("commit-every", 0, "commit after every N rows (default: one commit for the whole input)")
	user := fs.String("commit-user", "", "commit user (default: a new one per run)")
	compact := fs.Bool("compact", false, "compact in the background while writing (a long write with --commit-every); by default compaction is left to 'tarn compact' or the server")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("expected TABLE [FILE]")
	}
	t, err := tf.open(ctx, pos[:1])
	if err != nil {
		return err
	}
	in := io.Reader(os.Stdin)
	name := "-"
	if len(pos) == 2 && pos[1] != "-" {
		name = pos[1]
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	f := *inFormat
	if f == "" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv":
			f = "csv"
		case ".parquet":
			f = "parquet"
		default:
			f = "jsonl"
		}
	}
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return err
	}
	// Input batches hold at most --commit-every rows, so that a slow input (a pipe) is
	// committed every N rows as they arrive, not once a full batch has been read.
	batchRows := int64(64 * 1024)
	if *every > 0 {
		batchRows = min(batchRows, *every)
	}
	next, closeIn, err := openInput(ctx, in, f, schema.Fields, int(batchRows))
	if err != nil {
		return err
	}
	defer closeIn()
	if *user == "" {
		*user = "tarn-write-" + randomID()
	}
	bar := progress.New(stderr, "writing", "rows", 0)
	w, err := t.NewWriter(ctx, table.WriterOptions{Compact: *compact})
	if err != nil {
		return err
	}
	defer w.Close()
	var identifier, rows, sinceCommit int64
	var snapshots []int64
	commit := func() error {
		msgs, err := w.PrepareCommit(ctx)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		identifier++
		res, err := t.Commit(ctx, table.Commit{User: *user, Identifier: identifier, Messages: msgs, SchemaID: w.Schema().ID, CheckSchema: true})
		if err != nil {
			return err
		}
		snapshots = append(snapshots, res.SnapshotID)
		return nil
	}
	for {
		b, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		err = writeCommittingEvery(b, *every, &sinceCommit, func(part arrow.RecordBatch) error {
			if err := w.Write(ctx, part); err != nil {
				return err
			}
			rows += part.NumRows()
			bar.Add(part.NumRows(), 0)
			return nil
		}, commit)
		b.Release()
		if err != nil {
			return err
		}
	}
	if err := commit(); err != nil {
		return err
	}
	bar.Done()
	if len(snapshots) == 0 {
		fmt.Fprintf(stdout, "no rows to write; nothing committed\n")
		return nil
	}
	fmt.Fprintf(stdout, "wrote %d rows in %s: snapshot %d (%d commits)\n", rows, bar.Elapsed().Round(1e6), snapshots[len(snapshots)-1], len(snapshots))
	return nil
}

// writeCommittingEvery writes b through write, calling commit each time every rows have
// been written since the last commit (*since counts them across batches, and is reset
// after each commit). Without every (0), b is written whole.
func writeCommittingEvery(b arrow.RecordBatch, every int64, since *int64, write func(arrow.RecordBatch) error, commit func() error) error {
	n := b.NumRows()
	for off := int64(0); off < n; {
		take := n - off
		if every > 0 {
			take = min(take, every-*since)
		}
		part := b
		if take != n {
			part = b.NewSlice(off, off+take)
		}
		err := write(part)
		if take != n {
			part.Release()
		}
		if err != nil {
			return err
		}
		off += take
		*since += take
		if every > 0 && *since >= every {
			if err := commit(); err != nil {
				return err
			}
			*since = 0
		}
	}
	return nil
}

// openInput returns an iterator of Arrow batches of at most batchRows rows over the input.
func openInput(ctx context.Context, in io.Reader, format string, fields []types.DataField, batchRows int) (func() (arrow.RecordBatch, error), func(), error) {
	switch format {
	case "jsonl", "json":
		r, err := render.NewJSONLReader(in, fields, batchRows)
		if err != nil {
			return nil, nil, err
		}
		return r.Next, func() {}, nil
	case "csv":
		r, err := render.NewCSVReader(in, fields, batchRows)
		if err != nil {
			return nil, nil, err
		}
		return r.Next, func() {}, nil
	case "parquet":
		f, ok := in.(*os.File)
		removeSpool := func() {}
		if !ok || f == os.Stdin {
			// A Parquet file is read from its footer: standard input is spooled to a
			// temporary file first.
			tmp, err := os.CreateTemp("", "tarn-write-*.parquet")
			if err != nil {
				return nil, nil, err
			}
			removeSpool = func() { tmp.Close(); os.Remove(tmp.Name()) }
			if _, err := io.Copy(tmp, in); err != nil {
				removeSpool()
				return nil, nil, fmt.Errorf("spooling standard input: %w", err)
			}
			f = tmp
		}
		pf, err := file.NewParquetReader(f)
		if err != nil {
			removeSpool()
			return nil, nil, err
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}, memory.DefaultAllocator)
		if err != nil {
			pf.Close()
			removeSpool()
			return nil, nil, err
		}
		rr, err := fr.GetRecordReader(ctx, nil, nil)
		if err != nil {
			pf.Close()
			removeSpool()
			return nil, nil, err
		}
		return func() (arrow.RecordBatch, error) {
				if !rr.Next() {
					if err := rr.Err(); err != nil {
						return nil, err
					}
					return nil, io.EOF
				}
				b := rr.RecordBatch()
				b.Retain()
				return b, nil
			}, func() {
				rr.Release()
				pf.Close()
				removeSpool()
			}, nil
	}
	return nil, nil, usagef("--format %q: use jsonl, csv or parquet", format)
}
