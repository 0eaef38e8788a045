package scaffold

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestParseOpenAPIRoutes(t *testing.T) {
	checkRoutes(t, parseFile(t, "users.yaml", ParseOptions{}), []string{
		"GET /users/{id} = getUser @10",
		"PUT /users/{id} = updateUser @12",
		"GET /users/{id}/posts/{postId} = getPost @15",
		"DELETE /users/{id}/posts/{postId} = DELETE /users/{id}/posts/{postId} @16",
		"GET /users/me = getMe @19",
		"GET /users/{id}/posts/latest = getLatestPost @22",
		"GET /users = listUsers @25",
		"POST /users = create user (v2) @27",
		"GET /files/{name} = getFile @30",
		"GET /files/{name}.json = getFileJSON @33",
		"GET /healthz = health @47",
		"HEAD /healthz = healthHead @49",
		"GET /search+query/{q} = search @38",
	})
}

func TestParseOpenAPIBasePath(t *testing.T) {
	routes := parseFile(t, "petstore.yaml", ParseOptions{BasePath: "/v1/"})
	if routes[0].Template != "/v1/pets" {
		t.Errorf("first template = %q, want /v1/pets", routes[0].Template)
	}
	last := routes[len(routes)-1]
	if last.Value != "GET /v1/store/order/{orderId}" {
		t.Errorf("default value = %q, want the full path", last.Value)
	}
}

