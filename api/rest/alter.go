package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Schema changes travel in the JSON form of Paimon's SchemaChange (paimon-api's
// org.apache.paimon.schema.SchemaChange, serialized by Jackson with the action as the type
// property), as Paimon's RESTCatalog.alterTable sends them in an AlterTableRequest:
//
//	{"action": "setOption", "key": "k", "value": "v"}
//	{"action": "removeOption", "key": "k"}
//	{"action": "updateComment", "comment": "text" | null}
//	{"action": "addColumn", "fieldNames": ["r", "x"], "dataType": "BIGINT" | {...}, "comment": "c" | null, "move": MOVE | null}
//	{"action": "renameColumn", "fieldNames": ["a"], "newName": "b"}
//	{"action": "dropColumn", "fieldNames": ["a"]}
//	{"action": "updateColumnComment", "fieldNames": ["a"], "newComment": "c" | null}
//	{"action": "updateColumnDefaultValue", "fieldNames": ["a"], "newDefaultValue": "0" | null}
//	{"action": "updateColumnType", "fieldNames": ["a"], "newDataType": "BIGINT", "keepNullability": false}
//	{"action": "updateColumnPosition", "move": MOVE}
//	{"action": "updateColumnNullability", "fieldNames": ["a"], "newNullability": true}
//	{"action": "dropPrimaryKey"}
//
// with MOVE {"fieldName": "a", "referenceFieldName": "b" | null, "type": "FIRST" | "AFTER" |
// "BEFORE" | "LAST"}. Types are in Paimon's JSON form (types.DataType's UnmarshalJSON).

// changeFields are the fields each action takes besides "action".
var changeFields = map[string][]string{
	"setOption":                {"key", "value"},
	"removeOption":             {"key"},
	"updateComment":            {"comment"},
	"addColumn":                {"fieldNames", "dataType", "comment", "move"},
	"renameColumn":             {"fieldNames", "newName"},
	"dropColumn":               {"fieldNames"},
	"updateColumnComment":      {"fieldNames", "newComment"},
	"updateColumnDefaultValue": {"fieldNames", "newDefaultValue"},
	"updateColumnType":         {"fieldNames", "newDataType", "keepNullability"},
	"updateColumnPosition":     {"move"},
	"updateColumnNullability":  {"fieldNames", "newNullability"},
	"dropPrimaryKey":           {},
}

