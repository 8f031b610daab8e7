package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// ErrInvalidChange is wrapped when AlterTable refuses a schema change. Nothing is written
// then.
var ErrInvalidChange = errors.New("schema change refused")

// ErrUnsupportedChange is wrapped (with ErrInvalidChange) when AlterTable refuses a change
// Paimon refuses as unsupported (its UnsupportedOperationException).
var ErrUnsupportedChange = fmt.Errorf("not supported: %w", ErrInvalidChange)

// SchemaChange is one change of an AlterTable, as Paimon's SchemaChange: SetOption,
// RemoveOption, UpdateComment, AddColumn, RenameColumn, DropColumn, UpdateColumnType,
// UpdateColumnNullability, UpdateColumnComment, UpdateColumnDefaultValue, DropPrimaryKey
// or MoveColumn.
//
// Columns are named by a path: a top-level column ("c") or a nested field, with ROW fields
// by name, an ARRAY's element as "element" and a MAP's value as "value" ("r.x",
// "items.element.price", "m.value"), as Paimon's field-name arrays do.
type SchemaChange interface {
	fmt.Stringer
	schemaChange()
}

// SetOption sets a table option.
type SetOption struct{ Key, Value string }

// RemoveOption removes a table option.
type RemoveOption struct{ Key string }

// UpdateComment sets the table comment (nil removes it).
type UpdateComment struct{ Comment *string }

// AddColumn adds a nullable column, or a field to a nested ROW. Without Move the column
// goes last (or before the partition columns with option add-column-before-partition).
type AddColumn struct {
	Path    []string
	Type    types.DataType
	Comment *string
	Move    *Move // only Type and Reference are used
}

// RenameColumn renames a column or nested field; it keeps its field id, so its data.
type RenameColumn struct {
	Path    []string
	NewName string
}

// DropColumn drops a column or nested field. Its data stays in old files but is no
// longer read; a column added later under the same name is a new column.
type DropColumn struct{ Path []string }

// UpdateColumnType changes a column's type to one that holds every old value exactly
// (see AlterTable). Unless KeepNullability, the new type's nullability applies too.
type UpdateColumnType struct {
	Path            []string
	Type            types.DataType
	KeepNullability bool
}

// UpdateColumnNullability makes a column nullable or NOT NULL.
type UpdateColumnNullability struct {
	Path     []string
	Nullable bool
}

// UpdateColumnComment sets a column's comment (nil removes it).
type UpdateColumnComment struct {
	Path    []string
	Comment *string
}

// UpdateColumnDefaultValue sets a top-level column's default value (nil removes it):
// writers put it in place of nulls, as Paimon's TableWriteImpl does. The value is a
// string cast to the column's type (see render.ParseDefault).
type UpdateColumnDefaultValue struct {
	Path    []string
	Default *string
}

// DropPrimaryKey removes the primary key of a table that has no snapshot yet (Paimon's
// SchemaChange.dropPrimaryKey): the table becomes append-only, and must then be one
// (a fixed bucket count needs option bucket-key, merge engines need a primary key).
type DropPrimaryKey struct{}

// MoveColumn moves a top-level column (Paimon's UpdateColumnPosition).
type MoveColumn struct{ Move Move }

// MoveType is where a column goes.
type MoveType int

// The positions of a Move.
const (
	MoveFirst MoveType = iota + 1
	MoveAfter
	MoveBefore
	MoveLast
)

// Move places Column first, last, or after or before Reference.
type Move struct {
	Type      MoveType
	Column    string
	Reference string
}

func (SetOption) schemaChange()                {}
func (RemoveOption) schemaChange()             {}
func (UpdateComment) schemaChange()            {}
func (AddColumn) schemaChange()                {}
func (RenameColumn) schemaChange()             {}
func (DropColumn) schemaChange()               {}
func (UpdateColumnType) schemaChange()         {}
func (UpdateColumnNullability) schemaChange()  {}
func (UpdateColumnComment) schemaChange()      {}
func (UpdateColumnDefaultValue) schemaChange() {}
func (DropPrimaryKey) schemaChange()           {}
func (MoveColumn) schemaChange()               {}

func (c SetOption) String() string    { return fmt.Sprintf("set option %s=%s", c.Key, c.Value) }
func (c RemoveOption) String() string { return "remove option " + c.Key }
func (c UpdateComment) String() string {
	return "update table comment"
}
func (c AddColumn) String() string {
	s := fmt.Sprintf("add column %s %s", PathString(c.Path), c.Type)
	if c.Move != nil {
		s += " " + c.Move.position()
	}
	return s
}
func (c RenameColumn) String() string {
	return fmt.Sprintf("rename column %s to %s", PathString(c.Path), c.NewName)
}
func (c DropColumn) String() string { return "drop column " + PathString(c.Path) }
func (c UpdateColumnType) String() string {
	return fmt.Sprintf("change type of column %s to %s", PathString(c.Path), c.Type)
}
func (c UpdateColumnNullability) String() string {
	if c.Nullable {
		return fmt.Sprintf("make column %s nullable", PathString(c.Path))
	}
	return fmt.Sprintf("make column %s NOT NULL", PathString(c.Path))
}
func (c UpdateColumnComment) String() string {
	return "update comment of column " + PathString(c.Path)
}
func (c UpdateColumnDefaultValue) String() string {
	return "update default value of column " + PathString(c.Path)
}
func (DropPrimaryKey) String() string { return "drop the primary key" }
func (c MoveColumn) String() string {
	return fmt.Sprintf("move column %s %s", c.Move.Column, c.Move.position())
}

