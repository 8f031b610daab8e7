package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/table"
)

// paimonRoutes serves Paimon's REST catalog protocol under /v1.
func (a *API) paimonRoutes(r chi.Router) {
	r.Use(limitBody(a.opts.MaxRequestBytes))
	r.Get("/config", a.getConfig)
	r.Route("/{prefix}", func(r chi.Router) {
		r.Use(a.checkPrefix)
		r.Get("/databases", a.listDatabases)
		r.Post("/databases", a.createDatabase)
		r.Get("/databases/{database}", a.getDatabase)
		r.Delete("/databases/{database}", a.dropDatabase)
		r.Post("/databases/{database}", a.alterDatabase)
		r.Post("/databases/{database}/register", a.unsupported("registering tables is not supported: Tarn serves the tables of its warehouse, create them through the catalog"))
		r.Get("/databases/{database}/tables", a.listTables)
		r.Post("/databases/{database}/tables", a.createTable)
		r.Get("/databases/{database}/table-details", a.listTableDetails)
		r.Get("/tables", a.listTablesGlobally)
		r.Get("/tables/id/{tableId}", a.getTableByID)
		r.Post("/tables/rename", a.renameTable)

		r.Route("/databases/{database}/tables/{table}", func(r chi.Router) {
			r.Get("/", a.getTable)
			r.Post("/", a.alterTable)
			r.Delete("/", a.dropTable)
			r.Post("/commit", a.commitTable)
			r.Post("/rollback", a.withTable(a.rollbackTable))
			r.Post("/rollback-schema", a.withTable(a.unsupportedOnTable("schema rollback is not supported by Tarn")))
			r.Get("/token", a.withTable(a.unsupportedOnTable("data tokens are not supported: clients read table files with their own storage credentials")))
			r.Post("/auth", a.withTable(a.authTableQuery))
			r.Get("/snapshot", a.withTable(a.getTableSnapshot))
			r.Get("/snapshots", a.withTable(a.listSnapshots))
			r.Get("/snapshots/{version}", a.withTable(a.getVersionSnapshot))
			r.Get("/partitions", a.withTable(a.listPartitions))
			r.Post("/partitions", a.withTable(a.unsupportedOnTable("partitions are derived from data files; they are not created through the catalog")))
			r.Post("/partitions/drop", a.withTable(a.unsupportedOnTable("dropping partitions through the catalog is not supported")))
			r.Post("/partitions/mark", a.withTable(a.unsupportedOnTable("marking partitions done is not supported: not a metastore-partitioned table")))
			r.Post("/partitions/list-by-names", a.withTable(a.listPartitionsByNames))
			r.Post("/partitions/list-by-filter", a.withTable(a.unsupportedOnTable("listing partitions by a filter is not supported; list all partitions")))
			r.Get("/branches", a.withTable(a.listBranches))
			r.Post("/branches", a.withTable(a.unsupportedOnTable("branches are not supported by Tarn")))
			r.Delete("/branches/{branch}", a.withTable(a.branchNotFound))
			r.Post("/branches/{branch}/rename", a.withTable(a.branchNotFound))
			r.Post("/branches/{branch}/forward", a.withTable(a.branchNotFound))
			r.Get("/tags", a.withTable(a.listTags))
			r.Post("/tags", a.withTable(a.createTag))
			r.Get("/tags/{tag}", a.withTable(a.getTag))
			r.Delete("/tags/{tag}", a.withTable(a.deleteTag))
			r.Get("/consumers", a.withTable(a.listConsumers))
			r.Post("/consumers/reset", a.withTable(a.resetConsumer))
		})

		// Views and functions: Tarn stores none.
		r.Get("/databases/{database}/views", a.emptyList("views"))
		r.Post("/databases/{database}/views", a.unsupported("views are not supported by Tarn"))
		r.Get("/databases/{database}/view-details", a.emptyList("viewDetails"))
		r.Get("/views", a.emptyList("views"))
		r.Get("/databases/{database}/views/{view}", a.objectNotFound("view", "view", resView))
		r.Post("/databases/{database}/views/{view}", a.objectNotFound("view", "view", resView))
		r.Delete("/databases/{database}/views/{view}", a.objectNotFound("view", "view", resView))
		r.Post("/views/rename", a.unsupported("views are not supported by Tarn"))
		r.Get("/databases/{database}/functions", a.emptyList("functions"))
		r.Post("/databases/{database}/functions", a.unsupported("functions are not supported by Tarn"))
		r.Get("/databases/{database}/function-details", a.emptyList("functionDetails"))
		r.Get("/functions", a.emptyList("functions"))
		r.Get("/databases/{database}/functions/{function}", a.objectNotFound("function", "function", resFunction))
		r.Post("/databases/{database}/functions/{function}", a.objectNotFound("function", "function", resFunction))
		r.Delete("/databases/{database}/functions/{function}", a.objectNotFound("function", "function", resFunction))
	})
}

