package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
)

// The JSON shapes of Paimon's REST catalog protocol (paimon-api's rest/requests and
// rest/responses, and the OpenAPI document of the protocol).

type configResponse struct {
	Defaults  map[string]string `json:"defaults"`
	Overrides map[string]string `json:"overrides"`
}

type paimonIdentifier struct {
	Database string `json:"database"`
	Object   string `json:"object"`
}

func (i paimonIdentifier) id() catalog.Identifier {
	return catalog.Identifier{Database: i.Database, Table: i.Object}
}

type paimonSchema struct {
	Fields        []types.DataField `json:"fields"`
	PartitionKeys []string          `json:"partitionKeys"`
	PrimaryKeys   []string          `json:"primaryKeys"`
	Options       map[string]string `json:"options"`
	Comment       *string           `json:"comment,omitempty"`
}

func toPaimonSchema(s *format.TableSchema) paimonSchema {
	ps := paimonSchema{
		Fields:        s.Fields,
		PartitionKeys: nonNil(s.PartitionKeys),
		PrimaryKeys:   nonNil(s.PrimaryKeys),
		Options:       s.Options.Map(),
		Comment:       s.Comment,
	}
	if ps.Fields == nil {
		ps.Fields = []types.DataField{}
	}
	if ps.Options == nil {
		ps.Options = map[string]string{}
	}
	return ps
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

type getTableResponse struct {
	ID         string       `json:"id"`
	Database   string       `json:"database"`
	Name       string       `json:"name"`
	Path       string       `json:"path"`
	IsExternal bool         `json:"isExternal"`
	SchemaID   int64        `json:"schemaId"`
	Schema     paimonSchema `json:"schema"`
	auditFields
}

// auditFields are AuditRESTResponse's fields; Paimon's client copies them into the table's
// options, so none may be null.
type auditFields struct {
	Owner     string `json:"owner"`
	CreatedAt int64  `json:"createdAt"`
	CreatedBy string `json:"createdBy"`
	UpdatedAt int64  `json:"updatedAt"`
	UpdatedBy string `json:"updatedBy"`
}

const auditUser = "tarn"

type getDatabaseResponse struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Location string            `json:"location"`
	Options  map[string]string `json:"options"`
	auditFields
}

type createDatabaseRequest struct {
	Name    string            `json:"name"`
	Options map[string]string `json:"options"`
}

type createTableRequest struct {
	Identifier paimonIdentifier `json:"identifier"`
	Schema     *paimonSchema    `json:"schema"`
}

type renameTableRequest struct {
	Source      paimonIdentifier `json:"source"`
	Destination paimonIdentifier `json:"destination"`
}

type alterTableRequest struct {
	Changes []json.RawMessage `json:"changes"`
}

type commitTableRequest struct {
	TableID          *string           `json:"tableId"`
	BaseSnapshotUUID *string           `json:"baseSnapshotUuid"`
	Snapshot         json.RawMessage   `json:"snapshot"`
	Statistics       []json.RawMessage `json:"statistics"`
}

type partitionStatistics struct {
	Spec            map[string]any `json:"spec"`
	RecordCount     int64          `json:"recordCount"`
	FileSizeInBytes int64          `json:"fileSizeInBytes"`
	FileCount       int64          `json:"fileCount"`
}

type commitTableResponse struct {
	Success bool `json:"success"`
}

type tableSnapshot struct {
	Snapshot             json.RawMessage `json:"snapshot"`
	RecordCount          int64           `json:"recordCount"`
	FileSizeInBytes      int64           `json:"fileSizeInBytes"`
	FileCount            int64           `json:"fileCount"`
	LastFileCreationTime int64           `json:"lastFileCreationTime"`
}

type paimonPartition struct {
	Spec                 map[string]string `json:"spec"`
	RecordCount          int64             `json:"recordCount"`
	FileSizeInBytes      int64             `json:"fileSizeInBytes"`
	FileCount            int64             `json:"fileCount"`
	LastFileCreationTime int64             `json:"lastFileCreationTime"`
	TotalBuckets         int               `json:"totalBuckets"`
	Done                 bool              `json:"done"`
}

