package routing_test

import (
	"slices"
	"testing"
	"time"

	"github.com/routebundle/routebundle/routing"
)

func names(t routing.Table) []string { return t.Names() }

// TestWhereRoutesApply checks which route objects a waypoint and client
// sidecars use for a service, against istiod's SelectVirtualServices
// (consumer routes of the client's namespace first),
// getVirtualServiceForWaypoint (routes of the waypoint's and the service's
// namespace) and the default route where none applies.
func TestWhereRoutesApply(t *testing.T) {
	ix := load(t, "bookinfo-reviews.yaml").Routes.Index
	reviews := routing.Service{Namespace: "bookinfo", Name: "reviews"}
	producer := []string{"bookinfo.reviews.0", "bookinfo.reviews.1"}
	for _, tc := range []struct {
		kind routing.ProxyKind
		ns   string
		want []string
	}{
		{routing.ClientSidecar, "frontend", []string{"reviews-v3"}},
		{routing.ClientSidecar, "ratings", producer},
		{routing.ClientSidecar, "bookinfo", producer},
		{routing.Waypoint, "bookinfo", producer},
		// A waypoint of another namespace still takes the producer's
		// routes (the service's namespace), never the consumer's.
		{routing.Waypoint, "istio-waypoints", producer},
	} {
		if got := names(ix.ServiceRoutes(tc.kind, tc.ns, reviews)); !slices.Equal(got, tc.want) {
			t.Errorf("%s in %s: %q, want %q", tc.kind, tc.ns, got, tc.want)
		}
	}
	if got := names(ix.ServiceRoutes(routing.Waypoint, "bookinfo", routing.Service{Namespace: "bookinfo", Name: "details"})); !slices.Equal(got, []string{routing.DefaultRouteName}) {
		t.Errorf("a service without routes: %q, want the default route", got)
	}
	if r, ok := ix.ServiceRoutes(routing.Waypoint, "bookinfo", reviews).Match(routing.Request{Method: "GET", Path: "/reviews/0", Headers: map[string]string{"end-user": "jason"}}); !ok || r.Name != "bookinfo.reviews.0" {
		t.Errorf("jason gets %q", r.Name)
	}
}

func vs(ns, name string, created int, hosts []string, exportTo ...string) *routing.Object {
	return &routing.Object{
		Kind: routing.VirtualService, Namespace: ns, Name: name, Hosts: hosts, ExportTo: exportTo,
		CreationTimestamp: time.Unix(int64(created), 0),
		Rules:             []routing.Rule{{Name: name, Field: "spec.http[0]"}},
	}
}

// TestSidecarVirtualServiceChoice: of several VirtualServices for a host a
// client sidecar uses one, the exact host over a wildcard (Envoy picks
// the most specific virtual host domain), else the oldest visible one
// (httproute.go keeps the first virtual host for a domain).
func TestSidecarVirtualServiceChoice(t *testing.T) {
	cart := routing.Service{Namespace: "shop", Name: "cart"}
	for _, tc := range []struct {
		name string
		objs []*routing.Object
		want string
	}{
		{"exact beats an older wildcard", []*routing.Object{
			vs("shop", "wild", 1, []string{"*.shop.svc.cluster.local"}), vs("shop", "exact", 2, []string{"cart"})}, "exact"},
		{"longer wildcard", []*routing.Object{
			vs("shop", "svc", 1, []string{"*.svc.cluster.local"}), vs("shop", "ns", 2, []string{"*.shop.svc.cluster.local"})}, "ns"},
		{"oldest of two exact", []*routing.Object{
			vs("shop", "newer", 2, []string{"cart"}), vs("shop", "older", 1, []string{"cart.shop.svc.cluster.local"})}, "older"},
		{"private to its namespace is invisible elsewhere", []*routing.Object{
			vs("shop", "private", 1, []string{"cart"}, "."), vs("shop", "public", 2, []string{"cart"})}, "public"},
		{"exported to the client's namespace before public", []*routing.Object{
			vs("shop", "public", 1, []string{"cart"}), vs("shop", "exported", 2, []string{"cart"}, "web")}, "exported"},
		{"exported nowhere", []*routing.Object{vs("shop", "none", 1, []string{"cart"}, "~")}, routing.DefaultRouteName},
		{"a short host is its own namespace's service", []*routing.Object{vs("web", "elsewhere", 1, []string{"cart"})}, routing.DefaultRouteName},
	} {
		ix := routing.NewIndex(tc.objs, routing.Options{})
		if got := names(ix.ServiceRoutes(routing.ClientSidecar, "web", cart)); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestGatewayHosts: at a gateway Envoy picks the table of the request's
// host: exact hostname, then the longest wildcard, then "*".
func TestGatewayHosts(t *testing.T) {
	route := func(name string, hostnames ...string) *routing.Object {
		return &routing.Object{
			Kind: routing.HTTPRoute, Namespace: "web", Name: name, Hostnames: hostnames,
			ParentRefs: []routing.ParentRef{{Group: routing.GatewayGroup, Name: "gw"}},
			Rules:      []routing.Rule{{Name: name, Matches: []routing.Match{{Path: sm(routing.PathPrefix, "/")}}}},
		}
	}
	ix := routing.NewIndex([]*routing.Object{
		route("any"), route("wild", "*.example.com"), route("exact", "shop.example.com"), route("deep", "*.eu.example.com"),
	}, routing.Options{})
	gw := routing.Gateway{Namespace: "web", Name: "gw"}
	for host, want := range map[string]string{
		"shop.example.com": "exact", "SHOP.example.com:8443": "exact", "a.example.com": "wild",
		"a.eu.example.com": "deep", "example.com": "any", "other.org": "any",
	} {
		table, ok := ix.GatewayRoutes(gw, host)
		if !ok || !slices.Equal(table.Names(), []string{want}) {
			t.Errorf("%s: %q (%v), want %q", host, table.Names(), ok, want)
		}
	}
	if tables := ix.GatewayTables(gw); len(tables) != 4 || tables[0].Host != "*" {
		t.Errorf("tables %+v", tables)
	}
	if _, ok := ix.GatewayRoutes(routing.Gateway{Namespace: "web", Name: "other"}, "shop.example.com"); ok {
		t.Error("a gateway no route attaches to has routes")
	}
}
