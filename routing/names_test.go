package routing_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/routing"
)

// load reads YAML files (paths relative to testdata/ or absolute) into an
// inventory, failing on anything the reader reports as broken.
func load(t *testing.T, files ...string) *inventory.Inventory {
	t.Helper()
	var objs []manifest.Object
	for _, name := range files {
		if !filepath.IsAbs(name) {
			name = filepath.Join("testdata", name)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		o, diags := manifest.Decode(name, data)
		if len(diags) > 0 {
			t.Fatalf("%s: %v", name, diags)
		}
		objs = append(objs, o...)
	}
	inv, err := inventory.Build(objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range inv.Routes.Diagnostics {
		if d.Code == "RB002" || d.Code == "RB020" {
			t.Fatalf("reading route objects: %v", d)
		}
	}
	return inv
}

func object(t *testing.T, ix *routing.Index, kind routing.Kind, ns, name string) *routing.Object {
	t.Helper()
	for _, o := range ix.Objects() {
		if o.Kind == kind && o.Namespace == ns && o.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %s/%s", kind, ns, name)
	return nil
}

// route renders a route as "name: summary".
func route(r routing.Route) string { return r.Name + ": " + r.Summary() }

func routeList(rs []routing.Route) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = route(r)
	}
	return out
}

func wantRoutes(t *testing.T, what string, got []routing.Route, want ...string) {
	t.Helper()
	if g := routeList(got); !slices.Equal(g, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, g, want)
	}
}

// TestGatewayAPIRouteNames checks the names of HTTPRoute and GRPCRoute
// routes against istiod's conversion.go convertHTTPRoute and
// convertGRPCRoute (Istio 1.32): a rule's name as written, else
// "<namespace>.<route>.<rule index>", for every match of the rule
// (route_collections.go splits rules into one route per match, all
// converted with the rule's index n). istiod's golden output for its mesh
// test (pilot/pkg/config/kube/gateway/testdata/mesh.yaml.golden) names an
// unnamed rule of HTTPRoute default/echo "default.echo.0" the same way.
func TestGatewayAPIRouteNames(t *testing.T) {
	inv := load(t, "podinfo-httproute.yaml", "bookinfo-reviews.yaml", "grpcroute.yaml")
	ix := inv.Routes.Index

	wantRoutes(t, "podinfo (named rules, two parents)", ix.Routes(object(t, ix, routing.HTTPRoute, "podinfo", "podinfo")),
		"healthz: GET /healthz", "echo: POST /echo", "podinfo.podinfo.2: /api/*")
	wantRoutes(t, "reviews (unnamed rules; the second has the CRD's default match)",
		ix.Routes(object(t, ix, routing.HTTPRoute, "bookinfo", "reviews")),
		"bookinfo.reviews.0: header end-user=jason", "bookinfo.reviews.1: any")
	wantRoutes(t, "cart (GRPCRoute)", ix.Routes(object(t, ix, routing.GRPCRoute, "shop", "cart")),
		"get-cart: grpc shop.v1.Cart/GetCart",
		"shop.cart.1: grpc shop.v1.Cart/AddItem", "shop.cart.1: grpc shop.v1.Cart/RemoveItem",
		"shop.cart.2: grpc grpc.health.v1.Health/*",
		"shop.cart.3: any")

	// Both parents of the podinfo route get the same names: istiod
	// converts the rules once for the mesh and once for gateways, with
	// the same names (computeRoute, buildMeshAndGatewayRoutes).
	podinfo := ix.Parents(object(t, ix, routing.HTTPRoute, "podinfo", "podinfo"))
	if len(podinfo) != 2 || podinfo[0].Kind != routing.ParentGateway || podinfo[1].Kind != routing.ParentService || podinfo[1].Port != 9898 {
		t.Errorf("podinfo parents = %+v", podinfo)
	}
	waypoint := ix.ServiceRoutes(routing.Waypoint, "podinfo", routing.Service{Namespace: "podinfo", Name: "podinfo", Port: 9898})
	gw, ok := ix.GatewayRoutes(routing.Gateway{Namespace: "podinfo", Name: "podinfo-gateway"}, "podinfo.example.com")
	if !ok {
		t.Fatal("no routes at podinfo-gateway for podinfo.example.com")
	}
	want := []string{"healthz", "echo", "podinfo.podinfo.2"}
	if !slices.Equal(waypoint.Names(), want) || !slices.Equal(gw.Names(), want) {
		t.Errorf("names at the waypoint %v, at the gateway %v, want %v", waypoint.Names(), gw.Names(), want)
	}
	// The Service parentRef names port 9898: the routes are for that port
	// only (route_collections.go augmentPortMatch), other ports get the
	// default route.
	if other := ix.ServiceRoutes(routing.Waypoint, "podinfo", routing.Service{Namespace: "podinfo", Name: "podinfo", Port: 8080}); !slices.Equal(other.Names(), []string{routing.DefaultRouteName}) {
		t.Errorf("port 8080: %v, want only %q", other.Names(), routing.DefaultRouteName)
	}
}

