package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// writeResult answers a row upload.
type writeResult struct {
	Rows       int64  `json:"rows"`
	SnapshotID *int64 `json:"snapshotId"`
	Files      int    `json:"files"`
	Bytes      int64  `json:"bytes"`
	// Skipped is set when the commit user had already committed this identifier.
	Skipped bool `json:"skipped,omitempty"`
}

// tWriteRows writes the request body's rows (JSON Lines, or CSV with a header line for
// Content-Type text/csv) into the table and commits them as one snapshot. The optional
// commitUser and commitIdentifier query parameters make retries idempotent: a commit whose
// user already committed that identifier (or a later one) is skipped.
func (a *API) tWriteRows(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	ctx := r.Context()
	q := r.URL.Query()
	user, ident := q.Get("commitUser"), format.BatchCommitIdentifier
	if v := q.Get("commitIdentifier"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			writeError(w, r, badRequest("commitIdentifier %q: want a positive 64-bit integer", v))
			return
		}
		if user == "" {
			writeError(w, r, badRequest("commitIdentifier needs commitUser"))
			return
		}
		ident = n
	}
	if user == "" {
		user = "tarn-http-" + randomHex(8)
	}
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(schema.PrimaryKeys) > 0 {
		// One writer per primary-key table at a time keeps sequence numbers increasing
		// across commits made through this server.
		unlock := a.locks.lock(t.Path())
		defer unlock()
	}
	wo, commit, release, err := a.openWriteLog(ctx, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer release()
	wr, err := t.NewWriter(ctx, wo)
	if err != nil {
		// A table the writer cannot write (an unsupported file format or bucket mode) is
		// the request's problem; storage errors are the server's.
		writeError(w, r, writerError(err))
		return
	}
	defer wr.Close()
	next, err := rowReader(r, wr.Schema())
	if err != nil {
		writeError(w, r, err)
		return
	}
	var rows int64
	for {
		b, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			writeError(w, r, inputError(err))
			return
		}
		err = wr.Write(ctx, b)
		n := b.NumRows()
		b.Release()
		if err != nil {
			writeError(w, r, writerError(err))
			return
		}
		rows += n
	}
	// The body is in: finish the commit even if the client goes away now.
	cctx, end, err := a.beginCommit(ctx)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer end()
	res, err := a.commitWriter(cctx, id, t, wr, commit, user, ident)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res.Rows = rows
	writeJSON(w, http.StatusOK, res)
}

// commitWriter commits what a writer wrote.
func (a *API) commitWriter(ctx context.Context, id catalog.Identifier, t *table.Table, wr *table.Writer, commit commitFunc, user string, ident int64) (*writeResult, error) {
	msgs, err := wr.PrepareCommit(ctx)
	if err != nil {
		return nil, writerError(err)
	}
	res := &writeResult{}
	var rows int64
	for _, m := range msgs {
		for _, f := range m.NewFiles {
			res.Files++
			res.Bytes += f.FileSize
			rows += f.RowCount
		}
	}
	if len(msgs) == 0 {
		return res, nil
	}
	var created int64 // the snapshot the commit created
	if th, ok := a.getCompactor().(CommitThrottler); ok {
		done, err := th.BeforeCommit(ctx, t, id, msgs)
		if err != nil {
			return nil, err
		}
		defer func() { done(created) }()
	}
	cr, err := commit(ctx, table.Commit{User: user, Identifier: ident, Messages: msgs, SchemaID: wr.Schema().ID, CheckSchema: true})
	if err == nil && !cr.Skipped {
		created = cr.SnapshotID
	}
	name := id.String()
	switch {
	case err != nil:
		result := "error"
		if errors.Is(err, table.ErrConflict) {
			result = "conflict"
		}
		metrics.CommitDone(name, "http", result, 0, 0)
		return nil, err
	case cr.Skipped:
		metrics.CommitDone(name, "http", "skipped", 0, 0)
		res.Skipped = true
	default:
		metrics.CommitDone(name, "http", "ok", rows, res.Bytes)
		a.log.Info("committed rows", "table", name, "snapshot", cr.SnapshotID, "rows", rows, "files", res.Files)
	}
	res.SnapshotID = &cr.SnapshotID
	return res, nil
}

// rowReader picks the body's decoder from its content type.
func rowReader(r *http.Request, schema *format.TableSchema) (func() (arrow.RecordBatch, error), error) {
	mt := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, &apiError{Status: http.StatusUnsupportedMediaType, Message: "bad Content-Type " + strconv.Quote(ct)}
		}
	}
	switch mt {
	case "", "application/x-www-form-urlencoded", // curl --data-binary's default
		"application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines", "application/json", "text/plain":
		rr, err := render.NewJSONLReader(r.Body, schema.Fields, 0)
		if err != nil {
			return nil, err
		}
		return rr.Next, nil
	case "text/csv":
		rr, err := render.NewCSVReader(r.Body, schema.Fields, 0)
		if err != nil {
			return nil, err
		}
		return rr.Next, nil
	}
	return nil, &apiError{Status: http.StatusUnsupportedMediaType, Message: "Content-Type " + mt + " is not supported: send JSON Lines (application/x-ndjson) or CSV (text/csv)"}
}

// inputError classifies an error reading the body: bad input is the client's.
func inputError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return toAPIError(err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &apiError{Status: http.StatusBadRequest, Message: "the request body ended early: " + err.Error(), Err: err}
	}
	return &apiError{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
}

// writerError classifies a writer error: storage failures are the server's, the rest
// (a null primary key, a value out of range) the input's.
func writerError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return toAPIError(err)
	}
	return &apiError{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
