package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// The OpenAPI document of Paimon's REST catalog protocol, shared by the project (see
// ../shared/spec); TARN_PAIMON_OPENAPI overrides its location.
const defaultSpecPath = "../../../shared/spec/paimon-rest-catalog-open-api.yaml"

// openAPI validates responses against the operations of an OpenAPI 3.1 document: the
// response declared for the path, method and status code, its JSON body checked with
// the JSON Schema (2020-12) of the declared content.
type openAPI struct {
	compiler *jsonschema.Compiler
	doc      map[string]any
	ops      []specOp

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

type specOp struct {
	template string
	re       *regexp.Regexp
	literals int
	method   string
	op       map[string]any
}

const specURL = "file:///paimon-rest-catalog-open-api.json"

var (
	specOnce sync.Once
	specDoc  *openAPI
	specErr  error
)

// loadOpenAPI loads the protocol's document once per test binary.
func loadOpenAPI(t testing.TB) *openAPI {
	t.Helper()
	specOnce.Do(func() { specDoc, specErr = parseOpenAPI() })
	if specErr != nil {
		t.Fatalf("OpenAPI document: %v", specErr)
	}
	return specDoc
}

func parseOpenAPI() (*openAPI, error) {
	path := os.Getenv("TARN_PAIMON_OPENAPI")
	if path == "" {
		path = defaultSpecPath
	}
	data, err := os.ReadFile(path)
	if err != nil {
		abs, _ := filepath.Abs(path)
		return nil, fmt.Errorf("%w (expected at %s; set TARN_PAIMON_OPENAPI)", err, abs)
	}
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	// YAML keys may be numbers (status codes); JSON Schema wants a JSON document.
	js, err := json.Marshal(jsonify(raw))
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, err
	}
	o := &openAPI{compiler: c, doc: doc.(map[string]any), schemas: map[string]*jsonschema.Schema{}}
	paths, _ := o.doc["paths"].(map[string]any)
	for tmpl, item := range paths {
		segs := strings.Split(tmpl, "/")
		var re strings.Builder
		literals := 0
		re.WriteString("^")
		for i, s := range segs {
			if i > 0 {
				re.WriteString("/")
			}
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				re.WriteString("[^/]+")
			} else {
				re.WriteString(regexp.QuoteMeta(s))
				literals++
			}
		}
		re.WriteString("$")
		for method, op := range item.(map[string]any) {
			if m, ok := op.(map[string]any); ok {
				o.ops = append(o.ops, specOp{template: tmpl, re: regexp.MustCompile(re.String()), literals: literals, method: strings.ToUpper(method), op: m})
			}
		}
	}
	// Prefer the template with the most literal segments ("/tables/rename" over
	// "/tables/{table}").
	sort.Slice(o.ops, func(i, j int) bool { return o.ops[i].literals > o.ops[j].literals })
	return o, nil
}

func jsonify(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonify(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonify(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonify(e)
		}
	}
	return v
}

// find returns the operation of a request path (escaped) and method.
func (o *openAPI) find(method, path string) (*specOp, bool) {
	for i := range o.ops {
		op := &o.ops[i]
		if op.method == method && op.re.MatchString(path) {
			return op, true
		}
	}
	return nil, false
}

// resolve follows a local $ref of the document.
func (o *openAPI) resolve(v map[string]any) (map[string]any, string) {
	ref, ok := v["$ref"].(string)
	if !ok {
		return v, ""
	}
	node := any(o.doc)
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		node = node.(map[string]any)[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]
	}
	return node.(map[string]any), ref
}

