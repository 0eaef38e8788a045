package scaffold

import (
	"fmt"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/series"
)

func newAttrgenEnv(t testing.TB) *attrgen.Env {
	t.Helper()
	env, err := attrgen.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// checkConditions fails unless every condition of out is anchored and
// compiles in Envoy's CEL dialect, and a CEL-only tag value compiles to a
// string.
func checkConditions(t testing.TB, env *attrgen.Env, out *Output) {
	t.Helper()
	for i, m := range out.Matches {
		if _, err := env.CompileCondition(m.Condition); err != nil {
			t.Errorf("match %d (%s): condition %s does not compile: %v", i, m.Value, m.Condition, err)
		}
		if !anchored(m.Condition) {
			t.Errorf("match %d (%s): regex is not anchored: %s", i, m.Value, m.Condition)
		}
	}
	if out.WasmPlugin != nil {
		return
	}
	p, err := env.Compile(out.chain)
	if err != nil {
		t.Fatalf("CEL tag value does not compile: %v\n%s", err, out.chain)
	}
	if got := p.OutputType(); got != "string" {
		t.Errorf("CEL tag value has type %s, want string", got)
	}
}

// anchored reports whether a condition compares the whole path: exactly, or
// with a regex anchored at both ends.
func anchored(cond string) bool {
	switch {
	case strings.Contains(cond, "request.url_path == '"):
		return strings.HasSuffix(cond, "'")
	case strings.Contains(cond, "request.url_path.matches('^"):
		return strings.HasSuffix(cond, "$')")
	}
	return false
}

// sampleRequests returns, for every route, requests that must be classified
// as its value: the path with each parameter replaced by a sample value,
// with and without a query string.
func sampleRequests(t testing.TB, r Route) []attrgen.Request {
	t.Helper()
	tmpl, err := parseTemplate(r.Template)
	if err != nil {
		t.Fatal(err)
	}
	path := tmpl.sample("123")
	return []attrgen.Request{
		{Method: r.Method, Target: path},
		{Method: r.Method, Target: path + "?limit=10&q=a/b"},
		{Method: r.Method, Target: path + "?"},
	}
}

// classifier classifies a request as the generated objects would.
type classifier func(attrgen.Request) (string, error)

// classifiers returns how out classifies: attributegen over the WasmPlugin
// matches and, for a CEL-only Telemetry, the tag expression itself.
func classifiers(t testing.TB, env *attrgen.Env, out *Output) map[string]classifier {
	t.Helper()
	if out.WasmPlugin != nil {
		var routes []attrgen.Route
		for _, m := range out.WasmPlugin.Spec.PluginConfig.Attributes[0].Match {
			routes = append(routes, attrgen.Route{Value: m.Value, Condition: m.Condition})
		}
		return map[string]classifier{"attributegen": func(req attrgen.Request) (string, error) {
			res := env.Classify(routes, req)
			for _, err := range res.Errors {
				if err != nil {
					return "", err
				}
			}
			return res.Value, nil
		}}
	}
	p, err := env.Compile(out.chain)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]classifier{"CEL tag value": p.EvalString}
}

// TestClassifySamples evaluates the generated classification, as Envoy's
// CEL would, over sample requests for every route of every golden input:
// each must get its own route's value, and unrelated requests "unknown".
func TestClassifySamples(t *testing.T) {
	env := newAttrgenEnv(t)
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			routes := parseFile(t, tc.input, tc.parse)
			out, err := Generate(routes, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			checkConditions(t, env, out)
			for name, classify := range classifiers(t, env, out) {
				for _, r := range routes {
					for _, req := range sampleRequests(t, r) {
						expectValue(t, name, classify, req, r.Value)
					}
				}
				for _, req := range unmatchedRequests(routes) {
					expectValue(t, name, classify, req, series.UnknownRoute)
				}
			}
		})
	}
}

// unmatchedRequests are requests no route of a real-shaped spec matches: a
// method none uses, a path below every template and an unknown prefix.
func unmatchedRequests(routes []Route) []attrgen.Request {
	reqs := []attrgen.Request{{Method: "GET", Target: "/no/such/route/at/all/123"}}
	for _, r := range routes {
		tmpl, _ := parseTemplate(r.Template)
		reqs = append(reqs,
			attrgen.Request{Method: "CONNECT", Target: tmpl.sample("123")},
			attrgen.Request{Method: r.Method, Target: tmpl.sample("123") + "/extra/segment/x/y/z"},
		)
	}
	return reqs
}

func expectValue(t *testing.T, name string, classify classifier, req attrgen.Request, want string) {
	t.Helper()
	got, err := classify(req)
	if err != nil {
		t.Errorf("%s: %s %s: %v", name, req.Method, req.Target, err)
		return
	}
	if got != want {
		t.Errorf("%s: %s %s = %q, want %q", name, req.Method, req.Target, got, want)
	}
}

// TestClassifyOverlapping pins the first-match order on the overlaps users
// get wrong by hand, whatever order the input lists them in.
func TestClassifyOverlapping(t *testing.T) {
	env := newAttrgenEnv(t)
	routes, err := ParseRouteList("routes.txt", []byte(strings.Join([]string{
		"GET /users/{id}/posts/{postId}",
		"GET /users/{id}",
		"GET /users/{id}/posts/latest",
		"GET /users/me",
		"GET /users/me/posts/{postId}",
		"GET /files/{name}",
		"GET /files/{name}.json",
	}, "\n")), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"/users/me":              "GET /users/me",
		"/users/42":              "GET /users/{id}",
		"/users/me/posts/7":      "GET /users/me/posts/{postId}",
		"/users/42/posts/latest": "GET /users/{id}/posts/latest",
		"/users/42/posts/7":      "GET /users/{id}/posts/{postId}",
		"/users/me/posts/latest": "GET /users/me/posts/{postId}",
		"/files/a.json":          "GET /files/{name}.json",
		"/files/a.jsonx":         "GET /files/{name}",
		"/users/42/posts":        series.UnknownRoute,
		"/users":                 series.UnknownRoute,
	}
	for _, noWasm := range []bool{false, true} {
		out, err := Generate(routes, Options{Waypoint: "w", NoWasm: noWasm})
		if err != nil {
			t.Fatal(err)
		}
		for name, classify := range classifiers(t, env, out) {
			for path, want := range tests {
				expectValue(t, fmt.Sprintf("%s (no-wasm %v)", name, noWasm), classify, attrgen.Request{Method: "GET", Target: path + "?x=1"}, want)
			}
		}
	}
}

func TestCELChainAtLimitCompiles(t *testing.T) {
	routes := make([]Route, MaxCELRoutes)
	for i := range routes {
		routes[i] = Route{Method: "GET", Template: fmt.Sprintf("/r%d/{id}/x.{ext}", i), Value: fmt.Sprintf("route '%d'", i)}
	}
	out, err := Generate(routes, Options{Waypoint: "w", NoWasm: true})
	if err != nil {
		t.Fatal(err)
	}
	env := newAttrgenEnv(t)
	checkConditions(t, env, out)
	p, err := env.Compile(out.chain)
	if err != nil {
		t.Fatal(err)
	}
	last := routes[len(routes)-1]
	got, err := p.EvalString(attrgen.Request{Method: "GET", Target: "/r99/1/x.json"})
	if err != nil || got != last.Value {
		t.Errorf("last route: got %q (%v), want %q", got, err, last.Value)
	}
}
