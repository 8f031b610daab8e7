package rest

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/table"
)

// tarnRoutes serves Tarn's own API under /api/v1.
func (a *API) tarnRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(limitBody(a.opts.MaxRequestBytes))
		r.Get("/databases", a.tListDatabases)
		r.Post("/databases", a.tCreateDatabase)
		r.Get("/databases/{database}", a.tGetDatabase)
		r.Delete("/databases/{database}", a.tDropDatabase)
		r.Get("/databases/{database}/tables", a.tListTables)
		r.Post("/databases/{database}/tables", a.tCreateTable)
		r.Get("/databases/{database}/tables/{table}", a.tTable(a.tGetTable))
		r.Delete("/databases/{database}/tables/{table}", a.tDropTable)
		r.Post("/databases/{database}/tables/{table}/schema", a.tTable(a.tAlterTable))
		r.Get("/databases/{database}/tables/{table}/snapshots", a.tTable(a.tListSnapshots))
		r.Get("/databases/{database}/tables/{table}/snapshots/{snapshot}", a.tTable(a.tGetSnapshot))
		r.Get("/databases/{database}/tables/{table}/snapshots/{snapshot}/files", a.tTable(a.tListFiles))
		r.Get("/databases/{database}/tables/{table}/tags", a.tTable(a.tListTags))
		r.Post("/databases/{database}/tables/{table}/tags", a.tTable(a.createTag))
		r.Delete("/databases/{database}/tables/{table}/tags/{tag}", a.tTable(a.deleteTag))
		r.Post("/databases/{database}/tables/{table}/rollback", a.tTable(a.tRollback))
		r.Get("/databases/{database}/tables/{table}/partitions", a.tTable(a.tListPartitions))
		r.Get("/databases/{database}/tables/{table}/compaction", a.tTable(a.tCompactionStatus))
		r.Post("/databases/{database}/tables/{table}/compaction", a.tTable(a.tCompact))
	})
	r.With(limitBody(a.opts.MaxWriteBytes)).Post("/databases/{database}/tables/{table}/rows", a.tTable(a.tWriteRows))
}

// tTable resolves the route's table with path-escaped names.
func (a *API) tTable(h tableHandler) http.HandlerFunc { return a.tableRoute(false, h) }

func (a *API) tListDatabases(w http.ResponseWriter, r *http.Request) {
	dbs, err := a.cat.ListDatabases(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"databases": nonNil(dbs)})
}