func (m Move) position() string {
	switch m.Type {
	case MoveFirst:
		return "FIRST"
	case MoveAfter:
		return "AFTER " + m.Reference
	case MoveBefore:
		return "BEFORE " + m.Reference
	case MoveLast:
		return "LAST"
	}
	return fmt.Sprintf("MoveType(%d)", m.Type)
}

// PathString joins a column path with dots.
func PathString(path []string) string { return strings.Join(path, ".") }

// ParsePath splits "r.x" into a column path.
func ParsePath(s string) []string { return strings.Split(s, ".") }

// maxAlterAttempts bounds the retries of an alter that loses the race for schema-N to a
// concurrent alter.
const maxAlterAttempts = 10

// AlterTable applies changes, in order and atomically, as the table's next schema
// (schema/schema-N+1, created only if absent). When a concurrent alter takes that file
// first, the changes are applied again to the new latest schema; a change that no longer
// applies then fails. A refused change (wrapping ErrInvalidChange) writes nothing.
//
// The rules are Paimon's (SchemaManager.generateTableSchema and SchemaValidation) with
// these restrictions, where Paimon would accept a change Tarn cannot keep exact:
//   - a column type changes only to a type that holds every old value exactly: TINYINT <
//     SMALLINT < INT < BIGINT; TINYINT and SMALLINT to FLOAT; integers up to INT to
//     DOUBLE; FLOAT to DOUBLE; integers to a DECIMAL with enough integer digits; DECIMAL
//     to a DECIMAL with no fewer integer and fraction digits; CHAR(n) to VARCHAR(>= n);
//     VARCHAR(n) to VARCHAR(>= n); BINARY(n) to VARBINARY(>= n); VARBINARY(n) to
//     VARBINARY(>= n); TIMESTAMP(p) to TIMESTAMP(>= p), likewise WITH LOCAL TIME ZONE.
//     Paimon also takes lossy and explicit casts (BIGINT to INT, STRING to INT, ...);
//   - the columns of option bucket-key keep their type (their hash places rows in buckets);
//   - option bucket does not change once the table has snapshots (Tarn does not rescale);
//   - a nullable column becomes NOT NULL only when option
//     alter-column-null-to-not-null.disabled is false (as in Paimon) and the data holds no
//     null in it (Paimon does not look).
func (c *Catalog) AlterTable(ctx context.Context, id Identifier, changes []SchemaChange) (*format.TableSchema, error) {
	t, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := Alter(ctx, t, changes)
	if err != nil {
		return nil, fmt.Errorf("alter table %s: %w", id, err)
	}
	return s, nil
}

// Alter is AlterTable on an open table.
func Alter(ctx context.Context, t *table.Table, changes []SchemaChange) (*format.TableSchema, error) {
	if len(changes) == 0 {
		return nil, fmt.Errorf("no changes: %w", ErrInvalidChange)
	}
	backoff := 5 * time.Millisecond
	var lost []int64
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		old, err := t.LatestSchema(ctx)
		if err != nil {
			return nil, err
		}
		snap, err := t.LatestSnapshot(ctx)
		if err != nil {
			return nil, err
		}
		env := alterEnv{hasSnapshots: snap != nil, nullsIn: func(fieldID int) (bool, error) {
			return mayHoldNulls(ctx, t, old, fieldID)
		}}
		next, err := applyChanges(old, changes, env)
		if err != nil {
			if len(lost) > 0 {
				return nil, fmt.Errorf("re-applied after concurrent alters wrote schema %s: %w", joinInts(lost), err)
			}
			return nil, err
		}
		err = t.FileIO().CreateIfAbsent(ctx, t.Join(format.SchemaPath(next.ID)), next.Marshal())
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, fileio.ErrExist) {
			return nil, fmt.Errorf("write schema %d: %w", next.ID, err)
		}
		lost = append(lost, next.ID)
		if attempt >= maxAlterAttempts {
			return nil, fmt.Errorf("gave up after %d attempts: concurrent alters wrote schema %s first: %w", attempt, joinInts(lost), table.ErrConflict)
		}
		sleep := backoff + time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

func joinInts(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

// alterEnv is what applying changes needs to know of the table beyond its schema.
type alterEnv struct {
	hasSnapshots bool
	// nullsIn reports whether the latest snapshot may hold a null in the top-level column
	// with this field id (nil: assume it may).
	nullsIn func(fieldID int) (bool, error)
}

// alteration is a schema being changed.
type alteration struct {
	old      *format.TableSchema
	env      alterEnv
	fields   []types.DataField
	highest  int
	pk, part []string
	opts     format.Options
	comment  *string
}

func refusef(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidChange)
}

