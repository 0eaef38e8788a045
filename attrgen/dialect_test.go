package attrgen

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/cel-go/common"
	"github.com/google/cel-go/parser"
)

func newTestTagEnv(t testing.TB) *Env {
	t.Helper()
	e, err := NewTagEnv()
	if err != nil {
		t.Fatalf("NewTagEnv: %v", err)
	}
	return e
}

// TestDialects compiles expressions in both dialects. attributegen's
// conditions go through Envoy's expression builder (string conversion,
// concatenation and comprehensions off: envoy's
// extensions/filters/common/expr/evaluator.cc createBuilder), tag values
// through the stats filter's, built with cel-cpp's default options (istio/proxy
// source/extensions/filters/http/istio_stats/istio_stats.cc,
// getOrCreateExpression). The tag values are those of istio.io's
// customize-metrics task and of istio/proxy's
// testdata/stats/client_config_customized.yaml.tmpl.
func TestDialects(t *testing.T) {
	tests := []struct {
		expr         string
		attributegen string // substring of the error, "" = compiles
		tag          string
	}{
		{expr: "string(destination.port)", attributegen: "disables string conversion in attributegen conditions"},
		{expr: "'_' + xds.node.metadata['WORKLOAD_NAME']", attributegen: "disables string and list concatenation"},
		{expr: "'_' + xds.node.metadata['LABELS'].app", attributegen: "concatenation"},
		{expr: "'_' + filter_state.upstream_peer.service", attributegen: "concatenation"},
		{expr: `xds.route_name + "," + xds.cluster_name + "," + xds.cluster_metadata.filter_metadata.istio.services[0].name`, attributegen: "concatenation"},
		{expr: "node.metadata['WORKLOAD_NAME']", tag: "node moved to xds.node in Istio 1.24: use xds.node"},
		{expr: "plugin_name == 'x'", tag: "plugin_name moved to xds.plugin_name"},
		{expr: "upstream_peer.labels['app'].value", attributegen: "upstream_peer moved to filter_state.upstream_peer", tag: "upstream_peer moved to filter_state.upstream_peer"},
		{expr: "[1, 2].exists(x, x > 1) ? 'a' : 'b'", attributegen: "comprehensions"},
		{expr: "has(request.referer) ? request.referer : 'none'"},
		{expr: "has(request.headers.x_user)"},
		{expr: "request.methd == 'GET'", attributegen: "unknown attribute 'request.methd'; did you mean 'request.method'?", tag: "unknown attribute 'request.methd'"},
		{expr: "has(request.refrer)", attributegen: "unknown attribute 'request.refrer'; did you mean 'request.referer'?", tag: "unknown attribute 'request.refrer'"},
	}
	ag, tv := newTestEnv(t), newTestTagEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			for _, c := range []struct {
				env  *Env
				want string
			}{{ag, tt.attributegen}, {tv, tt.tag}} {
				_, err := c.env.Compile(tt.expr)
				switch {
				case c.want == "" && err != nil:
					t.Errorf("%s: %v", c.env.Dialect(), err)
				case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
					t.Errorf("%s: error %v, want one containing %q", c.env.Dialect(), err, c.want)
				}
			}
		})
	}
}

// TestHasOnAttribute evaluates presence tests as Envoy does: a missing
// header makes has() false instead of failing.
func TestHasOnAttribute(t *testing.T) {
	e := newTestEnv(t)
	routes := []Route{{Value: "referred", Condition: "has(request.referer) && request.referer.startsWith('https://a/')"}, {Value: "direct"}}
	if got := e.Classify(routes, Request{Method: "GET", Target: "/"}); got.Value != "direct" {
		t.Errorf("without a referer: %+v", got)
	}
	if got := e.Classify(routes, Request{Method: "GET", Target: "/", Headers: map[string]string{"Referer": "https://a/x"}}); got.Value != "referred" {
		t.Errorf("with a referer: %+v", got)
	}
}

