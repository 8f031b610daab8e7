package rest

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// routes lists every method and route pattern of the router.
func routes(t *testing.T, h http.Handler) [][2]string {
	t.Helper()
	var out [][2]string
	err := chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, [2]string{method, route})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var routeParam = regexp.MustCompile(`\{[^}]+\}`)

// concrete fills a route pattern's parameters.
func concrete(route string) string {
	p := routeParam.ReplaceAllStringFunc(route, func(s string) string {
		if s == "{prefix}" {
			return "tarn"
		}
		return "x"
	})
	p = strings.TrimSuffix(strings.ReplaceAll(p, "/*", ""), "/")
	if p == "" {
		p = "/"
	}
	return p
}

func TestEveryRouteRequiresTheToken(t *testing.T) {
	e := newTestEnv(t, "s3cret")
	open := map[string]bool{"/healthz": true, "/readyz": true}
	all := routes(t, e.api.Handler())
	if len(all) < 70 {
		t.Fatalf("only %d routes found", len(all))
	}
	tokens := []struct {
		name, header string
	}{
		{"no token", ""},
		{"wrong token", "Bearer nope"},
		{"token of another scheme", "Basic czNjcmV0"},
		{"token prefix", "Bearer s3cre"},
		{"token with a suffix", "Bearer s3cretx"},
	}
	for _, rt := range all {
		method, path := rt[0], concrete(rt[1])
		if open[path] {
			continue
		}
		for _, tok := range tokens {
			var hdr []string
			if tok.header != "" {
				hdr = []string{"Authorization", tok.header}
			}
			status, body := e.doToken("", method, path, "{}", hdr...)
			if status != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: status %d, want 401: %s", method, path, tok.name, status, body)
				continue
			}
			if r := decode[errorResponse](t, body); r.Code != 401 || r.Message == "" {
				t.Errorf("%s %s: 401 body %s", method, path, body)
			}
		}
	}
	// With the token: not 401.
	for _, path := range []string{"/v1/config", "/v1/tarn/databases", "/api/v1/databases", "/metrics"} {
		if status, body := e.do("GET", path, nil); status != http.StatusOK {
			t.Errorf("GET %s with the token: %d %s", path, status, body)
		}
	}
	// Health and readiness need no token.
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := e.doToken("", "GET", path, nil); status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
}

func TestNamesThatEscapeTheWarehouseAreRefused(t *testing.T) {
	e := newTestEnv(t, "")
	e.must(201, "POST", "/api/v1/databases", `{"name":"db"}`)
	e.must(201, "POST", "/api/v1/databases/db/tables", `{"name":"t","columns":"a INT"}`)
	bad := []string{"..", "..%2F..", "%2E%2E", "a%2Fb", "%2Fetc", "a%5Cb", "a%00b", "a%0Ab", "x..y", "%7F"}
	for _, name := range bad {
		paths := []struct{ method, path string }{
			{"GET", "/v1/tarn/databases/" + name},
			{"GET", "/v1/tarn/databases/" + name + "/tables"},
			{"GET", "/v1/tarn/databases/db/tables/" + name},
			{"DELETE", "/v1/tarn/databases/" + name},
			{"DELETE", "/v1/tarn/databases/db/tables/" + name},
			{"GET", "/v1/tarn/databases/db/tables/" + name + "/snapshot"},
			{"GET", "/v1/tarn/databases/db/tables/t/tags/" + name},
			{"POST", "/v1/tarn/databases/" + name + "/tables"},
			{"GET", "/api/v1/databases/" + name},
			{"GET", "/api/v1/databases/db/tables/" + name},
			{"DELETE", "/api/v1/databases/" + name + "?cascade=true"},
			{"DELETE", "/api/v1/databases/db/tables/" + name},
			{"POST", "/api/v1/databases/db/tables/" + name + "/rows"},
		}
		for _, p := range paths {
			status, body := e.do(p.method, p.path, "{}")
			// A name that decodes to a path of several segments may not match a route at
			// all (404); every other answer must be a 400.
			if status != http.StatusBadRequest && !(status == http.StatusNotFound && strings.Contains(string(body), "no route")) {
				t.Errorf("%s %s: status %d: %s", p.method, p.path, status, body)
			}
		}
	}
	bodies := []struct{ method, path, body string }{
		{"POST", "/v1/tarn/databases", `{"name":"../evil"}`},
		{"POST", "/v1/tarn/databases", `{"name":"a/b"}`},
		{"POST", "/v1/tarn/databases", `{"name":"a\\b"}`},
		{"POST", "/v1/tarn/databases", `{"name":"a\u0001b"}`},
		{"POST", "/v1/tarn/databases", `{"name":""}`},
		{"POST", "/v1/tarn/databases/db/tables", `{"identifier":{"database":"db","object":"../../evil"},"schema":{"fields":[{"id":0,"name":"a","type":"INT"}]}}`},
		{"POST", "/v1/tarn/tables/rename", `{"source":{"database":"db","object":"t"},"destination":{"database":"db","object":"../../evil"}}`},
		{"POST", "/v1/tarn/tables/rename", `{"source":{"database":"db","object":"t"},"destination":{"database":"..","object":"evil"}}`},
		{"POST", "/v1/tarn/databases/db/tables/t/consumers/reset", `{"consumerId":"../../evil","nextSnapshotId":1}`},
		{"POST", "/api/v1/databases", `{"name":"../evil"}`},
		{"POST", "/api/v1/databases/db/tables", `{"name":"..","columns":"a INT"}`},
		{"POST", "/api/v1/databases/db/tables", `{"name":"x/y","columns":"a INT"}`},
	}
	for _, b := range bodies {
		if status, body := e.do(b.method, b.path, b.body); status != http.StatusBadRequest {
			t.Errorf("%s %s %s: status %d: %s", b.method, b.path, b.body, status, body)
		}
	}
	// Nothing was created outside the warehouse, nor anything unexpected inside it.
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "warehouse" {
		t.Errorf("files next to the warehouse: %v", entries)
	}
	var found []string
	_ = filepath.WalkDir(filepath.Join(e.dir, "warehouse"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(p, "evil") {
			found = append(found, p)
		}
		return nil
	})
	if len(found) > 0 {
		t.Errorf("created %v", found)
	}
}

func TestRequestBodiesAreLimited(t *testing.T) {
	e := newTestEnv(t, "", func(o *Options) { o.MaxRequestBytes = 256 })
	big := `{"name":"` + strings.Repeat("a", 300) + `"}`
	for _, p := range []string{"/v1/tarn/databases", "/api/v1/databases"} {
		status, body := e.do("POST", p, big)
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s: status %d: %s", p, status, body)
		}
	}
	// Without a Content-Length the limit holds too.
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/databases", strings.NewReader(big))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body: status %d", resp.StatusCode)
	}
}