// TestParseOpenAPIErrors checks that each bad document is rejected with a
// message naming the file, the line and the field at fault.
func TestParseOpenAPIErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		opts ParseOptions
		want []string
	}{
		{"invalid yaml", "openapi: 3.0.0\npaths: [", ParseOptions{}, []string{"spec.yaml: not valid YAML or JSON"}},
		{"invalid json", `{"openapi": "3.0.0", "paths": {`, ParseOptions{}, []string{"spec.yaml: not valid YAML or JSON"}},
		{"empty", "", ParseOptions{}, []string{"spec.yaml: empty document"}},
		{"not a mapping", "- a\n- b\n", ParseOptions{}, []string{"spec.yaml:1: not an OpenAPI document: top level is a sequence"}},
		{"swagger 2", "swagger: \"2.0\"\npaths: {}\n", ParseOptions{}, []string{`spec.yaml:1: swagger: Swagger 2.0 is not supported: convert the document to OpenAPI 3`}},
		{"no version", "paths: {}\n", ParseOptions{}, []string{"spec.yaml: not an OpenAPI document: no openapi version field"}},
		{"version 3.2", "openapi: 3.2.0\npaths: {}\n", ParseOptions{}, []string{`spec.yaml:1: openapi: unsupported OpenAPI version "3.2.0" (supported: 3.0.x, 3.1.x)`}},
		{"version 2", "openapi: '2.0'\n", ParseOptions{}, []string{`unsupported OpenAPI version "2.0"`}},
		{"version mapping", "openapi: {a: 1}\n", ParseOptions{}, []string{"unsupported OpenAPI version a mapping"}},
		{"no paths", "openapi: 3.1.0\ninfo: {title: x}\n", ParseOptions{}, []string{"spec.yaml: no paths"}},
		{"paths not a mapping", "openapi: 3.0.0\npaths: oops\n", ParseOptions{}, []string{"spec.yaml:2: paths: want a mapping of path to path item, got a scalar"}},
		{"empty paths", "openapi: 3.0.0\npaths: {}\n", ParseOptions{}, []string{"spec.yaml: no routes found"}},
		{"path item not a mapping", "openapi: 3.0.0\npaths:\n  /a: [1]\n", ParseOptions{}, []string{`spec.yaml:3: paths["/a"]: want a path item mapping, got a sequence`}},
		{"operation not a mapping", "openapi: 3.0.0\npaths:\n  /a:\n    get: 42\n", ParseOptions{}, []string{`spec.yaml:4: paths["/a"].get: want an operation mapping, got a scalar`}},
		{"upper-case method", "openapi: 3.0.0\npaths:\n  /a:\n    GET: {}\n", ParseOptions{}, []string{`spec.yaml:4: paths["/a"].GET: operation keys are lower case: use "get"`}},
		{"relative path", "openapi: 3.0.0\npaths:\n  a/b:\n    get: {}\n", ParseOptions{}, []string{`spec.yaml:4: paths["a/b"].get: path "a/b": must start with /`}},
		{"unbalanced brace", "openapi: 3.0.0\npaths:\n  /a/{id:\n    get: {}\n", ParseOptions{}, []string{`path "/a/{id": segment 2 "{id": unbalanced {`}},
		{"empty param", "openapi: 3.0.0\npaths:\n  /a/{}:\n    get: {}\n", ParseOptions{}, []string{`bad parameter name ""`}},
		{"query in path", "openapi: 3.0.0\npaths:\n  /a?x=1:\n    get: {}\n", ParseOptions{}, []string{`contains "?": a route path has no query or fragment`}},
		{"empty segment", "openapi: 3.0.0\npaths:\n  /a//b:\n    get: {}\n", ParseOptions{}, []string{`contains an empty segment`}},
		{"operationId not a string", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: [x]\n", ParseOptions{}, []string{`spec.yaml:5: paths["/a"].get.operationId: want a string, got a sequence`}},
		{"duplicate operationId", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: op\n  /b:\n    post:\n      operationId: op\n", ParseOptions{},
			[]string{`spec.yaml:8: paths["/b"].post.operationId: duplicate operationId "op" (first at spec.yaml:5: paths["/a"].get.operationId)`}},
		{"operationId equals a default value", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: GET /b\n  /b:\n    get: {}\n", ParseOptions{},
			[]string{`spec.yaml:7: paths["/b"].get: duplicate route value "GET /b" (first at spec.yaml:5`}},
		{"same shape", "openapi: 3.0.0\npaths:\n  /u/{id}:\n    get: {}\n  /u/{name}:\n    get: {}\n", ParseOptions{},
			[]string{`spec.yaml:6: paths["/u/{name}"].get: GET /u/{name} duplicates the route at spec.yaml:4: paths["/u/{id}"].get and would never match`}},
		{"control character in operationId", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: \"a\\u0007b\"\n", ParseOptions{}, []string{`contains a control character`}},
		{"unsupported ref", "openapi: 3.1.0\npaths:\n  /a:\n    $ref: 'other.yaml#/a'\n", ParseOptions{}, []string{`spec.yaml:4: paths["/a"].$ref: unsupported reference "other.yaml#/a"`}},
		{"dangling ref", "openapi: 3.1.0\npaths:\n  /a:\n    $ref: '#/components/pathItems/X'\n", ParseOptions{}, []string{`reference "#/components/pathItems/X" does not resolve`}},
		{"too many routes", "openapi: 3.0.0\npaths:\n  /a: {get: {}, put: {}}\n  /b: {get: {}}\n", ParseOptions{MaxRoutes: 2},
			[]string{"spec.yaml: 3 routes exceed the maximum of 2"}},
		{"bad base path", "openapi: 3.0.0\npaths:\n  /a: {get: {}}\n", ParseOptions{BasePath: "v1"}, []string{`spec.yaml: base path "v1": must start with /`}},
		{"several errors", "openapi: 3.0.0\npaths:\n  a: {get: {}}\n  b: {get: {}}\n", ParseOptions{},
			[]string{`spec.yaml:3: paths["a"].get: path "a"`, `spec.yaml:4: paths["b"].get: path "b"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			routes, err := ParseOpenAPI("spec.yaml", []byte(tc.doc), tc.opts)
			expectErrors(t, routes, err, tc.want)
		})
	}
}

func TestParseOpenAPIManyErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\npaths:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "  p%d: {get: {}}\n", i)
	}
	_, err := ParseOpenAPI("spec.yaml", []byte(b.String()), ParseOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[maxErrors] != "spec.yaml: too many errors" {
		t.Errorf("got %d lines ending %q, want %d errors and a last line saying there were too many", len(lines), lines[len(lines)-1], maxErrors)
	}
}

func TestParseRouteList(t *testing.T) {
	checkRoutes(t, parseFile(t, "routes.txt", ParseOptions{}), []string{
		"GET /healthz = GET /healthz @2",
		"POST /echo = POST /echo @3",
		"GET /api/info = GET /api/info @5",
		"GET /api/items/{id} = GET /api/items/{id} @6",
		"DELETE /api/items/{id} = delete item @7",
		"GET /api/items/featured = featured items @8",
		"PUT /store/{key}/{value} = PUT /store/{key}/{value} @9",
	})
}

func TestParseRouteListErrors(t *testing.T) {
	tests := []struct {
		name string
		list string
		opts ParseOptions
		want []string
	}{
		{"empty", "", ParseOptions{}, []string{"routes.txt: no routes found"}},
		{"only comments", "# nothing\n\n   # here\n", ParseOptions{}, []string{"routes.txt: no routes found"}},
		{"missing path", "GET /a\nPOST\n", ParseOptions{}, []string{"routes.txt:2: want `METHOD /path [VALUE]`, got \"POST\""}},
		{"unknown method", "FETCH /a\n", ParseOptions{}, []string{`routes.txt:1: unknown HTTP method "FETCH"`}},
		{"path first", "/a GET\n", ParseOptions{}, []string{`routes.txt:1: unknown HTTP method "/a"`}},
		{"relative path", "GET a\n", ParseOptions{}, []string{`routes.txt:1: path "a": must start with /`}},
		{"duplicate", "GET /a/{x}\n\nget /a/{y}\n", ParseOptions{}, []string{`routes.txt:3: GET /a/{y} duplicates the route at routes.txt:1 and would never match`}},
		{"duplicate value", "GET /a v\nGET /b v\n", ParseOptions{}, []string{`routes.txt:2: duplicate route value "v" (first at routes.txt:1)`}},
		{"too many", "GET /a\nGET /b\nGET /c\n", ParseOptions{MaxRoutes: 2}, []string{"routes.txt: 3 routes exceed the maximum of 2"}},
		{"long line", "GET /" + strings.Repeat("a", maxLineBytes) + "\n", ParseOptions{}, []string{"routes.txt:1: reading: bufio.Scanner: token too long"}},
		// Every literal character is a regex instruction; Envoy allows 100.
		{"regex too large", "GET /items/{id}/" + strings.Repeat("x", 90) + "\nGET /" + strings.Repeat("y", 200) + "\n", ParseOptions{},
			[]string{`routes.txt:1: path "/items/{id}/` + strings.Repeat("x", 90) + `" is too long to match with one regex in Envoy's CEL: regex program size 104 exceeds Envoy's limit of 100`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			routes, err := ParseRouteList("routes.txt", []byte(tc.list), tc.opts)
			expectErrors(t, routes, err, tc.want)
		})
	}
}

func TestDefaultMaxRoutes(t *testing.T) {
	var b strings.Builder
	for i := 0; i <= DefaultMaxRoutes; i++ {
		fmt.Fprintf(&b, "GET /r%d\n", i)
	}
	_, err := ParseRouteList("routes.txt", []byte(b.String()), ParseOptions{})
	want := fmt.Sprintf("%d routes exceed the maximum of %d", DefaultMaxRoutes+1, DefaultMaxRoutes)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestServerBasePath(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"servers: [{url: 'http://petstore.example/v1'}]", "/v1"},
		{"servers: [{url: 'https://a.example/api/v2/'}, {url: '/api/v2'}]", "/api/v2"},
		{"servers: [{url: 'https://a.example/v1'}, {url: 'https://b.example/v2'}]", ""},
		{"servers: [{url: 'https://a.example'}]", ""},
		{"servers: [{url: 'https://{host}/{basePath}'}]", ""},
		{"servers: [{description: no url}]", ""},
		{"servers: oops", ""},
		{"openapi: 3.0.0", ""},
		{"[", ""},
	}
	for _, tc := range tests {
		if got := ServerBasePath([]byte(tc.doc)); got != tc.want {
			t.Errorf("ServerBasePath(%q) = %q, want %q", tc.doc, got, tc.want)
		}
	}
	data, err := os.ReadFile("testdata/petstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := ServerBasePath(data); got != "/v1" {
		t.Errorf("petstore: %q, want /v1", got)
	}
}

// expectErrors fails unless err is set and mentions each of want.
func expectErrors(t *testing.T, routes []Route, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; routes %v", routes)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
}

// checkRoutes compares routes, one "METHOD template = value @line" each, with want.
func checkRoutes(t *testing.T, routes []Route, want []string) {
	t.Helper()
	got := make([]string, len(routes))
	for i, r := range routes {
		got[i] = fmt.Sprintf("%s %s = %s @%d", r.Method, r.Template, r.Value, r.Pos.Line)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
