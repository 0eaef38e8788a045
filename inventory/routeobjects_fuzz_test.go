package inventory

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/routing"
)

// FuzzRouteObjects reads arbitrary YAML as route objects. Reading must
// never panic and be deterministic; every route gets the name istiod's
// rules give it; tables and matching must hold up against whatever the
// objects say (regexes included).
func FuzzRouteObjects(f *testing.F) {
	for _, dir := range []string{filepath.Join("testdata", "routes"), filepath.Join("..", "routing", "testdata")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  parentRefs: [{group: '', kind: Service, name: s, port: 80}]\n  rules:\n  - matches: [{path: {type: RegularExpression, value: '(['}, headers: [{name: a, value: b, type: RegularExpression}]}]\n  - name: x\n    matches: [{queryParams: [{name: q, value: '*'}], method: GET}]\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: ['*.example.com', s]\n  gateways: [mesh, gw, other/gw, gw.ns.svc.cluster.local]\n  http:\n  - match: [{uri: {regex: '*'}, headers: {a: {}, '@request.auth.claims.group': {exact: x}}, withoutHeaders: {b: {prefix: c}}, port: 80, sourceLabels: {app: x}}]\n    delegate: {name: v}\n  - {name: d, match: [{gateways: [gw]}]}\n",
		"apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: ['*.x']\n  rules: [{matches: [{method: {type: RegularExpression, service: 'a.+'}}]}, {}, 3]\n",
		// Route names read at a waypoint, a gateway and client sidecars.
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {istio.io/use-waypoint: w}}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: a}\nspec:\n  parentRefs: [{group: '', kind: Service, name: s}, {name: gw}]\n  rules: [{name: x, matches: [{path: {type: Exact, value: /x}}]}, {}]\n---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: a}\nspec:\n  metrics: [{overrides: [{tagOverrides: {route_name: {value: \"has(xds.route_name) ? xds.route_name : 'none'\"}}}]}]\n---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: g, namespace: a}\nspec:\n  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]\n  metrics: [{overrides: [{match: {mode: CLIENT}, tagOverrides: {gw_route: {value: xds.route_name}}}]}]\n",
	} {
		f.Add([]byte(s))
	}
	b, err := NewDefaultBuilder()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, diags := manifest.Decode("fuzz.yaml", data)
		res := &manifest.Result{Objects: objs, Diagnostics: diags}
		inv := b.FromManifests(res)
		again := b.FromManifests(res)
		if !bytes.Equal(marshalRoutes(t, inv), marshalRoutes(t, again)) || fullText(inv.Routes.Diagnostics) != fullText(again.Routes.Diagnostics) ||
			fullText(inv.Diagnostics) != fullText(again.Diagnostics) || !bytes.Equal(mustMarshal(t, inv.RouteSets), mustMarshal(t, again.RouteSets)) {
			t.Fatal("two readings of the same objects differ")
		}
		checkRouteInvariants(t, inv, data)
		checkRouteNameSets(t, inv)
	})
}

func marshalRoutes(t *testing.T, inv *Inventory) []byte {
	t.Helper()
	var all [][]routing.Route
	for _, o := range inv.Routes.Index.Objects() {
		all = append(all, inv.Routes.Index.Routes(o))
	}
	out, err := json.Marshal(struct {
		Objects []*routing.Object
		Routes  [][]routing.Route
	}{inv.Routes.Index.Objects(), all})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkRouteInvariants(t *testing.T, inv *Inventory, data []byte) {
	t.Helper()
	ix := inv.Routes.Index
	codes := make(map[string]diag.Severity)
	for _, ci := range diag.Codes() {
		codes[ci.Code] = ci.Severity
	}
	for _, d := range inv.Routes.Diagnostics {
		if sev, ok := codes[d.Code]; !ok || sev != d.Severity || d.Message == "" {
			t.Errorf("bad diagnostic %v", d)
		}
	}
	// A request made of the input's own bytes, so that matching meets the
	// objects' strings.
	req := routing.Request{Method: "GET", Path: "/" + string(data[:min(len(data), 40)]), Host: "x.example.com",
		Headers: map[string]string{"a": string(data[:min(len(data), 8)])}}
	for _, o := range ix.Objects() {
		for _, r := range ix.Routes(o) {
			rule := &r.Object.Rules[r.Rule]
			switch {
			case o.GatewayAPI() && r.Name != routing.GatewayAPIRouteName(o.Namespace, o.Name, rule.Index, rule.Name):
				t.Errorf("%s rule %d: name %q", o.Name, r.Rule, r.Name)
			case o.Kind == routing.VirtualService && r.Root == nil && r.Matches != nil &&
				r.Name != routing.VirtualServiceRouteName(rule.Name, r.Matches.Name):
				t.Errorf("%s entry %d: name %q", o.Name, r.Rule, r.Name)
			}
			_ = r.Summary()
		}
		for _, p := range ix.Parents(o) {
			var table routing.Table
			switch p.Kind {
			case routing.ParentGateway:
				table, _ = ix.GatewayRoutes(routing.Gateway{Namespace: p.Namespace, Name: p.Name}, req.Host)
			case routing.ParentIstioGateway:
				table, _ = ix.GatewayRoutes(routing.Gateway{Namespace: p.Namespace, Name: p.Name, Istio: true}, req.Host)
			default:
				table = ix.ServiceRoutes(routing.Waypoint, o.Namespace, routing.Service{Namespace: p.Namespace, Name: p.Name})
			}
			if r, ok := table.Match(req); ok && !slices.ContainsFunc(table.Routes, func(x routing.Route) bool { return x.Name == r.Name }) {
				t.Errorf("matched %q, not in the table", r.Name)
			}
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRouteNameSets: a route set reading route names lists routes, each
// named as a route of its tables, and matching against them holds up.
func checkRouteNameSets(t *testing.T, inv *Inventory) {
	t.Helper()
	for i := range inv.RouteSets {
		rs := &inv.RouteSets[i]
		if rs.Routing == nil {
			continue
		}
		if len(rs.Routes) == 0 {
			t.Errorf("%s: no routes", rs.ID)
		}
		var names []string
		for _, pt := range inv.RouteTables(rs) {
			for _, r := range pt.Table.Routes {
				names = append(names, r.Name)
			}
			pt.Table.Match(routing.Request{Method: "GET", Path: "/x"})
		}
		for _, r := range rs.Routes {
			if !slices.Contains(names, r.RouteName) {
				t.Errorf("%s: route %q is in none of its tables", rs.ID, r.RouteName)
			}
		}
	}
}