func (a *API) tCreateDatabase(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		IfNotExists bool   `json:"ifNotExists"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		writeError(w, r, err)
		return
	}
	if err := catalog.ValidateName(req.Name); err != nil {
		writeError(w, r, badRequest("database name: %v", err))
		return
	}
	if err := a.cat.CreateDatabase(r.Context(), req.Name, req.IfNotExists); err != nil {
		if errors.Is(err, catalog.ErrExists) {
			err = conflict(resDatabase, req.Name, "database %s already exists", req.Name)
		}
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"name": req.Name, "location": a.cat.DatabasePath(req.Name)})
}

// tDatabaseTables returns the route's database (404 when missing) and its tables.
func (a *API) tDatabaseTables(r *http.Request) (string, []string, error) {
	db, err := urlName(r, "database", "database", false)
	if err != nil {
		return "", nil, err
	}
	if err := a.requireDatabase(r.Context(), db); err != nil {
		return "", nil, err
	}
	tables, err := a.cat.ListTables(r.Context(), db)
	return db, tables, err
}

func (a *API) tGetDatabase(w http.ResponseWriter, r *http.Request) {
	db, tables, err := a.tDatabaseTables(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": db, "location": a.cat.DatabasePath(db), "tables": nonNil(tables)})
}

func (a *API) tDropDatabase(w http.ResponseWriter, r *http.Request) {
	cascade, _ := strconv.ParseBool(r.URL.Query().Get("cascade"))
	db, tables, err := a.tDatabaseTables(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(tables) > 0 && !cascade {
		writeError(w, r, conflict(resDatabase, db, "database %s is not empty (%d tables); drop its tables first or pass cascade=true", db, len(tables)))
		return
	}
	if err := a.cat.DropDatabase(r.Context(), db, true, false); err != nil {
		writeError(w, r, err)
		return
	}
	a.log.Info("dropped database", "database", db)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) tListTables(w http.ResponseWriter, r *http.Request) {
	_, tables, err := a.tDatabaseTables(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tables": nonNil(tables)})
}

// createTableBody is a table to create: columns in SQL ("id BIGINT NOT NULL, name
// STRING") or as Paimon's JSON fields.
type createTableBody struct {
	Name          string            `json:"name"`
	Columns       string            `json:"columns"`
	Fields        []types.DataField `json:"fields"`
	PrimaryKeys   []string          `json:"primaryKeys"`
	PartitionKeys []string          `json:"partitionKeys"`
	Options       map[string]string `json:"options"`
	Comment       *string           `json:"comment"`
	IfNotExists   bool              `json:"ifNotExists"`
}

func (a *API) tCreateTable(w http.ResponseWriter, r *http.Request) {
	db, err := urlName(r, "database", "database", false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req createTableBody
	if err := decodeJSON(r, &req, true); err != nil {
		writeError(w, r, err)
		return
	}
	id := catalog.Identifier{Database: db, Table: req.Name}
	if err := validateIdentifier(id); err != nil {
		writeError(w, r, err)
		return
	}
	fields := req.Fields
	switch {
	case req.Columns != "" && len(fields) > 0:
		writeError(w, r, badRequest("give the columns either as SQL (columns) or as Paimon JSON (fields), not both"))
		return
	case req.Columns != "":
		if fields, err = types.ParseColumns(req.Columns); err != nil {
			writeError(w, r, badRequest("columns: %v", err))
			return
		}
	case len(fields) == 0:
		writeError(w, r, badRequest("missing columns: give them as SQL, e.g. {\"columns\": \"id BIGINT NOT NULL, name STRING\"}"))
		return
	}
	ps := paimonSchema{Fields: fields, PrimaryKeys: req.PrimaryKeys, PartitionKeys: req.PartitionKeys, Options: req.Options, Comment: req.Comment}
	spec, err := specFromPaimon(ps)
	if err != nil {
		writeError(w, r, err)
		return
	}
	t, err := a.createTableSpec(r.Context(), id, spec, req.IfNotExists)
	if err != nil {
		writeError(w, r, err)
		return
	}
	desc, err := a.describeTable(r.Context(), id, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, desc)
}

// tarnColumn is a column in Tarn's API: its type in SQL.
type tarnColumn struct {
	ID      int     `json:"id"`
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Comment *string `json:"comment,omitempty"`
}

type tarnTable struct {
	Database         string            `json:"database"`
	Name             string            `json:"name"`
	ID               string            `json:"id"`
	Path             string            `json:"path"`
	SchemaID         int64             `json:"schemaId"`
	Columns          []tarnColumn      `json:"columns"`
	PrimaryKeys      []string          `json:"primaryKeys"`
	PartitionKeys    []string          `json:"partitionKeys"`
	Options          map[string]string `json:"options"`
	Comment          *string           `json:"comment,omitempty"`
	LatestSnapshotID *int64            `json:"latestSnapshotId"`
}

func (a *API) describeTable(ctx context.Context, id catalog.Identifier, t *table.Table) (*tarnTable, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	return a.describeSchema(ctx, id, t, schema)
}

// describeSchema describes the table with the given schema.
func (a *API) describeSchema(ctx context.Context, id catalog.Identifier, t *table.Table, schema *format.TableSchema) (*tarnTable, error) {
	first, err := earliestSchema(ctx, t, schema)
	if err != nil {
		return nil, err
	}
	out := &tarnTable{
		Database: id.Database, Name: id.Table, ID: tableID(id, first.TimeMillis), Path: t.Path(), SchemaID: schema.ID,
		Columns: []tarnColumn{}, PrimaryKeys: nonNil(schema.PrimaryKeys), PartitionKeys: nonNil(schema.PartitionKeys),
		Options: schema.Options.Map(), Comment: schema.Comment,
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	for _, f := range schema.Fields {
		out.Columns = append(out.Columns, tarnColumn{ID: f.ID, Name: f.Name, Type: f.Type.String(), Comment: f.Description})
	}
	if n, ok, err := t.LatestSnapshotID(ctx); err != nil {
		return nil, err
	} else if ok {
		out.LatestSnapshotID = &n
	}
	return out, nil
}

func (a *API) tGetTable(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	desc, err := a.describeTable(r.Context(), id, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, desc)
}

func (a *API) tDropTable(w http.ResponseWriter, r *http.Request) {
	id, err := a.tableIdentifier(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.dropTableID(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tarnSnapshot summarises a snapshot.
type tarnSnapshot struct {
	ID                   int64             `json:"id"`
	SchemaID             int64             `json:"schemaId"`
	CommitKind           string            `json:"commitKind"`
	CommitUser           string            `json:"commitUser"`
	CommitIdentifier     int64             `json:"commitIdentifier"`
	TimeMillis           int64             `json:"timeMillis"`
	TotalRecordCount     *int64            `json:"totalRecordCount,omitempty"`
	DeltaRecordCount     *int64            `json:"deltaRecordCount,omitempty"`
	ChangelogRecordCount *int64            `json:"changelogRecordCount,omitempty"`
	Watermark            *int64            `json:"watermark,omitempty"`
	Properties           map[string]string `json:"properties,omitempty"`
}

func toTarnSnapshot(s *format.Snapshot) tarnSnapshot {
	out := tarnSnapshot{
		ID: s.ID, SchemaID: s.SchemaID, CommitKind: string(s.CommitKind), CommitUser: s.CommitUser,
		CommitIdentifier: s.CommitIdentifier, TimeMillis: s.TimeMillis, TotalRecordCount: s.TotalRecordCount,
		DeltaRecordCount: s.DeltaRecordCount, ChangelogRecordCount: s.ChangelogRecordCount, Watermark: s.Watermark,
	}
	if s.Properties != nil {
		out.Properties = s.Properties.Map()
	}
	return out
}

func (a *API) tListSnapshots(w http.ResponseWriter, r *http.Request, _ catalog.Identifier, t *table.Table) {
	snaps, err := t.Snapshots(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]tarnSnapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, toTarnSnapshot(s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"snapshots": out})
}

// resolveSnapshot reads the {snapshot} URL parameter: an id or "latest".
func resolveSnapshot(r *http.Request, id catalog.Identifier, t *table.Table) (*format.Snapshot, error) {
	v := chi.URLParam(r, "snapshot")
	var (
		s   *format.Snapshot
		err error
	)
	if v == "latest" {
		s, err = t.LatestSnapshot(r.Context())
		if err == nil && s == nil {
			return nil, notFound(resSnapshot, v, "table %s has no snapshot yet", id)
		}
	} else {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n <= 0 {
			return nil, badRequest("snapshot %q: want a snapshot id or latest", v)
		}
		s, err = t.Snapshot(r.Context(), n)
	}
	if errors.Is(err, table.ErrNotFound) {
		return nil, notFound(resSnapshot, v, "snapshot %s of table %s does not exist", v, id)
	}
	return s, err
}

func (a *API) tGetSnapshot(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	s, err := resolveSnapshot(r, id, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTarnSnapshot(s))
}

// tarnFile is a live data file of a snapshot.
type tarnFile struct {
	Partition      map[string]string `json:"partition"`
	Bucket         int               `json:"bucket"`
	Level          int32             `json:"level"`
	FileName       string            `json:"fileName"`
	Path           string            `json:"path"`
	RowCount       int64             `json:"rowCount"`
	SizeBytes      int64             `json:"sizeBytes"`
	MinSequence    int64             `json:"minSequenceNumber"`
	MaxSequence    int64             `json:"maxSequenceNumber"`
	SchemaID       int64             `json:"schemaId"`
	CreationTime   *int64            `json:"creationTime,omitempty"`
	DeleteRowCount *int64            `json:"deleteRowCount,omitempty"`
	DeletionVector *deletionRef      `json:"deletionVector,omitempty"`
}

type deletionRef struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	// DeletedRows is the rows the vector deletes, when the index records it.
	DeletedRows *int64 `json:"deletedRows,omitempty"`
}

func (a *API) tListFiles(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	s, err := resolveSnapshot(r, id, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	plan, err := t.Plan(r.Context(), table.ScanOptions{SnapshotID: s.ID, AllLevels: true, IncludePostpone: true})
	if err != nil {
		writeError(w, r, err)
		return
	}
	metrics.ScanPlanned(id.String(), "http")
	opts := table.ParseCoreOptions(plan.Schema.Options)
	files := []tarnFile{}
	for _, sp := range plan.Splits {
		spec := partitionSpec(plan.Schema, sp.PartitionValues, opts)
		for i := range sp.Files {
			f := &sp.Files[i]
			tf := tarnFile{
				Partition: spec, Bucket: sp.Bucket, Level: f.Level, FileName: f.FileName, Path: sp.DataFilePath(f),
				RowCount: f.RowCount, SizeBytes: f.FileSize, MinSequence: f.MinSequenceNumber, MaxSequence: f.MaxSequenceNumber,
				SchemaID: f.SchemaID, CreationTime: f.CreationTime, DeleteRowCount: f.DeleteRowCount,
			}
			if dv, ok := sp.DeletionFiles[f.FileName]; ok {
				tf.DeletionVector = &deletionRef{Path: dv.Path, Offset: dv.Offset, Length: dv.Length, DeletedRows: dv.Cardinality}
			}
			files = append(files, tf)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"snapshotId": s.ID, "files": files})
}

func (a *API) tListTags(w http.ResponseWriter, r *http.Request, _ catalog.Identifier, t *table.Table) {
	tags, err := t.ListTags(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := []tarnTag{}
	for i := range tags {
		out = append(out, tarnTagOf(&tags[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": out})
}

// tRollback rolls the table back: {"snapshotId": N} or {"tag": "name"}.
func (a *API) tRollback(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	var req struct {
		SnapshotID   *int64 `json:"snapshotId"`
		Tag          string `json:"tag"`
		FromSnapshot *int64 `json:"fromSnapshot"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		writeError(w, r, err)
		return
	}
	var rr rollbackRequest
	rr.FromSnapshot = req.FromSnapshot
	switch {
	case req.SnapshotID != nil && req.Tag == "":
		rr.Instant = &rollbackInstant{Type: "snapshot", SnapshotID: req.SnapshotID}
	case req.SnapshotID == nil && req.Tag != "":
		rr.Instant = &rollbackInstant{Type: "tag", TagName: req.Tag}
	default:
		writeError(w, r, badRequest(`give either {"snapshotId": N} or {"tag": "name"}`))
		return
	}
	res, err := a.rollback(r.Context(), id, t, rr)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"snapshotId": res.Target, "deletedSnapshots": nonNilInts(res.DeletedSnapshots), "deletedTags": nonNil(res.DeletedTags),
		"deletedChangelogs": nonNilInts(res.DeletedChangelogs), "deletedFiles": res.Deleted.Files(), "deletedBytes": res.Deleted.Bytes,
	})
}

