package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with testdata/name, rewriting it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), got, *update)
}

// TestExplainPodinfo runs explain on the embedded podinfo example.
func TestExplainPodinfo(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"get-healthz.txt", []string{"--namespace", "podinfo", "GET", "/healthz"}},
		{"get-healthz-query.txt", []string{"GET", "/healthz?x=1", "--namespace", "podinfo"}},
		{"post-echo.txt", []string{"--namespace=podinfo", "POST", "/echo"}},
		{"get-nope.txt", []string{"--namespace", "podinfo", "GET", "/nope"}},
		{"get-nope.json", []string{"--namespace", "podinfo", "-o", "json", "GET", "/nope"}},
		{"other-namespace.txt", []string{"--namespace", "default", "GET", "http://podinfo.podinfo:9898/healthz"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append([]string{"explain"}, tt.args...)...)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			checkGolden(t, filepath.Join("explain", tt.golden), stdout)
		})
	}
}

// TestExplainReadsPaths reads manifests from stdin and a directory.
func TestExplainReadsPaths(t *testing.T) {
	manifests, err := os.ReadFile(filepath.Join("..", "..", "examples", "podinfo", "wasmplugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	telemetry, err := os.ReadFile(filepath.Join("..", "..", "examples", "podinfo", "telemetry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stdin := string(manifests) + "\n---\n" + string(telemetry)
	code, stdout, stderr := runCLI(t, stdin, "explain", "-", "--namespace", "podinfo", "POST", "/echo")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, `value:   "POST /echo"`) {
		t.Errorf("stdout does not classify POST /echo:\n%s", stdout)
	}
	code, stdout, _ = runCLI(t, "", "explain", filepath.Join("..", "..", "examples", "podinfo"), "--namespace", "podinfo", "GET", "/healthz")
	if code != ExitOK || !strings.Contains(stdout, `value:   "GET /healthz"`) {
		t.Errorf("directory: exit %d, stdout:\n%s", code, stdout)
	}
}

func TestExplainUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no namespace", []string{"GET", "/"}, "--namespace NS is required"},
		{"no request", []string{"--namespace", "a"}, "missing METHOD and PATH_AND_QUERY: say which request to explain, e.g. GET /healthz"},
		{"no method", []string{"--namespace", "a", "/"}, "missing METHOD before PATH_AND_QUERY /, e.g. GET /"},
		{"no path", []string{"--namespace", "a", "wasm.yaml", "GET"}, "missing PATH_AND_QUERY after METHOD GET"},
		{"file names only", []string{"--namespace", "a", "wasm.yaml", "telemetry.yaml"}, "missing METHOD and PATH_AND_QUERY after the manifest paths wasm.yaml telemetry.yaml"},
		{"bad path", []string{"--namespace", "a", "GET", "healthz"}, "PATH_AND_QUERY after METHOD GET must start with / or be an absolute URL"},
		{"bad method", []string{"--namespace", "a", "G T", "/"}, "missing METHOD before PATH_AND_QUERY /"},
		{"lower-case method", []string{"--namespace", "a", "get", "/"}, "METHOD must be in capitals, as HTTP methods are: GET"},
		{"bad response code", []string{"--namespace", "a", "--response-code", "42", "GET", "/"}, "--response-code 42: want an HTTP status code"},
		{"response code not a number", []string{"--namespace", "a", "--response-code", "ok", "GET", "/"}, "want a number"},
		{"bad grpc status", []string{"--namespace", "a", "--grpc-status", "17", "GET", "/"}, "--grpc-status 17"},
		{"bad labels", []string{"--namespace", "a", "--labels", "app", "GET", "/"}, "--labels"},
		{"bad header", []string{"--namespace", "a", "--header", "novalue", "GET", "/"}, "want k=v"},
		{"bad format", []string{"--namespace", "a", "-o", "yaml", "GET", "/"}, "-o must be text or json"},
		{"unknown flag", []string{"--nope", "GET", "/"}, "flag provided but not defined"},
		{"missing file", []string{"--namespace", "a", "/does/not/exist.yaml", "GET", "/"}, "/does/not/exist.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append([]string{"explain"}, tt.args...)...)
			if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and stderr containing %q", code, stdout, stderr, tt.stderr)
			}
		})
	}
}

func TestHeaderFlags(t *testing.T) {
	var h headerFlags
	for _, v := range []string{"X-User=alice", "host: podinfo:9898", "x-time=12:00", ":authority=a"} {
		if err := h.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	want := map[string]string{"x-user": "alice", "host": "podinfo:9898", "x-time": "12:00", ":authority": "a"}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("h[%q] = %q, want %q (all: %v)", k, h[k], v, h)
		}
	}
}

