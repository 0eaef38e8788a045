package rules

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// load writes promqltest's load syntax: one line per series, values every
// minute for an hour.
type load struct{ b strings.Builder }

func newLoad() *load {
	l := &load{}
	l.b.WriteString("load 1m\n")
	return l
}

// counter adds a counter growing by perMinute, labels as name/value pairs.
func (l *load) counter(metric string, perMinute float64, kv ...string) *load {
	return l.values(metric, fmt.Sprintf("0+%gx60", perMinute), kv...)
}

// values adds a series with values in promqltest notation.
func (l *load) values(metric, values string, kv ...string) *load {
	fmt.Fprintf(&l.b, "  %s%s %s\n", metric, labels.FromStrings(kv...).String(), values)
	return l
}

// requests adds istio_requests_total for one route and code as a server reports it.
func (l *load) requests(ns, wl, tag, route, code string, perMinute float64) *load {
	return l.reported("waypoint", ns, wl, tag, route, code, perMinute)
}

func (l *load) reported(reporter, ns, wl, tag, route, code string, perMinute float64) *load {
	return l.counter(series.IstioRequestsTotal, perMinute,
		series.LabelReporter, reporter, series.LabelWorkloadNamespace, ns, series.LabelWorkload, wl,
		tag, route, series.LabelResponseCode, code, "source_workload", "client")
}

// buckets adds a duration histogram: cumulative per-minute counts per le.
func (l *load) buckets(ns, wl, tag, route string, perLE map[string]float64) *load {
	for le, n := range perLE {
		l.counter(series.IstioRequestDurationBucket, n,
			series.LabelReporter, "waypoint", series.LabelWorkloadNamespace, ns, series.LabelWorkload, wl,
			tag, route, series.LabelResponseCode, "200", series.LabelLE, le)
	}
	return l
}

func (l *load) String() string { return l.b.String() }

// meshAndPodinfo is traffic for the fixture's mesh and podinfo route sets.
func meshAndPodinfo() string {
	const tag = "route_name"
	return newLoad().
		// podinfo: POST /echo at 10/s with 10% errors; the client's own
		// report must not count twice.
		requests("podinfo", "podinfo", tag, "POST /echo", "200", 540).
		requests("podinfo", "podinfo", tag, "POST /echo", "500", 60).
		reported("source", "podinfo", "podinfo", tag, "POST /echo", "500", 6000).
		buckets("podinfo", "podinfo", tag, "POST /echo", map[string]float64{"50": 300, "100": 600, "+Inf": 600}).
		// GET /healthz fails half the time, but its alerts are switched off.
		requests("podinfo", "podinfo", tag, "GET /healthz", "200", 30).
		requests("podinfo", "podinfo", tag, "GET /healthz", "503", 30).
		// 0.05% errors: no alert.
		requests("podinfo", "quiet", tag, "POST /echo", "200", 1999).
		requests("podinfo", "quiet", tag, "POST /echo", "500", 1).
		// Every request fails, but 0.05 requests/s is under the minimum rate.
		requests("podinfo", "rare", tag, "POST /echo", "500", 3).
		// Half the traffic is not classified.
		requests("podinfo", "legacy", tag, series.UnknownRoute, "200", 60).
		requests("podinfo", "legacy", tag, "GET /healthz", "200", 60).
		// p99 around 5s.
		requests("podinfo", "slow", tag, "POST /echo", "200", 60).
		buckets("podinfo", "slow", tag, "POST /echo", map[string]float64{"1000": 0, "5000": 60, "+Inf": 60}).
		// Another namespace: the mesh-wide set's business.
		requests("other", "web", tag, "GET /", "500", 60).
		// Not the route tag: ignored.
		counter(series.IstioRequestsTotal, 600, series.LabelReporter, "waypoint",
			series.LabelWorkloadNamespace, "podinfo", series.LabelWorkload, "podinfo", series.LabelResponseCode, "500").
		String()
}

func buildFixture(t *testing.T, opts Options) *Bundle {
	t.Helper()
	b, diags := Build(fixture(), opts)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%v", diags)
	}
	return b
}

