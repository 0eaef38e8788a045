package rules

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

// routeNameRoutes are routes of an HTTPRoute, as the inventory reads them
// for a tag reading xds.route_name.
func routeNameRoutes(obj string, nameSummary ...string) []inventory.Route {
	var out []inventory.Route
	for i := 0; i+1 < len(nameSummary); i += 2 {
		out = append(out, inventory.Route{Value: nameSummary[i], RouteName: nameSummary[i], Summary: nameSummary[i+1],
			Object: diag.ObjectRef{Kind: "HTTPRoute", Namespace: "podinfo", Name: obj}, Field: "spec.rules[0]"})
	}
	return out
}

// waypointNamesSet is the httproute example: podinfo's route names at its
// waypoint, server side, with an objective and one route overridden.
func waypointNamesSet() inventory.RouteSet {
	return inventory.RouteSet{
		ID: "podinfo/podinfo-waypoint/route-names/route_name", Namespace: "podinfo", Tag: "route_name",
		Scope: inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: "podinfo",
			TargetRefs: []inventory.TargetRef{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "podinfo-waypoint"}}},
		Routes:    routeNameRoutes("podinfo", "get-healthz", "GET /healthz", "post-echo", "POST /echo", "{{ evil }}", `/x{{"}}`),
		Metrics:   []inventory.Metric{inventory.RequestCount, inventory.RequestDuration},
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "podinfo", Name: "route-names"},
		Routing:   &inventory.RouteNames{Proxy: inventory.ProxyWaypoint, Namespace: "podinfo", Gateway: "podinfo-waypoint", Unmatched: series.UnknownRoute},
		Annotations: map[string]string{
			policy.Prefix + "objective": "99.9%",
			policy.RoutesAnnotation:     `{"post-echo": {error-ratio: "1%"}}`,
		},
		Source: diag.Source{File: "telemetry.yaml", Line: 20},
	}
}

// clientNamesSet reads route names on the client side (a gateway, or the
// client sidecars of ns).
func clientNamesSet(id, ns, tag string, proxy inventory.ProxyKind, kind inventory.ScopeKind) inventory.RouteSet {
	return inventory.RouteSet{
		ID: id, Namespace: ns, Tag: tag, Scope: inventory.Scope{Kind: kind, Namespace: ns},
		Routes:    routeNameRoutes("bookinfo", "productpage", "/productpage", "login", "POST /login"),
		Metrics:   []inventory.Metric{inventory.RequestCount},
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: ns, Name: "route-names"},
		Reporter:  inventory.ReporterSource,
		Routing:   &inventory.RouteNames{Proxy: proxy, Namespace: ns, Unmatched: series.UnknownRoute},
		Source:    diag.Source{File: ns + ".yaml", Line: 1},
	}
}

func viewsInventory() *inventory.Inventory {
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{
		waypointNamesSet(),
		// A gateway and the client sidecars of frontend on one tag share the
		// client-side unit.
		clientNamesSet("ingress/gw/route-names/gateway_route", "ingress", "gateway_route", inventory.ProxyGateway, inventory.ScopeGateway),
		clientNamesSet("frontend/route-names/gateway_route", "frontend", "gateway_route", inventory.ProxyClientSidecar, inventory.ScopeNamespace),
		// Client sidecars on the waypoint's tag: podinfo is left to the
		// waypoint's unit.
		clientNamesSet("web/route-names/route_name", "web", "route_name", inventory.ProxyClientSidecar, inventory.ScopeNamespace),
	}}
}

func ruleByName(f RuleFile, record string) string {
	for _, g := range f.Groups.Groups {
		for _, r := range g.Rules {
			if r.Record == record {
				return r.Expr
			}
		}
	}
	return ""
}

func fileNamed(t *testing.T, b *Bundle, name string) RuleFile {
	t.Helper()
	for _, f := range b.Files {
		if f.Name == name {
			return f
		}
	}
	var names []string
	for _, f := range b.Files {
		names = append(names, f.Name)
	}
	t.Fatalf("no rule file %s among %q", name, names)
	return RuleFile{}
}