// applyChanges returns the schema that follows old after changes, validated as Paimon
// validates a new schema.
func applyChanges(old *format.TableSchema, changes []SchemaChange, env alterEnv) (*format.TableSchema, error) {
	a := &alteration{
		old:     old,
		env:     env,
		fields:  cloneFields(old.Fields),
		highest: old.HighestFieldID,
		pk:      slices.Clone(old.PrimaryKeys),
		part:    slices.Clone(old.PartitionKeys),
		opts:    old.Options.Clone(),
		comment: old.Comment,
	}
	if a.pk == nil {
		a.pk = []string{}
	}
	if a.part == nil {
		a.part = []string{}
	}
	for _, ch := range changes {
		var err error
		switch ch := ch.(type) {
		case SetOption:
			err = a.setOption(ch)
		case RemoveOption:
			err = a.removeOption(ch)
		case UpdateComment:
			a.comment = ch.Comment
		case AddColumn:
			err = a.addColumn(ch)
		case RenameColumn:
			err = a.renameColumn(ch)
		case DropColumn:
			err = a.dropColumn(ch)
		case UpdateColumnType:
			err = a.updateType(ch)
		case UpdateColumnNullability:
			err = a.updateNullability(ch)
		case UpdateColumnComment:
			err = a.updateColumnComment(ch)
		case UpdateColumnDefaultValue:
			err = a.updateColumnDefault(ch)
		case DropPrimaryKey:
			if a.env.hasSnapshots {
				// SchemaManager: "Cannot drop primary keys on a non-empty table."
				err = fmt.Errorf("the table has snapshots: a primary key can be dropped only before the first commit: %w", ErrUnsupportedChange)
			} else {
				a.pk = []string{}
			}
		case MoveColumn:
			err = a.moveColumn(ch.Move)
		case nil:
			err = refusef("nil change")
		default:
			err = refusef("unknown change %T", ch)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ch, err)
		}
	}
	s := &format.TableSchema{
		Version:        format.CurrentSchemaVersion,
		ID:             old.ID + 1,
		Fields:         a.fields,
		HighestFieldID: a.highest,
		PartitionKeys:  a.part,
		PrimaryKeys:    a.pk,
		Options:        a.opts,
		Comment:        a.comment,
		TimeMillis:     time.Now().UnixMilli(),
	}
	if err := a.validate(s); err != nil {
		return nil, err
	}
	return s, nil
}

// ---------------------------------------------------------------- options

// Paimon's CoreOptions.IMMUTABLE_OPTIONS (1.4.2): options that cannot change once a table
// has snapshots.
var immutableOptions = map[string]bool{
	"aggregation.remove-record-on-delete": true, "blob-descriptor-field": true,
	"blob-external-storage-field": true, "blob-external-storage-path": true,
	"bucket-function.type": true, "bucket-key": true, "data-evolution.enabled": true,
	"data-file.path-directory": true, "force-lookup": true, "index-file-in-data-file-dir": true,
	"merge-engine": true, "partial-update.remove-record-on-delete": true,
	"partial-update.remove-record-on-sequence-group": true, "partition": true,
	"pk-clustering-override": true, "primary-key": true, "row-tracking.enabled": true,
	"rowkind.field": true,
}

func (a *alteration) optBool(key string, def bool) bool {
	if v, ok := a.old.Options.Get(key); ok {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b
		}
	}
	return def
}

// schemaOnlyOption refuses options that are not settings: keys and location.
func schemaOnlyOption(key string) error {
	switch key {
	case "primary-key", "partition":
		return refusef("option %s: the primary key and partition keys are fixed when the table is created", key)
	case "path":
		return refusef("option path: a table's location cannot change")
	}
	return nil
}

func (a *alteration) setOption(c SetOption) error {
	key := strings.TrimSpace(c.Key)
	if key == "" {
		return refusef("empty option key")
	}
	if err := schemaOnlyOption(key); err != nil {
		return err
	}
	old, had := a.opts.Get(key)
	if had && old == c.Value {
		return nil
	}
	if key == "type" {
		return refusef("option type: a table's type cannot change")
	}
	if !had && !knownOptions[key] && !hasKnownPrefix(key) {
		return refusef("unknown table option %q (see Paimon's CoreOptions for the valid keys)", key)
	}
	if a.env.hasSnapshots {
		if err := a.checkAlterOption(key, old, had, c.Value); err != nil {
			return err
		}
	}
	a.opts.Set(key, c.Value)
	return nil
}

