package rules

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

func sloSet(ns string) inventory.RouteSet {
	return inventory.RouteSet{
		ID: ns + "/slo", Namespace: ns, Tag: "route_name",
		Scope:       inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: ns},
		Routes:      routes("A", "B", "C"),
		Metrics:     []inventory.Metric{inventory.RequestCount},
		Telemetry:   diag.ObjectRef{Kind: "Telemetry", Namespace: ns, Name: "slo"},
		Annotations: map[string]string{policy.Prefix + "objective": "0.99"},
	}
}

// rawRate is the per-route request rate over w read from the raw counter
// the way Sloth and Pyrra do: rate() over the whole window.
func rawRate(u *unit, w series.Window, extra ...*labels.Matcher) parser.Expr {
	return sumBy(rangeCall("rate", u.raw(series.IstioRequestsTotal, extra...), duration(w)), u.by()...)
}

// rawWindow computes a long-window series from the raw counters.
func rawWindow(u *unit, c *compiled, name string, w series.Window) string {
	rate := func(extra ...*labels.Matcher) parser.Expr { return rawRate(u, w, extra...) }
	switch name {
	case series.RequestsRate(w):
		return rate().String()
	case series.ErrorsRate(w):
		return rate(c.errorMatchers...).String()
	}
	return binary(parser.DIV, rate(c.errorMatchers...), rate()).String()
}

// The long windows are averaged from the recorded 5m rates. For steady
// traffic that is exactly rate() over the long window; when the rate steps
// inside the window the two differ by at most 5m/W of the step, and they
// agree again once the step has left the window.
func TestDerivedWindowsMatchRaw(t *testing.T) {
	const tag = "route_name"
	// A and B are steady (B with 1% errors); C steps from 1/s to 10/s at 3h.
	l := newLoad()
	for _, s := range []struct{ route, code, values string }{
		{"A", "200", "0+60x420"},
		{"B", "200", "0+594x420"},
		{"B", "500", "0+6x420"},
		{"C", "200", "0+60x180 11400+600x239"},
	} {
		l.values(series.IstioRequestsTotal, s.values, series.LabelReporter, "destination",
			series.LabelWorkloadNamespace, "steady", series.LabelWorkload, "api", tag, s.route,
			series.LabelResponseCode, s.code)
	}
	inv := &inventory.Inventory{RouteSets: []inventory.RouteSet{sloSet("steady")}}
	c, err := DefaultOptions().compile()
	if err != nil {
		t.Fatal(err)
	}
	units, _ := buildUnits(inv, &c)
	w := newWorld(t, l.String(), buildFilesOf(t, inv))

	const step = 9.0 // C's rate step, requests/s
	all := func(win series.Window) []string {
		return []string{series.RequestsRate(win), series.ErrorsRate(win), series.ErrorRatio(win)}
	}
	for _, tc := range []struct {
		at      time.Duration
		route   string
		window  series.Window
		names   []string
		maxDiff float64
	}{
		{at: 3*time.Hour + 30*time.Minute, route: "C", window: series.Window1h, maxDiff: step * 5 / 60},
		{at: 3*time.Hour + 30*time.Minute, route: "A", window: series.Window1h},
		{at: 4*time.Hour + 15*time.Minute, route: "C", window: series.Window1h},
		{at: 4*time.Hour + 15*time.Minute, route: "C", window: series.Window30m},
		{at: 6*time.Hour + 30*time.Minute, route: "C", window: series.Window6h, maxDiff: step * 5 / 360},
		{at: 6*time.Hour + 30*time.Minute, route: "A", window: series.Window6h},
		{at: 6*time.Hour + 30*time.Minute, route: "B", window: series.Window30m, names: all(series.Window30m)},
		{at: 6*time.Hour + 30*time.Minute, route: "B", window: series.Window1h, names: all(series.Window1h)},
		{at: 6*time.Hour + 30*time.Minute, route: "B", window: series.Window2h, names: all(series.Window2h)},
		{at: 6*time.Hour + 30*time.Minute, route: "B", window: series.Window6h, names: all(series.Window6h)},
	} {
		w.advance(tc.at)
		names := tc.names
		if names == nil { // A and C have no error series to compare
			names = []string{series.RequestsRate(tc.window)}
		}
		for _, name := range names {
			derived := w.value(selector(name, tag, tc.route))
			raw := rawWindow(units[0], &c, name, tc.window)
			want := w.valueWhere(raw, tag, tc.route)
			if math.Abs(derived-want) > tc.maxDiff+1e-9*math.Abs(want) {
				t.Errorf("at %s route %s: %s = %g, raw %s = %g (allowed difference %g)",
					tc.at, tc.route, name, derived, raw, want, tc.maxDiff)
			}
		}
	}
}

func buildFilesOf(t *testing.T, inv *inventory.Inventory) []RuleFile {
	t.Helper()
	b, diags := Build(inv, DefaultOptions())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	return b.Files
}