// TestClientSideUnits: route sets read on the client side are recorded
// from reporter="source", one unit per tag over every destination
// namespace but those a server-side unit of the tag records.
func TestClientSideUnits(t *testing.T) {
	b, diags := Build(viewsInventory(), DefaultOptions())
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	gw := fileNamed(t, b, "routebundle-source-gateway-route")
	if !slices.Equal(gw.RouteSets, []string{"frontend/route-names/gateway_route", "ingress/gw/route-names/gateway_route"}) {
		t.Errorf("gateway_route unit serves %q", gw.RouteSets)
	}
	if e := ruleByName(gw, series.RequestsRate5m); !strings.Contains(e, `reporter="source"`) || strings.Contains(e, "destination_workload_namespace=") {
		t.Errorf("client-side requests rule: %s", e)
	}
	web := fileNamed(t, b, "routebundle-source-route-name")
	if e := ruleByName(web, series.RequestsRate5m); !strings.Contains(e, `destination_workload_namespace!="podinfo"`) || !strings.Contains(e, `reporter="source"`) {
		t.Errorf("client-side route_name rule leaves podinfo to the waypoint's: %s", e)
	}
	pod := fileNamed(t, b, "routebundle-podinfo-route-name")
	if e := ruleByName(pod, series.RequestsRate5m); !strings.Contains(e, `reporter=~"waypoint|destination"`) {
		t.Errorf("waypoint requests rule: %s", e)
	}
}

// TestClientSideRecordedValues evaluates the rules on traffic where each
// request is reported by both sides: the client-side unit counts the
// client's reports, the server-side one the waypoint's, and neither
// counts a request twice.
func TestClientSideRecordedValues(t *testing.T) {
	b, _ := Build(viewsInventory(), DefaultOptions())
	l := newLoad().
		// podinfo behind its waypoint, called by web's sidecars: both report.
		reported("waypoint", "podinfo", "podinfo", "route_name", "post-echo", "200", 600).
		reported("source", "podinfo", "podinfo", "route_name", "post-echo", "200", 600).
		// web's sidecars call reviews, which has no waypoint.
		reported("source", "bookinfo", "reviews", "route_name", "everyone", "200", 120).
		reported("destination", "bookinfo", "reviews", "route_name", "default", "200", 120).
		// The gateway's requests to productpage.
		reported("source", "bookinfo", "productpage", "gateway_route", "login", "500", 60).
		reported("source", "bookinfo", "productpage", "gateway_route", "login", "200", 540)
	w := newWorld(t, l.String(), b.Files)
	w.advance(10 * time.Minute)
	for _, tc := range []struct {
		expr string
		want float64
	}{
		{selector(series.RequestsRate5m, series.LabelWorkloadNamespace, "podinfo", "route_name", "post-echo"), 10},
		{selector(series.RequestsRate5m, series.LabelWorkloadNamespace, "bookinfo", "route_name", "everyone"), 2},
		// The server sidecar's "default" is not the client-side unit's.
		{"count(" + selector(series.RequestsRate5m, "route_name", "default") + ") or vector(0)", 0},
		{selector(series.ErrorRatio5m, series.LabelWorkload, "productpage", "gateway_route", "login"), 0.1},
		{"count(" + selector(series.RequestsRate5m, series.LabelRouteTag, "route_name") + ")", 2},
	} {
		if got := w.value(tc.expr); !closeTo(got, tc.want, 1e-9) {
			t.Errorf("%s = %g, want %g", tc.expr, got, tc.want)
		}
	}
}