func parseForTest(t *testing.T, expr string) *Fallibles {
	t.Helper()
	p, err := parser.NewParser(parser.Macros(parser.AllMacros...))
	if err != nil {
		t.Fatal(err)
	}
	a, errs := p.Parse(common.NewTextSource(expr))
	if len(errs.GetErrors()) > 0 {
		t.Fatalf("parse %q: %v", expr, errs.ToDisplayString())
	}
	return &Fallibles{found: FallibleAccesses(a), moved: MovedAttributes(a, TagValue)}
}

// Fallibles is what the analyses find in one expression.
type Fallibles struct {
	found []Fallible
	moved []Move
}

// TestFallibleAccesses: a map lookup or an optional attribute fails for
// requests that lack it (istio/proxy attributegen plugin.cc stops at such a
// match); a guard in a conjunction, a negated one in a disjunction or the
// condition of a ?: makes it safe (CEL's && and || absorb an error when
// the other side decides).
func TestFallibleAccesses(t *testing.T) {
	tests := []struct {
		expr string
		want []string // Access
	}{
		{"request.headers['x-beta'] == 'true'", []string{"request.headers['x-beta']"}},
		{"request.headers['X-Beta'] == 'true' && 'x-beta' in request.headers", nil},
		{"'x-beta' in request.headers && request.headers['x-beta'] == 'true'", nil},
		{"!('x-beta' in request.headers) || request.headers['x-beta'] != 'true'", nil},
		{"has(request.headers.x_beta) ? request.headers.x_beta == 'true' : false", nil},
		{"has(request.headers.x_beta) ? false : request.headers.x_beta == 'true'", []string{"request.headers['x_beta']"}},
		{"request.headers.user == 'new' || request.headers['user'] == 'old'", []string{"request.headers['user']"}},
		{"request.referer.startsWith('https://')", []string{"request.referer"}},
		{"has(request.referer) && request.referer.startsWith('https://')", nil},
		{"response.grpc_status == 0", []string{"response.grpc_status"}},
		{"filter_state['wasm.istio_operationId'] == 'x'", []string{"filter_state['wasm.istio_operationId']"}},
		{"request.method == 'GET' && request.url_path == '/'", nil},
		{"request.headers[request.method] == 'x'", nil},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			var got []string
			for _, f := range parseForTest(t, tt.expr).found {
				got = append(got, f.Access)
				if f.Guard == "" || f.When == "" {
					t.Errorf("%q: no guard or when: %+v", tt.expr, f)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMovedAttributes(t *testing.T) {
	got := parseForTest(t, "'_' + node.metadata['NAMESPACE'] + filter_state[\"wasm.upstream_peer\"].namespace + downstream_peer.name + xds.node.id").moved
	var olds []string
	for _, m := range got {
		olds = append(olds, m.Old+"->"+m.New)
	}
	want := "node->xds.node filter_state['wasm.upstream_peer']->filter_state.upstream_peer downstream_peer->filter_state.downstream_peer"
	if strings.Join(olds, " ") != want {
		t.Errorf("got %s\nwant %s", strings.Join(olds, " "), want)
	}
}

func TestMissing(t *testing.T) {
	e := newTestEnv(t)
	for _, tt := range []struct {
		cond      string
		attr, key string
	}{
		{"response.code >= 500", "response.code", ""},
		{"request.headers['x-beta'] == 'true'", "", "x-beta"},
		{"request.referer == 'x'", "request.referer", ""},
		{"filter_state['wasm.x'] == 'a'", "", "wasm.x"},
	} {
		res := e.Classify([]Route{{Value: "a", Condition: tt.cond}}, Request{Method: "GET", Target: "/"})
		attr, key := Missing(res.Errors[0])
		if attr != tt.attr || key != tt.key {
			t.Errorf("%s: Missing(%v) = %q, %q; want %q, %q", tt.cond, res.Errors[0], attr, key, tt.attr, tt.key)
		}
	}
	if a, k := Missing(errors.New("division by zero")); a != "" || k != "" {
		t.Errorf("Missing(other) = %q, %q", a, k)
	}
}
