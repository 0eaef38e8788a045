package inventory

import (
	"slices"
	"testing"

	"github.com/prometheus/common/model"
)

func trafficSet(id, ns string, kind ScopeKind, tag string, opts ...func(*RouteSet)) RouteSet {
	rs := RouteSet{
		ID: id, Namespace: ns, Tag: tag, Metrics: []Metric{RequestCount},
		Scope:  Scope{Kind: kind, Namespace: ns},
		Routes: []Route{{Value: "GET /" + id}},
	}
	if kind == ScopeMesh {
		rs.Scope.Namespace = ""
	}
	for _, o := range opts {
		o(&rs)
	}
	return rs
}

func withApp(app string) func(*RouteSet) {
	return func(rs *RouteSet) { rs.Scope.Selector = map[string]string{"app": app} }
}

func readOnClient(rs *RouteSet) { rs.Reporter = ReporterSource }

// describe renders a traffic for comparison.
type described struct {
	tag, namespace  string
	exclude, apps   []string
	client          bool
	sets            []string
	coversBookinfo  bool
	coversReviews   bool
	coversClientBKI bool
}

func describeTraffic(t *Traffic) described {
	d := described{tag: t.Tag, namespace: t.Namespace, exclude: t.Exclude, apps: t.Apps, client: t.ClientSide,
		coversBookinfo: t.Covers("bookinfo", "productpage", false), coversReviews: t.Covers("bookinfo", "reviews", false),
		coversClientBKI: t.Covers("bookinfo", "productpage", true)}
	for _, rs := range t.Sets {
		d.sets = append(d.sets, rs.ID)
	}
	return d
}

func TestTrafficGroupsRouteSets(t *testing.T) {
	noCount := func(rs *RouteSet) { rs.Metrics = []Metric{RequestDuration} }
	inv := &Inventory{RouteSets: []RouteSet{
		// Sorted by ID in the inventory, but Traffic must not rely on it.
		trafficSet("shop/b", "shop", ScopeWorkload, "route_name", withApp("cart")),
		trafficSet("shop/a", "shop", ScopeNamespace, "route_name"),
		trafficSet("istio-system/m2", RootNamespace, ScopeMesh, "route_name", withApp("reviews")),
		trafficSet("istio-system/m1", RootNamespace, ScopeMesh, "route_name", withApp("productpage")),
		trafficSet("istio-system/op", RootNamespace, ScopeMesh, "request_operation"),
		trafficSet("istio-system/op2", RootNamespace, ScopeMesh, "request_operation", withApp("ratings")),
		// A gateway in istio-ingress and client sidecars of frontend: the
		// requests they send, to any namespace but those with server-side
		// traffic of the tag.
		trafficSet("istio-ingress/gw", "istio-ingress", ScopeGateway, "gw_route", readOnClient),
		trafficSet("frontend/sc", "frontend", ScopeNamespace, "gw_route", readOnClient),
		trafficSet("ratings/own", "ratings", ScopeNamespace, "gw_route"),
		trafficSet("bad/tag", "bad", ScopeNamespace, "response_code"),
		trafficSet("bad/metric", "bad", ScopeNamespace, "route_name", noCount),
	}}
	var got []described
	for _, tr := range inv.Traffic() {
		got = append(got, describeTraffic(tr))
	}
	want := []described{
		{tag: "gw_route", client: true, exclude: []string{"ratings"}, sets: []string{"frontend/sc", "istio-ingress/gw"}, coversClientBKI: true},
		{tag: "route_name", apps: []string{"productpage", "reviews"}, exclude: []string{"shop"},
			sets: []string{"istio-system/m1", "istio-system/m2"}, coversBookinfo: true, coversReviews: true},
		// One set without an app selector: every workload the tag is on.
		{tag: "request_operation", sets: []string{"istio-system/op", "istio-system/op2"}, coversBookinfo: true, coversReviews: true},
		{tag: "gw_route", namespace: "ratings", sets: []string{"ratings/own"}},
		{tag: "route_name", namespace: "shop", sets: []string{"shop/a", "shop/b"}},
	}
	if !slices.EqualFunc(got, want, func(a, b described) bool {
		return a.tag == b.tag && a.namespace == b.namespace && slices.Equal(a.exclude, b.exclude) && slices.Equal(a.apps, b.apps) &&
			a.client == b.client && slices.Equal(a.sets, b.sets) && a.coversBookinfo == b.coversBookinfo &&
			a.coversReviews == b.coversReviews && a.coversClientBKI == b.coversClientBKI
	}) {
		t.Errorf("traffic:\n got  %+v\n want %+v", got, want)
	}
	for _, tr := range inv.Traffic() {
		for _, rs := range tr.Sets {
			if rs.ID == "bad/tag" || rs.ID == "bad/metric" {
				t.Errorf("route set %s has no traffic but is in one", rs.ID)
			}
			if i := slices.IndexFunc(inv.RouteSets, func(x RouteSet) bool { return x.ID == rs.ID }); &inv.RouteSets[i] != rs {
				t.Errorf("route set %s is a copy, not the inventory's", rs.ID)
			}
		}
	}
	if (*Inventory)(nil).Traffic() != nil {
		t.Error("a nil inventory has traffic")
	}
}