// TestClientSideMixedWithMesh: a mesh-wide server-side unit of a tag
// records every namespace, so a client-side unit of that tag is dropped.
func TestClientSideMixedWithMesh(t *testing.T) {
	mesh := meshSet()
	inv := &inventory.Inventory{RouteSets: []inventory.RouteSet{
		mesh, clientNamesSet("web/route-names/route_name", "web", "route_name", inventory.ProxyClientSidecar, inventory.ScopeNamespace),
	}}
	b, diags := Build(inv, DefaultOptions())
	if len(b.Files) != 1 || b.Files[0].RouteSets[0] != mesh.ID {
		t.Errorf("rule files: %+v", b.Files)
	}
	if len(diags) != 1 || diags[0].Code != CodeMixedViews || !strings.Contains(diags[0].Message, "client_route_name") {
		t.Errorf("diagnostics: %v", diags)
	}
}

// TestRouteMatchAnnotation: the alerts of route-object route sets say what
// the route matches; route names and summaries never run as templates.
func TestRouteMatchAnnotation(t *testing.T) {
	b, _ := Build(viewsInventory(), DefaultOptions())
	pod := fileNamed(t, b, "routebundle-podinfo-route-name")
	var setWide, override string
	for _, g := range pod.Groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != series.AlertRouteErrorRatioHigh {
				continue
			}
			if r.Labels[series.AlertLabelRoute] == "post-echo" {
				override = r.Annotations[AnnotationRouteMatch]
			} else {
				setWide = r.Annotations[AnnotationRouteMatch]
			}
		}
	}
	if override != "POST /echo (HTTPRoute podinfo/podinfo)" {
		t.Errorf("override's route_match: %q", override)
	}
	for _, want := range []string{`{{ if eq $route "get-healthz" }}GET /healthz (HTTPRoute podinfo/podinfo)`, `{{ else if eq $route "{{ evil }}" }}{{ "/x{{\"}} (HTTPRoute podinfo/podinfo)" }}`} {
		if !strings.Contains(setWide, want) {
			t.Errorf("set-wide route_match %q lacks %q", setWide, want)
		}
	}
	// Attributegen sets have none.
	for _, f := range buildFixture(t, DefaultOptions()).Files {
		for _, g := range f.Groups.Groups {
			for _, r := range g.Rules {
				if _, ok := r.Annotations[AnnotationRouteMatch]; ok {
					t.Errorf("%s %s: route_match without route objects", f.Name, r.Alert)
				}
			}
		}
	}
	// The unknown share is what no route matches.
	for _, g := range pod.Groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == series.AlertWorkloadUnknownRoutes && !strings.Contains(r.Annotations["description"], "no route of the route objects matches") {
				t.Errorf("unknown-share description: %s", r.Annotations["description"])
			}
		}
	}
}

// TestRouteNameAlertsPassPromtool runs promtool over the rule files of
// route-object route sets, and evaluates the route_match template of a
// firing alert with Prometheus' own template engine.
func TestRouteNameAlertsPassPromtool(t *testing.T) {
	promtool := testutil.Binary(t, "promtool")
	b, _ := Build(viewsInventory(), DefaultOptions())
	dir := t.TempDir()
	for _, f := range b.Files {
		data, err := f.YAML()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, f.Name+".yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(promtool, "check", "rules", "--lint=all", "--lint-fatal", path).CombinedOutput(); err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", f.Name, err, out)
		}
	}
	l := newLoad().
		reported("waypoint", "podinfo", "podinfo", "route_name", "get-healthz", "500", 600).
		reported("waypoint", "podinfo", "podinfo", "route_name", "{{ evil }}", "500", 600)
	w := newWorld(t, l.String(), b.Files)
	w.advance(20 * time.Minute)
	for route, want := range map[string]string{"get-healthz": "GET /healthz (HTTPRoute podinfo/podinfo)", "{{ evil }}": `/x{{"}} (HTTPRoute podinfo/podinfo)`} {
		a := w.alert("RouteErrorRatioHigh | warning | podinfo | podinfo | " + route)
		if got := a.Annotations.Get(AnnotationRouteMatch); got != want {
			t.Errorf("%s: route_match %q, want %q", route, got, want)
		}
	}
}