func nonNilInts(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}

// tarnPartition is one partition of a snapshot.
type tarnPartition struct {
	Partition            map[string]string `json:"partition"`
	Name                 string            `json:"name"`
	RowCount             int64             `json:"rowCount"`
	FileCount            int64             `json:"fileCount"`
	SizeBytes            int64             `json:"sizeBytes"`
	Buckets              int               `json:"buckets"`
	LastFileCreationTime int64             `json:"lastFileCreationTime"`
}

func (a *API) tListPartitions(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	q := r.URL.Query()
	o := table.ScanOptions{Tag: q.Get("tag")}
	if v := q.Get("snapshot"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			writeError(w, r, badRequest("snapshot %q: want a snapshot id", v))
			return
		}
		o.SnapshotID = n
	}
	snap, err := t.ResolveSnapshot(r.Context(), o)
	if errors.Is(err, table.ErrNotFound) {
		err = notFound(resSnapshot, "", "%v", err)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := []tarnPartition{}
	var snapID *int64
	if snap != nil {
		st, err := a.snapshotStats(r.Context(), t, snap)
		if err != nil {
			writeError(w, r, err)
			return
		}
		metrics.ScanPlanned(id.String(), "http")
		for _, p := range st.Partitions {
			out = append(out, tarnPartition{Partition: p.Spec, Name: p.Name, RowCount: p.RecordCount, FileCount: p.FileCount,
				SizeBytes: p.FileSize, Buckets: p.Buckets, LastFileCreationTime: p.LastFileTime})
		}
		snapID = &snap.ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"snapshotId": snapID, "partitions": out})
}

