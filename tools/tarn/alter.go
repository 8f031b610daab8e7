package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

func init() {
	register("alter-table", "change a table's schema or options (one new schema, Paimon's rules)", cmdAlterTable)
}

// changeList collects schema changes from several repeatable flags in command-line order.
type changeList struct{ changes []catalog.SchemaChange }

// changeFlag is one kind of change flag; each use appends a change to the list.
type changeFlag struct {
	list  *changeList
	parse func(string) (catalog.SchemaChange, error)
}

func (f changeFlag) String() string { return "" }

// boolChangeFlag is a change flag without a value.
type boolChangeFlag struct{ changeFlag }

func (boolChangeFlag) IsBoolFlag() bool { return true }

func (f changeFlag) Set(v string) error {
	c, err := f.parse(v)
	if err != nil {
		return err
	}
	f.list.changes = append(f.list.changes, c)
	return nil
}

// columnSetting splits 'col<sep>value' into the column's path and the value (nil when
// empty: the setting is removed).
func columnSetting(v, sep, want string) ([]string, *string, error) {
	col, val, ok := strings.Cut(v, sep)
	if !ok || strings.TrimSpace(col) == "" {
		return nil, nil, errors.New(want)
	}
	path := catalog.ParsePath(strings.TrimSpace(col))
	if val == "" {
		return path, nil, nil
	}
	return path, &val, nil
}

func cmdAlterTable(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("alter-table", "--warehouse W db.table (or TABLE location) CHANGE... (repeatable, applied in order as one change)", stderr)
	tf := addTableFlags(fs)
	var list changeList
	add := func(name, usage string, parse func(string) (catalog.SchemaChange, error)) {
		fs.Var(changeFlag{&list, parse}, name, usage)
	}
	add("add", "add a column: 'name TYPE [COMMENT 'text'] [FIRST | AFTER col | BEFORE col | LAST]'; 'r.x INT' adds field x to ROW column r", parseAddColumn)
	add("drop", "drop a column (r.x: a nested field)", func(v string) (catalog.SchemaChange, error) {
		return catalog.DropColumn{Path: catalog.ParsePath(strings.TrimSpace(v))}, nil
	})
	add("rename", "rename a column: 'old:new' (r.x:y renames a nested field)", func(v string) (catalog.SchemaChange, error) {
		from, to, ok := strings.Cut(v, ":")
		if !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
			return nil, fmt.Errorf("want old:new")
		}
		return catalog.RenameColumn{Path: catalog.ParsePath(strings.TrimSpace(from)), NewName: strings.TrimSpace(to)}, nil
	})
	add("widen", "change a column's type: 'col TYPE' (nullability kept unless TYPE says NOT NULL); 'v.element BIGINT' for an array's elements", parseWiden)
	add("comment", "set a column's comment: 'col:text' ('col:' removes it)", func(v string) (catalog.SchemaChange, error) {
		path, text, err := columnSetting(v, ":", "want col:text")
		return catalog.UpdateColumnComment{Path: path, Comment: text}, err
	})
	add("default", "set a column's default value, which writers put in place of nulls: 'col=value' ('col=' removes it)", func(v string) (catalog.SchemaChange, error) {
		path, val, err := columnSetting(v, "=", "want col=value")
		return catalog.UpdateColumnDefaultValue{Path: path, Default: val}, err
	})
	fs.Var(boolChangeFlag{changeFlag{&list, func(string) (catalog.SchemaChange, error) { return catalog.DropPrimaryKey{}, nil }}}, "drop-primary-key",
		"drop the primary key (only before the table's first commit): the table becomes append-only")
	add("table-comment", "set the table's comment ('' removes it)", func(v string) (catalog.SchemaChange, error) {
		if v == "" {
			return catalog.UpdateComment{}, nil
		}
		return catalog.UpdateComment{Comment: &v}, nil
	})
	add("not-null", "make a column NOT NULL", func(v string) (catalog.SchemaChange, error) {
		return catalog.UpdateColumnNullability{Path: catalog.ParsePath(strings.TrimSpace(v)), Nullable: false}, nil
	})
	add("nullable", "make a column nullable", func(v string) (catalog.SchemaChange, error) {
		return catalog.UpdateColumnNullability{Path: catalog.ParsePath(strings.TrimSpace(v)), Nullable: true}, nil
	})
	add("move", "move a column: 'col FIRST | col LAST | col AFTER other | col BEFORE other'", parseMove)
	add("set", "set an option: key=value", func(v string) (catalog.SchemaChange, error) {
		k, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("want key=value")
		}
		return catalog.SetOption{Key: strings.TrimSpace(k), Value: strings.TrimSpace(val)}, nil
	})
	add("unset", "remove an option", func(v string) (catalog.SchemaChange, error) {
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("want an option key")
		}
		return catalog.RemoveOption{Key: strings.TrimSpace(v)}, nil
	})
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(list.changes) == 0 {
		return usagef("no changes: give at least one of --add, --drop, --rename, --widen, --comment, --default, --drop-primary-key, --table-comment, --not-null, --nullable, --move, --set, --unset")
	}
	var s *format.TableSchema
	if tf.warehouse != "" {
		if len(pos) != 1 {
			return usagef("expected one db.table argument, got %d", len(pos))
		}
		id, err := catalog.ParseIdentifier(pos[0])
		if err != nil {
			return usagef("%v", err)
		}
		fio, err := tf.storage.open(ctx, tf.warehouse)
		if err != nil {
			return err
		}
		if s, err = catalog.New(fio, tf.warehouse).AlterTable(ctx, id, list.changes); err != nil {
			return err
		}
	} else {
		var t *table.Table
		if t, err = tf.open(ctx, pos); err != nil {
			return err
		}
		if s, err = catalog.Alter(ctx, t, list.changes); err != nil {
			return fmt.Errorf("alter table %s: %w", t.Path(), err)
		}
	}
	fmt.Fprintf(stdout, "schema %d:\n", s.ID)
	for _, f := range s.Fields {
		fmt.Fprintf(stdout, "  %s %s\n", f.Name, f.Type)
	}
	return nil
}

