package format

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tarnlake/tarn/format/types"
)

// CurrentSnapshotVersion is the snapshot file version Paimon writes.
const CurrentSnapshotVersion = 3

// CommitKind says what a snapshot did.
type CommitKind string

// Commit kinds (Snapshot.CommitKind).
const (
	CommitAppend    CommitKind = "APPEND"
	CommitCompact   CommitKind = "COMPACT"
	CommitOverwrite CommitKind = "OVERWRITE"
	CommitAnalyze   CommitKind = "ANALYZE"
)

// BatchCommitIdentifier is the commit identifier of batch (non-streaming) commits,
// Long.MAX_VALUE in Paimon.
const BatchCommitIdentifier int64 = 1<<63 - 1

// Snapshot is the content of a snapshot-N file (also of tag-NAME files, which are snapshots
// with optional tag metadata). Optional fields are pointers: nil means absent from the file.
type Snapshot struct {
	Version                   int
	UUID                      *string
	ID                        int64
	SchemaID                  int64
	BaseManifestList          string
	BaseManifestListSize      *int64
	DeltaManifestList         string
	DeltaManifestListSize     *int64
	ChangelogManifestList     *string
	ChangelogManifestListSize *int64
	IndexManifest             *string
	CommitUser                string
	WriterVersion             *string
	CommitIdentifier          int64
	CommitKind                CommitKind
	TimeMillis                int64
	LogOffsets                map[int]int64 // written by Paimon before 1.1; read and kept
	TotalRecordCount          *int64
	DeltaRecordCount          *int64
	ChangelogRecordCount      *int64
	Watermark                 *int64
	Statistics                *string
	Properties                *Options
	NextRowID                 *int64
	Operation                 *string

	// Tag metadata, present in tag files written by newer Paimon releases.
	TagCreateTime     json.RawMessage
	TagTimeRetained   json.RawMessage
	hasLogOffsetsNull bool
}

type snapshotJSON struct {
	Version                   *int            `json:"version"`
	UUID                      *string         `json:"uuid"`
	ID                        *int64          `json:"id"`
	SchemaID                  *int64          `json:"schemaId"`
	BaseManifestList          *string         `json:"baseManifestList"`
	BaseManifestListSize      *int64          `json:"baseManifestListSize"`
	DeltaManifestList         *string         `json:"deltaManifestList"`
	DeltaManifestListSize     *int64          `json:"deltaManifestListSize"`
	ChangelogManifestList     *string         `json:"changelogManifestList"`
	ChangelogManifestListSize *int64          `json:"changelogManifestListSize"`
	IndexManifest             *string         `json:"indexManifest"`
	CommitUser                *string         `json:"commitUser"`
	WriterVersion             *string         `json:"writerVersion"`
	CommitIdentifier          *int64          `json:"commitIdentifier"`
	CommitKind                *string         `json:"commitKind"`
	TimeMillis                *int64          `json:"timeMillis"`
	LogOffsets                json.RawMessage `json:"logOffsets"`
	TotalRecordCount          *int64          `json:"totalRecordCount"`
	DeltaRecordCount          *int64          `json:"deltaRecordCount"`
	ChangelogRecordCount      *int64          `json:"changelogRecordCount"`
	Watermark                 *int64          `json:"watermark"`
	Statistics                *string         `json:"statistics"`
	Properties                *Options        `json:"properties"`
	NextRowID                 *int64          `json:"nextRowId"`
	Operation                 *string         `json:"operation"`
	TagCreateTime             json.RawMessage `json:"tagCreateTime"`
	TagTimeRetained           json.RawMessage `json:"tagTimeRetained"`
}

