package attrgen

import (
	"fmt"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/series"
)

// podinfoRoutes are the blog's attributegen matches.
var podinfoRoutes = []Route{
	{Value: "GET /healthz", Condition: "request.method == 'GET' && request.url_path == '/healthz'"},
	{Value: "POST /echo", Condition: "request.method == 'POST' && request.url_path == '/echo'"},
}

func TestClassify(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name      string
		routes    []Route
		req       Request
		value     string
		index     int
		evaluated int
		reason    string
		errIndex  int // route with a non-nil Errors entry, -1 for none
		errText   string
	}{
		{name: "first match", routes: podinfoRoutes, req: Request{Method: "GET", Target: "/healthz"},
			value: "GET /healthz", index: 0, evaluated: 1, reason: "match 0 is the first", errIndex: -1},
		{name: "query stripped from url_path", routes: podinfoRoutes, req: Request{Method: "GET", Target: "/healthz?x=1"},
			value: "GET /healthz", index: 0, evaluated: 1, errIndex: -1},
		{name: "second match", routes: podinfoRoutes, req: Request{Method: "POST", Target: "/echo"},
			value: "POST /echo", index: 1, evaluated: 2, errIndex: -1},
		{name: "no match", routes: podinfoRoutes, req: Request{Method: "GET", Target: "/nope"},
			value: series.UnknownRoute, index: -1, evaluated: 2, reason: "none of the 2 conditions is true", errIndex: -1},
		{name: "no routes", req: Request{Method: "GET", Target: "/"},
			value: series.UnknownRoute, index: -1, reason: "no matches are configured", errIndex: -1},
		{name: "path keeps the query", routes: []Route{{Value: "q", Condition: "request.path == '/a?b=1' && request.query == 'b=1'"}},
			req: Request{Method: "GET", Target: "/a?b=1"}, value: "q", index: 0, evaluated: 1, errIndex: -1},
		{name: "empty condition always true", routes: []Route{{Value: "a", Condition: "request.method == 'PUT'"}, {Value: "rest"}},
			req: Request{Method: "GET", Target: "/"}, value: "rest", index: 1, evaluated: 2, reason: "no condition", errIndex: -1},
		{name: "missing header stops evaluation",
			routes: []Route{{Value: "alice", Condition: "request.headers['x-user'] == 'alice'"}, {Value: "all", Condition: "true"}},
			req:    Request{Method: "GET", Target: "/"}, value: series.UnknownRoute, index: -1, evaluated: 1,
			reason: "attributegen stops at the first failing condition", errIndex: 0, errText: "no such key: x-user"},
		{name: "header lookup ignores case",
			routes: []Route{{Value: "alice", Condition: "request.headers['X-User'] == 'alice' && 'x-user' in request.headers"}},
			req:    Request{Method: "GET", Target: "/", Headers: map[string]string{"X-USER": "alice"}}, value: "alice", index: 0, evaluated: 1, errIndex: -1},
		{name: "has on headers",
			routes: []Route{{Value: "dbg", Condition: "has(request.headers.x_debug)"}, {Value: "all", Condition: "true"}},
			req:    Request{Method: "GET", Target: "/"}, value: "all", index: 1, evaluated: 2, errIndex: -1},
		{name: "pseudo headers", routes: []Route{{Value: "p", Condition: "request.headers[':path'] == '/x?y' && request.headers[':method'] == 'GET'"}},
			req: Request{Method: "GET", Target: "/x?y"}, value: "p", index: 0, evaluated: 1, errIndex: -1},
		{name: "host from header", routes: []Route{{Value: "h", Condition: "request.host == 'podinfo:9898' && request.scheme == 'http'"}},
			req: Request{Method: "GET", Target: "/", Headers: map[string]string{"Host": "podinfo:9898"}}, value: "h", index: 0, evaluated: 1, errIndex: -1},
		{name: "missing host stops", routes: []Route{{Value: "h", Condition: "request.host == 'x'"}},
			req: Request{Method: "GET", Target: "/"}, value: series.UnknownRoute, index: -1, evaluated: 1, errIndex: 0, errText: "request.host"},
		{name: "response code", routes: []Route{{Value: "5xx", Condition: "response.code >= 500"}, {Value: "ok", Condition: "response.code < 500"}},
			req: Request{Method: "GET", Target: "/", ResponseCode: 503}, value: "5xx", index: 0, evaluated: 1, errIndex: -1},
		{name: "extra attributes", routes: []Route{{Value: "local", Condition: "source.address.startsWith('10.') && filter_state['wasm.x'] == 'y'"}},
			req:   Request{Method: "GET", Target: "/", Attributes: map[string]any{"source.address": "10.0.0.1", "filter_state": map[string]any{"wasm.x": "y"}}},
			value: "local", index: 0, evaluated: 1, errIndex: -1},
		{name: "regex", routes: []Route{{Value: "book", Condition: "request.url_path.matches('^/books/[[:alnum:]]+$')"}},
			req: Request{Method: "GET", Target: "/books/a1?x"}, value: "book", index: 0, evaluated: 1, errIndex: -1},
		{name: "typo evaluates dynamically and fails", routes: []Route{{Value: "a", Condition: "request.methd == 'GET'"}, {Value: "b"}},
			req: Request{Method: "GET", Target: "/"}, value: series.UnknownRoute, index: -1, evaluated: 1, errIndex: 0, errText: "does not type-check either"},
		{name: "type error that still evaluates", routes: []Route{{Value: "a", Condition: "request.method == 'GET' || request.size == 'x'"}},
			req: Request{Method: "GET", Target: "/"}, value: "a", index: 0, evaluated: 1, errIndex: 0, errText: "no matching overload"},
		{name: "syntax error rejects the configuration", routes: []Route{{Value: "a", Condition: "true"}, {Value: "b", Condition: "request.method =="}},
			req: Request{Method: "GET", Target: "/"}, value: series.UnknownRoute, index: -1, evaluated: 0,
			reason: "attributegen rejects its whole configuration", errIndex: 1, errText: "mismatched input"},
		{name: "oversized regex rejects the configuration",
			routes: []Route{{Value: "big", Condition: "request.url_path.matches('^/" + strings.Repeat("segment/", 13) + "[^/]+$')"}},
			req:    Request{Method: "GET", Target: "/"}, value: series.UnknownRoute, index: -1,
			reason: "attributegen rejects its whole configuration", errIndex: 0, errText: "regex program size"},
		{name: "non-bool condition", routes: []Route{{Value: "a", Condition: "request.url_path"}},
			req: Request{Method: "GET", Target: "/"}, value: series.UnknownRoute, index: -1, evaluated: 1, errIndex: 0, errText: "not bool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Classify(tt.routes, tt.req)
			if got.Value != tt.value || got.Index != tt.index || got.Evaluated != tt.evaluated {
				t.Errorf("Classify = %q index %d evaluated %d (%s); want %q index %d evaluated %d",
					got.Value, got.Index, got.Evaluated, got.Reason, tt.value, tt.index, tt.evaluated)
			}
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("Reason %q does not contain %q", got.Reason, tt.reason)
			}
			if len(got.Errors) != len(tt.routes) {
				t.Fatalf("len(Errors) = %d, want %d", len(got.Errors), len(tt.routes))
			}
			for i, err := range got.Errors {
				switch {
				case i == tt.errIndex && (err == nil || !strings.Contains(err.Error(), tt.errText)):
					t.Errorf("Errors[%d] = %v, want one containing %q", i, err, tt.errText)
				case i != tt.errIndex && err != nil:
					t.Errorf("Errors[%d] = %v, want nil", i, err)
				}
			}
		})
	}
}