// scopeInventory has route sets of each scope kind, hand-built so that the
// scope logic is tested apart from the reader.
func scopeInventory() *inventory.Inventory {
	route := func(v, c string) []inventory.Route { return []inventory.Route{{Value: v, Condition: c}} }
	tel := func(ns, name string) diag.ObjectRef {
		return diag.ObjectRef{Kind: "Telemetry", Namespace: ns, Name: name}
	}
	return &inventory.Inventory{
		RouteSets: []inventory.RouteSet{
			{ID: "istio-system/mesh", Namespace: "istio-system", Tag: "route_name", Telemetry: tel("istio-system", "mesh"),
				Attribute: "istio_operationId", Plugin: diag.ObjectRef{Kind: "WasmPlugin", Namespace: "istio-system", Name: "mesh"},
				Scope:  inventory.Scope{Kind: inventory.ScopeMesh, Namespace: "istio-system"},
				Routes: route("mesh", "request.method == 'GET'")},
			{ID: "shop/cart", Namespace: "shop", Tag: "route_name", Telemetry: tel("shop", "cart"),
				Scope:  inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "shop", Selector: map[string]string{"app": "cart"}},
				Routes: route("cart", "request.headers['x-user'] == 'alice'")},
			{ID: "shop/ns", Namespace: "shop", Tag: "request_operation", Telemetry: tel("shop", "ns"),
				Scope:  inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "shop"},
				Routes: []inventory.Route{{Value: "any"}}},
			{ID: "shop/svc", Namespace: "shop", Tag: "route_name", Telemetry: tel("shop", "svc"),
				Scope: inventory.Scope{Kind: inventory.ScopeService, Namespace: "shop",
					TargetRefs: []inventory.TargetRef{{Kind: "Service", Name: "cart"}}},
				Routes: route("svc", "request.url_path.startsWith('/cart')")},
			{ID: "shop/wp", Namespace: "shop", Tag: "route_name", Telemetry: tel("shop", "wp"),
				Scope: inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: "shop",
					TargetRefs: []inventory.TargetRef{{Kind: "Gateway", Group: "gateway.networking.k8s.io", Name: "other-waypoint"}}},
				Routes: route("wp", "request.methd == 'GET'")},
			{ID: "shop/cel", Namespace: "shop", Tag: "route_name", Telemetry: tel("shop", "cel"),
				Scope: inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "shop"},
				Routes: []inventory.Route{{Value: "GET /cart", Condition: "request.url_path == '/cart'"},
					{Value: "user", Condition: "request.headers['x-user'] == 'bob'"}, {Value: "other"}}},
			{ID: "web/ns", Namespace: "web", Tag: "route_name", Telemetry: tel("web", "ns"),
				Scope:  inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "web"},
				Routes: route("web", "true")},
		},
		Namespaces: []inventory.Namespace{{Name: "shop", UseWaypoint: "shop-waypoint"}},
	}
}

// testDialects returns both CEL environments.
func testDialects(t *testing.T) dialects {
	t.Helper()
	aenv, err := attrgen.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	tenv, err := attrgen.NewTagEnv()
	if err != nil {
		t.Fatal(err)
	}
	return dialects{aenv, tenv}
}

func TestExplainScopes(t *testing.T) {
	d := testDialects(t)
	inv := scopeInventory()
	tests := []struct {
		name       string
		labels     map[string]string
		headers    map[string]string
		values     map[string]string // route set ID -> value
		outOfScope []string
	}{
		{name: "no labels", values: map[string]string{
			"istio-system/mesh": "mesh", "shop/cel": series.UnknownRoute, "shop/ns": "any", "shop/svc": "svc", "shop/wp": series.UnknownRoute},
			outOfScope: []string{"shop/cart", "web/ns"}},
		{name: "matching labels", labels: map[string]string{"app": "cart", "version": "v1"}, headers: map[string]string{"x-user": "alice"},
			values: map[string]string{
				"istio-system/mesh": "mesh", "shop/cart": "cart", "shop/cel": "other", "shop/ns": "any", "shop/svc": "svc", "shop/wp": series.UnknownRoute},
			outOfScope: []string{"web/ns"}},
		{name: "missing header", labels: map[string]string{"app": "cart"},
			values: map[string]string{
				"istio-system/mesh": "mesh", "shop/cart": series.UnknownRoute, "shop/cel": series.UnknownRoute, "shop/ns": "any", "shop/svc": "svc", "shop/wp": series.UnknownRoute},
			outOfScope: []string{"web/ns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := explainQuery{Namespace: "shop", Labels: tt.labels,
				Request: attrgen.Request{Method: "GET", Target: "/cart/1", Headers: tt.headers}}
			x := explain(d, inv, q)
			got := map[string]string{}
			for _, s := range x.RouteSets {
				got[s.ID] = s.Value
			}
			if len(got) != len(tt.values) {
				t.Errorf("route sets in scope %v, want %v", got, tt.values)
			}
			for id, v := range tt.values {
				if got[id] != v {
					t.Errorf("%s = %q, want %q", id, got[id], v)
				}
			}
			var out []string
			for _, o := range x.OutOfScope {
				out = append(out, o.ID)
			}
			if strings.Join(out, " ") != strings.Join(tt.outOfScope, " ") {
				t.Errorf("out of scope %v, want %v", out, tt.outOfScope)
			}
		})
	}
}

// TestExplainScopesText pins the wording of proxies, notes and errors.
func TestExplainScopesText(t *testing.T) {
	x := explain(testDialects(t), scopeInventory(), explainQuery{Namespace: "shop", Labels: map[string]string{"app": "cart"},
		Request: attrgen.Request{Method: "GET", Target: "/cart/1\n"}})
	var b strings.Builder
	if err := x.writeText(&b); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("explain", "scopes.txt"), b.String())
}
