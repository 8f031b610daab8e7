package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/table"
)

// Tags and rollback through the table's lifecycle functions. Rollback and deleting a tag
// delete files; they hold the table's lock against this server's own writers.

// createTagRequest is Paimon's CreateTagRequest; Tarn's API takes the same fields with
// "name" for the tag name.
type createTagRequest struct {
	TagName        string  `json:"tagName"`
	Name           string  `json:"name"`
	SnapshotID     *int64  `json:"snapshotId"`
	TimeRetained   *string `json:"timeRetained"`
	IgnoreIfExists bool    `json:"ignoreIfExists"`
}

// createTagFrom creates a tag; it reports false when the tag existed and the request
// said to ignore that.
func (a *API) createTagFrom(ctx context.Context, id catalog.Identifier, t *table.Table, req createTagRequest) (*table.TagInfo, error) {
	name := req.TagName
	if name == "" {
		name = req.Name
	}
	if err := catalog.ValidateName(name); err != nil {
		return nil, badRequest("tag name: %v", err)
	}
	var retained time.Duration
	if req.TimeRetained != nil && *req.TimeRetained != "" {
		d, err := parseRetention(*req.TimeRetained)
		if err != nil {
			return nil, badRequest("timeRetained: %v", err)
		}
		retained = d
	}
	var snapID int64
	if req.SnapshotID != nil {
		if *req.SnapshotID <= 0 {
			return nil, badRequest("snapshotId %d: ids start at 1", *req.SnapshotID)
		}
		snapID = *req.SnapshotID
	}
	if existing, err := t.Tag(ctx, name); err == nil {
		if req.IgnoreIfExists {
			return &table.TagInfo{Name: name, SnapshotID: existing.ID, Snapshot: existing}, nil
		}
		return nil, conflict(resTag, name, "tag %s of table %s already exists (snapshot %d)", name, id, existing.ID)
	} else if !errors.Is(err, table.ErrNotFound) {
		return nil, err
	}
	ti, err := t.CreateTag(ctx, name, snapID, retained)
	switch {
	case errors.Is(err, table.ErrNotFound):
		what := "latest"
		if snapID > 0 {
			what = strconv.FormatInt(snapID, 10)
		}
		return nil, notFound(resSnapshot, what, "cannot tag snapshot %s of table %s: %v", what, id, err)
	case err != nil && strings.Contains(err.Error(), "already exists"):
		return nil, conflict(resTag, name, "%v", err)
	case err != nil:
		return nil, err
	}
	a.log.Info("created tag", "table", id.String(), "tag", name, "snapshot", ti.SnapshotID)
	return ti, nil
}

