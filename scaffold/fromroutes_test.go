package scaffold

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// routeInventory reads route objects (and Namespaces) from files relative
// to the module root.
func routeInventory(t *testing.T, files ...string) *inventory.Inventory {
	t.Helper()
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	return b.FromManifests(readFiles(t, files))
}

// Route objects init --from-routes is tried on: the httproute example's
// (named rules, a Namespace naming the waypoint), Istio's request-routing
// task (unnamed rules, no Namespace), a gateway's.
var (
	exampleRoutes  = []string{"examples/httproute/namespace.yaml", "examples/httproute/waypoint.yaml", "examples/httproute/httproute.yaml"}
	bookinfoRoutes = []string{"routing/testdata/bookinfo-reviews.yaml"}
	gatewayRoutes  = []string{"routing/testdata/podinfo-httproute.yaml"}
)

type fromRoutesCase struct {
	name   string
	files  []string
	opts   RouteNamesOptions
	golden string
}

func fromRoutesCases() []fromRoutesCase {
	return []fromRoutesCase{
		{"example at its waypoint", exampleRoutes, RouteNamesOptions{Side: SideWaypoint}, "fromroutes.example.yaml"},
		{"bookinfo at the Services' waypoint", bookinfoRoutes, RouteNamesOptions{Side: SideWaypoint}, "fromroutes.bookinfo.yaml"},
		{"bookinfo at client sidecars", bookinfoRoutes, RouteNamesOptions{Side: SideClient, Namespace: "frontend", Selector: map[string]string{"app": "productpage"}}, "fromroutes.bookinfo-client.yaml"},
		{"podinfo at its gateway", gatewayRoutes, RouteNamesOptions{Side: SideGateway, Tag: "gateway_route"}, "fromroutes.gateway.yaml"},
	}
}

func TestFromRoutesGolden(t *testing.T) {
	for _, tc := range fromRoutesCases() {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Source = strings.Join(tc.files, " ")
			out, err := FromRoutes(routeInventory(t, tc.files...), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			data, err := out.YAML()
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", tc.golden), string(data), *update)
		})
	}
}

// TestFromRoutesMatchesIstioCRDs validates every Telemetry against the
// Telemetry CRD of the Istio API routebundle is built with.
func TestFromRoutesMatchesIstioCRDs(t *testing.T) {
	schemas := istioSchemas(t)
	s := schemas[TelemetryAPIVersion+"/"+TelemetryKind]
	for _, tc := range fromRoutesCases() {
		out, err := FromRoutes(routeInventory(t, tc.files...), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		data, err := out.YAML()
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range yamlDocuments(t, data) {
			var obj map[string]any
			if err := json.Unmarshal(doc, &obj); err != nil {
				t.Fatal(err)
			}
			for _, p := range s.validate(obj) {
				t.Errorf("%s: %s", tc.name, p)
			}
		}
	}
}

// TestFromRoutesReadBack: what init writes, read back with the route
// objects, is a route set of their names on the chosen side, and nothing
// to report but the unnamed rules it suggests names for.
func TestFromRoutesReadBack(t *testing.T) {
	for _, tc := range fromRoutesCases() {
		t.Run(tc.name, func(t *testing.T) {
			out, err := FromRoutes(routeInventory(t, tc.files...), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			data, err := out.YAML()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "telemetry.yaml"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			inv := routeInventory(t, tc.files...)
			res, err := manifest.ReadPaths([]string{filepath.Join(dir, "telemetry.yaml")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := inventory.NewDefaultBuilder()
			all := append(slices.Clone(res.Objects), objectsOf(t, tc.files)...)
			inv = b.Build(all)
			if len(inv.RouteSets) == 0 {
				t.Fatalf("no route set; diagnostics %v", inv.Diagnostics)
			}
			for _, d := range inv.Diagnostics {
				if d.Code != "RB103" {
					t.Errorf("%s %s %s: %s", d.Code, d.Object, d.Field, d.Message)
				}
			}
			if got, want := countCode(inv, "RB103"), len(out.Suggestions); got != want {
				t.Errorf("%d RB103, %d suggestions", got, want)
			}
			proxy := map[Side]inventory.ProxyKind{SideWaypoint: inventory.ProxyWaypoint, SideGateway: inventory.ProxyGateway, SideClient: inventory.ProxyClientSidecar}[tc.opts.Side]
			for _, rs := range inv.RouteSets {
				if rs.Routing == nil || rs.Routing.Proxy != proxy || !rs.HasLatency() {
					t.Errorf("route set %s: routing %+v", rs.ID, rs.Routing)
				}
			}
		})
	}
}

func objectsOf(t *testing.T, files []string) []manifest.Object {
	t.Helper()
	return readFiles(t, files).Objects
}

// readFiles reads manifests from files relative to the module root.
func readFiles(t *testing.T, files []string) *manifest.Result {
	t.Helper()
	root := testutil.ModuleRoot(t)
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(root, f))
	}
	res, err := manifest.ReadPaths(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func countCode(inv *inventory.Inventory, code string) int {
	n := 0
	for _, d := range inv.Diagnostics {
		if d.Code == code {
			n++
		}
	}
	return n
}

func TestFromRoutesErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		opts  RouteNamesOptions
		want  string
	}{
		{"no side", exampleRoutes, RouteNamesOptions{Side: "ingress"}, `side "ingress"`},
		{"no route objects", []string{"examples/podinfo/namespace.yaml"}, RouteNamesOptions{Side: SideWaypoint}, "no HTTPRoute"},
		{"no gateway", exampleRoutes, RouteNamesOptions{Side: SideGateway}, "no route object of the input applies on the gateway side"},
		{"selector at a waypoint", exampleRoutes, RouteNamesOptions{Side: SideWaypoint, Selector: map[string]string{"app": "a"}}, "client sidecars only"},
		{"bad tag", exampleRoutes, RouteNamesOptions{Side: SideWaypoint, Tag: "route-name"}, `tag "route-name"`},
	} {
		_, err := FromRoutes(routeInventory(t, tc.files...), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestFromRoutesInvalidNames: a VirtualService host whose Service part no
// Service can be named (hosts are not checked as names; istiod lowercases
// them) gets no Telemetry at the waypoint side,
// and a note says why; with nothing else to write, that is the error.
func TestFromRoutesInvalidNames(t *testing.T) {
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	vs := func(host string) string {
		return "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: bookinfo}\nspec:\n  hosts: [" + host + "]\n  http:\n  - name: all\n    route: [{destination: {host: reviews}}]\n"
	}
	read := func(docs ...string) *inventory.Inventory {
		objs, diags := manifest.Decode("routes.yaml", []byte(strings.Join(docs, "---\n")))
		return b.FromManifests(&manifest.Result{Objects: objs, Diagnostics: diags})
	}
	_, err = FromRoutes(read(vs("Bad_Name.bookinfo.svc.cluster.local")), RouteNamesOptions{Side: SideWaypoint})
	if err == nil || !strings.Contains(err.Error(), `Service "bad_name"`) {
		t.Errorf("only an invalid Service name: %v", err)
	}
	out, err := FromRoutes(read(vs("Bad_Name.bookinfo.svc.cluster.local"), strings.ReplaceAll(vs("ratings.shop.svc.cluster.local"), "namespace: bookinfo", "namespace: shop")), RouteNamesOptions{Side: SideWaypoint})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Telemetries) != 1 || out.Telemetries[0].Metadata.Namespace != "shop" || len(out.Notes) != 1 || !strings.Contains(out.Notes[0], "bad_name") {
		t.Errorf("%d Telemetries, notes %q", len(out.Telemetries), out.Notes)
	}
}
