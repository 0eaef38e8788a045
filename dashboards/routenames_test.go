package dashboards

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// panelsByTitle returns the dashboard's panels by title.
func panelsByTitle(d dashboard.Dashboard) map[string]*dashboard.Panel {
	out := map[string]*dashboard.Panel{}
	for _, pr := range d.Panels {
		if pr.Panel != nil && pr.Panel.Title != nil {
			out[*pr.Panel.Title] = pr.Panel
		}
	}
	return out
}

// TestRouteNamesShowWhatTheyMatch: a dashboard of route names maps each
// name to what its route matches in the routes table and lists them in a
// legend; attributegen dashboards have neither.
func TestRouteNamesShowWhatTheyMatch(t *testing.T) {
	ds, _ := build(t, httprouteInventory())
	byUID := map[string]Dashboard{}
	for _, d := range ds {
		byUID[d.UID] = d
	}
	wp := panelsByTitle(byUID["podinfo-podinfo-waypoint-75b8038247dc"].Dashboard)
	legend := wp["Route names"]
	if legend == nil || legend.Type != "text" {
		t.Fatalf("no route names legend: %v", legend)
	}
	opts, _ := json.Marshal(legend.Options)
	for _, want := range []string{`get-healthz         GET /healthz`, `"mode":"code"`, `\"two\\nlines\"`, "`$\u200broute` | $\u200b{namespace}"} {
		if !strings.Contains(string(opts), want) {
			t.Errorf("legend lacks %q:\n%s", want, opts)
		}
	}
	table, _ := json.Marshal(wp["Routes"].FieldConfig)
	for _, want := range []string{`"id":"mappings"`, `"get-healthz":{"index":0,"text":"get-healthz: GET /healthz"}`} {
		if !strings.Contains(string(table), want) {
			t.Errorf("routes table lacks %q", want)
		}
	}
	podinfo, _ := build(t, podinfoInventory())
	for _, d := range podinfo {
		if p := panelsByTitle(d.Dashboard); p["Route names"] != nil || p["Routes"] != nil && strings.Contains(mustString(t, p["Routes"].FieldConfig), "mappings") {
			t.Errorf("%s: route names shown for attributegen routes", d.UID)
		}
	}
}

// TestClientSideDashboard: names read at a gateway are on the client
// side's series, whose destinations are in any namespace: the namespace is
// a variable, and the untagged panel reads reporter="source".
func TestClientSideDashboard(t *testing.T) {
	ds, _ := build(t, httprouteInventory())
	var gw *Dashboard
	for i := range ds {
		if strings.HasPrefix(ds[i].UID, "ingress-public") {
			gw = &ds[i]
		}
	}
	if gw == nil {
		t.Fatal("no gateway dashboard")
	}
	if *gw.Dashboard.Title != "Routes / ingress / gateway public" {
		t.Errorf("title %q", *gw.Dashboard.Title)
	}
	for _, v := range gw.Dashboard.Templating.List {
		if v.Name == VarNamespace && v.Type != dashboard.VariableTypeQuery {
			t.Errorf("namespace variable is %s, want a query", v.Type)
		}
	}
	untagged := mustString(t, panelsByTitle(gw.Dashboard)["Requests without the route tag"].Targets)
	if !strings.Contains(untagged, `reporter=\"source\"`) {
		t.Errorf("untagged requests: %s", untagged)
	}
}

func mustString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