// checkPrefix answers 404 for a prefix other than the catalog's.
func (a *API) checkPrefix(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := url.PathUnescape(chi.URLParam(r, "prefix"))
		if err != nil || p != a.opts.CatalogName {
			writeError(w, r, notFound("", "", "unknown catalog prefix %q: this server's prefix is %q (see GET /v1/config)", chi.URLParam(r, "prefix"), a.opts.CatalogName))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) unsupported(msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeError(w, r, notImplemented("%s", msg)) }
}

func (a *API) unsupportedOnTable(msg string) tableHandler {
	return func(w http.ResponseWriter, r *http.Request, _ catalog.Identifier, _ *table.Table) {
		writeError(w, r, notImplemented("%s", msg))
	}
}

func (a *API) branchNotFound(w http.ResponseWriter, r *http.Request, id catalog.Identifier, _ *table.Table) {
	b, err := urlName(r, "branch", "branch", true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeError(w, r, notFound(resBranch, b, "branch %s of table %s does not exist: Tarn does not support branches", b, id))
}

// emptyList answers a listing of objects Tarn does not store, after checking the database.
func (a *API) emptyList(field string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if chi.URLParam(r, "database") != "" {
			db, err := urlName(r, "database", "database", true)
			if err == nil {
				err = a.requireDatabase(r.Context(), db)
			}
			if err != nil {
				writeError(w, r, err)
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{field: []any{}})
	}
}

func (a *API) objectNotFound(param, what, resType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		db, err := urlName(r, "database", "database", true)
		if err != nil {
			writeError(w, r, err)
			return
		}
		name, err := urlName(r, param, what, true)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := a.requireDatabase(r.Context(), db); err != nil {
			writeError(w, r, err)
			return
		}
		writeError(w, r, notFound(resType, name, "%s %s.%s does not exist: Tarn stores no %ss", what, db, name, what))
	}
}

func (a *API) getConfig(w http.ResponseWriter, r *http.Request) {
	if wh := r.URL.Query().Get("warehouse"); wh != "" && !a.servesWarehouse(wh) {
		writeError(w, r, badRequest("this server serves warehouse %q (location %s); set the catalog's warehouse to %q", a.opts.CatalogName, clientPath(a.cat.Warehouse()), a.opts.CatalogName))
		return
	}
	defaults := map[string]string{}
	for k, v := range a.opts.ClientOptions {
		defaults[k] = v
	}
	writeJSON(w, http.StatusOK, configResponse{
		Defaults:  defaults,
		Overrides: map[string]string{"prefix": a.opts.CatalogName},
	})
}

// servesWarehouse reports whether a client's warehouse option names this server's
// warehouse: its name, or its location.
func (a *API) servesWarehouse(wh string) bool {
	wh = strings.TrimRight(wh, "/")
	loc := strings.TrimRight(a.cat.Warehouse(), "/")
	switch wh {
	case a.opts.CatalogName, loc, clientPath(loc), "file://" + loc:
		return true
	}
	return false
}

func (a *API) listDatabases(w http.ResponseWriter, r *http.Request) {
	page, pats, err := parseListing(r, "databaseNamePattern")
	if err != nil {
		writeError(w, r, err)
		return
	}
	pat := pats[0]
	dbs, err := a.cat.ListDatabases(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	var names []string
	for _, d := range dbs {
		if pat.match(d) {
			names = append(names, d)
		}
	}
	items, next := pageStrings(names, page)
	writeJSON(w, http.StatusOK, pagedList("databases", nonNil(items), next))
}

// pagedList is {field: items, "nextPageToken": next} (no token on the last page).
func pagedList(field string, items any, next string) map[string]any {
	m := map[string]any{field: items}
	if next != "" {
		m["nextPageToken"] = next
	}
	return m
}

func (a *API) createDatabase(w http.ResponseWriter, r *http.Request) {
	var req createDatabaseRequest
	if err := decodeJSON(r, &req, false); err != nil {
		writeError(w, r, err)
		return
	}
	if err := catalog.ValidateName(req.Name); err != nil {
		writeError(w, r, badRequest("database name: %v", err))
		return
	}
	if _, ok := req.Options["location"]; ok {
		writeError(w, r, notImplemented("database option location is not supported: databases live in the warehouse %s", clientPath(a.cat.Warehouse())))
		return
	}
	if err := a.cat.CreateDatabase(r.Context(), req.Name, false); err != nil {
		if errors.Is(err, catalog.ErrExists) {
			err = conflict(resDatabase, req.Name, "database %s already exists", req.Name)
		}
		writeError(w, r, err)
		return
	}
	writeOK(w)
}

func (a *API) getDatabase(w http.ResponseWriter, r *http.Request) {
	db, err := urlName(r, "database", "database", true)
	if err == nil {
		err = a.requireDatabase(r.Context(), db)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, getDatabaseResponse{
		ID: db, Name: db, Location: clientPath(a.cat.DatabasePath(db)), Options: map[string]string{},
		auditFields: auditFields{Owner: auditUser, CreatedBy: auditUser, UpdatedBy: auditUser},
	})
}

func (a *API) dropDatabase(w http.ResponseWriter, r *http.Request) {
	db, err := urlName(r, "database", "database", true)
	if err == nil {
		err = a.requireDatabase(r.Context(), db)
	}
	if err == nil {
		// Paimon's client checks that the database is empty unless it asked for cascade.
		err = a.cat.DropDatabase(r.Context(), db, true, false)
	}
	if err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			err = notFound(resDatabase, db, "database %s does not exist", db)
		}
		writeError(w, r, err)
		return
	}
	a.log.Info("dropped database", "database", db)
	writeOK(w)
}