func TestEvalString(t *testing.T) {
	e := newTestEnv(t)
	p, err := e.Compile("request.url_path == '/healthz' ? 'GET /healthz' : 'other'")
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{"/healthz?a": "GET /healthz", "/x": "other"} {
		got, err := p.EvalString(Request{Method: "GET", Target: target})
		if err != nil || got != want {
			t.Errorf("EvalString(%s) = %q, %v; want %q", target, got, err, want)
		}
	}
	b, _ := e.Compile("request.method == 'GET'")
	if _, err := b.EvalString(Request{Method: "GET"}); err == nil {
		t.Error("EvalString of a bool expression succeeded")
	}
	if ok, err := b.Match(Request{Method: "GET"}); !ok || err != nil {
		t.Errorf("Match = %v, %v", ok, err)
	}
}

// BenchmarkClassify classifies a request against 10 routes, the last one
// matching, with the conditions compiled once.
func BenchmarkClassify(b *testing.B) {
	e := newTestEnv(b)
	routes := make([]Route, 10)
	for i := range routes {
		routes[i] = Route{
			Value:     fmt.Sprintf("GET /r%d", i),
			Condition: fmt.Sprintf("request.method == 'GET' && request.url_path.matches('^/r%d/[^/]+$')", i),
		}
	}
	req := Request{Method: "GET", Target: "/r9/abc?x=1", Headers: map[string]string{"User-Agent": "bench"}}
	if got := e.Classify(routes, req); got.Index != 9 {
		b.Fatalf("Classify = %+v", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Classify(routes, req)
	}
}