func (o *openAPI) schema(ptr string) (*jsonschema.Schema, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s := o.schemas[ptr]; s != nil {
		return s, nil
	}
	s, err := o.compiler.Compile(specURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	o.schemas[ptr] = s
	return s, nil
}

// validate checks one response: the status must be declared for the operation (any 4xx
// or 5xx is accepted as an ErrorResponse), and the body must match its schema.
func (o *openAPI) validate(method, path string, status int, body []byte) error {
	op, ok := o.find(method, path)
	if !ok {
		return fmt.Errorf("%s %s: no such operation in the OpenAPI document", method, path)
	}
	responses, _ := op.op["responses"].(map[string]any)
	resp, declared := responses[strconv.Itoa(status)].(map[string]any)
	var ptr string
	switch {
	case declared:
		r, ref := o.resolve(resp)
		content, _ := r["content"].(map[string]any)
		if content == nil {
			if len(bytes.TrimSpace(body)) != 0 {
				return fmt.Errorf("%s %s (%s): status %d has no content in the document, got %q", method, path, op.template, status, body)
			}
			return nil
		}
		appJSON, _ := content["application/json"].(map[string]any)
		sch, _ := appJSON["schema"].(map[string]any)
		if sref, ok := sch["$ref"].(string); ok {
			ptr = strings.TrimPrefix(sref, "#")
		} else if ref != "" {
			ptr = strings.TrimPrefix(ref, "#") + "/content/application~1json/schema"
		} else {
			ptr = fmt.Sprintf("/paths/%s/%s/responses/%d/content/application~1json/schema",
				strings.ReplaceAll(strings.ReplaceAll(op.template, "~", "~0"), "/", "~1"), strings.ToLower(method), status)
		}
	case status >= 400:
		ptr = "/components/schemas/ErrorResponse"
	default:
		return fmt.Errorf("%s %s (%s): status %d is not a response of the operation", method, path, op.template, status)
	}
	s, err := o.schema(ptr)
	if err != nil {
		return fmt.Errorf("schema %s: %w", ptr, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: status %d: body is not JSON: %v: %q", method, path, status, err, body)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("%s %s (%s): status %d: body does not match %s: %v\nbody: %s", method, path, op.template, status, ptr, err, body)
	}
	if status >= 400 {
		var e errorResponse
		if err := json.Unmarshal(body, &e); err != nil || e.Code != status || e.Message == "" {
			return fmt.Errorf("%s %s: status %d: an ErrorResponse needs a message and code %d: %s", method, path, status, status, body)
		}
	}
	return nil
}

// validatingTransport checks every response to a /v1/ request against the document.
type validatingTransport struct {
	t    testing.TB
	spec *openAPI
	base http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool // operations checked, "METHOD template status"
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/v1/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode != http.StatusUnauthorized || len(body) > 0 {
		if ct := resp.Header.Get("Content-Type"); len(body) > 0 && !strings.HasPrefix(ct, "application/json") {
			v.t.Errorf("%s %s: Content-Type %q, want application/json", req.Method, req.URL.Path, ct)
		}
	}
	if verr := v.spec.validate(req.Method, req.URL.EscapedPath(), resp.StatusCode, body); verr != nil {
		v.t.Errorf("OpenAPI: %v", verr)
	} else if op, ok := v.spec.find(req.Method, req.URL.EscapedPath()); ok {
		v.mu.Lock()
		if v.seen == nil {
			v.seen = map[string]bool{}
		}
		v.seen[fmt.Sprintf("%s %s %d", req.Method, op.template, resp.StatusCode)] = true
		v.mu.Unlock()
	}
	return resp, nil
}

func TestOpenAPIValidatorCatchesViolations(t *testing.T) {
	spec := loadOpenAPI(t)
	tests := []struct {
		name, method, path string
		status             int
		body               string
		ok                 bool
	}{
		{"config", "GET", "/v1/config", 200, `{"defaults":{},"overrides":{"prefix":"p"}}`, true},
		{"config with a number", "GET", "/v1/config", 200, `{"defaults":{"a":1}}`, false},
		{"databases", "GET", "/v1/p/databases", 200, `{"databases":["a"]}`, true},
		{"databases not strings", "GET", "/v1/p/databases", 200, `{"databases":[1]}`, false},
		{"error", "GET", "/v1/p/databases/x", 404, `{"message":"m","resourceType":"DATABASE","resourceName":"x","code":404}`, true},
		{"error with a bad resource type", "GET", "/v1/p/databases/x", 404, `{"message":"m","resourceType":"SHELF","code":404}`, false},
		{"error code differs", "GET", "/v1/p/databases/x", 404, `{"message":"m","code":500}`, false},
		{"no content", "POST", "/v1/p/databases", 200, ``, true},
		{"content where none is declared", "POST", "/v1/p/databases", 200, `{}`, false},
		{"undeclared success", "GET", "/v1/p/databases", 201, `{}`, false},
		{"table", "GET", "/v1/p/databases/d/tables/t", 200, `{"id":"x","name":"t","path":"/p","isExternal":false,"schemaId":0,"schema":{"fields":[{"id":0,"name":"a","type":"INT"},{"id":1,"name":"r","type":{"type":"ROW","fields":[]}}],"options":{}}}`, true},
		{"table with a bad type", "GET", "/v1/p/databases/d/tables/t", 200, `{"schema":{"fields":[{"id":0,"name":"a","type":{"type":"LIST"}}]}}`, false},
		{"snapshot identifier as number", "GET", "/v1/p/databases/d/tables/t/snapshots/1", 200, `{"snapshot":{"id":1,"commitIdentifier":5}}`, false},
		{"rename", "POST", "/v1/p/tables/rename", 200, ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := spec.validate(tt.method, tt.path, tt.status, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