// ParseSnapshot decodes a snapshot (or tag) file of any version.
func ParseSnapshot(data []byte) (*Snapshot, error) {
	var r snapshotJSON
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("snapshot json: %w", err)
	}
	switch {
	case r.ID == nil:
		return nil, fmt.Errorf("snapshot json: missing id")
	case r.SchemaID == nil:
		return nil, fmt.Errorf("snapshot json: missing schemaId")
	case r.BaseManifestList == nil || r.DeltaManifestList == nil:
		return nil, fmt.Errorf("snapshot json: missing baseManifestList or deltaManifestList")
	case r.CommitKind == nil:
		return nil, fmt.Errorf("snapshot json: missing commitKind")
	}
	s := &Snapshot{
		Version:                   1,
		UUID:                      r.UUID,
		ID:                        *r.ID,
		SchemaID:                  *r.SchemaID,
		BaseManifestList:          *r.BaseManifestList,
		BaseManifestListSize:      r.BaseManifestListSize,
		DeltaManifestList:         *r.DeltaManifestList,
		DeltaManifestListSize:     r.DeltaManifestListSize,
		ChangelogManifestList:     r.ChangelogManifestList,
		ChangelogManifestListSize: r.ChangelogManifestListSize,
		IndexManifest:             r.IndexManifest,
		WriterVersion:             r.WriterVersion,
		CommitKind:                CommitKind(*r.CommitKind),
		TotalRecordCount:          r.TotalRecordCount,
		DeltaRecordCount:          r.DeltaRecordCount,
		ChangelogRecordCount:      r.ChangelogRecordCount,
		Watermark:                 r.Watermark,
		Statistics:                r.Statistics,
		Properties:                r.Properties,
		NextRowID:                 r.NextRowID,
		Operation:                 r.Operation,
		TagCreateTime:             r.TagCreateTime,
		TagTimeRetained:           r.TagTimeRetained,
	}
	if r.Version != nil {
		s.Version = *r.Version
	}
	if r.CommitUser != nil {
		s.CommitUser = *r.CommitUser
	}
	if r.CommitIdentifier != nil {
		s.CommitIdentifier = *r.CommitIdentifier
	}
	if r.TimeMillis != nil {
		s.TimeMillis = *r.TimeMillis
	}
	switch s.CommitKind {
	case CommitAppend, CommitCompact, CommitOverwrite, CommitAnalyze:
	default:
		return nil, fmt.Errorf("snapshot json: unknown commitKind %q", s.CommitKind)
	}
	if len(r.LogOffsets) > 0 && string(bytes.TrimSpace(r.LogOffsets)) != "null" {
		var m map[int]int64
		if err := json.Unmarshal(r.LogOffsets, &m); err != nil {
			return nil, fmt.Errorf("snapshot json: logOffsets: %w", err)
		}
		s.LogOffsets = m
	} else if len(r.LogOffsets) > 0 {
		s.hasLogOffsetsNull = true
	}
	return s, nil
}

// Marshal encodes the snapshot as Paimon's Jackson serializer does: fields in declaration
// order, absent optional fields left out, pretty printed.
func (s *Snapshot) Marshal() []byte {
	var b bytes.Buffer
	w := &types.JSONWriter{B: &b, Pretty: true}
	optInt := func(k string, v *int64) {
		if v != nil {
			w.Key(k)
			w.Int(*v)
		}
	}
	optStr := func(k string, v *string) {
		if v != nil {
			w.Key(k)
			w.String(*v)
		}
	}
	w.BeginObject()
	w.Key("version")
	w.Int(int64(s.Version))
	optStr("uuid", s.UUID)
	w.Key("id")
	w.Int(s.ID)
	w.Key("schemaId")
	w.Int(s.SchemaID)
	w.Key("baseManifestList")
	w.String(s.BaseManifestList)
	optInt("baseManifestListSize", s.BaseManifestListSize)
	w.Key("deltaManifestList")
	w.String(s.DeltaManifestList)
	optInt("deltaManifestListSize", s.DeltaManifestListSize)
	optStr("changelogManifestList", s.ChangelogManifestList)
	optInt("changelogManifestListSize", s.ChangelogManifestListSize)
	optStr("indexManifest", s.IndexManifest)
	w.Key("commitUser")
	w.String(s.CommitUser)
	optStr("writerVersion", s.WriterVersion)
	w.Key("commitIdentifier")
	w.Int(s.CommitIdentifier)
	w.Key("commitKind")
	w.String(string(s.CommitKind))
	w.Key("timeMillis")
	w.Int(s.TimeMillis)
	if s.LogOffsets != nil || s.hasLogOffsetsNull {
		w.Key("logOffsets")
		if s.LogOffsets == nil {
			w.Null()
		} else {
			w.BeginObject()
			for _, k := range sortedKeys(s.LogOffsets) {
				w.Key(fmt.Sprint(k))
				w.Int(s.LogOffsets[k])
			}
			w.EndObject()
		}
	}
	optInt("totalRecordCount", s.TotalRecordCount)
	optInt("deltaRecordCount", s.DeltaRecordCount)
	optInt("changelogRecordCount", s.ChangelogRecordCount)
	optInt("watermark", s.Watermark)
	optStr("statistics", s.Statistics)
	if s.Properties != nil {
		w.Key("properties")
		w.BeginObject()
		for _, k := range s.Properties.keys {
			w.Key(k)
			w.String(s.Properties.vals[k])
		}
		w.EndObject()
	}
	optInt("nextRowId", s.NextRowID)
	optStr("operation", s.Operation)
	if len(s.TagCreateTime) > 0 {
		w.Key("tagCreateTime")
		w.B.Write(s.TagCreateTime)
	}
	if len(s.TagTimeRetained) > 0 {
		w.Key("tagTimeRetained")
		w.B.Write(s.TagTimeRetained)
	}
	w.EndObject()
	return b.Bytes()
}

func sortedKeys(m map[int]int64) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// Int64 returns a pointer to v, for optional snapshot fields.
func Int64(v int64) *int64 { return &v }

// String returns a pointer to v, for optional snapshot fields.
func String(v string) *string { return &v }