func TestTrafficCovers(t *testing.T) {
	ns := &Traffic{Tag: "t", Namespace: "shop"}
	mesh := &Traffic{Tag: "t", Exclude: []string{"shop"}}
	apps := &Traffic{Tag: "t", Apps: []string{"cart"}}
	client := &Traffic{Tag: "t", ClientSide: true, Exclude: []string{"shop"}}
	for _, c := range []struct {
		t          *Traffic
		ns, app    string
		clientSide bool
		want       bool
	}{
		{ns, "shop", "cart", false, true},
		{ns, "shop", "", false, true},
		{ns, "shop", "cart", true, false},
		{ns, "other", "cart", false, false},
		{mesh, "other", "", false, true},
		{mesh, "shop", "", false, false},
		{mesh, "other", "", true, false},
		{apps, "any", "cart", false, true},
		{apps, "any", "search", false, false},
		{apps, "any", "", false, false},
		{client, "bookinfo", "reviews", true, true},
		{client, "bookinfo", "reviews", false, false},
		{client, "shop", "cart", true, false},
	} {
		if got := c.t.Covers(c.ns, c.app, c.clientSide); got != c.want {
			t.Errorf("%+v covers (%q, %q, client %v) = %v, want %v", *c.t, c.ns, c.app, c.clientSide, got, c.want)
		}
	}
}

// TestTagLabelError follows Prometheus' own check of a classic label name.
func TestTagLabelError(t *testing.T) {
	for _, tag := range []string{"route_name", "request_operation", "_x", "X9", "", "9x", "a-b", "a.b", "ä", "__name__", "__x",
		"reporter", "response_code", "destination_workload", "destination_workload_namespace", "le", "quantile", "route_tag", "a\xff"} {
		want := model.LabelName(tag).IsValidLegacy() && tag[:min(2, len(tag))] != "__" &&
			!slices.Contains([]string{"reporter", "response_code", "destination_workload", "destination_workload_namespace", "le", "quantile", "route_tag"}, tag)
		if err := TagLabelError(tag); (err == nil) != want {
			t.Errorf("TagLabelError(%q) = %v, want usable %v", tag, err, want)
		}
	}
}

func FuzzTagLabelName(f *testing.F) {
	for _, s := range []string{"route_name", "9", "a9", "_", "a-b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := legacyLabelName(s), model.LabelName(s).IsValidLegacy(); got != want {
			t.Errorf("legacyLabelName(%q) = %v, Prometheus says %v", s, got, want)
		}
	})
}
