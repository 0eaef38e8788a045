package routing_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/routing"
)

// TestIstioPrecedence orders routes of two namespaces attached to one
// Gateway hostname and to Services as istiod does for its own precedence
// test, pilot/pkg/config/kube/gateway/testdata/route-precedence.yaml: the
// expected lists are the http entries of the VirtualServices in
// route-precedence.yaml.golden (Istio 1.32), in order.
func TestIstioPrecedence(t *testing.T) {
	ix := load(t, "precedence.yaml").Routes.Index
	a1 := object(t, ix, routing.HTTPRoute, "allowed-1", "http")
	a2 := object(t, ix, routing.HTTPRoute, "allowed-2", "http")

	// The merged VirtualService for a.domain.example, before Envoy's
	// routes are built from it.
	merged := slices.Concat(ix.Routes(a1), ix.Routes(a2))
	routing.OrderGatewayAPI(merged)
	golden := []string{
		"allowed-2.http.1: /baz header my-header=some-value query my-param~some-value",
		"allowed-2.http.0: /foo/bar/*",
		"allowed-1.http.0: /foo/* header my-header=some-value",
		"allowed-2.http.0: /bar/*",
		"allowed-2.http.3: PATCH /*",
		"allowed-2.http.2: any",
		"allowed-1.http.1: path~/foo((\\/).*)?",
	}
	wantRoutes(t, "a.domain.example, merged", merged, golden...)

	// Envoy gets the routes up to the catch-all PathPrefix "/" (route.go
	// BuildHTTPRoutesForVirtualService): the regex route is never built.
	gw := routing.Gateway{Namespace: "istio-system", Name: "gateway"}
	a, _ := ix.GatewayRoutes(gw, "a.domain.example")
	wantRoutes(t, "a.domain.example at the gateway", a.Routes, golden[:6]...)
	b, _ := ix.GatewayRoutes(gw, "b.domain.example")
	wantRoutes(t, "b.domain.example at the gateway", b.Routes,
		"allowed-1.http.0: /foo/* header my-header=some-value", "allowed-1.http.1: path~/foo((\\/).*)?")
	if _, ok := ix.GatewayRoutes(gw, "c.domain.example"); ok {
		t.Error("c.domain.example: no route has that hostname")
	}

	// Mesh: hostnames do not apply, each namespace's route has its own
	// a-example Service.
	wantRoutes(t, "a-example.allowed-1 at its waypoint",
		ix.ServiceRoutes(routing.Waypoint, "allowed-1", routing.Service{Namespace: "allowed-1", Name: "a-example"}).Routes,
		"allowed-1.http.0: /foo/* header my-header=some-value", "allowed-1.http.1: path~/foo((\\/).*)?")
	wantRoutes(t, "a-example.allowed-2 at a client sidecar",
		ix.ServiceRoutes(routing.ClientSidecar, "client", routing.Service{Namespace: "allowed-2", Name: "a-example"}).Routes,
		"allowed-2.http.1: /baz header my-header=some-value query my-param~some-value",
		"allowed-2.http.0: /foo/bar/*", "allowed-2.http.0: /bar/*", "allowed-2.http.3: PATCH /*", "allowed-2.http.2: any")
}

// conformanceModule holds the Gateway API's conformance tests, at the
// version whose CRDs internal/k8stest installs.
const conformanceModule = "sigs.k8s.io/gateway-api/conformance@v1.6.3"

// conformanceCase is one request of a conformance test and the backend it
// must reach ("" for a 404 or, for gRPC, Unimplemented).
type conformanceCase struct {
	method, host, path string
	headers            map[string]string
	backend            string
}

