package flight

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/table"
)

// errInvalid marks errors in what a client sent; they become InvalidArgument.
var errInvalid = errors.New("invalid argument")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// ScanCommand is the JSON command of GetFlightInfo and GetSchema: a batch scan (at most
// one of Snapshot, Tag, Timestamp, Latest; none means latest) or, with Incremental, the
// changes between two snapshots.
type ScanCommand struct {
	Table       string       `json:"table"`
	Snapshot    int64        `json:"snapshot,omitempty"`
	Tag         string       `json:"tag,omitempty"`
	Timestamp   int64        `json:"timestamp,omitempty"`
	Latest      bool         `json:"latest,omitempty"`
	Incremental *Incremental `json:"incremental,omitempty"`
	Columns     []string     `json:"columns,omitempty"`
	Filter      string       `json:"filter,omitempty"`
	Limit       int64        `json:"limit,omitempty"`
	// Tail turns GetFlightInfo and GetSchema into a tail's: the FlightInfo has one
	// endpoint whose ticket starts the tail.
	Tail *TailCommand `json:"tail,omitempty"`
}

// Incremental is the range (From, To] of an incremental read.
type Incremental struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// ScanTicket is a DoGet ticket of a batch scan or an incremental read: self-contained,
// it names the table, the snapshot (or tag) and the split (partition and bucket); DoGet
// re-plans that one split. Without a split it reads every split in turn (used with Limit).
type ScanTicket struct {
	Table       string       `json:"table"`
	Snapshot    int64        `json:"snapshot,omitempty"`
	Tag         string       `json:"tag,omitempty"`
	Incremental *Incremental `json:"incremental,omitempty"`
	// Partition is the split's partition as base64 of its serialized BinaryRow.
	Partition *string  `json:"partition,omitempty"`
	Bucket    *int     `json:"bucket,omitempty"`
	Columns   []string `json:"columns,omitempty"`
	Filter    string   `json:"filter,omitempty"`
	Limit     int64    `json:"limit,omitempty"`
}

// TailCommand starts a never-ending DoGet of a table's changes.
type TailCommand struct {
	Table string `json:"table"`
	// Start is "latest", "full", {"snapshot": N}, {"timestamp": ms} or {"full": N}; without
	// one a tail starts where the table's scan options start Paimon's streaming reads
	// (Table.WithTailDefaults), else at the latest snapshot.
	Start    json.RawMessage `json:"start,omitempty"`
	Resume   string          `json:"resume,omitempty"`
	Consumer string          `json:"consumer,omitempty"`
	Columns  []string        `json:"columns,omitempty"`
	Filter   string          `json:"filter,omitempty"`
}

// PutCommand is the JSON command of DoPut.
type PutCommand struct {
	Table string `json:"table"`
	// CommitEvery commits after every this many rows (0: once, at the end of the stream).
	CommitEvery int64 `json:"commit_every,omitempty"`
	// CommitUser and CommitIdentifier make commits idempotent: a stream retried with the
	// same user and identifier does not commit twice. The n-th commit of a stream uses
	// CommitIdentifier+n-1.
	CommitUser       string `json:"commit_user,omitempty"`
	CommitIdentifier int64  `json:"commit_identifier,omitempty"`
}

// ticketEnvelope is any JSON ticket: a scan or a tail.
type ticketEnvelope struct {
	ScanTicket
	Tail *TailCommand `json:"tail,omitempty"`
}

// decodeStrict decodes JSON, refusing unknown fields and trailing data.
func decodeStrict(data []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidf("%s is not valid JSON of the expected form: %v", what, err)
	}
	if dec.More() {
		return invalidf("%s has data after its JSON object", what)
	}
	return nil
}

func isJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func parseScanCommand(data []byte) (*ScanCommand, error) {
	var c ScanCommand
	if err := decodeStrict(data, &c, "command"); err != nil {
		return nil, err
	}
	if c.Tail != nil {
		if c.Table != "" || c.Snapshot != 0 || c.Tag != "" || c.Timestamp != 0 || c.Latest || c.Incremental != nil || c.Columns != nil || c.Filter != "" || c.Limit != 0 {
			return nil, invalidf(`a command with "tail" takes its options inside "tail"`)
		}
		return &c, validateTail(c.Tail)
	}
	if c.Table == "" {
		return nil, invalidf(`command has no "table" (e.g. {"table":"db.t"})`)
	}
	set := 0
	for _, b := range []bool{c.Snapshot != 0, c.Tag != "", c.Timestamp != 0, c.Latest, c.Incremental != nil} {
		if b {
			set++
		}
	}
	if set > 1 {
		return nil, invalidf(`give at most one of "snapshot", "tag", "timestamp", "latest" and "incremental"`)
	}
	if c.Snapshot < 0 {
		return nil, invalidf("snapshot %d: snapshot ids start at 1", c.Snapshot)
	}
	if c.Limit < 0 {
		return nil, invalidf("limit %d is negative", c.Limit)
	}
	if c.Incremental != nil && (c.Incremental.From < 0 || c.Incremental.To < c.Incremental.From) {
		return nil, invalidf("incremental range (%d, %d] is reversed or negative", c.Incremental.From, c.Incremental.To)
	}
	return &c, nil
}