// TestVirtualServiceRouteNames checks VirtualService route names against
// istiod's route.go TranslateRoute: the http entry's name, plus "." and
// the match's name when the match has one, so an unnamed entry gives "" or
// ".<match>"; BuildHTTPRoutesForVirtualService stops after a catch-all.
func TestVirtualServiceRouteNames(t *testing.T) {
	inv := load(t, "virtualservice.yaml")
	ix := inv.Routes.Index
	wantRoutes(t, "reviews-route", ix.Routes(object(t, ix, routing.VirtualService, "bookinfo", "reviews-route")),
		"reviews-v2-routes: /wpcatalog*", "reviews-v2-routes: /consumercatalog*", "reviews-v1-route: any")
	wantRoutes(t, "ratings (named matches)", ix.Routes(object(t, ix, routing.VirtualService, "bookinfo", "ratings")),
		"ratings.jason: header end-user=jason", "ratings.v2-path: /ratings/v2*",
		".legacy: /ratings/legacy", ": DELETE", "ratings-default: any", "never-built: any")

	// What a client sidecar builds: the short host "ratings" is the
	// service of the VirtualService's namespace (ResolveShortnameToFQDN),
	// and nothing after the catch-all "ratings-default".
	t1 := ix.ServiceRoutes(routing.ClientSidecar, "bookinfo", routing.Service{Namespace: "bookinfo", Name: "ratings"})
	if got, want := t1.Names(), []string{"ratings.jason", "ratings.v2-path", ".legacy", "", "ratings-default"}; !slices.Equal(got, want) {
		t.Errorf("ratings at a client sidecar: %q, want %q", got, want)
	}
	for _, tc := range []struct {
		req  routing.Request
		want string
	}{
		{routing.Request{Method: "GET", Path: "/ratings/0", Headers: map[string]string{"End-User": "jason"}}, "ratings.jason"},
		{routing.Request{Method: "GET", Path: "/ratings/v2/0"}, "ratings.v2-path"},
		{routing.Request{Method: "GET", Path: "/ratings/legacy?x=1"}, ".legacy"},
		{routing.Request{Method: "DELETE", Path: "/ratings/0"}, ""},
		{routing.Request{Method: "GET", Path: "/ratings/0"}, "ratings-default"},
	} {
		if r, ok := t1.Match(tc.req); !ok || r.Name != tc.want {
			t.Errorf("%s %s: route %q (%v), want %q", tc.req.Method, tc.req.Path, r.Name, ok, tc.want)
		}
	}
	// reviews-route's host is another namespace's service, written in full.
	if got := ix.ServiceRoutes(routing.ClientSidecar, "bookinfo", routing.Service{Namespace: "prod", Name: "reviews"}).Names(); !slices.Equal(got, []string{"reviews-v2-routes", "reviews-v1-route"}) {
		t.Errorf("reviews.prod at a client sidecar: %q", got)
	}
}