type getTagResponse struct {
	TagName         string          `json:"tagName"`
	Snapshot        json.RawMessage `json:"snapshot"`
	TagCreateTime   *int64          `json:"tagCreateTime"`
	TagTimeRetained *string         `json:"tagTimeRetained"`
}

type consumerInfo struct {
	ConsumerID   string `json:"consumerId"`
	NextSnapshot int64  `json:"nextSnapshot"`
}

type resetConsumerRequest struct {
	ConsumerID     string `json:"consumerId"`
	NextSnapshotID *int64 `json:"nextSnapshotId"`
}

type listByNamesRequest struct {
	Specs []map[string]string `json:"specs"`
}

// paimonSnapshotJSON is a snapshot as the protocol carries it: Paimon's snapshot file JSON
// with commitIdentifier as a string, as the protocol's schema declares it (Paimon's client
// reads both forms), and without the fields of tag files.
func paimonSnapshotJSON(s *format.Snapshot) (json.RawMessage, error) {
	c := *s
	c.TagCreateTime, c.TagTimeRetained = nil, nil
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(c.Marshal()))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("snapshot %d: %w", s.ID, err)
	}
	m["commitIdentifier"] = strconv.FormatInt(s.CommitIdentifier, 10)
	if v, ok := m["logOffsets"]; ok && v == nil {
		delete(m, "logOffsets")
	}
	return json.Marshal(m)
}

// parseClientSnapshot reads a snapshot sent by a client, accepting commitIdentifier as a
// number (Paimon's Java client) or a string (the protocol's schema).
func parseClientSnapshot(raw json.RawMessage) (*format.Snapshot, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("snapshot is not a JSON object: %w", err)
	}
	if v, ok := m["commitIdentifier"]; ok && len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("commitIdentifier: %w", err)
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("commitIdentifier %q is not a 64-bit integer", s)
		}
		m["commitIdentifier"] = json.RawMessage(s)
		data, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		raw = data
	}
	return format.ParseSnapshot(raw)
}

// tagCreateMillis reads a tag's creation time: Jackson writes Java's LocalDateTime as an
// array [year, month, day, hour, minute, second, nanos] or as an ISO string. The local
// time is read as UTC, as Paimon's REST server reports it.
func tagCreateMillis(raw json.RawMessage) *int64 {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var parts []int64
	if err := json.Unmarshal(raw, &parts); err == nil && len(parts) >= 3 {
		for len(parts) < 7 {
			parts = append(parts, 0)
		}
		t := time.Date(int(parts[0]), time.Month(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]), int(parts[5]), int(parts[6]), time.UTC)
		ms := t.UnixMilli()
		return &ms
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
			if t, err := time.Parse(layout, s); err == nil {
				ms := t.UnixMilli()
				return &ms
			}
		}
	}
	return nil
}

// tagTimeRetained renders a tag's retention (Jackson writes java.time.Duration as seconds,
// possibly fractional, or as an ISO-8601 string) as Duration.toString does.
func tagTimeRetained(raw json.RawMessage) *string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return &s
	}
	var secs json.Number
	if err := json.Unmarshal(raw, &secs); err == nil {
		d, err := time.ParseDuration(secs.String() + "s")
		if err != nil {
			return nil
		}
		out := isoDuration(d)
		return &out
	}
	return nil
}

// isoDuration is java.time.Duration.toString for non-negative durations: PT8H6M12.345S.
func isoDuration(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	h := int64(d / time.Hour)
	d -= time.Duration(h) * time.Hour
	m := int64(d / time.Minute)
	d -= time.Duration(m) * time.Minute
	s := "PT"
	if h > 0 {
		s += strconv.FormatInt(h, 10) + "H"
	}
	if m > 0 {
		s += strconv.FormatInt(m, 10) + "M"
	}
	if d > 0 {
		sec := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		s += sec + "S"
	}
	return s
}
