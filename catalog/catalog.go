// Package catalog is Tarn's filesystem catalog: a warehouse directory holding databases
// ("<name>.db") that hold tables, laid out exactly as Paimon's FileSystemCatalog does.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/table"
)

// ErrNotFound is wrapped when a database or table does not exist.
var ErrNotFound = table.ErrNotFound

// Identifier names a table: database and object name.
type Identifier struct {
	Database string
	Table    string
}

func (id Identifier) String() string { return id.Database + "." + id.Table }

// ParseIdentifier parses "db.table" (a name without a dot is in database "default").
func ParseIdentifier(s string) (Identifier, error) {
	db, tbl, ok := strings.Cut(s, ".")
	if !ok {
		db, tbl = "default", s
	}
	id := Identifier{Database: db, Table: tbl}
	if err := ValidateName(id.Database); err != nil {
		return Identifier{}, fmt.Errorf("database name: %w", err)
	}
	if err := ValidateName(id.Table); err != nil {
		return Identifier{}, fmt.Errorf("table name: %w", err)
	}
	return id, nil
}

// ValidateName refuses names that are empty, path-like or hold control characters.
func ValidateName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty name")
	case s == "." || s == ".." || strings.Contains(s, ".."):
		return fmt.Errorf("%q: '..' is not allowed in names", s)
	case strings.ContainsAny(s, "/\\"):
		return fmt.Errorf("%q: '/' and '\\' are not allowed in names", s)
	case len(s) > 255:
		return fmt.Errorf("name of %d bytes is too long", len(s))
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q: control characters are not allowed in names", s)
		}
	}
	return nil
}

// Catalog is a warehouse on a FileIO.
type Catalog struct {
	fio       fileio.FileIO
	warehouse string
}

// New opens the catalog of a warehouse URI.
func New(fio fileio.FileIO, warehouse string) *Catalog {
	return &Catalog{fio: fio, warehouse: strings.TrimRight(warehouse, "/")}
}

// Warehouse is the warehouse location.
func (c *Catalog) Warehouse() string { return c.warehouse }

// FileIO is the warehouse's storage.
func (c *Catalog) FileIO() fileio.FileIO { return c.fio }

// DatabasePath is "<warehouse>/<db>.db".
func (c *Catalog) DatabasePath(db string) string {
	return fileio.Join(c.warehouse, db+format.DatabaseSuffix)
}

// TablePath is "<warehouse>/<db>.db/<table>".
func (c *Catalog) TablePath(id Identifier) string {
	return fileio.Join(c.DatabasePath(id.Database), id.Table)
}

// ListDatabases lists databases, sorted.
func (c *Catalog) ListDatabases(ctx context.Context) ([]string, error) {
	entries, err := c.fio.List(ctx, c.warehouse)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir && strings.HasSuffix(e.Name(), format.DatabaseSuffix) {
			out = append(out, strings.TrimSuffix(e.Name(), format.DatabaseSuffix))
		}
	}
	sort.Strings(out)
	return out, nil
}

// ListTables lists the tables of a database, sorted.
func (c *Catalog) ListTables(ctx context.Context, db string) ([]string, error) {
	entries, err := c.fio.List(ctx, c.DatabasePath(db))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir {
			continue
		}
		if ok, err := c.isTable(ctx, e.Path); err != nil {
			return nil, err
		} else if ok {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func (c *Catalog) isTable(ctx context.Context, path string) (bool, error) {
	entries, err := c.fio.List(ctx, fileio.Join(path, format.SchemaDir))
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), format.SchemaPrefix) {
			return true, nil
		}
	}
	return false, nil
}

// LoadTable opens a table.
func (c *Catalog) LoadTable(ctx context.Context, id Identifier) (*table.Table, error) {
	t, err := table.Open(ctx, c.fio, c.TablePath(id))
	if errors.Is(err, table.ErrNotFound) {
		return nil, fmt.Errorf("table %s does not exist in warehouse %s: %w", id, c.warehouse, ErrNotFound)
	}
	return t, err
}
