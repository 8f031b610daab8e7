package rest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/table"
)

// urlName decodes a URL parameter holding a database, table or other name and validates
// it. Paimon's client encodes names with java.net.URLEncoder ('+' for a space), which
// queryForm selects; Tarn's own API uses path escaping.
func urlName(r *http.Request, key, what string, queryForm bool) (string, error) {
	raw := chi.URLParam(r, key)
	var (
		name string
		err  error
	)
	if queryForm {
		name, err = url.QueryUnescape(raw)
	} else {
		name, err = url.PathUnescape(raw)
	}
	if err != nil {
		return "", badRequest("%s name %q: bad URL escaping: %v", what, raw, err)
	}
	if err := catalog.ValidateName(name); err != nil {
		return "", badRequest("%s name: %v", what, err)
	}
	return name, nil
}

// validateIdentifier checks both parts of an identifier given in a request body.
func validateIdentifier(id catalog.Identifier) error {
	if err := catalog.ValidateName(id.Database); err != nil {
		return badRequest("database name: %v", err)
	}
	if err := catalog.ValidateName(id.Table); err != nil {
		return badRequest("table name: %v", err)
	}
	return nil
}

// requireDatabase fails with a 404 when the database does not exist.
func (a *API) requireDatabase(ctx context.Context, db string) error {
	ok, err := a.cat.DatabaseExists(ctx, db)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(resDatabase, db, "database %s does not exist", db)
	}
	return nil
}

// loadTable opens a table, failing with a 404 when it does not exist.
func (a *API) loadTable(ctx context.Context, id catalog.Identifier) (*table.Table, error) {
	if strings.Contains(id.Table, "$") {
		return nil, notFound(resTable, id.Table, "table %s does not exist: system tables and branches (names with '$') are not served by Tarn", id)
	}
	t, err := a.cat.LoadTable(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, notFound(resTable, id.Table, "table %s does not exist", id)
	}
	return t, err
}

// namePattern is a SQL LIKE pattern of which Paimon's REST protocol supports only
// prefixes ("abc%"); a pattern without '%' matches the name exactly.
type namePattern struct {
	prefix string
	exact  bool
	all    bool
}

func parsePattern(p string) (namePattern, error) {
	switch {
	case p == "" || p == "%":
		return namePattern{all: true}, nil
	case !strings.Contains(p, "%"):
		return namePattern{prefix: p, exact: true}, nil
	case strings.Index(p, "%") == len(p)-1:
		return namePattern{prefix: p[:len(p)-1]}, nil
	}
	return namePattern{}, badRequest("name pattern %q: only prefix patterns such as 'abc%%' are supported", p)
}

func (p namePattern) match(s string) bool {
	switch {
	case p.all:
		return true
	case p.exact:
		return s == p.prefix
	}
	return strings.HasPrefix(s, p.prefix)
}

// pageParams are the maxResults and pageToken query parameters.
type pageParams struct {
	max   int
	token string
}

func parsePage(r *http.Request) (pageParams, error) {
	q := r.URL.Query()
	p := pageParams{token: q.Get("pageToken")}
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return p, badRequest("maxResults %q: want a non-negative 32-bit integer", v)
		}
		p.max = int(n)
	}
	return p, nil
}

// parseListing reads the paging parameters of a listing and its name patterns, one per
// query parameter named.
func parseListing(r *http.Request, patternParams ...string) (pageParams, []namePattern, error) {
	page, err := parsePage(r)
	if err != nil {
		return page, nil, err
	}
	pats := make([]namePattern, len(patternParams))
	for i, name := range patternParams {
		if pats[i], err = parsePattern(r.URL.Query().Get(name)); err != nil {
			return page, nil, err
		}
	}
	return page, pats, nil
}

// pageStrings returns the page of sorted keys after the page token and the token of the
// next page ("" when this is the last one).
func pageStrings(keys []string, p pageParams) ([]string, string) {
	sort.Strings(keys)
	start := 0
	if p.token != "" {
		start = sort.SearchStrings(keys, p.token)
		if start < len(keys) && keys[start] == p.token {
			start++
		}
	}
	keys = keys[start:]
	if p.max > 0 && len(keys) > p.max {
		return keys[:p.max], keys[p.max-1]
	}
	return keys, ""
}

// clientPath is a location as a client's file system should see it: local paths become
// file: URIs.
func clientPath(p string) string {
	if strings.HasPrefix(p, "/") {
		return "file:" + p
	}
	return p
}
