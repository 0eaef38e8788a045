package attrgen

import (
	"errors"
	"testing"

	"github.com/google/cel-go/common"
	"github.com/google/cel-go/parser"

	"github.com/routebundle/routebundle/series"
)

// sampleRequests exercise the usual attributes: with and without a query,
// headers, host and response code.
func sampleRequests() []Request {
	return []Request{
		{Method: "GET", Target: "/healthz"},
		{Method: "GET", Target: "/healthz?x=1", Host: "podinfo", Headers: map[string]string{"x-user": "alice"}},
		{Method: "POST", Target: "/echo", ResponseCode: 200},
		{Method: "DELETE", Target: "/users/42?force=true", Headers: map[string]string{"user-agent": "curl", "x-debug": "1"}, ResponseCode: 503},
		{},
	}
}

func addExpressionSeeds(f *testing.F) {
	for _, s := range expressionSeeds() {
		f.Add(s)
	}
}

// expressionSeeds are tag values and conditions of every shape the fuzz
// targets start from.
func expressionSeeds() []string {
	return []string{
		"request.method == 'GET' && request.url_path == '/healthz'",
		"request.url_path == '/healthz' ? 'GET /healthz' : (request.method == 'POST' && request.url_path == '/echo' ? 'POST /echo' : 'other')",
		`request.url_path.matches("^/users/[^/]+$") ? "user" : request.headers["x-user"] == "alice" ? "alice" : "unknown"`,
		"has(request.headers.x_debug) ? 'debug' : 'other'",
		"!(request.method in ['GET', 'HEAD']) ? 'write' : 'read'",
		"(request.size > 10 || response.code >= 500) ? 'big' : ''",
		"request.method == 'GET' ? 'a' : (request.method == 'PUT' ? 'b' : request.url_path)",
		"['a'].exists(x, x == request.method)",
		"request.url_path + '/'",
		"request.methd == 'GET'",
		"a ? 'b' : 'c'",
		"-1 < 2 ? 'x' : 'y'",
		"request.headers['x-user'].startsWith('a') ? 'x' : 'y'",
		"filter_state['wasm.istio_operationId']",
		"'x-beta' in request.headers && request.headers['x-beta'] == 'true'",
		"has(request.referer) ? request.referer : node.metadata['NAMESPACE']",
		"'_' + filter_state['wasm.upstream_peer'].labels['app'].value",
		"string(destination.port)",
		"1 / 0 == 1 ? 'x' : 'y'",
		"request.url_path.size() % 2 == 0 ? 'even' : 'odd'",
		"",
		"?:",
	}
}

// FuzzCompile checks that no expression makes compilation or evaluation
// panic, and that every failure is a positioned *CompileError.
func FuzzCompile(f *testing.F) {
	addExpressionSeeds(f)
	e := newTestEnv(f)
	tags := newTestTagEnv(f)
	reqs := sampleRequests()
	p, err := parser.NewParser(parser.Macros(parser.AllMacros...))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if a, errs := p.Parse(common.NewTextSource(expr)); len(errs.GetErrors()) == 0 {
			for _, fa := range FallibleAccesses(a) {
				if fa.Access == "" || fa.Guard == "" || fa.When == "" {
					t.Fatalf("FallibleAccesses(%q): %+v", expr, fa)
				}
			}
			MovedAttributes(a, TagValue)
		}
		if _, err := tags.Compile(expr); err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Column < 1 || ce.Message == "" {
				t.Fatalf("tag Compile(%q) error %T %v", expr, err, err)
			}
		}
		_, err := e.Compile(expr)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q) error %T %v is not a *CompileError", expr, err, err)
			}
			if ce.Line < 1 || ce.Column < 1 || ce.Message == "" {
				t.Fatalf("Compile(%q) error has no position or message: %+v", expr, ce)
			}
		}
		routes := []Route{{Value: "x", Condition: expr}, {Value: "rest"}}
		for _, req := range reqs {
			res := e.Classify(routes, req)
			if res.Value != series.UnknownRoute && res.Index < 0 || res.Reason == "" {
				t.Fatalf("Classify(%q) = %+v", expr, res)
			}
		}
	})
}

// FuzzExtractRoutes checks that extraction never panics and that, for an
// expression that compiles, the extracted routes classify every sample
// request exactly as evaluating the original expression does.
func FuzzExtractRoutes(f *testing.F) {
	addExpressionSeeds(f)
	e := newTestEnv(f)
	reqs := sampleRequests()
	f.Fuzz(func(t *testing.T, expr string) {
		routes, fallback, ok := ExtractRoutes(expr)
		if !ok {
			if len(routes) != 0 || fallback != "" {
				t.Fatalf("ExtractRoutes(%q) not ok but returned %q, %q", expr, routes, fallback)
			}
			return
		}
		if len(routes) == 0 {
			t.Fatalf("ExtractRoutes(%q) ok with no routes", expr)
		}
		orig, err := e.Compile(expr)
		if err != nil {
			return
		}
		for _, r := range routes {
			if _, err := e.CompileCondition(r.Condition); err != nil {
				t.Fatalf("ExtractRoutes(%q): condition %q does not compile: %v", expr, r.Condition, err)
			}
		}
		all := append(routes, Route{Value: fallback})
		for _, req := range reqs {
			want, err := orig.EvalString(req)
			if err != nil {
				want = series.UnknownRoute
			}
			if got := e.Classify(all, req); got.Value != want {
				t.Fatalf("ExtractRoutes(%q) for %+v: classify gives %q (%s), the expression %q", expr, req, got.Value, got.Reason, want)
			}
		}
	})
}

// FuzzParseAttributeRef checks that recognised references round-trip and
// that a filter_state reference is valid CEL while a bare one is not an
// Envoy attribute.
func FuzzParseAttributeRef(f *testing.F) {
	for _, s := range []string{
		"filter_state['wasm.istio_operationId']", `filter_state["wasm.istio_operationId"]`,
		" filter_state [ 'wasm.a.b-c' ] ", "istio_operationId", "request.method", "route_name",
		"filter_state['wasm.']", "filter_state['x']", `filter_state['wasm.x"]`, "true", "",
	} {
		f.Add(s)
	}
	e := newTestEnv(f)
	f.Fuzz(func(t *testing.T, value string) {
		attr, form, ok := ParseAttributeRef(value)
		if !ok {
			if attr != "" || form != RefNone {
				t.Fatalf("ParseAttributeRef(%q) not ok but returned %q, %v", value, attr, form)
			}
			return
		}
		if attr == "" {
			t.Fatalf("ParseAttributeRef(%q) ok with an empty attribute", value)
		}
		var canonical string
		switch form {
		case FilterStateSingle:
			canonical = "filter_state['wasm." + attr + "']"
		case FilterStateDouble:
			canonical = `filter_state["wasm.` + attr + `"]`
		case Bare:
			canonical = attr
		default:
			t.Fatalf("ParseAttributeRef(%q) ok with form %v", value, form)
		}
		if a, fm, ok := ParseAttributeRef(canonical); a != attr || fm != form || !ok {
			t.Fatalf("canonical %q parses to %q, %v, %v", canonical, a, fm, ok)
		}
		_, err := e.Compile(canonical)
		if form == Bare && err == nil {
			t.Fatalf("bare reference %q is a declared attribute", canonical)
		}
		if form != Bare && err != nil {
			t.Fatalf("reference %q does not compile: %v", canonical, err)
		}
	})
}