var (
	positionRE = regexp.MustCompile(`(?is)^(.*?)\s+(FIRST|LAST|(?:AFTER|BEFORE)\s+(` + "`[^`]+`" + `|\S+))\s*$`)
	commentRE  = regexp.MustCompile(`(?is)^(.*?)\s+(?:COMMENT\s+)?'((?:[^']|'')*)'\s*$`)
)

// splitPosition cuts a trailing FIRST, LAST, AFTER col or BEFORE col off s.
func splitPosition(s string) (string, *catalog.Move) {
	m := positionRE.FindStringSubmatch(s)
	if m == nil {
		return s, nil
	}
	word := strings.ToUpper(strings.Fields(m[2])[0])
	ref := strings.Trim(m[3], "`")
	switch word {
	case "FIRST":
		return m[1], &catalog.Move{Type: catalog.MoveFirst}
	case "LAST":
		return m[1], &catalog.Move{Type: catalog.MoveLast}
	case "AFTER":
		return m[1], &catalog.Move{Type: catalog.MoveAfter, Reference: ref}
	}
	return m[1], &catalog.Move{Type: catalog.MoveBefore, Reference: ref}
}

// splitName cuts the leading column path (backquotes allowed) off s.
func splitName(s string) (path []string, rest string, err error) {
	s = strings.TrimSpace(s)
	var name string
	if strings.HasPrefix(s, "`") {
		end := strings.Index(s[1:], "`")
		if end < 0 {
			return nil, "", fmt.Errorf("unclosed ` in %q", s)
		}
		name, rest = s[1:end+1], s[end+2:]
		path = []string{name}
	} else {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return nil, "", fmt.Errorf("want 'name TYPE', got %q", s)
		}
		name, rest = s[:i], s[i:]
		path = catalog.ParsePath(name)
	}
	return path, strings.TrimSpace(rest), nil
}

func parseAddColumn(v string) (catalog.SchemaChange, error) {
	v, move := splitPosition(strings.TrimSpace(v))
	path, rest, err := splitName(v)
	if err != nil {
		return nil, err
	}
	var comment *string
	if m := commentRE.FindStringSubmatch(rest); m != nil {
		c := strings.ReplaceAll(m[2], "''", "'")
		rest, comment = m[1], &c
	}
	t, err := types.Parse(rest)
	if err != nil {
		return nil, err
	}
	return catalog.AddColumn{Path: path, Type: t, Comment: comment, Move: move}, nil
}

func parseWiden(v string) (catalog.SchemaChange, error) {
	path, rest, err := splitName(v)
	if err != nil {
		return nil, err
	}
	t, err := types.Parse(rest)
	if err != nil {
		return nil, err
	}
	return catalog.UpdateColumnType{Path: path, Type: t, KeepNullability: t.Nullable}, nil
}

func parseMove(v string) (catalog.SchemaChange, error) {
	rest, move := splitPosition(strings.TrimSpace(v))
	if move == nil {
		return nil, fmt.Errorf("want 'col FIRST', 'col LAST', 'col AFTER other' or 'col BEFORE other'")
	}
	move.Column = strings.Trim(strings.TrimSpace(rest), "`")
	return catalog.MoveColumn{Move: *move}, nil
}

var _ flag.Value = changeFlag{}