// TestConformancePrecedence replays the Gateway API conformance tests of
// path, method, header and query matching (sigs.k8s.io/gateway-api/
// conformance tests/*.yaml and the requests of their *.go files) against
// the routes' order and matching: the rule a request gets must be the one
// whose backend the conformance test expects.
func TestConformancePrecedence(t *testing.T) {
	if !strings.HasSuffix(k8stest.GatewayAPIModule, "@"+strings.Split(conformanceModule, "@")[1]) {
		t.Fatalf("conformance tests %s and CRDs %s differ in version", conformanceModule, k8stest.GatewayAPIModule)
	}
	dir, err := k8stest.ModuleDir(t.Context(), conformanceModule)
	if err != nil {
		t.Fatal(err)
	}
	v1, v2, v3 := "infra-backend-v1", "infra-backend-v2", "infra-backend-v3"
	h := func(kv ...string) map[string]string {
		m := make(map[string]string)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := map[string][]conformanceCase{
		"httproute-path-match-order": {
			{path: "/match/exact/one", backend: v3}, {path: "/match/exact", backend: v2}, {path: "/match", backend: v1},
			{path: "/match/prefix/one/any", backend: v2}, {path: "/match/prefix/any", backend: v1}, {path: "/match/any", backend: v3},
		},
		"httproute-exact-path-matching": {
			{path: "/one", backend: v1}, {path: "/two", backend: v2}, {path: "/"}, {path: "/one/example"}, {path: "/two/"}, {path: "/Two"},
		},
		"httproute-matching": {
			{path: "/", backend: v1}, {path: "/example", backend: v1}, {path: "/", headers: h("Version", "one"), backend: v1},
			{path: "/v2", backend: v2}, {path: "/v2/example", backend: v2}, {path: "/", headers: h("Version", "two"), backend: v2},
			{path: "/v2/", backend: v2}, {path: "/v2example", backend: v1}, {path: "/foo/v2/example", backend: v1},
		},
		"httproute-matching-across-routes": {
			{host: "example.com", path: "/", backend: v1}, {host: "example.com", path: "/example", backend: v1},
			{host: "example.net", path: "/example", backend: v1},
			{host: "example.com", path: "/example", headers: h("Version", "one"), backend: v1},
			{host: "example.com", path: "/v2", backend: v2}, {host: "example.net", path: "/v2", backend: v1},
			{host: "example.com", path: "/v2/example", backend: v2},
			{host: "example.com", path: "/", headers: h("Version", "two"), backend: v2},
		},
		"httproute-header-matching": {
			{path: "/", headers: h("Version", "one"), backend: v1}, {path: "/", headers: h("Version", "two"), backend: v2},
			{path: "/", headers: h("Version", "two", "Color", "orange"), backend: v1},
			{path: "/", headers: h("Version", "two", "Color", "blue"), backend: v2},
			{path: "/", headers: h("Color", "orange")}, {path: "/", headers: h("Some-Other-Header", "one")},
			{path: "/", headers: h("Color", "blue"), backend: v1}, {path: "/", headers: h("Color", "green"), backend: v1},
			{path: "/", headers: h("Color", "red"), backend: v2}, {path: "/", headers: h("Color", "yellow"), backend: v2},
			{path: "/", headers: h("Color", "purple")},
		},
		"httproute-method-matching": {
			{method: "POST", path: "/", backend: v1}, {method: "GET", path: "/", backend: v2}, {method: "HEAD", path: "/"},
			{method: "GET", path: "/path1", backend: v1}, {method: "PUT", path: "/", headers: h("version", "one"), backend: v2},
			{method: "POST", path: "/path2", headers: h("version", "two"), backend: v3},
			{method: "PATCH", path: "/path3", backend: v1}, {method: "DELETE", path: "/path4", headers: h("version", "three"), backend: v1},
			{method: "PUT", path: "/"}, {method: "DELETE", path: "/path4"},
			{method: "PATCH", path: "/path5", backend: v1}, {method: "PATCH", path: "/", headers: h("version", "four"), backend: v2},
		},
		"httproute-query-param-matching": {
			{path: "/?animal=whale", backend: v1}, {path: "/?animal=dolphin", backend: v2},
			{path: "/?animal=dolphin&color=blue", backend: v3}, {path: "/?ANIMAL=Whale", backend: v3},
			{path: "/?animal=whale&otherparam=irrelevant", backend: v1}, {path: "/?animal=dolphin&color=yellow", backend: v2},
			{path: "/?color=blue"}, {path: "/?animal=dog"}, {path: "/?animal=whaledolphin"}, {path: "/"},
			{path: "/path1?animal=whale", backend: v1}, {path: "/?animal=whale", headers: h("version", "one"), backend: v2},
			{path: "/path2?animal=whale", headers: h("version", "two"), backend: v3},
			{path: "/path3?animal=shark", backend: v1}, {path: "/path4?animal=kraken", headers: h("version", "three"), backend: v1},
			{path: "/?animal=shark"}, {path: "/path4?animal=kraken"},
			{path: "/path5?animal=hydra", backend: v1}, {path: "/?animal=hydra", headers: h("version", "four"), backend: v3},
		},
		"grpcroute-exact-method-matching": {
			{method: "POST", path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo", backend: "grpc-infra-backend-v1"},
			{method: "POST", path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoTwo", backend: "grpc-infra-backend-v2"},
			{method: "POST", path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoThree"},
		},
		"grpcroute-named-rule": {
			{method: "POST", path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo", backend: "grpc-infra-backend-v1"},
			{method: "POST", path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoTwo", backend: "grpc-infra-backend-v2"},
		},
	}
	g1, g2 := "grpc-infra-backend-v1", "grpc-infra-backend-v2"
	echo := "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo"
	for _, c := range []conformanceCase{
		{headers: h("Version", "one"), backend: g1}, {headers: h("Version", "two"), backend: g2},
		{headers: h("Version", "two", "Color", "orange"), backend: g1}, {headers: h("Version", "two", "Color", "blue"), backend: g2},
		{headers: h("Color", "orange")}, {headers: h("Some-Other-Header", "one")},
		{headers: h("Color", "blue"), backend: g1}, {headers: h("Color", "green"), backend: g1},
		{headers: h("Color", "red"), backend: g2}, {headers: h("Color", "yellow"), backend: g2}, {headers: h("Color", "purple")},
	} {
		c.method, c.path = "POST", echo
		tests["grpcroute-header-matching"] = append(tests["grpcroute-header-matching"], c)
	}
	gw := routing.Gateway{Namespace: "gateway-conformance-infra", Name: "same-namespace"}
	for _, name := range slices.Sorted(maps.Keys(tests)) {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, "tests", name+".yaml")
			inv := load(t, file)
			objs := decodeFile(t, file)
			for _, c := range tests[name] {
				req := routing.Request{Method: c.method, Host: c.host, Path: c.path, Headers: c.headers}
				if req.Method == "" {
					req.Method = "GET"
				}
				var got string
				if table, ok := inv.Routes.Index.GatewayRoutes(gw, c.host); ok {
					if r, ok := table.Match(req); ok {
						got = backendOf(t, objs, r)
					}
				}
				if got != c.backend {
					t.Errorf("%s %s%s %v: backend %q, want %q", req.Method, c.host, c.path, c.headers, got, c.backend)
				}
			}
		})
	}
}

func decodeFile(t *testing.T, file string) []manifest.Object {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := manifest.Decode(file, data)
	return objs
}

// backendOf returns the first backendRef of the rule a route came from.
func backendOf(t *testing.T, objs []manifest.Object, r routing.Route) string {
	t.Helper()
	for _, o := range objs {
		if o.Kind != string(r.Object.Kind) || o.Name != r.Object.Name || o.Namespace != r.Object.Namespace {
			continue
		}
		spec, _ := o.Content["spec"].(map[string]any)
		rules, _ := spec["rules"].([]any)
		rule, _ := rules[r.Rule].(map[string]any)
		refs, _ := rule["backendRefs"].([]any)
		if len(refs) == 0 {
			t.Fatalf("%s rule %d has no backendRefs", r.Object.Name, r.Rule)
		}
		ref, _ := refs[0].(map[string]any)
		name, _ := ref["name"].(string)
		return name
	}
	t.Fatalf("no object %s/%s", r.Object.Namespace, r.Object.Name)
	return ""
}
