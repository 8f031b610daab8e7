// Package table is a handle on one Paimon table: its schemas, snapshots and tags, batch
// scan planning and reading (merge-on-read), and, for writers, commits.
package table

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
)

// ErrNotFound is wrapped when a table, snapshot, tag or schema does not exist.
var ErrNotFound = errors.New("not found")

// Table is an open Paimon table. It is safe for concurrent use.
type Table struct {
	fio  fileio.FileIO
	path string // table root, without trailing slash

	mu      sync.Mutex
	schemas map[int64]*format.TableSchema
	// latestSeen is the newest snapshot this Table has committed or found: the first
	// guess when looking for the latest one (a guess is always checked).
	latestSeen int64
	// lists holds the manifest lists this Table wrote last (they are immutable), so that
	// the next commit builds on them without reading them back.
	lists listCache
	// statsSchemas holds the schema id of each statistics file read (they are immutable).
	statsSchemas map[string]int64
}

// Open opens the table at path (a directory holding schema/ and snapshot/).
func Open(ctx context.Context, fio fileio.FileIO, path string) (*Table, error) {
	t := &Table{fio: fio, path: strings.TrimRight(path, "/"), schemas: map[int64]*format.TableSchema{}}
	if _, err := t.LatestSchema(ctx); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("no Paimon table at %s (no schema/schema-N file): %w", path, ErrNotFound)
		}
		return nil, err
	}
	return t, nil
}

// Path is the table's root location.
func (t *Table) Path() string { return t.path }

// FileIO is the table's storage.
func (t *Table) FileIO() fileio.FileIO { return t.fio }

// Join returns the location of a path relative to the table root.
func (t *Table) Join(rel ...string) string { return fileio.Join(t.path, rel...) }

// Schema returns the schema with the given id.
func (t *Table) Schema(ctx context.Context, id int64) (*format.TableSchema, error) {
	t.mu.Lock()
	s := t.schemas[id]
	t.mu.Unlock()
	if s != nil {
		return s, nil
	}
	p := t.Join(format.SchemaPath(id))
	data, err := t.fio.ReadFile(ctx, p)
	if errors.Is(err, fileio.ErrNotExist) {
		return nil, fmt.Errorf("schema %d of %s: %w", id, t.path, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	s, err = format.ParseSchema(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if s.ID != id {
		return nil, fmt.Errorf("%s: holds schema id %d", p, s.ID)
	}
	t.mu.Lock()
	t.schemas[id] = s
	t.mu.Unlock()
	return s, nil
}

// SchemaIDs lists the ids of all schema files, ascending.
func (t *Table) SchemaIDs(ctx context.Context) ([]int64, error) {
	return t.listIDs(ctx, format.SchemaDir, format.SchemaPrefix)
}

// LatestSchema returns the schema with the highest id.
func (t *Table) LatestSchema(ctx context.Context) (*format.TableSchema, error) {
	ids, err := t.SchemaIDs(ctx)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("schemas of %s: %w", t.path, ErrNotFound)
	}
	return t.Schema(ctx, ids[len(ids)-1])
}

func (t *Table) listIDs(ctx context.Context, dir, prefix string) ([]int64, error) {
	entries, err := t.fio.List(ctx, t.Join(dir))
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, e := range entries {
		if e.IsDir {
			continue
		}
		if id, ok := format.ParseIDSuffix(e.Name(), prefix); ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// Options returns the latest schema's options.
func (t *Table) Options(ctx context.Context) (format.Options, error) {
	s, err := t.LatestSchema(ctx)
	if err != nil {
		return format.Options{}, err
	}
	return s.Options, nil
}