// checkAlterOption is Paimon's SchemaManager.checkAlterTableOption for tables with
// snapshots, plus Tarn's refusal to change a fixed bucket count.
func (a *alteration) checkAlterOption(key, oldValue string, had bool, newValue string) error {
	if immutableOptions[key] {
		return refusef("option %s cannot change once the table has snapshots (Paimon: immutable option)", key)
	}
	switch key {
	case "bucket":
		oldBucket := -1 // CoreOptions.BUCKET's default
		if had {
			n, err := strconv.Atoi(strings.TrimSpace(oldValue))
			if err != nil {
				return refusef("option bucket = %q is not a number", oldValue)
			}
			oldBucket = n
		}
		newBucket, err := strconv.Atoi(strings.TrimSpace(newValue))
		if err != nil {
			return refusef("option bucket = %q: want an integer", newValue)
		}
		switch {
		case oldBucket == -1:
			return refusef("option bucket: cannot change bucket when it is -1 (dynamic or unaware bucket mode)")
		case newBucket == -1:
			return refusef("option bucket: cannot change bucket to -1")
		default:
			return refusef("option bucket: changing the bucket count from %d to %d needs every partition rescaled (Paimon: INSERT OVERWRITE), which Tarn does not do", oldBucket, newBucket)
		}
	case "deletion-vectors.enabled":
		if !a.optBool("deletion-vectors.modifiable", false) && parseBoolDefault(oldValue, had, false) != parseBoolDefault(newValue, true, false) {
			return refusef("option deletion-vectors.enabled: cannot change the deletion vectors mode of a table with data (set deletion-vectors.modifiable = true to allow it after a full compaction)")
		}
	case "ignore-delete", "ignore-update-before":
		if parseBoolDefault(oldValue, had, false) && !parseBoolDefault(newValue, true, false) {
			return refusef("option %s: cannot change from true to false", key)
		}
	case "clustering.columns":
		if _, ok := a.opts.Get("pk-clustering-override"); ok {
			return refusef("option clustering.columns: cannot change it when pk-clustering-override is set")
		}
	}
	return nil
}

func parseBoolDefault(v string, set bool, def bool) bool {
	if !set {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return def
	}
	return b
}

func (a *alteration) removeOption(c RemoveOption) error {
	key := strings.TrimSpace(c.Key)
	if err := schemaOnlyOption(key); err != nil {
		return err
	}
	if key == "type" {
		return refusef("option type: a table's type cannot change")
	}
	if a.env.hasSnapshots {
		switch {
		case immutableOptions[key]:
			return refusef("option %s cannot change once the table has snapshots (Paimon: immutable option)", key)
		case key == "bucket":
			return refusef("option bucket cannot be reset once the table has snapshots")
		case key == "clustering.columns":
			if _, ok := a.opts.Get("pk-clustering-override"); ok {
				return refusef("option clustering.columns: cannot reset it when pk-clustering-override is set")
			}
		}
	}
	a.opts.Delete(key)
	return nil
}

