package exporter

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/inventory"
)

func TestPlanQueriesParseAndStayBounded(t *testing.T) {
	inv := testInventory(t)
	// Route values are user input: quotes, backslashes and regex syntax
	// must survive the trip into PromQL.
	odd := inventory.Route{Value: `GET /a"b\c.*(d)|e`}
	inv.RouteSets[1].Routes = append(inv.RouteSets[1].Routes, odd)
	p := newPlan(inv)
	if len(p.tags) != 1 || p.namespaces == nil {
		t.Fatalf("tags %v, namespaces %v", p.tags, p.namespaces)
	}
	first := p.queries(5 * time.Minute)
	few, filteredFew := p.valueQueries("route_name", 10, time.Hour)
	many, filteredMany := p.valueQueries("route_name", 1e6, time.Hour)
	if n := len(first) + len(few); n != tagQueries+4 || filteredFew || !filteredMany || len(many) != len(few)+1 {
		t.Errorf("%d queries for one tag, want %d; filtered %v %v", n, tagQueries+4, filteredFew, filteredMany)
	}
	for _, q := range append(append(first, few...), many...) {
		e, err := parser.NewParser(parser.Options{}).ParseExpr(q.expr)
		if err != nil {
			t.Fatalf("%s does not parse: %v", q.expr, err)
		}
		if e.String() != q.expr {
			t.Errorf("%s prints back as %s", q.expr, e)
		}
	}
	if strings.Contains(few[0].expr, "GET /cart") {
		t.Errorf("a tag with few values is filtered by value: %s", few[0].expr)
	}
	if !strings.Contains(many[1].expr, `GET /cart`) || !strings.Contains(many[1].expr, `\\\\c\\.\\*\\(d\\)\\|e`) {
		t.Errorf("a tag with many values is not filtered to the configured ones, escaped: %s", many[1].expr)
	}
}

func TestPlanMeshWideSetsExcludeNamespacesWithTheirOwn(t *testing.T) {
	count := []inventory.Metric{inventory.RequestCount}
	inv := &inventory.Inventory{RouteSets: []inventory.RouteSet{
		{ID: "mesh", Namespace: inventory.RootNamespace, Scope: inventory.Scope{Kind: inventory.ScopeMesh}, Tag: "route_name", Metrics: count, Routes: []inventory.Route{{Value: "a"}}},
		{ID: "own", Namespace: "shop", Scope: inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "shop"}, Tag: "route_name", Metrics: count, Routes: []inventory.Route{{Value: "b"}}},
		// Not on REQUEST_COUNT: configuration series only.
		{ID: "rate-less", Namespace: "shop", Scope: inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "shop"}, Tag: "other", Routes: []inventory.Route{{Value: "c"}}},
	}}
	p := newPlan(inv)
	mesh, own, none := p.sets[0].traffic, p.sets[1].traffic, p.sets[2].traffic
	if !mesh.Covers("podinfo", "", false) || mesh.Covers("shop", "", false) || !own.Covers("shop", "", false) || own.Covers("podinfo", "", false) || none != nil {
		t.Errorf("traffic: mesh %+v, own %+v, none %+v", mesh, own, none)
	}
	if p.namespaces != nil || !slices.Equal(p.tags, []string{"route_name"}) {
		t.Errorf("a mesh-wide set must not restrict the namespaces: %v; tags %v", p.namespaces, p.tags)
	}
	if !p.sets[1].trafficKnown["b"] || p.sets[1].trafficKnown["a"] || !p.sets[0].trafficKnown["a"] {
		t.Errorf("values known in the traffic: mesh %v, own %v", p.sets[0].trafficKnown, p.sets[1].trafficKnown)
	}
}

