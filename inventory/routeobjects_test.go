package inventory

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/routing"
)

// routeFiles reads inventory/testdata/routes files into one document stream.
func routeFiles(t *testing.T, names ...string) string {
	t.Helper()
	var parts []string
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join("testdata", "routes", n))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(data))
	}
	return docs(parts...)
}

// routeBriefs keeps the route objects' findings (RB1xx, and RB002/RB020
// about route kinds).
func routeBriefs(l diag.List) []string {
	var out []string
	for _, d := range l {
		route := d.Object.Kind == "HTTPRoute" || d.Object.Kind == "GRPCRoute" || d.Object.Kind == "VirtualService"
		if strings.HasPrefix(d.Code, "RB1") || route {
			out = append(out, brief(d))
		}
	}
	return out
}

func TestRouteObjectDiagnostics(t *testing.T) {
	want := []string{
		"RB103 HTTPRoute/shop/cart spec.rules[1]",
		"RB104 HTTPRoute/shop/cart spec.rules[2].name",
		"RB102 HTTPRoute/shop/cart-probes spec.rules[0]",
		"RB105 HTTPRoute/shop/checkout spec.parentRefs",
		"RB105 HTTPRoute/shop/checkout spec.parentRefs[0]",
		"RB101 VirtualService/shop/catalog spec.http[0]",
		"RB101 VirtualService/shop/catalog spec.http[2]",
		"RB106 VirtualService/shop/shop-ingress spec.http[0].delegate",
	}
	// Without a Telemetry reading xds.route_name the names reach no
	// metric: the findings are kept aside, not reported.
	inv := build(t, routeFiles(t, "shop.yaml"))
	if inv.Routes.NamesRead || len(routeBriefs(inv.Diagnostics)) > 0 {
		t.Errorf("no Telemetry reads xds.route_name, yet: %v", routeBriefs(inv.Diagnostics))
	}
	if got := routeBriefs(inv.Routes.Diagnostics); !slices.Equal(got, want) {
		t.Errorf("route diagnostics:\n got  %q\n want %q", got, want)
	}

	inv = build(t, routeFiles(t, "shop.yaml", "telemetry.yaml"))
	if !inv.Routes.NamesRead {
		t.Fatal("the Telemetry reads xds.route_name")
	}
	// The namespace's Telemetry reaches its sidecars, client and server
	// side: the client sidecars reach every object attached to a Service
	// (and checkout, attached to nothing, and shop-ingress, bound to an
	// Istio Gateway, keep theirs); the server side reads "default".
	want = append(want, "RB108 Telemetry/shop/route-names spec.metrics[0].overrides[0].tagOverrides.route_name.value")
	if got := routeBriefs(inv.Diagnostics); !slices.Equal(got, want) {
		t.Errorf("inventory diagnostics:\n got  %q\n want %q", got, want)
	}
	messages := map[string]string{
		"RB103": `istiod names its routes "shop.cart.1" after its position`,
		"RB102": `route name "healthz" is also the name of HTTPRoute/shop/cart spec.rules[0].matches[0] (/healthz) on host cart.shop.svc.cluster.local`,
		"RB105": `a Service needs group: ""`,
		"RB101": `xds.route_name reads ""`,
		"RB106": "no VirtualService shop/search",
	}
	for code, m := range messages {
		if !slices.ContainsFunc(inv.Diagnostics, func(d diag.Diagnostic) bool { return d.Code == code && strings.Contains(d.Message, m) }) {
			t.Errorf("no %s message contains %q", code, m)
		}
	}
	for _, d := range inv.Diagnostics {
		if d.Code == "RB103" {
			if !strings.Contains(d.Message, "name: get-cart") {
				t.Errorf("RB103 suggests no name: %s", d.Message)
			}
			if d.Source.File != "test.yaml" || d.Source.Line != 23 {
				t.Errorf("RB103 at %v, want test.yaml:23 (the rule)", d.Source)
			}
		}
	}
}

