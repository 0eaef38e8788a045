package routing_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/conformance"
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

// TestConformancePrecedence replays the Gateway API conformance tests of
// path, method, header and query matching (internal/conformance) against
// the routes' order and matching: the rule a request gets must be the one
// whose backend the conformance test expects.
func TestConformancePrecedence(t *testing.T) {
	if !strings.HasSuffix(k8stest.GatewayAPIModule, "@"+strings.Split(conformance.Module, "@")[1]) {
		t.Fatalf("conformance tests %s and CRDs %s differ in version", conformance.Module, k8stest.GatewayAPIModule)
	}
	dir, err := k8stest.ModuleDir(t.Context(), conformance.Module)
	if err != nil {
		t.Fatal(err)
	}
	tests := conformance.Cases()
	gw := routing.Gateway{Namespace: conformance.GatewayNamespace, Name: conformance.GatewayName}
	for _, name := range conformance.Tests() {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, "tests", name+".yaml")
			inv := load(t, file)
			objs := decodeFile(t, file)
			for _, c := range tests[name] {
				req := routing.Request{Method: c.Method, Host: c.Host, Path: c.Path, Headers: c.Headers}
				var got string
				if table, ok := inv.Routes.Index.GatewayRoutes(gw, c.Host); ok {
					if r, ok := table.Match(req); ok {
						if got, err = conformance.Backend(objs, string(r.Object.Kind), r.Object.Namespace, r.Object.Name, r.Rule); err != nil {
							t.Fatal(err)
						}
					}
				}
				if got != c.Backend {
					t.Errorf("%s %s%s %v: backend %q, want %q", req.Method, c.Host, c.Path, c.Headers, got, c.Backend)
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