func hasKnownPrefix(k string) bool {
	for _, p := range knownPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- columns

// columnNotFound names the missing column and the columns there are.
func columnNotFound(path []string, depth int, fields []types.DataField) error {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	where := "the table's columns"
	if depth > 0 {
		where = "the fields of " + PathString(path[:depth])
	}
	return refusef("column %s does not exist (%s: %s)", PathString(path[:depth+1]), where, strings.Join(names, ", "))
}

// editFields finds the field list holding the path's last ROW-level name and calls fn
// with it, that name and the "element"/"value" steps after it (non-empty when the path
// ends inside an ARRAY or MAP). fn returns the new list. Fields are edited in place: the
// alteration owns its copy.
func editFields(fields []types.DataField, path []string, depth int, fn func(fields []types.DataField, name string, rest []string) ([]types.DataField, error)) ([]types.DataField, error) {
	if depth == len(path)-1 {
		return fn(fields, path[depth], nil)
	}
	i := types.FieldByName(fields, path[depth])
	if i < 0 {
		return nil, columnNotFound(path, depth, fields)
	}
	t := &fields[i].Type
	j := depth + 1
	for j < len(path) && (t.Root == types.Array || t.Root == types.Map) {
		step, next := "element", t.Elem
		if t.Root == types.Map {
			step, next = "value", t.Value
		}
		if path[j] != step {
			return nil, refusef("column %s is %s: its nested type is named %q, not %q", PathString(path[:j]), t.Root, step, path[j])
		}
		t = next
		j++
	}
	if j == len(path) {
		return fn(fields, path[depth], path[depth+1:])
	}
	if t.Root != types.Row {
		return nil, refusef("column %s is %s, not a ROW: it has no field %q", PathString(path[:j]), t, path[j])
	}
	nested, err := editFields(t.Fields, path, j, fn)
	if err != nil {
		return nil, err
	}
	t.Fields = nested
	return fields, nil
}

func checkPath(path []string) error {
	if len(path) == 0 {
		return refusef("no column named")
	}
	for _, p := range path {
		if p == "" {
			return refusef("column path %q has an empty name", PathString(path))
		}
	}
	return nil
}

// fieldIndex finds name in fields or says which column is missing.
func fieldIndex(fields []types.DataField, path []string, name string) (int, error) {
	i := types.FieldByName(fields, name)
	if i < 0 {
		return -1, columnNotFound(path, len(path)-1, fields)
	}
	return i, nil
}

func (a *alteration) addColumn(c AddColumn) error {
	if err := checkPath(c.Path); err != nil {
		return err
	}
	if !c.Type.Nullable {
		return refusef("column %s cannot be NOT NULL: the rows already written have no value for it (Paimon adds only nullable columns)", PathString(c.Path))
	}
	if c.Type.Root == types.Invalid {
		return refusef("column %s has no type", PathString(c.Path))
	}
	next := a.highest + 1
	nf := []types.DataField{{Name: c.Path[len(c.Path)-1], Type: cloneType(c.Type), Description: c.Comment}}
	types.AssignFieldIDs(nf, &next)
	field := nf[0]
	top := len(c.Path) == 1
	var err error
	a.fields, err = editFields(a.fields, c.Path, 0, func(fields []types.DataField, name string, rest []string) ([]types.DataField, error) {
		if rest != nil {
			return nil, refusef("column %s is not a ROW: a field cannot be added inside it", PathString(c.Path[:len(c.Path)-len(rest)]))
		}
		if types.FieldByName(fields, name) >= 0 {
			return nil, refusef("column %s already exists", PathString(c.Path))
		}
		pos := len(fields)
		switch {
		case c.Move != nil:
			switch c.Move.Type {
			case MoveFirst:
				pos = 0
			case MoveAfter, MoveBefore:
				ref := types.FieldByName(fields, c.Move.Reference)
				if ref < 0 {
					return nil, refusef("column %s does not exist (the new column was to go %s)", PathString(append(slices.Clone(c.Path[:len(c.Path)-1]), c.Move.Reference)), c.Move.position())
				}
				pos = ref
				if c.Move.Type == MoveAfter {
					pos++
				}
			case MoveLast:
			default:
				return nil, refusef("unknown move type %d", c.Move.Type)
			}
		case top && len(a.part) > 0 && a.optBool("add-column-before-partition", false):
			for i, f := range fields {
				if slices.Contains(a.part, f.Name) {
					pos = i
					break
				}
			}
		}
		return slices.Insert(fields, pos, field), nil
	})
	if err != nil {
		return err
	}
	a.highest = next - 1
	return nil
}

func (a *alteration) renameColumn(c RenameColumn) error {
	if err := checkPath(c.Path); err != nil {
		return err
	}
	if c.NewName == "" {
		return refusef("the new name of column %s is empty", PathString(c.Path))
	}
	top := len(c.Path) == 1
	oldName := c.Path[len(c.Path)-1]
	if top {
		if slices.Contains(a.part, oldName) {
			return refusef("cannot rename partition column %s (partition directories are named after it)", oldName)
		}
		if i := types.FieldByName(a.fields, oldName); i >= 0 && a.fields[i].Type.Root == types.Blob {
			return refusef("cannot rename BLOB column %s", oldName)
		}
	}
	var err error
	a.fields, err = editFields(a.fields, c.Path, 0, func(fields []types.DataField, name string, rest []string) ([]types.DataField, error) {
		if rest != nil {
			return nil, refusef("%s names the element or value of column %s, which has no name to change", PathString(c.Path), PathString(c.Path[:len(c.Path)-len(rest)]))
		}
		i, err := fieldIndex(fields, c.Path, name)
		if err != nil {
			return nil, err
		}
		if types.FieldByName(fields, c.NewName) >= 0 {
			return nil, refusef("column %s already exists", PathString(append(slices.Clone(c.Path[:len(c.Path)-1]), c.NewName)))
		}
		fields[i].Name = c.NewName
		return fields, nil
	})
	if err != nil {
		return err
	}
	if top {
		for i, k := range a.pk {
			if k == oldName {
				a.pk[i] = c.NewName
			}
		}
		a.renameInOptions(oldName, c.NewName)
	}
	return nil
}

// renameInOptions follows a column rename in the options that name columns, as Paimon's
// SchemaManager.applyRenameColumnsToOptions does.
func (a *alteration) renameInOptions(from, to string) {
	renameList := func(v string) string {
		parts := strings.Split(v, ",")
		for i, p := range parts {
			if p == from {
				parts[i] = to
			}
		}
		return strings.Join(parts, ",")
	}
	for _, k := range []string{"bucket-key", "sequence.field"} {
		if v, ok := a.opts.Get(k); ok && strings.TrimSpace(v) != "" {
			a.opts.Set(k, renameList(v))
		}
	}
	for _, suffix := range []string{"aggregate-function", "ignore-retract", "distinct", "list-agg-delimiter"} {
		k := "fields." + from + "." + suffix
		if v, ok := a.opts.Get(k); ok {
			a.opts.Delete(k)
			a.opts.Set("fields."+to+"."+suffix, v)
		}
	}
	for _, k := range a.opts.Keys() {
		if !strings.HasPrefix(k, "fields.") {
			continue
		}
		for _, suffix := range []string{"sequence-group", "nested-key"} {
			if !strings.HasSuffix(k, "."+suffix) || len(k) <= len("fields.")+len(suffix)+1 {
				continue
			}
			keyFields := k[len("fields.") : len(k)-len(suffix)-1]
			v, _ := a.opts.Get(k)
			a.opts.Delete(k)
			a.opts.Set("fields."+renameList(keyFields)+"."+suffix, renameList(v))
		}
	}
}

func (a *alteration) dropColumn(c DropColumn) error {
	if err := checkPath(c.Path); err != nil {
		return err
	}
	if len(c.Path) == 1 {
		name := c.Path[0]
		if slices.Contains(a.part, name) {
			return refusef("%s is a partition column", name)
		}
		if slices.Contains(a.pk, name) {
			return refusef("%s is a primary key column", name)
		}
		if v, ok := a.opts.Get("bucket-key"); ok && slices.Contains(splitTrim(v), name) {
			return refusef("%s is a bucket key (option bucket-key)", name)
		}
	}
	var err error
	a.fields, err = editFields(a.fields, c.Path, 0, func(fields []types.DataField, name string, rest []string) ([]types.DataField, error) {
		if rest != nil {
			return nil, refusef("%s names the element or value of column %s, which cannot be dropped on its own", PathString(c.Path), PathString(c.Path[:len(c.Path)-len(rest)]))
		}
		i, err := fieldIndex(fields, c.Path, name)
		if err != nil {
			return nil, err
		}
		if len(fields) == 1 {
			if len(c.Path) == 1 {
				return nil, refusef("cannot drop all fields in table")
			}
			return nil, refusef("%s is the only field of %s", PathString(c.Path), PathString(c.Path[:len(c.Path)-1]))
		}
		return slices.Delete(fields, i, i+1), nil
	})
	return err
}

func splitTrim(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// locateType returns the type the path's rest steps ("element", "value") reach in t.
func locateType(t *types.DataType, rest []string) *types.DataType {
	for range rest {
		if t.Root == types.Map {
			t = t.Value
		} else {
			t = t.Elem
		}
	}
	return t
}

// notNullCheck refuses making a column NOT NULL as Paimon does (option
// alter-column-null-to-not-null.disabled), and when its data may hold nulls.
func (a *alteration) notNullCheck(path []string, wasNullable, nullable bool) error {
	if !wasNullable || nullable {
		return nil
	}
	col := PathString(path)
	if a.optBool("alter-column-null-to-not-null.disabled", true) {
		return refusef("cannot make column %s NOT NULL: option alter-column-null-to-not-null.disabled is true (Paimon's default); set it to false to allow it", col)
	}
	if !a.env.hasSnapshots {
		return nil
	}
	if len(path) > 1 {
		return refusef("cannot make nested field %s NOT NULL in a table with snapshots: Tarn cannot verify that no row holds a null there", col)
	}
	i := types.FieldByName(a.fields, path[0])
	if i < 0 || a.env.nullsIn == nil {
		return refusef("cannot make column %s NOT NULL: the table's rows may hold nulls in it", col)
	}
	may, err := a.env.nullsIn(a.fields[i].ID)
	if err != nil {
		return fmt.Errorf("checking column %s for nulls: %w", col, err)
	}
	if may {
		return refusef("cannot make column %s NOT NULL: the table's rows hold nulls in it", col)
	}
	return nil
}

func (a *alteration) updateType(c UpdateColumnType) error {
	if err := checkPath(c.Path); err != nil {
		return err
	}
	col := PathString(c.Path)
	if len(c.Path) == 1 {
		name := c.Path[0]
		switch {
		case slices.Contains(a.part, name):
			return refusef("cannot change the type of partition column %s", name)
		case slices.Contains(a.pk, name):
			return refusef("cannot change the type of primary key column %s", name)
		}
		if v, ok := a.opts.Get("bucket-key"); ok && slices.Contains(splitTrim(v), name) {
			return refusef("cannot change the type of %s: it is a bucket key (option bucket-key), and rows are placed in buckets by the hash of its values", name)
		}
	}
	if c.Type.Root == types.Invalid {
		return refusef("no type given for column %s", col)
	}
	var err error
	a.fields, err = editFields(a.fields, c.Path, 0, func(fields []types.DataField, name string, rest []string) ([]types.DataField, error) {
		i, err := fieldIndex(fields, c.Path, name)
		if err != nil {
			return nil, err
		}
		if (len(c.Path) == 1 && fields[i].Type.Root == types.Blob) || c.Type.Root == types.Blob {
			return nil, refusef("cannot change a column type to or from BLOB")
		}
		target := locateType(&fields[i].Type, rest)
		from, to := *target, cloneType(c.Type)
		if c.KeepNullability {
			to.Nullable = from.Nullable
		} else if err := a.notNullCheck(c.Path, from.Nullable, to.Nullable); err != nil {
			return nil, err
		}
		if from.WithNullable(true).Equal(to.WithNullable(true)) {
			*target = from.WithNullable(to.Nullable)
			return fields, nil
		}
		if from.IsNested() || to.IsNested() {
			return nil, refusef("column type %s[%s] cannot be converted to %s: change nested fields one by one (e.g. %s.x, %s.element)", col, from, to, col, col)
		}
		if !types.LosslessCast(from, to) {
			return nil, refusef("column type %s[%s] cannot be converted to %s without losing information (Tarn changes a type only to one that holds every old value exactly; Paimon's explicit and narrowing casts are refused)", col, from, to)
		}
		*target = to
		return fields, nil
	})
	return err
}

func (a *alteration) updateNullability(c UpdateColumnNullability) error {
	if err := checkPath(c.Path); err != nil {
		return err
	}
	if c.Nullable && len(c.Path) == 1 && slices.Contains(a.pk, c.Path[0]) {
		return refusef("cannot make primary key column %s nullable", c.Path[0])
	}
	var err error
	a.fields, err = editFields(a.fields, c.Path, 0, func(fields []types.DataField, name string, rest []string) ([]types.DataField, error) {
		i, err := fieldIndex(fields, c.Path, name)
		if err != nil {
			return nil, err
		}
		target := locateType(&fields[i].Type, rest)
		if err := a.notNullCheck(c.Path, target.Nullable, c.Nullable); err != nil {
			return nil, err
		}
		target.Nullable = c.Nullable
		return fields, nil
	})
	return err
}

func (a *alteration) updateColumnComment(c UpdateColumnComment) error {
	if err := checkPath(c.Path); err != nil {
		return err
	}
	var err error
	a.fields, err = editFields(a.fields, c.Path, 0, func(fields []types.DataField, name string, rest []string) ([]types.DataField, error) {
		if rest != nil {
			return nil, refusef("%s names the element or value of column %s, which has no comment of its own", PathString(c.Path), PathString(c.Path[:len(c.Path)-len(rest)]))
		}
		i, err := fieldIndex(fields, c.Path, name)
		if err != nil {
			return nil, err
		}
		fields[i].Description = c.Comment
		return fields, nil
	})
	return err
}

// updateColumnDefault is Paimon's UpdateColumnDefaultValue, for top-level columns: the
// value must cast to the column's type (DefaultValueUtils.validateDefaultValue).
func (a *alteration) updateColumnDefault(c UpdateColumnDefaultValue) error {
	if err := checkPath(c.Path); err != nil {
		return err
	}
	if len(c.Path) > 1 {
		return refusef("%s is a nested field: Tarn supports default values of top-level columns only", PathString(c.Path))
	}
	i, err := fieldIndex(a.fields, c.Path, c.Path[0])
	if err != nil {
		return err
	}
	if c.Default != nil {
		if err := render.ValidateDefault(a.fields[i].Type, *c.Default); err != nil {
			return refusef("column %s: %v", PathString(c.Path), err)
		}
	}
	a.fields[i].DefaultValue = c.Default
	return nil
}

// moveColumn is Paimon's SchemaManager.applyMove.
func (a *alteration) moveColumn(m Move) error {
	from := types.FieldByName(a.fields, m.Column)
	if from < 0 {
		return columnNotFound([]string{m.Column}, 0, a.fields)
	}
	self := func(i int) error {
		if i == from {
			return refusef("cannot move column %s relative to itself", m.Column)
		}
		return nil
	}
	to := 0
	switch m.Type {
	case MoveFirst:
		if err := self(0); err != nil {
			return err
		}
	case MoveLast:
		to = len(a.fields) - 1
		if err := self(to); err != nil {
			return err
		}
	case MoveAfter, MoveBefore:
		ref := types.FieldByName(a.fields, m.Reference)
		if ref < 0 {
			return columnNotFound([]string{m.Reference}, 0, a.fields)
		}
		if err := self(ref); err != nil {
			return err
		}
		to = ref
		if m.Type == MoveAfter && from > ref {
			to++
		}
		if m.Type == MoveBefore && from < ref {
			to--
		}
		to = min(to, len(a.fields)-1)
	default:
		return refusef("unknown move type %d", m.Type)
	}
	f := a.fields[from]
	a.fields = slices.Insert(slices.Delete(a.fields, from, from+1), to, f)
	return nil
}

// ---------------------------------------------------------------- validation

// validate checks the new schema as Paimon's SchemaValidation and Tarn's CreateTable do.
func (a *alteration) validate(s *format.TableSchema) error {
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if err := checkColumnName(f.Name); err != nil {
			return refusef("%v", err)
		}
		if f.Name == "rowkind" || f.Name == "_LEVEL" {
			return refusef("column name %q is reserved by the Paimon format", f.Name)
		}
		if seen[f.Name] {
			return refusef("column %q is declared twice", f.Name)
		}
		seen[f.Name] = true
		if err := checkNestedNames(f.Name, f.Type); err != nil {
			return err
		}
	}
	for _, k := range s.PrimaryKeys {
		if !seen[k] {
			return refusef("primary key %q is not a column", k)
		}
	}
	for _, k := range s.PartitionKeys {
		if !seen[k] {
			return refusef("partition key %q is not a column", k)
		}
	}
	// Options the table was created with are accepted as they are; ValidateOptions
	// refuses unknown keys, which setOption has checked for new ones.
	opts := s.Options.Clone()
	for _, k := range opts.Keys() {
		if !knownOptions[k] && !hasKnownPrefix(k) {
			opts.Delete(k)
		}
	}
	if err := ValidateOptions(opts, s.Fields, s.PrimaryKeys, s.PartitionKeys); err != nil {
		return refusef("%v", err)
	}
	retainMin, retainMax := 10, math.MaxInt32 // CoreOptions' defaults
	if v, ok := s.Options.Get("snapshot.num-retained.min"); ok {
		retainMin, _ = strconv.Atoi(strings.TrimSpace(v))
	}
	if v, ok := s.Options.Get("snapshot.num-retained.max"); ok {
		retainMax, _ = strconv.Atoi(strings.TrimSpace(v))
	}
	if retainMin > retainMax {
		return refusef("snapshot.num-retained.min (%d) should not be larger than snapshot.num-retained.max (%d)", retainMin, retainMax)
	}
	for _, k := range s.Options.Keys() {
		// SchemaValidation.validateFieldsPrefix
		if !strings.HasPrefix(k, "fields.") {
			continue
		}
		parts := strings.Split(k, ".")
		if len(parts) < 2 {
			continue
		}
		for _, name := range strings.Split(parts[1], ",") {
			if name != "default-aggregate-function" && !seen[name] {
				return refusef("option %s refers to column %q, which the table does not have (remove the option in the same alter)", k, name)
			}
		}
	}
	if v, ok := s.Options.Get("bucket-key"); ok && v != "" {
		if b, ok := s.Options.Get("bucket"); !ok || strings.TrimSpace(b) == "-1" {
			return refusef("option bucket-key needs a fixed bucket count (bucket is -1)")
		}
		for _, k := range splitTrim(v) {
			if i := types.FieldByName(s.Fields, k); i >= 0 && s.Fields[i].Type.IsNested() {
				return refusef("option bucket-key: column %q has nested type %s", k, s.Fields[i].Type)
			}
		}
	}
	return nil
}

func checkNestedNames(path string, t types.DataType) error {
	switch t.Root {
	case types.Row:
		seen := map[string]bool{}
		for _, f := range t.Fields {
			if f.Name == "" {
				return refusef("a field of %s has an empty name", path)
			}
			if seen[f.Name] {
				return refusef("field %s.%s is declared twice", path, f.Name)
			}
			seen[f.Name] = true
			if err := checkNestedNames(path+"."+f.Name, f.Type); err != nil {
				return err
			}
		}
	case types.Array, types.Multiset, types.Vector:
		return checkNestedNames(path+".element", *t.Elem)
	case types.Map:
		return checkNestedNames(path+".value", *t.Value)
	}
	return nil
}

// ---------------------------------------------------------------- helpers

func cloneFields(fs []types.DataField) []types.DataField {
	out := make([]types.DataField, len(fs))
	for i, f := range fs {
		out[i] = f
		out[i].Type = cloneType(f.Type)
	}
	return out
}

func cloneType(t types.DataType) types.DataType {
	c := t
	if t.Elem != nil {
		e := cloneType(*t.Elem)
		c.Elem = &e
	}
	if t.Key != nil {
		k := cloneType(*t.Key)
		c.Key = &k
	}
	if t.Value != nil {
		v := cloneType(*t.Value)
		c.Value = &v
	}
	if t.Fields != nil {
		c.Fields = cloneFields(t.Fields)
	}
	return c
}

// mayHoldNulls reports whether the latest snapshot's rows may hold a null in the top-level
// column with the given field id: a column the schema does not have yet reads as null in
// every row; otherwise the column is read (all levels, so superseded versions count too).
func mayHoldNulls(ctx context.Context, t *table.Table, schema *format.TableSchema, fieldID int) (bool, error) {
	snap, err := t.LatestSnapshot(ctx)
	if err != nil || snap == nil {
		return false, err
	}
	plan, err := t.Plan(ctx, table.ScanOptions{SnapshotID: snap.ID, AllLevels: true})
	if err != nil {
		return false, err
	}
	plan.Schema = schema
	i := types.FieldByID(schema.Fields, fieldID)
	if i < 0 {
		for _, s := range plan.Splits {
			if s.RowCount() > 0 {
				return true, nil
			}
		}
		return false, nil
	}
	for k := range plan.Splits {
		r, err := t.ReadSplit(ctx, plan, &plan.Splits[k], table.ReadOptions{Columns: []string{schema.Fields[i].Name}})
		if err != nil {
			return false, err
		}
		for {
			b, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return false, err
			}
			nulls := b.Column(0).NullN()
			b.Release()
			if nulls > 0 {
				r.Close()
				return true, nil
			}
		}
		if err := r.Close(); err != nil {
			return false, err
		}
	}
	return false, nil
}