func TestRouteNamesRead(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"xds.route_name", true},
		{"xds.route_name + ',' + xds.cluster_name", true},
		{"xds['route_name']", true},
		{"has(xds.route_name) ? xds.route_name : 'none'", true},
		{"'route_name'", false},
		{"filter_state['wasm.route_name']", false},
		{"xds.route_name(", false},
	} {
		inv := build(t, telemetryWith(celTag(`"`+strings.ReplaceAll(tc.value, `"`, `\"`)+`"`)))
		if inv.Routes.NamesRead != tc.want {
			t.Errorf("%s: NamesRead %v, want %v", tc.value, inv.Routes.NamesRead, tc.want)
		}
	}
}

func TestRouteObjectFieldErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"rules not a list", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [1]\n  rules: oops\n",
			[]string{"RB002 HTTPRoute/shop/r spec.hostnames[0]", "RB002 HTTPRoute/shop/r spec.rules"}},
		{"headers a mapping, parentRef without name, bad port", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  parentRefs: [{kind: Gateway, port: 70000}]\n  rules:\n  - matches:\n    - headers: {a: b}\n",
			[]string{"RB105 HTTPRoute/shop/r spec.parentRefs", "RB002 HTTPRoute/shop/r spec.parentRefs[0].name", "RB002 HTTPRoute/shop/r spec.parentRefs[0].port",
				"RB103 HTTPRoute/shop/r spec.rules[0]", "RB002 HTTPRoute/shop/r spec.rules[0].matches[0].headers"}},
		{"string match with two kinds, delegate without name, bad timestamp", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: shop, creationTimestamp: yesterday}\nspec:\n  hosts: [a]\n  http:\n  - name: x\n    match:\n    - uri: {exact: /a, prefix: /b}\n  - name: y\n    delegate: {namespace: other}\n",
			[]string{"RB002 VirtualService/shop/v metadata.creationTimestamp", "RB002 VirtualService/shop/v spec.http[0].match[0].uri", "RB002 VirtualService/shop/v spec.http[1].delegate.name"}},
		{"delegate with gateways", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: shop}\nspec:\n  gateways: [mesh]\n  http:\n  - name: x\n",
			[]string{"RB002 VirtualService/shop/v spec.gateways"}},
		{"no name, no spec, twice the same", "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {namespace: shop}\nspec: {}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g, namespace: shop}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g, namespace: shop}\nspec: {parentRefs: [{name: gw}]}\n",
			[]string{"RB002 GRPCRoute/shop/ metadata.name", "RB002 GRPCRoute/shop/g spec", "RB020 GRPCRoute/shop/g "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := build(t, tt.yaml)
			if got := routeBriefs(inv.Routes.Diagnostics); !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestRouteObjectsIndexed checks what part B builds on: every route object
// read is in the index, the later of two with one name, with its source.
func TestRouteObjectsIndexed(t *testing.T) {
	inv := build(t, routeFiles(t, "shop.yaml"))
	var names []string
	for _, o := range inv.Routes.Index.Objects() {
		names = append(names, string(o.Kind)+"/"+o.Namespace+"/"+o.Name)
		if o.Source.File != "test.yaml" || o.Source.Line == 0 {
			t.Errorf("%s: source %v", o.Name, o.Source)
		}
	}
	want := []string{"HTTPRoute/shop/cart", "HTTPRoute/shop/cart-probes", "VirtualService/shop/catalog", "HTTPRoute/shop/checkout", "VirtualService/shop/shop-ingress"}
	if !slices.Equal(names, want) {
		t.Errorf("objects %q, want %q", names, want)
	}
	// Two VirtualServices for cart at its waypoint: cart-probes' (port
	// 8080, named shop~8080~cart...) sorts before cart's (shop~cart...)
	// when their creation times tie; the waypoint concatenates them, and
	// cart's catch-all rule ends the list.
	cart := inv.Routes.Index.ServiceRoutes(routing.Waypoint, "shop", routing.Service{Namespace: "shop", Name: "cart", Port: 8080})
	want = []string{"healthz /livez port 8080", "healthz /healthz", "shop.cart.1 GET /cart/*", "default any"}
	if got := routeNames(cart.Routes); !slices.Equal(got, want) {
		t.Errorf("routes at cart's waypoint:\n got  %q\n want %q", got, want)
	}
}

func routeNames(rs []routing.Route) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name + " " + r.Summary()
	}
	return out
}