func changeActions() string {
	names := make([]string, 0, len(changeFields))
	for k := range changeFields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// decodeSchemaChanges decodes a request's changes. strict refuses fields an action does
// not take (Tarn's API); Paimon's REST server ignores them, as Paimon's Jackson mapper does
// (JsonSerdeUtil: FAIL_ON_UNKNOWN_PROPERTIES off). A malformed change is a 400, a change
// Tarn does not implement a 501.
func decodeSchemaChanges(raws []json.RawMessage, strict bool) ([]catalog.SchemaChange, error) {
	out := make([]catalog.SchemaChange, 0, len(raws))
	for i, raw := range raws {
		c, err := decodeSchemaChange(i, raw, strict)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// changeJSON is one change being decoded.
type changeJSON struct {
	i      int
	action string
	obj    map[string]json.RawMessage
	strict bool
}

func (c *changeJSON) errorf(format string, args ...any) *apiError {
	prefix := fmt.Sprintf("changes[%d]", c.i)
	if c.action != "" {
		prefix += " (" + c.action + ")"
	}
	return badRequest("%s: %s", prefix, fmt.Sprintf(format, args...))
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// str reads a string field; absent or null is nil, an error when required.
func (c *changeJSON) str(key string, required bool) (*string, error) {
	raw, ok := c.obj[key]
	if !ok || isNull(raw) {
		if required {
			return nil, c.errorf("missing %s", key)
		}
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, c.errorf("%s: want a string, got %s", key, truncateJSON(raw))
	}
	return &s, nil
}

// name reads a required non-empty string.
func (c *changeJSON) name(key string) (string, error) {
	s, err := c.str(key, true)
	if err != nil {
		return "", err
	}
	if *s == "" {
		return "", c.errorf("%s is empty", key)
	}
	return *s, nil
}

func (c *changeJSON) boolean(key string, required bool) (bool, error) {
	raw, ok := c.obj[key]
	if !ok || isNull(raw) {
		if required {
			return false, c.errorf("missing %s (true or false)", key)
		}
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, c.errorf("%s: want true or false, got %s", key, truncateJSON(raw))
	}
	return b, nil
}

// path reads fieldNames: a column, or a nested field as its path of names.
func (c *changeJSON) path() ([]string, error) {
	raw, ok := c.obj["fieldNames"]
	if !ok || isNull(raw) {
		return nil, c.errorf("missing fieldNames (the column's name, or the path of a nested field, e.g. [\"r\", \"x\"])")
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, c.errorf("fieldNames: want an array of strings, got %s", truncateJSON(raw))
	}
	if len(names) == 0 {
		return nil, c.errorf("fieldNames is empty")
	}
	for _, n := range names {
		if n == "" {
			return nil, c.errorf("fieldNames %q has an empty name", names)
		}
	}
	return names, nil
}

func (c *changeJSON) dataType(key string) (types.DataType, error) {
	raw, ok := c.obj[key]
	if !ok || isNull(raw) {
		return types.DataType{}, c.errorf("missing %s (a type in Paimon's JSON form, e.g. \"BIGINT\")", key)
	}
	var t types.DataType
	if err := json.Unmarshal(raw, &t); err != nil {
		return types.DataType{}, c.errorf("%s: %v", key, err)
	}
	if t.Root == types.Invalid {
		return types.DataType{}, c.errorf("%s: no type in %s", key, truncateJSON(raw))
	}
	return t, nil
}

// move reads a Move; the moved column's name is required only when needColumn.
func (c *changeJSON) move(required, needColumn bool) (*catalog.Move, error) {
	raw, ok := c.obj["move"]
	if !ok || isNull(raw) {
		if required {
			return nil, c.errorf("missing move ({\"fieldName\": \"c\", \"type\": \"FIRST\" | \"LAST\" | \"AFTER\" | \"BEFORE\", \"referenceFieldName\": \"x\"})")
		}
		return nil, nil
	}
	var m struct {
		FieldName *string `json:"fieldName"`
		Reference *string `json:"referenceFieldName"`
		Type      *string `json:"type"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if c.strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&m); err != nil {
		return nil, c.errorf("move: %v", err)
	}
	if m.Type == nil {
		return nil, c.errorf("move: missing type (FIRST, LAST, AFTER or BEFORE)")
	}
	var mv catalog.Move
	switch strings.ToUpper(*m.Type) {
	case "FIRST":
		mv.Type = catalog.MoveFirst
	case "LAST":
		mv.Type = catalog.MoveLast
	case "AFTER":
		mv.Type = catalog.MoveAfter
	case "BEFORE":
		mv.Type = catalog.MoveBefore
	default:
		return nil, c.errorf("move: unknown type %q (FIRST, LAST, AFTER or BEFORE)", *m.Type)
	}
	if mv.Type == catalog.MoveAfter || mv.Type == catalog.MoveBefore {
		if m.Reference == nil || *m.Reference == "" {
			return nil, c.errorf("move: %s needs referenceFieldName", strings.ToUpper(*m.Type))
		}
		mv.Reference = *m.Reference
	}
	if m.FieldName != nil {
		mv.Column = *m.FieldName
	}
	if needColumn && mv.Column == "" {
		return nil, c.errorf("move: missing fieldName (the column to move)")
	}
	return &mv, nil
}

// decodeSchemaChange decodes the i-th change of a request.
func decodeSchemaChange(i int, raw json.RawMessage, strict bool) (catalog.SchemaChange, error) {
	c := &changeJSON{i: i, strict: strict}
	if err := json.Unmarshal(raw, &c.obj); err != nil || c.obj == nil {
		return nil, c.errorf("want a JSON object with an action, got %s", truncateJSON(raw))
	}
	a, err := c.str("action", false)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, c.errorf("missing action (one of %s)", changeActions())
	}
	fields, ok := changeFields[*a]
	if !ok {
		return nil, c.errorf("unknown action %q (one of %s)", *a, changeActions())
	}
	c.action = *a
	if strict {
		for k := range c.obj {
			if k != "action" && !contains(fields, k) {
				return nil, c.errorf("unknown field %q (%s takes %s)", k, c.action, strings.Join(fields, ", "))
			}
		}
	}
	switch c.action {
	case "setOption":
		key, err := c.name("key")
		if err != nil {
			return nil, err
		}
		v, err := c.str("value", false)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, c.errorf("missing value of option %s (removeOption removes an option)", key)
		}
		return catalog.SetOption{Key: key, Value: *v}, nil
	case "removeOption":
		key, err := c.name("key")
		if err != nil {
			return nil, err
		}
		return catalog.RemoveOption{Key: key}, nil
	case "updateComment":
		comment, err := c.str("comment", false)
		if err != nil {
			return nil, err
		}
		return catalog.UpdateComment{Comment: comment}, nil
	case "addColumn":
		path, err := c.path()
		if err != nil {
			return nil, err
		}
		t, err := c.dataType("dataType")
		if err != nil {
			return nil, err
		}
		comment, err := c.str("comment", false)
		if err != nil {
			return nil, err
		}
		// Paimon places the column by the move's type and reference; the move's fieldName
		// (the new column's name) is not read.
		mv, err := c.move(false, false)
		if err != nil {
			return nil, err
		}
		if mv != nil {
			mv.Column = path[len(path)-1]
		}
		return catalog.AddColumn{Path: path, Type: t, Comment: comment, Move: mv}, nil
	case "renameColumn":
		path, err := c.path()
		if err != nil {
			return nil, err
		}
		to, err := c.name("newName")
		if err != nil {
			return nil, err
		}
		return catalog.RenameColumn{Path: path, NewName: to}, nil
	case "dropColumn":
		path, err := c.path()
		if err != nil {
			return nil, err
		}
		return catalog.DropColumn{Path: path}, nil
	case "updateColumnComment":
		path, err := c.path()
		if err != nil {
			return nil, err
		}
		comment, err := c.str("newComment", false)
		if err != nil {
			return nil, err
		}
		return catalog.UpdateColumnComment{Path: path, Comment: comment}, nil
	case "updateColumnType":
		path, err := c.path()
		if err != nil {
			return nil, err
		}
		t, err := c.dataType("newDataType")
		if err != nil {
			return nil, err
		}
		keep, err := c.boolean("keepNullability", false)
		if err != nil {
			return nil, err
		}
		return catalog.UpdateColumnType{Path: path, Type: t, KeepNullability: keep}, nil
	case "updateColumnPosition":
		mv, err := c.move(true, true)
		if err != nil {
			return nil, err
		}
		return catalog.MoveColumn{Move: *mv}, nil
	case "updateColumnNullability":
		path, err := c.path()
		if err != nil {
			return nil, err
		}
		// Required: Jackson would read a missing newNullability as false, making the
		// column NOT NULL; Paimon's client always sends it.
		nullable, err := c.boolean("newNullability", true)
		if err != nil {
			return nil, err
		}
		return catalog.UpdateColumnNullability{Path: path, Nullable: nullable}, nil
	case "updateColumnDefaultValue":
		path, err := c.path()
		if err != nil {
			return nil, err
		}
		def, err := c.str("newDefaultValue", false)
		if err != nil {
			return nil, err
		}
		return catalog.UpdateColumnDefaultValue{Path: path, Default: def}, nil
	case "dropPrimaryKey":
		return catalog.DropPrimaryKey{}, nil
	}
	return nil, c.errorf("unknown action")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func truncateJSON(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// The refusals of catalog.AlterTable that name a column, answered as Paimon's REST server
// answers its catalog's ColumnNotExistException (404) and ColumnAlreadyExistException
// (409), with resource type COLUMN and the column's dotted path, which Paimon's
// RESTCatalog.alterTable turns back into those exceptions.
var (
	columnMissingRE = regexp.MustCompile(`(?s)^column (.+?) does not exist(?: \(.*\))?$`)
	columnExistsRE  = regexp.MustCompile(`(?s)^column (.+) already exists$`)
)

// refusal is the reason of a refused change: the message of the error that wraps
// catalog.ErrInvalidChange directly, without that error's own text.
func refusal(err error) (string, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.Unwrap(e) == catalog.ErrInvalidChange {
			return strings.TrimSuffix(e.Error(), ": "+catalog.ErrInvalidChange.Error()), true
		}
	}
	return "", false
}

// alterError classifies an error of catalog.AlterTable: a missing table is a 404 of the
// table, a missing column a 404 and an existing one a 409 of the column, a change Paimon
// refuses as unsupported a 501, any other refused change a 400 with the reason.
// Concurrent alters that kept taking the next schema id are a 503, which Paimon's client
// retries.
func alterError(id catalog.Identifier, err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return notFound(resTable, id.Table, "table %s does not exist", id)
	case errors.Is(err, catalog.ErrUnsupportedChange):
		return &apiError{Status: http.StatusNotImplemented, Message: err.Error(), Err: err}
	case errors.Is(err, catalog.ErrInvalidChange):
		reason, _ := refusal(err)
		if m := columnMissingRE.FindStringSubmatch(reason); m != nil {
			return &apiError{Status: http.StatusNotFound, Message: err.Error(), ResourceType: resColumn, ResourceName: m[1], Err: err}
		}
		if m := columnExistsRE.FindStringSubmatch(reason); m != nil {
			return &apiError{Status: http.StatusConflict, Message: err.Error(), ResourceType: resColumn, ResourceName: m[1], Err: err}
		}
		return &apiError{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
	case errors.Is(err, table.ErrConflict):
		return &apiError{Status: http.StatusServiceUnavailable, Message: err.Error() + "; retry the alter", Err: err}
	}
	return err
}

// alter applies changes to a table as its next schema. It counts as a commit for the
// shutdown gate, and holds the table's lock so that a concurrent drop or rename cannot
// lose the new schema.
func (a *API) alter(ctx context.Context, id catalog.Identifier, changes []catalog.SchemaChange) (*format.TableSchema, error) {
	cctx, end, err := a.beginCommit(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	unlock := a.locks.lock(a.cat.TablePath(id))
	defer unlock()
	s, err := a.cat.AlterTable(cctx, id, changes)
	if err != nil {
		return nil, alterError(id, err)
	}
	names := make([]string, len(changes))
	for i, c := range changes {
		names[i] = c.String()
	}
	a.log.Info("altered table", "table", id.String(), "schema", s.ID, "changes", strings.Join(names, "; "))
	return s, nil
}

// alterTable is Paimon's alterTable: the changes apply in order as one new schema; the
// answer is an empty 200. An empty list changes nothing and writes no schema.
func (a *API) alterTable(w http.ResponseWriter, r *http.Request) {
	a.withTable(func(w http.ResponseWriter, r *http.Request, id catalog.Identifier, _ *table.Table) {
		var req alterTableRequest
		if err := decodeJSON(r, &req, false); err != nil {
			writeError(w, r, err)
			return
		}
		if req.Changes == nil {
			writeError(w, r, badRequest("missing changes"))
			return
		}
		changes, err := decodeSchemaChanges(req.Changes, false)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if len(changes) > 0 {
			if _, err := a.alter(r.Context(), id, changes); err != nil {
				writeError(w, r, err)
				return
			}
		}
		writeOK(w)
	})(w, r)
}

// tAlterTable is Tarn's alter: the body is a JSON array of changes in Paimon's form, or
// {"changes": [...]} as Paimon's AlterTableRequest; the answer is the table with its new
// schema.
func (a *API) tAlterTable(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	var body json.RawMessage
	if err := decodeJSON(r, &body, false); err != nil {
		writeError(w, r, err)
		return
	}
	var raws []json.RawMessage
	switch trimmed := bytes.TrimSpace(body); {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			writeError(w, r, badRequest("malformed JSON request body: %v", err))
			return
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var req struct {
			Changes []json.RawMessage `json:"changes"`
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, r, badRequest("malformed JSON request body: %v", err))
			return
		}
		raws = req.Changes
	default:
		writeError(w, r, badRequest("want a JSON array of changes, or {\"changes\": [...]}, e.g. [{\"action\": \"addColumn\", \"fieldNames\": [\"c\"], \"dataType\": \"BIGINT\"}]"))
		return
	}
	if len(raws) == 0 {
		writeError(w, r, badRequest("no changes"))
		return
	}
	changes, err := decodeSchemaChanges(raws, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := a.alter(r.Context(), id, changes)
	if err != nil {
		writeError(w, r, err)
		return
	}
	desc, err := a.describeSchema(r.Context(), id, t, s)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, desc)
}