func (a *API) createTag(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	var req createTagRequest
	if err := decodeJSON(r, &req, !queryFormOf(r)); err != nil {
		writeError(w, r, err)
		return
	}
	ti, err := a.createTagFrom(r.Context(), id, t, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if queryFormOf(r) {
		writeOK(w)
		return
	}
	writeJSON(w, http.StatusCreated, tarnTagOf(ti))
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	name, err := urlName(r, "tag", "tag", queryFormOf(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	unlock := a.locks.lock(t.Path())
	defer unlock()
	d, err := t.DeleteTag(r.Context(), name)
	if errors.Is(err, table.ErrNotFound) {
		err = notFound(resTag, name, "tag %s of table %s does not exist", name, id)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.log.Info("deleted tag", "table", id.String(), "tag", name, "files_deleted", d.Files())
	if queryFormOf(r) {
		writeOK(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rollbackRequest is Paimon's RollbackTableRequest.
type rollbackRequest struct {
	Instant      *rollbackInstant `json:"instant"`
	FromSnapshot *int64           `json:"fromSnapshot"`
}

type rollbackInstant struct {
	Type       string `json:"type"`
	SnapshotID *int64 `json:"snapshotId"`
	TagName    string `json:"tagName"`
}

func (a *API) rollbackTable(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	var req rollbackRequest
	if err := decodeJSON(r, &req, false); err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := a.rollback(r.Context(), id, t, req); err != nil {
		writeError(w, r, err)
		return
	}
	writeOK(w)
}

// rollback makes a snapshot or a tag's snapshot the table's latest, deleting the newer
// snapshots, their tags and the files only they used. With fromSnapshot it happens only
// if that is still the latest snapshot.
func (a *API) rollback(ctx context.Context, id catalog.Identifier, t *table.Table, req rollbackRequest) (*table.RollbackResult, error) {
	if req.Instant == nil {
		return nil, badRequest("missing instant")
	}
	unlock := a.locks.lock(t.Path())
	defer unlock()
	if req.FromSnapshot != nil {
		latest, ok, err := t.LatestSnapshotID(ctx)
		if err != nil {
			return nil, err
		}
		if !ok || latest != *req.FromSnapshot {
			return nil, conflict("", "", "the latest snapshot of table %s is %d, not %d", id, latest, *req.FromSnapshot)
		}
	}
	cctx, end, err := a.beginCommit(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	var res *table.RollbackResult
	switch strings.ToLower(req.Instant.Type) {
	case "snapshot":
		if req.Instant.SnapshotID == nil {
			return nil, badRequest("instant: missing snapshotId")
		}
		n := *req.Instant.SnapshotID
		res, err = t.RollbackTo(cctx, n)
		if errors.Is(err, table.ErrNotFound) {
			err = notFound(resSnapshot, strconv.FormatInt(n, 10), "snapshot %d of table %s does not exist", n, id)
		}
	case "tag":
		if verr := catalog.ValidateName(req.Instant.TagName); verr != nil {
			return nil, badRequest("tag name: %v", verr)
		}
		res, err = t.RollbackToTag(cctx, req.Instant.TagName)
		if errors.Is(err, table.ErrNotFound) {
			err = notFound(resTag, req.Instant.TagName, "tag %s of table %s does not exist", req.Instant.TagName, id)
		}
	default:
		err = badRequest("instant type %q: want snapshot or tag", req.Instant.Type)
	}
	if err != nil {
		return nil, err
	}
	a.log.Info("rolled back", "table", id.String(), "snapshot", res.Target, "deleted_snapshots", len(res.DeletedSnapshots), "deleted_tags", res.DeletedTags)
	return res, nil
}

// tarnTag is a tag in Tarn's API.
type tarnTag struct {
	Name       string `json:"name"`
	SnapshotID int64  `json:"snapshotId"`
	SchemaID   int64  `json:"schemaId"`
	TimeMillis int64  `json:"timeMillis"`
	CreateTime *int64 `json:"createTimeMillis,omitempty"`
	Retained   string `json:"timeRetained,omitempty"`
}

func tarnTagOf(ti *table.TagInfo) tarnTag {
	out := tarnTag{Name: ti.Name, SnapshotID: ti.SnapshotID}
	if ti.Snapshot != nil {
		out.SchemaID, out.TimeMillis = ti.Snapshot.SchemaID, ti.Snapshot.TimeMillis
	}
	if !ti.CreateTime.IsZero() {
		ms := ti.CreateTime.UnixMilli()
		out.CreateTime = &ms
	}
	if ti.TimeRetained > 0 {
		out.Retained = isoDuration(ti.TimeRetained)
	}
	return out
}

// queryFormOf reports whether the request is on the Paimon REST-catalog routes, whose
// names are URLEncoder-encoded.
func queryFormOf(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/v1/")
}

// parseRetention reads a retention as Paimon's TimeUtils does ("1d", "12 h", "30min",
// "90s") or as an ISO-8601 duration ("PT12H").
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToUpper(s), "PT") {
		return parseISODuration(s)
	}
	i := 0
	for i < len(s) && unicode.IsDigit(rune(s[i])) {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q: want a number and a unit, e.g. 1d, 12h or 30min", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	var u time.Duration
	switch unit {
	case "d", "day", "days":
		u = 24 * time.Hour
	case "h", "hour", "hours":
		u = time.Hour
	case "m", "min", "minute", "minutes":
		u = time.Minute
	case "s", "sec", "second", "seconds", "":
		u = time.Second
	case "ms", "milli", "millis", "millisecond", "milliseconds":
		u = time.Millisecond
	default:
		return 0, fmt.Errorf("%q: unknown unit %q (use d, h, min, s or ms)", s, unit)
	}
	if n > int64((1<<63-1)/u) {
		return 0, fmt.Errorf("%q is too long", s)
	}
	return time.Duration(n) * u, nil
}

func parseISODuration(s string) (time.Duration, error) {
	rest := strings.ToUpper(s)[2:]
	var total time.Duration
	for rest != "" {
		i := 0
		for i < len(rest) && (unicode.IsDigit(rune(rest[i])) || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("%q is not an ISO-8601 duration", s)
		}
		v, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, err)
		}
		switch rest[i] {
		case 'H':
			total += time.Duration(v * float64(time.Hour))
		case 'M':
			total += time.Duration(v * float64(time.Minute))
		case 'S':
			total += time.Duration(v * float64(time.Second))
		default:
			return 0, fmt.Errorf("%q is not an ISO-8601 duration", s)
		}
		rest = rest[i+1:]
	}
	return total, nil
}