func (a *API) tCompactionStatus(w http.ResponseWriter, r *http.Request, id catalog.Identifier, _ *table.Table) {
	c := a.getCompactor()
	if c == nil {
		writeError(w, r, notImplemented("no compactor is running in this server"))
		return
	}
	st, err := c.Status(r.Context(), id)
	if err != nil {
		writeError(w, r, compactorError(err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *API) tCompact(w http.ResponseWriter, r *http.Request, id catalog.Identifier, _ *table.Table) {
	c := a.getCompactor()
	if c == nil {
		writeError(w, r, notImplemented("no compactor is running in this server; run tarn compact instead"))
		return
	}
	full := false
	if v := r.URL.Query().Get("full"); v != "" {
		var err error
		if full, err = strconv.ParseBool(v); err != nil {
			writeError(w, r, badRequest("full=%q: want true or false", v))
			return
		}
	}
	res, err := c.Trigger(r.Context(), id, full)
	if err != nil {
		writeError(w, r, compactorError(err))
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

// compactorError classifies a compactor's error: one that is shutting down is
// unavailable.
func compactorError(err error) error {
	if errors.Is(err, ErrShuttingDown) {
		return &apiError{Status: http.StatusServiceUnavailable, Message: err.Error(), Err: err}
	}
	return err
}