func TestRecordedValues(t *testing.T) {
	w := newWorld(t, meshAndPodinfo(), buildFixture(t, DefaultOptions()).Files)
	w.advance(30 * time.Minute)

	route := func(name, wl, r string, extra ...string) string {
		return selector(name, append([]string{series.LabelWorkloadNamespace, "podinfo", series.LabelWorkload, wl, "route_name", r}, extra...)...)
	}
	for _, tc := range []struct {
		expr string
		want float64
	}{
		{route(series.RequestsRate5m, "podinfo", "POST /echo"), 10},
		{route(series.ErrorsRate5m, "podinfo", "POST /echo"), 1},
		{route(series.ErrorRatio5m, "podinfo", "POST /echo"), 0.1},
		{route(series.RequestsRate5m, "podinfo", "GET /healthz"), 1},
		{route(series.ErrorRatio5m, "podinfo", "GET /healthz"), 0.5},
		{route(series.ErrorRatio5m, "quiet", "POST /echo"), 0.0005},
		// No 5xx series at all: 0 errors, not a missing series.
		{route(series.ErrorsRate5m, "legacy", "GET /healthz"), 0},
		{route(series.ErrorRatio5m, "legacy", "GET /healthz"), 0},
		// unknown is recorded as a route of its own.
		{route(series.RequestsRate5m, "legacy", series.UnknownRoute), 1},
		{route(series.DurationQuantile5m, "podinfo", "POST /echo", series.LabelQuantile, "0.5"), 50},
		{route(series.DurationQuantile5m, "podinfo", "POST /echo", series.LabelQuantile, "0.9"), 90},
		{route(series.DurationQuantile5m, "podinfo", "POST /echo", series.LabelQuantile, "0.99"), 99},
		{route(series.DurationBucketRate5m, "podinfo", "POST /echo", series.LabelLE, "50"), 5},
		{selector(series.UnknownRatio5m, series.LabelWorkload, "legacy", series.LabelRouteTag, "route_name"), 0.5},
		{selector(series.UnknownRatio5m, series.LabelWorkload, "podinfo", series.LabelRouteTag, "route_name"), 0},
		// Each namespace is recorded once: by its own set, or by the mesh-wide one.
		{"count(" + selector(series.RequestsRate5m, series.LabelWorkloadNamespace, "podinfo") + ")", 7},
		{"count(" + selector(series.RequestsRate5m) + ")", 8},
		{selector(series.ErrorRatio5m, series.LabelWorkloadNamespace, "other", "route_name", "GET /"), 1},
		// By response code: the server side only, the client's report left out.
		{route(series.ResponsesRate5m, "podinfo", "POST /echo", series.LabelResponseCode, "200"), 9},
		{route(series.ResponsesRate5m, "podinfo", "POST /echo", series.LabelResponseCode, "500"), 1},
		{route(series.ResponsesRate5m, "podinfo", "GET /healthz", series.LabelResponseCode, "503"), 0.5},
		{"count(" + route(series.ResponsesRate5m, "podinfo", "POST /echo") + ")", 2},
		// Long windows exist for podinfo, which has an objective.
		{route(series.ErrorRatio(series.Window1h), "podinfo", "POST /echo"), 0.1},
		{route(series.ErrorRatio(series.Window30d), "podinfo", "POST /echo"), 0.1},
	} {
		if got := w.value(tc.expr); !closeTo(got, tc.want, 1e-9) {
			t.Errorf("%s = %g, want %g", tc.expr, got, tc.want)
		}
	}
	// The mesh-wide set has no objective: no long windows for it.
	if v := w.query(selector(series.RequestsRate(series.Window1h), series.LabelWorkloadNamespace, "other")); len(v) != 0 {
		t.Errorf("long windows recorded without an objective: %v", v)
	}
}

func TestAlerts(t *testing.T) {
	w := newWorld(t, meshAndPodinfo(), buildFixture(t, DefaultOptions()).Files)
	w.advance(4 * time.Minute)
	// Before the for durations have passed only the burn-rate alerts fire:
	// their short window is the confirmation.
	early := []string{
		"RouteErrorBudgetBurn | critical | podinfo | podinfo | POST /echo",
		"RouteErrorBudgetSlowBurn | warning | podinfo | podinfo | POST /echo",
	}
	w.expectFiring("at 4m", early...)
	w.advance(30 * time.Minute)
	want := []string{
		"RouteErrorBudgetBurn | critical | podinfo | podinfo | POST /echo",
		"RouteErrorBudgetSlowBurn | warning | podinfo | podinfo | POST /echo",
		"RouteErrorRatioHigh | warning | other | web | GET /",
		"RouteErrorRatioHigh | warning | podinfo | podinfo | POST /echo",
		"RouteLatencyP99High | warning | podinfo | slow | POST /echo",
		"WorkloadUnknownRouteShareHigh | info | podinfo | legacy | ",
	}
	w.expectFiring("at 30m", want...)
	a := w.alert("RouteErrorRatioHigh | warning | podinfo | podinfo | POST /echo")
	if s := a.Annotations.Get("summary"); s != `Route "POST /echo" of podinfo/podinfo fails 10% of its requests` {
		t.Errorf("summary: %q", s)
	}
	if a.Annotations.Has("dashboard") {
		t.Error("dashboard link without a Grafana URL")
	}
}