// TestDelegation checks delegated VirtualService routes against istiod's
// virtualservice_controller.go mergeVirtualServices and virtualservice.go
// MergeHTTPRoutes, mergeHTTPRoute and mergeHTTPMatchRequests: a delegate's
// entries replace the root's entry, the names joined root-delegate (either
// alone when the other is empty), the matches intersected; a delegate entry
// outside the root's match is dropped, and a missing delegate drops the
// root's entry.
func TestDelegation(t *testing.T) {
	inv := load(t, "delegate.yaml")
	ix := inv.Routes.Index
	root := object(t, ix, routing.VirtualService, "istio-system", "bookinfo")
	wantRoutes(t, "bookinfo with its delegates", ix.Routes(root),
		"productpage-v1: /productpage/v1/*", "productpage: /productpage*", ": /reviews*")
	for _, r := range ix.Routes(root) {
		if r.Root != root || r.Object == root {
			t.Errorf("%s: Root %v, Object %v: want the delegate's entry", r.Name, r.Root, r.Object)
		}
	}
	productpage := object(t, ix, routing.VirtualService, "ns-a", "productpage")
	if roots := ix.Roots(productpage); len(roots) != 1 || roots[0] != root || ix.Routes(productpage) != nil {
		t.Errorf("productpage: roots %v, own routes %v", roots, ix.Routes(productpage))
	}
	if p := ix.Parents(productpage); len(p) != 1 || p[0].Kind != routing.ParentIstioGateway || p[0].Namespace != "istio-system" || p[0].Name != "mygateway" {
		t.Errorf("a delegate applies where its root does: %+v", p)
	}
	gw, ok := ix.GatewayRoutes(routing.Gateway{Namespace: "istio-system", Name: "mygateway", Istio: true}, "bookinfo.com")
	if !ok {
		t.Fatal("no routes at istio-system/mygateway")
	}
	for path, want := range map[string]string{"/productpage/v1/x": "productpage-v1", "/productpage": "productpage", "/reviews/1": ""} {
		if r, ok := gw.Match(routing.Request{Method: "GET", Path: path, Host: "bookinfo.com"}); !ok || r.Name != want {
			t.Errorf("GET %s: %q (%v), want %q", path, r.Name, ok, want)
		}
	}
	if _, ok := gw.Match(routing.Request{Method: "GET", Path: "/ratings"}); ok {
		t.Error("GET /ratings matched, but its delegate does not exist")
	}
	var kinds []string
	for _, f := range ix.Findings() {
		kinds = append(kinds, string(f.Kind)+" "+f.Object.Name+" "+f.Field)
	}
	want := []string{
		"delegate-missing bookinfo spec.http[2].delegate",
		"delegate-conflict productpage spec.http[1]",
		"unnamed-route reviews spec.http[0]",
	}
	slices.Sort(kinds)
	slices.Sort(want)
	if !slices.Equal(kinds, want) {
		t.Errorf("findings:\n got  %q\n want %q", kinds, want)
	}
}

// TestMatchNamesThroughDelegation covers mergeHTTPMatchRequest's names:
// a root match's and a delegate match's names are joined with "-" too,
// and appended to the joined entry name with ".".
func TestMatchNamesThroughDelegation(t *testing.T) {
	ix := load(t, "delegate-names.yaml").Routes.Index
	wantRoutes(t, "root", ix.Routes(object(t, ix, routing.VirtualService, "web", "root")),
		"api-users.v1-list: GET /api/v1/users", "api.v1: /api/v1/orders*")
	if got := strings.Join(ix.ServiceRoutes(routing.ClientSidecar, "web", routing.Service{ServiceEntry: true, Namespace: "web", Name: "x", Hosts: []string{"web.example.com"}}).Names(), ","); got != "api-users.v1-list,api.v1" {
		t.Errorf("at a client sidecar: %s", got)
	}
}