func validateTail(t *TailCommand) error {
	if t.Table == "" {
		return invalidf(`tail has no "table"`)
	}
	if _, err := tailStart(t); err != nil {
		return err
	}
	if t.Resume != "" {
		if _, err := table.ParsePosition(t.Resume); err != nil {
			return invalidf("%v", err)
		}
	}
	if t.Consumer != "" {
		if strings.ContainsAny(t.Consumer, "/\\") || strings.Contains(t.Consumer, "..") || strings.ContainsFunc(t.Consumer, unicode.IsControl) {
			return invalidf("consumer id %q: use a name without '/', '\\', '..' or control characters", t.Consumer)
		}
	}
	return nil
}

// noStart reports whether a tail command names no start.
func noStart(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// tailStart turns a tail command's start and resume into FollowOptions.
func tailStart(t *TailCommand) (table.FollowOptions, error) {
	var o table.FollowOptions
	if t.Resume != "" {
		p, err := table.ParsePosition(t.Resume)
		if err != nil {
			return o, invalidf("%v", err)
		}
		o.Resume = &p
	}
	raw := bytes.TrimSpace(t.Start)
	if noStart(raw) {
		o.Start = table.StartLatest
		return o, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch strings.ToLower(s) {
		case "latest":
			o.Start = table.StartLatest
		case "full":
			o.Start = table.StartFull
		default:
			return o, invalidf(`tail start %q: use "latest", "full", {"snapshot": N}, {"timestamp": ms} or {"full": N}`, s)
		}
		return o, nil
	}
	var obj struct {
		Snapshot  *int64 `json:"snapshot"`
		Timestamp *int64 `json:"timestamp"`
		Full      *int64 `json:"full"`
	}
	if err := decodeStrict(raw, &obj, "tail start"); err != nil {
		return o, invalidf(`tail start %s: use "latest", "full", {"snapshot": N}, {"timestamp": ms} or {"full": N}`, raw)
	}
	n := 0
	if obj.Snapshot != nil {
		n++
		o.Start, o.SnapshotID = table.StartFromSnapshot, *obj.Snapshot
		if *obj.Snapshot < 1 {
			return o, invalidf("tail start snapshot %d: snapshot ids start at 1", *obj.Snapshot)
		}
	}
	if obj.Timestamp != nil {
		n++
		o.Start, o.TimestampMillis = table.StartFromTimestamp, *obj.Timestamp
	}
	if obj.Full != nil {
		n++
		o.Start, o.SnapshotID = table.StartFull, *obj.Full
		if *obj.Full < 0 {
			return o, invalidf("tail start full snapshot %d is negative", *obj.Full)
		}
	}
	if n != 1 {
		return o, invalidf(`tail start %s: give exactly one of "snapshot", "timestamp" and "full"`, raw)
	}
	return o, nil
}

func parseTicket(data []byte) (*ticketEnvelope, error) {
	var t ticketEnvelope
	if err := decodeStrict(data, &t, "ticket"); err != nil {
		return nil, err
	}
	if t.Tail != nil {
		if t.Table != "" || t.Partition != nil || t.Bucket != nil || t.Snapshot != 0 || t.Incremental != nil {
			return nil, invalidf(`a tail ticket takes its options inside "tail"`)
		}
		return &t, validateTail(t.Tail)
	}
	if t.Table == "" {
		return nil, invalidf(`ticket has no "table"`)
	}
	if (t.Partition == nil) != (t.Bucket == nil) {
		return nil, invalidf(`ticket gives only one of "partition" and "bucket"`)
	}
	if t.Partition != nil {
		if _, err := base64.StdEncoding.DecodeString(*t.Partition); err != nil {
			return nil, invalidf("ticket partition is not base64: %v", err)
		}
	}
	if t.Limit < 0 || t.Snapshot < 0 {
		return nil, invalidf("ticket has a negative limit or snapshot")
	}
	if t.Incremental != nil && (t.Incremental.From < 0 || t.Incremental.To < t.Incremental.From) {
		return nil, invalidf("incremental range (%d, %d] is reversed or negative", t.Incremental.From, t.Incremental.To)
	}
	return &t, nil
}

func parsePutCommand(data []byte) (*PutCommand, error) {
	var c PutCommand
	if err := decodeStrict(data, &c, "DoPut command"); err != nil {
		return nil, err
	}
	if c.Table == "" {
		return nil, invalidf(`DoPut command has no "table"`)
	}
	if c.CommitEvery < 0 {
		return nil, invalidf("commit_every %d is negative", c.CommitEvery)
	}
	return &c, nil
}

// tableFromPath names a table by a descriptor path: ["db", "t"] or ["db.t"].
func tableFromPath(path []string) (string, error) {
	switch len(path) {
	case 1:
		return path[0], nil
	case 2:
		return path[0] + "." + path[1], nil
	}
	return "", invalidf(`descriptor path %q: give ["db", "table"] or ["db.table"]`, path)
}

func parseIdentifier(name string) (catalog.Identifier, error) {
	id, err := catalog.ParseIdentifier(name)
	if err != nil {
		return catalog.Identifier{}, invalidf("table %q: %v", name, err)
	}
	return id, nil
}

func marshalTicket(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return b
}