func TestAlertSwitches(t *testing.T) {
	opts := DefaultOptions()
	opts.Defaults.Alerts.BurnRatePage = false
	opts.Defaults.Alerts.UnknownShare = false
	opts.Defaults.Alerts.Latency = false
	opts.Defaults.MinRequestRate = 0
	w := newWorld(t, meshAndPodinfo(), buildFixture(t, opts).Files)
	w.advance(30 * time.Minute)
	want := []string{
		"RouteErrorBudgetSlowBurn | warning | podinfo | podinfo | POST /echo",
		// Without a minimum rate, the rare route alerts.
		"RouteErrorBudgetSlowBurn | warning | podinfo | rare | POST /echo",
		"RouteErrorRatioHigh | warning | other | web | GET /",
		"RouteErrorRatioHigh | warning | podinfo | podinfo | POST /echo",
		"RouteErrorRatioHigh | warning | podinfo | rare | POST /echo",
	}
	w.expectFiring("now", want...)
}

// Route values with quotes, backslashes, braces, newlines and template
// delimiters select exactly their own series, next to decoys that differ by
// one character.
func TestEscaping(t *testing.T) {
	const tag = "request_operation"
	awkward := []string{routeQuote, routeBackslash, routeBrace, routeNewline}
	decoys := []string{`say \"hi\"`, `C:\\path`, `GET /users/{id}`, "two", "{{ .Evil }} "}
	l := newLoad()
	for _, v := range append(awkward, decoys...) {
		// 5% errors: above the override's 1%, below the set's 10%.
		l.requests("shop", "shop", tag, v, "200", 57).requests("shop", "shop", tag, v, "500", 3)
	}
	l.requests("shop", "shop", tag, routeTemplate, "200", 48).requests("shop", "shop", tag, routeTemplate, "500", 12)

	opts := DefaultOptions()
	opts.GrafanaURL = "https://grafana.example.com/"
	opts.DashboardUID = func(rs *inventory.RouteSet) string { return "uid/" + rs.Namespace }
	b, _ := Build(&inventory.Inventory{RouteSets: []inventory.RouteSet{awkwardSet()}}, opts)
	w := newWorld(t, l.String(), b.Files)
	w.advance(20 * time.Minute)

	for _, v := range append(append(awkward, decoys...), routeTemplate) {
		got := w.query(selector(series.RequestsRate5m, tag, v))
		if len(got) != 1 || got[0].Metric.Get(tag) != v || got[0].F != 1 {
			t.Errorf("route %q: want exactly its own series at 1/s, got %v", v, got)
		}
	}
	want := []string{
		`RouteErrorBudgetSlowBurn | warning | shop | shop | say "hi"`,
		`RouteErrorRatioHigh | warning | shop | shop | say "hi"`,
		"RouteErrorRatioHigh | warning | shop | shop | {{ .Evil }}",
	}
	w.expectFiring("now", want...)
	evil := w.alert("RouteErrorRatioHigh | warning | shop | shop | {{ .Evil }}")
	if s := evil.Annotations.Get("summary"); !strings.HasPrefix(s, `Route "{{ .Evil }}" of shop/shop fails 20%`) {
		t.Errorf("a route value was executed as a template: %q", s)
	}
	quote := w.alert(`RouteErrorRatioHigh | warning | shop | shop | say "hi"`)
	link := "https://grafana.example.com/d/uid%2Fshop?var-namespace=shop&var-workload=shop&var-route=" + url.QueryEscape(routeQuote)
	if got := quote.Annotations.Get("dashboard"); got != link {
		t.Errorf("dashboard link:\n got %s\nwant %s", got, link)
	}
}