// TestPlanSides: a tag read on both sides, and restricted to apps on the
// server side, costs the same queries as any tag; each selects both sides
// and labels their rows, and groups the server side by app.
func TestPlanSides(t *testing.T) {
	count := []inventory.Metric{inventory.RequestCount}
	inv := &inventory.Inventory{RouteSets: []inventory.RouteSet{
		{ID: "gw", Namespace: "istio-ingress", Scope: inventory.Scope{Kind: inventory.ScopeGateway, Namespace: "istio-ingress"}, Tag: "route_name",
			Metrics: count, Reporter: inventory.ReporterSource, Routes: []inventory.Route{{Value: "a"}}},
		{ID: "mesh", Namespace: inventory.RootNamespace, Scope: inventory.Scope{Kind: inventory.ScopeMesh, Selector: map[string]string{"app": "reviews"}},
			Tag: "route_name", Metrics: count, Routes: []inventory.Route{{Value: "b"}}},
	}}
	p := newPlan(inv)
	first := p.queries(5 * time.Minute)
	second, _ := p.valueQueries("route_name", 10, time.Hour)
	if n := len(first) + len(second); n != tagQueries+4 {
		t.Fatalf("%d queries for one tag on two sides, want %d", n, tagQueries+4)
	}
	for _, q := range append(first, second...) {
		if q.tag == "" {
			if q.kind != qMangled && !strings.Contains(q.expr, "destination_app") {
				t.Errorf("topology query without destination_app: %s", q.expr)
			}
			continue
		}
		for _, want := range []string{`reporter="source"`, `reporter=~"waypoint|destination"`, `"` + sideServer + `"`, `"` + sideClient + `"`, "destination_app"} {
			if !strings.Contains(q.expr, want) {
				t.Errorf("%s lacks %s", q.expr, want)
			}
		}
		if _, err := parser.NewParser(parser.Options{}).ParseExpr(q.expr); err != nil {
			t.Errorf("%s does not parse: %v", q.expr, err)
		}
	}
}

// TestPredictCountsTheClientSideSetsOwnProxies: every client-side set of a
// tag shares one traffic, but each set's routes are written by its own
// proxies only: its prediction counts the peers in its namespace (of its
// app, for sidecars selected by app), a root set's every client; the
// server side counts every server-side reporter, as before.
func TestPredictCountsTheClientSideSetsOwnProxies(t *testing.T) {
	count := []inventory.Metric{inventory.RequestCount}
	routes := []inventory.Route{{Value: "a"}}
	client := func(id, ns string, scope inventory.Scope) inventory.RouteSet {
		return inventory.RouteSet{ID: id, Namespace: ns, Scope: scope, Tag: "route_name", Metrics: count, Reporter: inventory.ReporterSource, Routes: routes}
	}
	inv := &inventory.Inventory{RouteSets: []inventory.RouteSet{
		client("gw", "istio-ingress", inventory.Scope{Kind: inventory.ScopeGateway, Namespace: "istio-ingress"}),
		client("frontend", "frontend", inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "frontend", Selector: map[string]string{"app": "frontend"}}),
		client("root", inventory.RootNamespace, inventory.Scope{Kind: inventory.ScopeMesh}),
		{ID: "server", Namespace: "bookinfo", Scope: inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "bookinfo"}, Tag: "operation", Metrics: count, Mode: "SERVER", Routes: routes},
	}}
	p := newPlan(inv)
	var peersExpr string
	for _, q := range p.queries(5 * time.Minute) {
		if q.kind == qPeers {
			peersExpr = q.expr
		}
	}
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(peersExpr); err != nil || !strings.Contains(peersExpr, labelSourceApp) || !strings.Contains(peersExpr, labelSourceNamespace) {
		t.Errorf("peers query %s (%v): want the client side by source namespace and app", peersExpr, err)
	}
	w := workloadKey{namespace: "bookinfo", workload: "productpage-v1"}
	s := newSnapshot()
	s.codes[w] = 2
	s.peers[w] = map[peerKey]float64{
		{reporter: "source", namespace: "istio-ingress", app: "bookinfo-gateway-istio"}: 2,
		{reporter: "source", namespace: "frontend", app: "frontend"}:                    1,
		{reporter: "source", namespace: "frontend", app: "admin"}:                       1,
		{reporter: "source", namespace: "shop", app: "storefront"}:                      3,
		{reporter: "destination"}: 4,
	}
	// (a + unknown) x 2 codes x the peers of each set.
	want := map[string]float64{"gw": 2 * 2 * 2, "frontend": 2 * 2 * 1, "root": 2 * 2 * (2 + 1 + 1 + 3), "server": 2 * 2 * 4}
	for _, sp := range p.sets {
		if got := predict(sp, s).requests; got != want[sp.rs.ID] {
			t.Errorf("predicted series of %s = %g, want %g", sp.rs.ID, got, want[sp.rs.ID])
		}
	}
	// Without a set selecting its clients by app, the rows are by
	// namespace only.
	q := newPlan(&inventory.Inventory{RouteSets: inv.RouteSets[:1]}).peersQuery(nil, []string{labelNamespace, labelWorkload})
	if strings.Contains(q.String(), labelSourceApp) {
		t.Errorf("peers query groups by source_app with no set selecting by app: %s", q)
	}
}
