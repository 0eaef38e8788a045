package exporter

import (
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
	inv := &inventory.Inventory{RouteSets: []inventory.RouteSet{
		{ID: "mesh", Namespace: inventory.RootNamespace, Scope: inventory.Scope{Kind: inventory.ScopeMesh}, Tag: "route_name", Routes: []inventory.Route{{Value: "a"}}},
		{ID: "own", Namespace: "shop", Scope: inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "shop"}, Tag: "route_name", Routes: []inventory.Route{{Value: "b"}}},
	}}
	p := newPlan(inv)
	mesh, own := p.sets[0], p.sets[1]
	if !mesh.covers("podinfo") || mesh.covers("shop") || !own.covers("shop") || own.covers("podinfo") {
		t.Errorf("coverage: mesh %v, own %v", mesh.exclude, own.namespace)
	}
	if p.namespaces != nil {
		t.Errorf("a mesh-wide set must not restrict the namespaces: %v", p.namespaces)
	}
	k := p.knownValues()
	if !k.in("route_name", "shop")["b"] || k.in("route_name", "shop")["a"] || !k.in("route_name", "podinfo")["a"] {
		t.Errorf("known values %+v", k)
	}
}