func (a *API) alterDatabase(w http.ResponseWriter, r *http.Request) {
	db, err := urlName(r, "database", "database", true)
	if err == nil {
		err = a.requireDatabase(r.Context(), db)
	}
	if err == nil {
		err = notImplemented("altering database %s is not supported: Tarn stores no database options", db)
	}
	writeError(w, r, err)
}

func (a *API) listTables(w http.ResponseWriter, r *http.Request) {
	db, names, page, err := a.tableNames(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	_ = db
	items, next := pageStrings(names, page)
	writeJSON(w, http.StatusOK, pagedList("tables", nonNil(items), next))
}

// tableNames lists the tables of the request's database matching tableNamePattern.
func (a *API) tableNames(r *http.Request) (string, []string, pageParams, error) {
	db, err := urlName(r, "database", "database", true)
	if err != nil {
		return "", nil, pageParams{}, err
	}
	page, pats, err := parseListing(r, "tableNamePattern")
	if err != nil {
		return "", nil, page, err
	}
	pat := pats[0]
	if t := r.URL.Query().Get("tableType"); t != "" && !strings.EqualFold(t, "table") {
		return db, nil, page, a.requireDatabase(r.Context(), db)
	}
	if err := a.requireDatabase(r.Context(), db); err != nil {
		return "", nil, page, err
	}
	tables, err := a.cat.ListTables(r.Context(), db)
	if err != nil {
		return "", nil, page, err
	}
	var names []string
	for _, t := range tables {
		if pat.match(t) {
			names = append(names, t)
		}
	}
	return db, names, page, nil
}

func (a *API) listTableDetails(w http.ResponseWriter, r *http.Request) {
	db, names, page, err := a.tableNames(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items, next := pageStrings(names, page)
	details := []getTableResponse{}
	for _, name := range items {
		id := catalog.Identifier{Database: db, Table: name}
		t, err := a.loadTable(r.Context(), id)
		if errors.Is(err, catalog.ErrNotFound) || isNotFound(err) {
			continue // dropped while listing
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		resp, err := a.tableResponse(r.Context(), id, t)
		if err != nil {
			writeError(w, r, err)
			return
		}
		details = append(details, *resp)
	}
	writeJSON(w, http.StatusOK, pagedList("tableDetails", details, next))
}

func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

func (a *API) listTablesGlobally(w http.ResponseWriter, r *http.Request) {
	page, pats, err := parseListing(r, "databaseNamePattern", "tableNamePattern")
	if err != nil {
		writeError(w, r, err)
		return
	}
	dbPat, tblPat := pats[0], pats[1]
	dbs, err := a.cat.ListDatabases(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	// Page tokens are "db/table": neither name can hold a '/'.
	var keys []string
	for _, db := range dbs {
		if !dbPat.match(db) {
			continue
		}
		tables, err := a.cat.ListTables(r.Context(), db)
		if err != nil {
			writeError(w, r, err)
			return
		}
		for _, t := range tables {
			if tblPat.match(t) {
				keys = append(keys, db+"/"+t)
			}
		}
	}
	items, next := pageStrings(keys, page)
	ids := []paimonIdentifier{}
	for _, k := range items {
		db, t, _ := strings.Cut(k, "/")
		ids = append(ids, paimonIdentifier{Database: db, Object: t})
	}
	writeJSON(w, http.StatusOK, pagedList("tables", ids, next))
}

func (a *API) getTableByID(w http.ResponseWriter, r *http.Request) {
	want, err := url.QueryUnescape(chi.URLParam(r, "tableId"))
	if err != nil {
		writeError(w, r, badRequest("table id: bad URL escaping: %v", err))
		return
	}
	ctx := r.Context()
	dbs, err := a.cat.ListDatabases(ctx)
	if err != nil {
		writeError(w, r, err)
		return
	}
	for _, db := range dbs {
		// A table id starts with its full name (see tableID).
		if !strings.HasPrefix(want, db+".") {
			continue
		}
		tables, err := a.cat.ListTables(ctx, db)
		if err != nil {
			writeError(w, r, err)
			return
		}
		for _, name := range tables {
			id := catalog.Identifier{Database: db, Table: name}
			if !strings.HasPrefix(want, id.String()+".") {
				continue
			}
			t, err := a.loadTable(ctx, id)
			if err != nil {
				continue
			}
			resp, err := a.tableResponse(ctx, id, t)
			if err != nil {
				writeError(w, r, err)
				return
			}
			if resp.ID == want {
				writeJSON(w, http.StatusOK, resp)
				return
			}
		}
	}
	writeError(w, r, notFound(resTable, want, "no table has id %q", want))
}

// tableID is the table's uuid as Paimon's file-system tables compute it: the full name and
// the creation time of the earliest schema.
func tableID(id catalog.Identifier, createdMillis int64) string {
	return id.String() + "." + strconv.FormatInt(createdMillis, 10)
}

// tableResponse describes a table as getTable answers.
func (a *API) tableResponse(ctx context.Context, id catalog.Identifier, t *table.Table) (*getTableResponse, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	first, err := earliestSchema(ctx, t, schema)
	if err != nil {
		return nil, err
	}
	return &getTableResponse{
		ID:         tableID(id, first.TimeMillis),
		Database:   id.Database,
		Name:       id.Table,
		Path:       clientPath(t.Path()),
		IsExternal: false,
		SchemaID:   schema.ID,
		Schema:     toPaimonSchema(schema),
		auditFields: auditFields{
			Owner: auditUser, CreatedAt: first.TimeMillis, CreatedBy: auditUser,
			UpdatedAt: schema.TimeMillis, UpdatedBy: auditUser,
		},
	}, nil
}

func earliestSchema(ctx context.Context, t *table.Table, latest *format.TableSchema) (*format.TableSchema, error) {
	ids, err := t.SchemaIDs(ctx)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 || ids[0] == latest.ID {
		return latest, nil
	}
	return t.Schema(ctx, ids[0])
}

// tableHandler is a handler of a route under /databases/{database}/tables/{table}.
type tableHandler func(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table)

// withTable resolves the route's table (404 when missing) before calling h.
func (a *API) withTable(h tableHandler) http.HandlerFunc { return a.tableRoute(true, h) }

// tableRoute resolves the route's table, whose names are in Paimon's query form or
// path-escaped, before calling h.
func (a *API) tableRoute(queryForm bool, h tableHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := a.tableIdentifier(r, queryForm)
		if err != nil {
			writeError(w, r, err)
			return
		}
		t, err := a.loadTable(r.Context(), id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		h(w, r, id, t)
	}
}

func (a *API) tableIdentifier(r *http.Request, queryForm bool) (catalog.Identifier, error) {
	db, err := urlName(r, "database", "database", queryForm)
	if err != nil {
		return catalog.Identifier{}, err
	}
	tbl, err := urlName(r, "table", "table", queryForm)
	if err != nil {
		return catalog.Identifier{}, err
	}
	return catalog.Identifier{Database: db, Table: tbl}, nil
}

func (a *API) getTable(w http.ResponseWriter, r *http.Request) {
	a.withTable(func(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
		resp, err := a.tableResponse(r.Context(), id, t)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})(w, r)
}

func (a *API) createTable(w http.ResponseWriter, r *http.Request) {
	db, err := urlName(r, "database", "database", true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req createTableRequest
	if err := decodeJSON(r, &req, false); err != nil {
		writeError(w, r, err)
		return
	}
	id := req.Identifier.id()
	if id.Database == "" {
		id.Database = db
	}
	if err := validateIdentifier(id); err != nil {
		writeError(w, r, err)
		return
	}
	if id.Database != db {
		writeError(w, r, badRequest("the identifier's database %q is not the database of the URL %q", id.Database, db))
		return
	}
	if req.Schema == nil {
		writeError(w, r, badRequest("missing schema"))
		return
	}
	if err := a.requireDatabase(r.Context(), db); err != nil {
		writeError(w, r, err)
		return
	}
	spec, err := specFromPaimon(*req.Schema)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := a.createTableSpec(r.Context(), id, spec, false); err != nil {
		writeError(w, r, err)
		return
	}
	writeOK(w)
}

// specFromPaimon turns a Paimon Schema into a table spec, refusing what Tarn cannot serve.
func specFromPaimon(s paimonSchema) (catalog.TableSpec, error) {
	opts := map[string]string{}
	for k, v := range s.Options {
		opts[k] = v
	}
	if p, ok := opts["path"]; ok {
		return catalog.TableSpec{}, notImplemented("external tables (option path = %q) are not supported: Tarn keeps tables in its warehouse", p)
	}
	if t, ok := opts["type"]; ok && !strings.EqualFold(t, "table") {
		return catalog.TableSpec{}, notImplemented("tables of type %q are not supported: Tarn serves Paimon tables (type = table)", t)
	}
	return catalog.TableSpec{
		Fields:        s.Fields,
		PrimaryKeys:   s.PrimaryKeys,
		PartitionKeys: s.PartitionKeys,
		Options:       opts,
		Comment:       s.Comment,
	}, nil
}

// createTableSpec validates a spec (400) and creates the table (409 when it exists).
func (a *API) createTableSpec(ctx context.Context, id catalog.Identifier, spec catalog.TableSpec, ignoreIfExists bool) (*table.Table, error) {
	if _, err := catalog.NewSchema(spec); err != nil {
		return nil, badRequest("table %s: %v", id, err)
	}
	t, err := a.cat.CreateTable(ctx, id, spec, ignoreIfExists)
	if errors.Is(err, catalog.ErrExists) {
		return nil, conflict(resTable, id.Table, "table %s already exists", id)
	}
	if err != nil {
		return nil, err
	}
	a.log.Info("created table", "table", id.String(), "path", t.Path())
	return t, nil
}

func (a *API) dropTable(w http.ResponseWriter, r *http.Request) {
	id, err := a.tableIdentifier(r, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if strings.Contains(id.Table, "$") {
		writeError(w, r, notFound(resTable, id.Table, "table %s does not exist", id))
		return
	}
	if err := a.dropTableID(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	writeOK(w)
}

// dropTableID drops a table; commits through this server to it wait.
func (a *API) dropTableID(ctx context.Context, id catalog.Identifier) error {
	unlock := a.locks.lock(a.cat.TablePath(id))
	defer unlock()
	if err := a.cat.DropTable(ctx, id, false); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			err = notFound(resTable, id.Table, "table %s does not exist", id)
		}
		return err
	}
	a.log.Info("dropped table", "table", id.String())
	return nil
}

func (a *API) renameTable(w http.ResponseWriter, r *http.Request) {
	var req renameTableRequest
	if err := decodeJSON(r, &req, false); err != nil {
		writeError(w, r, err)
		return
	}
	from, to := req.Source.id(), req.Destination.id()
	for _, id := range []catalog.Identifier{from, to} {
		if err := validateIdentifier(id); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if err := a.renameTableIDs(r.Context(), from, to); err != nil {
		writeError(w, r, err)
		return
	}
	writeOK(w)
}

// renameTableIDs moves a table's files to its new location. Object stores cannot rename:
// the files are copied, then the old table removed; commits through this server wait.
func (a *API) renameTableIDs(ctx context.Context, from, to catalog.Identifier) error {
	if from == to {
		return badRequest("cannot rename table %s to itself", from)
	}
	if strings.Contains(from.Table, "$") || strings.Contains(to.Table, "$") {
		return badRequest("system tables and branches cannot be renamed")
	}
	src, err := a.loadTable(ctx, from)
	if err != nil {
		return err
	}
	if err := a.requireDatabase(ctx, to.Database); err != nil {
		return err
	}
	if _, err := a.cat.LoadTable(ctx, to); err == nil {
		return conflict(resTable, to.Table, "table %s already exists", to)
	} else if !errors.Is(err, catalog.ErrNotFound) {
		return err
	}
	dst := a.cat.TablePath(to)
	if entries, err := a.cat.FileIO().List(ctx, dst); err != nil {
		return err
	} else if len(entries) > 0 {
		return conflict(resTable, to.Table, "the location of table %s, %s, is not empty", to, dst)
	}
	unlockSrc := a.locks.lock(src.Path())
	defer unlockSrc()
	unlockDst := a.locks.lock(dst)
	defer unlockDst()
	fio := a.cat.FileIO()
	if err := copyTree(ctx, fio, src.Path(), dst); err != nil {
		_ = fileio.RemoveAll(context.WithoutCancel(ctx), fio, dst)
		return fmt.Errorf("rename %s to %s: %w", from, to, err)
	}
	if err := fileio.RemoveAll(ctx, fio, src.Path()); err != nil {
		return fmt.Errorf("rename %s to %s: the table was copied but removing the old location failed: %w", from, to, err)
	}
	a.log.Info("renamed table", "from", from.String(), "to", to.String())
	return nil
}

// copyTree copies every file below src to the same relative path below dst.
func copyTree(ctx context.Context, fio fileio.FileIO, src, dst string) error {
	entries, err := fio.List(ctx, src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		target := fileio.Join(dst, e.Name())
		if e.IsDir {
			if err := copyTree(ctx, fio, e.Path, target); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(ctx, fio, e.Path, target); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(ctx context.Context, fio fileio.FileIO, src, dst string) error {
	in, err := fio.Open(ctx, src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fio.Create(ctx, dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Abort()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// commitTable applies a snapshot a client wrote: the data files, manifests and manifest
// lists are in place; the snapshot file is created atomically if its id is still free.
func (a *API) commitTable(w http.ResponseWriter, r *http.Request) {
	a.withTable(func(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
		var req commitTableRequest
		if err := decodeJSON(r, &req, false); err != nil {
			writeError(w, r, err)
			return
		}
		ctx := r.Context()
		if req.TableID != nil && *req.TableID != "" {
			resp, err := a.tableResponse(ctx, id, t)
			if err != nil {
				writeError(w, r, err)
				return
			}
			if resp.ID != *req.TableID {
				writeError(w, r, notFound(resTable, id.Table, "table %s with id %q does not exist (its id is now %q: it was dropped and created again)", id, *req.TableID, resp.ID))
				return
			}
		}
		if len(req.Snapshot) == 0 || string(req.Snapshot) == "null" {
			writeError(w, r, badRequest("missing snapshot"))
			return
		}
		snap, err := parseClientSnapshot(req.Snapshot)
		if err != nil {
			writeError(w, r, badRequest("snapshot: %v", err))
			return
		}
		if err := a.checkClientSnapshot(ctx, t, snap); err != nil {
			writeError(w, r, err)
			return
		}
		cctx, end, err := a.beginCommit(ctx)
		if err != nil {
			writeError(w, r, err)
			return
		}
		defer end()
		ok, err := a.applySnapshot(cctx, t, snap, req.BaseSnapshotUUID)
		name := id.String()
		switch {
		case err != nil:
			metrics.CommitDone(name, "rest-catalog", "error", 0, 0)
			writeError(w, r, err)
			return
		case !ok:
			metrics.CommitDone(name, "rest-catalog", "conflict", 0, 0)
			a.log.Debug("commit lost a race", "table", name, "snapshot", snap.ID)
		default:
			var rows, bytes int64
			if snap.DeltaRecordCount != nil {
				rows = *snap.DeltaRecordCount
			}
			for _, raw := range req.Statistics {
				var st partitionStatistics
				if json.Unmarshal(raw, &st) == nil && st.FileSizeInBytes > 0 {
					bytes += st.FileSizeInBytes
				}
			}
			metrics.CommitDone(name, "rest-catalog", "ok", rows, bytes)
			a.log.Info("committed snapshot", "table", name, "snapshot", snap.ID, "kind", snap.CommitKind, "user", snap.CommitUser)
		}
		writeJSON(w, http.StatusOK, commitTableResponse{Success: ok})
	})(w, r)
}

// checkClientSnapshot refuses a snapshot that would leave the table unreadable.
func (a *API) checkClientSnapshot(ctx context.Context, t *table.Table, s *format.Snapshot) error {
	if s.ID <= 0 {
		return badRequest("snapshot id %d: ids start at 1", s.ID)
	}
	if _, err := t.Schema(ctx, s.SchemaID); err != nil {
		if errors.Is(err, table.ErrNotFound) {
			return badRequest("snapshot %d refers to schema %d, which the table does not have", s.ID, s.SchemaID)
		}
		return err
	}
	lists := []string{s.BaseManifestList, s.DeltaManifestList}
	if s.ChangelogManifestList != nil && *s.ChangelogManifestList != "" {
		lists = append(lists, *s.ChangelogManifestList)
	}
	if s.IndexManifest != nil && *s.IndexManifest != "" {
		lists = append(lists, *s.IndexManifest)
	}
	for _, name := range lists {
		if name == "" || strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") {
			return badRequest("snapshot %d: bad manifest file name %q", s.ID, name)
		}
		ok, err := fileio.Exists(ctx, t.FileIO(), t.Join(format.ManifestPath(name)))
		if err != nil {
			return err
		}
		if !ok {
			return badRequest("snapshot %d refers to manifest file %s, which does not exist in %s", s.ID, name, t.Join(format.ManifestDir))
		}
	}
	return nil
}

// applySnapshot creates snapshot-N if N follows the latest snapshot and no one took it; it
// reports false when the client must rebase and retry.
func (a *API) applySnapshot(ctx context.Context, t *table.Table, s *format.Snapshot, baseUUID *string) (bool, error) {
	latest, err := t.LatestSnapshot(ctx)
	if err != nil {
		return false, err
	}
	next := int64(1)
	if latest != nil {
		next = latest.ID + 1
	}
	if s.ID != next {
		return false, nil
	}
	if baseUUID != nil && (latest == nil || latest.UUID == nil || *latest.UUID != *baseUUID) {
		return false, nil
	}
	err = t.FileIO().CreateIfAbsent(ctx, t.Join(format.SnapshotPath(s.ID)), s.Marshal())
	if errors.Is(err, fileio.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	t.NotifyCommit() // tails and background compaction in this process
	if err := t.FileIO().WriteFile(ctx, t.Join(format.SnapshotDir, format.LatestHint), []byte(strconv.FormatInt(s.ID, 10))); err != nil {
		a.log.Warn("cannot update LATEST hint", "table", t.Path(), "err", err)
	}
	if s.ID == 1 {
		if err := t.FileIO().WriteFile(ctx, t.Join(format.SnapshotDir, format.EarliestHint), []byte("1")); err != nil {
			a.log.Warn("cannot update EARLIEST hint", "table", t.Path(), "err", err)
		}
	}
	return true, nil
}

func (a *API) authTableQuery(w http.ResponseWriter, r *http.Request, _ catalog.Identifier, _ *table.Table) {
	var req struct {
		Select []string `json:"select"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req, false); err != nil {
			writeError(w, r, err)
			return
		}
	}
	// Tarn has no row filters or column masks: every authenticated client reads all.
	writeJSON(w, http.StatusOK, map[string]any{"filter": []string{}, "columnMasking": map[string]string{}})
}

func (a *API) getTableSnapshot(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	ctx := r.Context()
	snap, err := t.LatestSnapshot(ctx)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if snap == nil {
		writeError(w, r, notFound(resSnapshot, id.Table, "table %s has no snapshot yet", id))
		return
	}
	st, err := a.snapshotStats(ctx, t, snap)
	if err != nil {
		writeError(w, r, err)
		return
	}
	js, err := paimonSnapshotJSON(snap)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rc := st.RecordCount
	if snap.TotalRecordCount != nil {
		rc = *snap.TotalRecordCount
	}
	writeJSON(w, http.StatusOK, map[string]any{"snapshot": tableSnapshot{
		Snapshot: js, RecordCount: rc, FileSizeInBytes: st.FileSize, FileCount: st.FileCount, LastFileCreationTime: st.LastFileTime,
	}})
}

func (a *API) getVersionSnapshot(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	ctx := r.Context()
	version, err := url.QueryUnescape(chi.URLParam(r, "version"))
	if err != nil {
		writeError(w, r, badRequest("snapshot version: bad URL escaping: %v", err))
		return
	}
	var snap *format.Snapshot
	switch {
	case version == "LATEST":
		snap, err = t.LatestSnapshot(ctx)
	case version == "EARLIEST":
		var n int64
		var ok bool
		if n, ok, err = t.EarliestSnapshotID(ctx); err == nil && ok {
			snap, err = t.Snapshot(ctx, n)
		}
	default:
		if n, perr := strconv.ParseInt(version, 10, 64); perr == nil {
			snap, err = t.Snapshot(ctx, n)
		} else if verr := catalog.ValidateName(version); verr != nil {
			err = badRequest("snapshot version %q: not a snapshot id, LATEST, EARLIEST or a tag name", version)
		} else {
			snap, err = t.Tag(ctx, version)
		}
	}
	if errors.Is(err, table.ErrNotFound) {
		err = nil
		snap = nil
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if snap == nil {
		writeError(w, r, notFound(resSnapshot, version, "snapshot %s of table %s does not exist", version, id))
		return
	}
	js, err := paimonSnapshotJSON(snap)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"snapshot": js})
}

func (a *API) listSnapshots(w http.ResponseWriter, r *http.Request, _ catalog.Identifier, t *table.Table) {
	page, err := parsePage(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var after int64
	if page.token != "" {
		if after, err = strconv.ParseInt(page.token, 10, 64); err != nil {
			writeError(w, r, badRequest("pageToken %q: not a snapshot id", page.token))
			return
		}
	}
	ctx := r.Context()
	ids, err := t.SnapshotIDs(ctx)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := []json.RawMessage{}
	next := ""
	for _, id := range ids {
		if id <= after {
			continue
		}
		if page.max > 0 && len(out) == page.max {
			next = strconv.FormatInt(id-1, 10)
			break
		}
		s, err := t.Snapshot(ctx, id)
		if errors.Is(err, table.ErrNotFound) {
			continue // expired while listing
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		js, err := paimonSnapshotJSON(s)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out = append(out, js)
	}
	writeJSON(w, http.StatusOK, pagedList("snapshots", out, next))
}

// latestPartitions summarises the partitions of the latest snapshot (none for an empty
// table).
func (a *API) latestPartitions(ctx context.Context, id catalog.Identifier, t *table.Table) ([]partitionStats, error) {
	snap, err := t.LatestSnapshot(ctx)
	if err != nil || snap == nil {
		return nil, err
	}
	st, err := a.snapshotStats(ctx, t, snap)
	if err != nil {
		return nil, err
	}
	metrics.ScanPlanned(id.String(), "rest-catalog")
	return st.Partitions, nil
}

func toPaimonPartition(p partitionStats) paimonPartition {
	return paimonPartition{
		Spec: p.Spec, RecordCount: p.RecordCount, FileSizeInBytes: p.FileSize, FileCount: p.FileCount,
		LastFileCreationTime: p.LastFileTime, TotalBuckets: p.TotalBuckets,
	}
}

func (a *API) listPartitions(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	page, pats, err := parseListing(r, "partitionNamePattern")
	if err != nil {
		writeError(w, r, err)
		return
	}
	pat := pats[0]
	parts, err := a.latestPartitions(r.Context(), id, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	byName := map[string]partitionStats{}
	var names []string
	for _, p := range parts {
		if pat.match(p.Name) {
			byName[p.Name] = p
			names = append(names, p.Name)
		}
	}
	items, next := pageStrings(names, page)
	out := []paimonPartition{}
	for _, n := range items {
		out = append(out, toPaimonPartition(byName[n]))
	}
	writeJSON(w, http.StatusOK, pagedList("partitions", out, next))
}

func (a *API) listPartitionsByNames(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	var req listByNamesRequest
	if err := decodeJSON(r, &req, false); err != nil {
		writeError(w, r, err)
		return
	}
	parts, err := a.latestPartitions(r.Context(), id, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := []paimonPartition{}
	for _, p := range parts {
		for _, want := range req.Specs {
			if specEqual(p.Spec, want) {
				out = append(out, toPaimonPartition(p))
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"partitions": out})
}

func specEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (a *API) listBranches(w http.ResponseWriter, r *http.Request, _ catalog.Identifier, t *table.Table) {
	entries, err := t.FileIO().List(r.Context(), t.Join(format.BranchDir))
	if err != nil {
		writeError(w, r, err)
		return
	}
	names := []string{}
	for _, e := range entries {
		if e.IsDir && strings.HasPrefix(e.Name(), format.BranchPrefix) {
			names = append(names, strings.TrimPrefix(e.Name(), format.BranchPrefix))
		}
	}
	sort.Strings(names)
	writeJSON(w, http.StatusOK, map[string]any{"branches": names})
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request, _ catalog.Identifier, t *table.Table) {
	page, err := parsePage(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	prefix := r.URL.Query().Get("tagNamePrefix")
	names, err := t.TagNames(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	var keep []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			keep = append(keep, n)
		}
	}
	items, next := pageStrings(keep, page)
	writeJSON(w, http.StatusOK, pagedList("tags", nonNil(items), next))
}

func (a *API) getTag(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	name, err := urlName(r, "tag", "tag", true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	snap, err := t.Tag(r.Context(), name)
	if errors.Is(err, table.ErrNotFound) {
		writeError(w, r, notFound(resTag, name, "tag %s of table %s does not exist", name, id))
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	js, err := paimonSnapshotJSON(snap)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, getTagResponse{
		TagName: name, Snapshot: js,
		TagCreateTime: tagCreateMillis(snap.TagCreateTime), TagTimeRetained: tagTimeRetained(snap.TagTimeRetained),
	})
}

func (a *API) listConsumers(w http.ResponseWriter, r *http.Request, _ catalog.Identifier, t *table.Table) {
	page, err := parsePage(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	consumers, err := t.Consumers(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	next := map[string]int64{}
	var ids []string
	for _, c := range consumers {
		next[c.ID] = c.NextSnapshot
		ids = append(ids, c.ID)
	}
	items, token := pageStrings(ids, page)
	out := []consumerInfo{}
	for _, cid := range items {
		out = append(out, consumerInfo{ConsumerID: cid, NextSnapshot: next[cid]})
	}
	writeJSON(w, http.StatusOK, pagedList("consumers", out, token))
}

// resetConsumer moves a consumer to a snapshot, or deletes it without one.
func (a *API) resetConsumer(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	var req resetConsumerRequest
	if err := decodeJSON(r, &req, false); err != nil {
		writeError(w, r, err)
		return
	}
	if err := catalog.ValidateName(req.ConsumerID); err != nil {
		writeError(w, r, badRequest("consumer id: %v", err))
		return
	}
	ctx := r.Context()
	if req.NextSnapshotID == nil {
		// Deleting a consumer that does not exist is not an error, as in Paimon.
		if err := t.DeleteConsumer(ctx, req.ConsumerID); err != nil && !errors.Is(err, table.ErrNotFound) {
			writeError(w, r, err)
			return
		}
		writeOK(w)
		return
	}
	n := *req.NextSnapshotID
	if n < 1 {
		writeError(w, r, badRequest("nextSnapshotId %d: snapshot ids start at 1", n))
		return
	}
	if _, err := t.RegisterConsumer(ctx, req.ConsumerID, n); err != nil {
		if errors.Is(err, table.ErrNotFound) {
			err = notFound(resSnapshot, strconv.FormatInt(n, 10), "consumer %s of table %s cannot move to snapshot %d: %v", req.ConsumerID, id, n, err)
		}
		writeError(w, r, err)
		return
	}
	writeOK(w)
}
