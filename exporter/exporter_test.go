package exporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/internal/meshsim"
	"github.com/routebundle/routebundle/internal/promapi"
	"github.com/routebundle/routebundle/internal/promtest"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/rules"
)

var (
	cart     = meshsim.Workload{Namespace: "shop", Name: "cart-v1", App: "cart", Version: "v1"}
	frontend = meshsim.Workload{Namespace: "shop", Name: "frontend-v1", App: "frontend", Version: "v1"}
)

// shopFlows is the cart traffic: two configured routes, unknown, a value
// the configuration does not know, and (on a second cart pod whose tag is
// not declared to Envoy) a prefix-mangled series.
func shopFlows() []meshsim.Flow {
	f := func(route string, rps float64) meshsim.Flow {
		return meshsim.Flow{Source: frontend, Destination: cart, Route: route, RPS: rps}
	}
	return []meshsim.Flow{f("GET /cart", 3), f("POST /cart", 1), f("", 1), f("GET /legacy", 1)}
}

// brokenRules is a group that fails at every evaluation: both metrics lose
// their name and collide.
const brokenRules = `groups:
  - name: routebundle-broken
    rules:
      - record: route:broken
        expr: '{__name__=~"istio_requests_total|istio_request_duration_milliseconds_count",reporter="waypoint"}'
        labels:
          route_tag: route_name
  - name: someone-elses
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
`

// world is a real Prometheus scraping a synthetic mesh, with the rules
// routebundle generates for the test inventory loaded.
type world struct {
	prom *promtest.Server
	inv  *inventory.Inventory
}

func startWorld(t *testing.T) *world {
	t.Helper()
	inv := testInventory(t)
	shopSidecar := meshsim.Proxy{Reporter: meshsim.ReporterDestination, Tag: "route_name", Flows: shopFlows()}
	mangled := meshsim.Proxy{Reporter: meshsim.ReporterDestination, Tag: "route_name",
		Flows: []meshsim.Flow{{Source: frontend, Destination: cart, Route: "GET /cart", RPS: 1, Mangled: true}}}
	// The frontend's own sidecar reports the same calls as the client,
	// without the tag (the Telemetry selects app=cart).
	frontendSidecar := meshsim.Proxy{Reporter: meshsim.ReporterSource, Flows: shopFlows()}
	var targets []string
	for _, p := range []meshsim.Proxy{meshsim.PodinfoWaypoint(), shopSidecar, mangled, frontendSidecar} {
		targets = append(targets, meshsim.Start(t, p).Addr())
	}
	ruleFiles := bundleRules(t, inv)
	ruleFiles["broken.yaml"] = brokenRules
	prom := promtest.Start(t, promtest.Options{
		Config:    promtest.Config(promtest.StaticScrapeConfig{Job: "envoy", Targets: targets, MetricsPath: meshsim.MetricsPath}),
		RuleFiles: ruleFiles,
	})
	prom.WaitForTargets(t, len(targets), 30*time.Second)
	return &world{prom: prom, inv: inv}
}

// bundleRules are the rule files routebundle generates for inv.
func bundleRules(t *testing.T, inv *inventory.Inventory) map[string]string {
	t.Helper()
	bundle, diags := rules.Build(inv, rules.DefaultOptions())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := map[string]string{}
	for _, f := range bundle.Files {
		data, err := f.YAML()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name+".yaml"] = string(data)
	}
	return files
}

func newExporter(t *testing.T, api string, o Options) *Exporter {
	t.Helper()
	client, err := promapi.New(promapi.Options{URL: api})
	if err != nil {
		t.Fatal(err)
	}
	o.Prometheus = client
	o.RateWindow = 5 * time.Second
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Interval == 0 {
		o.Interval = time.Minute
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// value returns the gathered value of the series of name with labels, and
// whether it exists.
func value(t testing.TB, e *Exporter, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	vs := values(t, e, name, labels)
	if len(vs) == 0 {
		return 0, false
	}
	return vs[0], true
}

// values returns the gathered values of every series of name with labels.
func values(t testing.TB, e *Exporter, name string, labels map[string]string) []float64 {
	t.Helper()
	var out []float64
	fams, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.Metric {
			got := map[string]string{}
			for _, l := range m.Label {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Gauge != nil:
				out = append(out, m.Gauge.GetValue())
			case m.Counter != nil:
				out = append(out, m.Counter.GetValue())
			}
		}
	}
	return out
}

// unknownShares are the model's: podinfo gets 1 of 8 requests/s unmatched,
// cart 1 of 6.
var unknownShares = map[string]float64{"podinfo": 1.0 / 8, "cart-v1": 1.0 / 6}

const (
	podinfoSet = "podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"
	shopSet    = "shop/cart-routes/cart-telemetry/route_name"
)

func TestExporterAgainstPrometheus(t *testing.T) {
	w := startWorld(t)
	e := newExporter(t, w.prom.URL, Options{SeenWindow: 10 * time.Minute})
	e.SetInventory(w.inv)

	// Wait until rates and the rule groups have data.
	promtest.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		if err := e.Cycle(ctx); err != nil {
			return err
		}
		// A 5s rate of counters that grow by whole requests is noisy at
		// first: wait for the share to settle near the model's.
		for wl, want := range unknownShares {
			if got, ok := value(t, e, "routebundle_workload_unknown_route_ratio", map[string]string{"destination_workload": wl}); !ok || math.Abs(got-want) > 0.03 {
				return fmt.Errorf("unknown share of %s = %g (%v), want ≈ %g", wl, got, ok, want)
			}
		}
		if v, ok := value(t, e, "routebundle_rule_group_rules", map[string]string{"rule_group": "routebundle-broken", "health": "err"}); !ok || v == 0 {
			return errors.New("the broken rule group has not failed yet")
		}
		if _, ok := value(t, e, "routebundle_rule_group_last_evaluation_timestamp_seconds", map[string]string{"rule_group": "routebundle-podinfo-route-name-recording"}); !ok {
			return errors.New("the generated rules have not been evaluated yet")
		}
		return nil
	})

	t.Run("exposition", func(t *testing.T) {
		const want = `
# HELP routebundle_route_series Series in Prometheus of one configured route (and of unknown) of a route set.
# TYPE routebundle_route_series gauge
routebundle_route_series{metric="istio_request_duration_milliseconds_bucket",route="GET /healthz",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 20
routebundle_route_series{metric="istio_request_duration_milliseconds_bucket",route="POST /echo",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 40
routebundle_route_series{metric="istio_request_duration_milliseconds_bucket",route="unknown",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 20
routebundle_route_series{metric="istio_requests_total",route="GET /cart",route_set="shop/cart-routes/cart-telemetry/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="GET /healthz",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="GET /never",route_set="shop/cart-routes/cart-telemetry/route_name"} 0
routebundle_route_series{metric="istio_requests_total",route="POST /cart",route_set="shop/cart-routes/cart-telemetry/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="POST /echo",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 2
routebundle_route_series{metric="istio_requests_total",route="unknown",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="unknown",route_set="shop/cart-routes/cart-telemetry/route_name"} 1
# HELP routebundle_route_set_series Series in Prometheus carrying a route set's tag in its traffic (its side, destination namespaces and apps).
# TYPE routebundle_route_set_series gauge
routebundle_route_set_series{metric="istio_request_duration_milliseconds_bucket",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 80
routebundle_route_set_series{metric="istio_requests_total",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 4
routebundle_route_set_series{metric="istio_requests_total",route_set="shop/cart-routes/cart-telemetry/route_name"} 4
# HELP routebundle_route_set_unconfigured_series Series of a route set's tag whose value is neither configured nor unknown.
# TYPE routebundle_route_set_unconfigured_series gauge
routebundle_route_set_unconfigured_series{metric="istio_request_duration_milliseconds_bucket",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 0
routebundle_route_set_unconfigured_series{metric="istio_requests_total",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 0
routebundle_route_set_unconfigured_series{metric="istio_requests_total",route_set="shop/cart-routes/cart-telemetry/route_name"} 1
# HELP routebundle_route_set_unconfigured_routes Distinct values of a route set's tag that are neither configured nor unknown.
# TYPE routebundle_route_set_unconfigured_routes gauge
routebundle_route_set_unconfigured_routes{route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 0
routebundle_route_set_unconfigured_routes{route_set="shop/cart-routes/cart-telemetry/route_name"} 1
# HELP routebundle_route_set_predicted_series Series a route set should cost: (routes + unknown) x response codes x (reporter, source workload, proxy) seen, per destination workload; x buckets for the duration histogram.
# TYPE routebundle_route_set_predicted_series gauge
routebundle_route_set_predicted_series{metric="istio_request_duration_milliseconds_bucket",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 120
routebundle_route_set_predicted_series{metric="istio_requests_total",route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 6
routebundle_route_set_predicted_series{metric="istio_requests_total",route_set="shop/cart-routes/cart-telemetry/route_name"} 4
# HELP routebundle_route_unseen 1 for a configured route with no request over the seen window.
# TYPE routebundle_route_unseen gauge
routebundle_route_unseen{route="GET /never",route_set="shop/cart-routes/cart-telemetry/route_name"} 1
# HELP routebundle_route_set_unseen_routes Configured routes of a route set with no request over the seen window.
# TYPE routebundle_route_set_unseen_routes gauge
routebundle_route_set_unseen_routes{route_set="podinfo/podinfo-wasmplugin/podinfo-telemetry/route_name"} 0
routebundle_route_set_unseen_routes{route_set="shop/cart-routes/cart-telemetry/route_name"} 1
# HELP routebundle_route_tag_prefixed_series Series whose metric name carries a route tag (envoy_<tag>___<value>___istio_...): the tag is not declared to Envoy.
# TYPE routebundle_route_tag_prefixed_series gauge
routebundle_route_tag_prefixed_series{destination_workload_namespace="shop",route_tag="route_name"} 1
# HELP routebundle_route_sets Route sets configured, by namespace and scope.
# TYPE routebundle_route_sets gauge
routebundle_route_sets{namespace="podinfo",scope="waypoint"} 1
routebundle_route_sets{namespace="shop",scope="workload"} 1
# HELP routebundle_routes Distinct route values configured, by namespace and scope.
# TYPE routebundle_routes gauge
routebundle_routes{namespace="podinfo",scope="waypoint"} 2
routebundle_routes{namespace="shop",scope="workload"} 3
# HELP routebundle_diagnostics Diagnostics of the configuration, by severity and code, per object.
# TYPE routebundle_diagnostics gauge
routebundle_diagnostics{code="RB007",kind="Telemetry",name="cart-telemetry",namespace="shop",severity="warning"} 1
routebundle_diagnostics{code="RB012",kind="WasmPlugin",name="cart-routes",namespace="shop",severity="warning"} 1
# HELP routebundle_prometheus_up 1 when the last query cycle against Prometheus succeeded; the observed series keep the last good cycle's data.
# TYPE routebundle_prometheus_up gauge
routebundle_prometheus_up 1
`
		names := []string{
			"routebundle_route_series", "routebundle_route_set_series", "routebundle_route_set_unconfigured_series",
			"routebundle_route_set_unconfigured_routes", "routebundle_route_set_predicted_series", "routebundle_route_unseen",
			"routebundle_route_set_unseen_routes", "routebundle_route_tag_prefixed_series", "routebundle_route_sets",
			"routebundle_routes", "routebundle_diagnostics", "routebundle_prometheus_up",
		}
		if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), names...); err != nil {
			t.Error(err)
		}
	})

	t.Run("filtering by the configured values gives the same series", func(t *testing.T) {
		f := newExporter(t, w.prom.URL, Options{SeenWindow: 10 * time.Minute})
		f.SetInventory(w.inv)
		f.plan.slack = -1000
		if err := f.Cycle(t.Context()); err != nil {
			t.Fatal(err)
		}
		if q, _ := value(t, f, "routebundle_prometheus_cycle_queries", nil); q != tagQueries+1+4+2 {
			t.Errorf("queries per cycle = %g, want one more for a filtered tag", q)
		}
		names := []string{"routebundle_route_series", "routebundle_route_set_series", "routebundle_route_set_unconfigured_series",
			"routebundle_route_set_unconfigured_routes", "routebundle_route_unseen"}
		want, err := testutil.CollectAndFormat(e.Registry(), expfmt.TypeTextPlain, names...)
		if err != nil {
			t.Fatal(err)
		}
		if err := testutil.GatherAndCompare(f.Registry(), bytes.NewReader(want), names...); err != nil {
			t.Error(err)
		}
	})

	t.Run("handler serves what the registry holds", func(t *testing.T) {
		want := encodeFamilies(t, mustGather(t, e))
		for _, gz := range []bool{false, true} {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if gz {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			rec := httptest.NewRecorder()
			e.Handler().ServeHTTP(rec, req)
			body := io.Reader(rec.Body)
			if gz {
				if rec.Header().Get("Content-Encoding") != "gzip" {
					t.Fatal("no gzip for a scraper that accepts it")
				}
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(body)
			if err != nil {
				t.Fatalf("gzip %v: the exposition does not parse: %v", gz, err)
			}
			var list []*dto.MetricFamily
			for _, f := range fams {
				list = append(list, f)
			}
			slices.SortFunc(list, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
			if got := encodeFamilies(t, list); got != want {
				t.Errorf("gzip %v: Handler and Registry differ:\n--- handler\n%s\n--- registry\n%s", gz, got, want)
			}
		}
	})

	t.Run("promlint", func(t *testing.T) {
		problems, err := testutil.GatherAndLint(e.Registry())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	})

	t.Run("health", func(t *testing.T) {
		for wl, want := range unknownShares {
			got, ok := value(t, e, "routebundle_workload_unknown_route_ratio", map[string]string{"destination_workload": wl, "route_tag": "route_name"})
			if !ok || math.Abs(got-want) > 0.03 {
				t.Errorf("unknown share of %s = %g (%v), want ≈ %g", wl, got, ok, want)
			}
		}
		for group, want := range map[string]float64{"routebundle-podinfo-route-name-recording": 1, "routebundle-shop-route-name-recording": 1, "routebundle-broken": 0} {
			if got, ok := value(t, e, "routebundle_rule_group_healthy", map[string]string{"rule_group": group}); !ok || got != want {
				t.Errorf("rule group %s healthy = %g (%v), want %g", group, got, ok, want)
			}
		}
		if _, ok := value(t, e, "routebundle_rule_group_healthy", map[string]string{"rule_group": "someone-elses"}); ok {
			t.Error("a rule group routebundle did not generate is reported")
		}
		if v, ok := value(t, e, "routebundle_rule_last_error_info", map[string]string{"rule_group": "routebundle-broken", "rule": "route:broken"}); !ok || v != 1 {
			t.Error("no last error of the broken rule")
		}
		head, _ := value(t, e, "routebundle_prometheus_head_series", nil)
		istio, _ := value(t, e, "routebundle_prometheus_istio_head_series", nil)
		share, _ := value(t, e, "routebundle_prometheus_istio_head_series_ratio", nil)
		if head == 0 || istio == 0 || istio > head || math.Abs(share-istio/head) > 1e-9 {
			t.Errorf("head series %g, istio %g, share %g", head, istio, share)
		}
		if q, _ := value(t, e, "routebundle_prometheus_cycle_queries", nil); q != tagQueries+4+2 {
			t.Errorf("queries per cycle = %g, want %d for one route tag", q, tagQueries+6)
		}
	})

	t.Run("run loop", func(t *testing.T) {
		r := newExporter(t, w.prom.URL, Options{Interval: time.Second, Timeout: 900 * time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		r.SetInventory(w.inv)
		promtest.Eventually(t, 30*time.Second, func(context.Context) error {
			if n, _ := value(t, r, "routebundle_prometheus_cycles_total", map[string]string{"result": "success"}); n < 2 {
				return fmt.Errorf("%g successful cycles", n)
			}
			if _, ok := value(t, r, "routebundle_route_series", map[string]string{"route": "GET /healthz"}); !ok {
				return errors.New("no route series yet")
			}
			return nil
		})
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})

	t.Run("labels are bounded by the configuration", func(t *testing.T) {
		out, err := testutil.CollectAndFormat(e.Registry(), expfmt.TypeTextPlain)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), "GET /legacy") {
			t.Error("a route value the configuration does not know is exported as a label")
		}
	})
}

func mustGather(t *testing.T, e *Exporter) []*dto.MetricFamily {
	t.Helper()
	fams, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func encodeFamilies(t *testing.T, fams []*dto.MetricFamily) string {
	t.Helper()
	var b strings.Builder
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// gathered renders everything but the query loop's own series, to compare
// the data before and after a failure.
func gathered(t *testing.T, e *Exporter) string {
	t.Helper()
	fams, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "routebundle_prometheus_") && !strings.Contains(f.GetName(), "head_series") {
			continue
		}
		for _, m := range f.Metric {
			fmt.Fprintln(&b, f.GetName(), m.String())
		}
	}
	return b.String()
}

// TestFailedCycleKeepsTheLastData covers Prometheus down, slow past the
// timeout, and answering garbage: each cycle fails, prometheus_up drops to
// 0 and the observed series keep the last good cycle's values.
func TestFailedCycleKeepsTheLastData(t *testing.T) {
	w := startWorld(t)
	target, err := url.Parse(w.prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	// mode decides what the server in front of Prometheus does.
	mode := make(chan string, 1)
	mode <- "pass"
	release := make(chan struct{})
	entered := make(chan struct{}, 100)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		m := <-mode
		mode <- m
		switch m {
		case "pass":
			proxy.ServeHTTP(rw, r)
		case "slow":
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			http.Error(rw, "too late", http.StatusServiceUnavailable)
		case "garbage":
			rw.Header().Set("Content-Type", "application/json")
			_, _ = rw.Write([]byte(`<html>definitely not the Prometheus API`))
		case "wrong type":
			rw.Header().Set("Content-Type", "application/json")
			_, _ = rw.Write([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`))
		}
	}))
	defer front.Close()
	setMode := func(m string) { <-mode; mode <- m }

	e := newExporter(t, front.URL, Options{SeenWindow: 10 * time.Minute, Timeout: 3 * time.Second})
	e.SetInventory(w.inv)
	promtest.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		if err := e.Cycle(ctx); err != nil {
			return err
		}
		if _, ok := value(t, e, "routebundle_workload_unknown_route_ratio", map[string]string{"destination_workload": "cart-v1"}); !ok {
			return errors.New("no unknown share yet")
		}
		return nil
	})
	good := gathered(t, e)
	lastSuccess, _ := value(t, e, "routebundle_prometheus_last_success_timestamp_seconds", nil)

	check := func(t *testing.T, wantErr error) {
		t.Helper()
		err := e.Cycle(t.Context())
		if err == nil || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Fatalf("cycle error = %v, want %v", err, wantErr)
		}
		if up, _ := value(t, e, "routebundle_prometheus_up", nil); up != 0 {
			t.Errorf("prometheus_up = %g after a failed cycle", up)
		}
		if got, _ := value(t, e, "routebundle_prometheus_last_success_timestamp_seconds", nil); got != lastSuccess {
			t.Errorf("last success moved from %g to %g", lastSuccess, got)
		}
		if got := gathered(t, e); got != good {
			t.Errorf("a failed cycle changed the data:\n--- after\n%s\n--- before\n%s", got, good)
		}
	}

	t.Run("garbage", func(t *testing.T) {
		setMode("garbage")
		check(t, nil)
	})
	t.Run("wrong result type", func(t *testing.T) {
		setMode("wrong type")
		check(t, errBadAnswer)
	})
	t.Run("slow past the timeout, and scrapes do not wait", func(t *testing.T) {
		setMode("slow")
		done := make(chan error, 1)
		go func() { done <- e.Cycle(t.Context()) }()
		// The cycle is stuck on the server, which answers only when
		// released; a scrape completes meanwhile.
		<-entered
		if _, err := e.Registry().Gather(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cycle error = %v, want the deadline", err)
		}
		close(release)
		check(t, nil)
	})
	t.Run("down", func(t *testing.T) {
		setMode("pass")
		w.prom.Stop()
		check(t, nil)
		if f, _ := value(t, e, "routebundle_prometheus_cycles_total", map[string]string{"result": "failure"}); f < 4 {
			t.Errorf("failed cycles = %g, want 4", f)
		}
	})
}

func TestRecorder(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := e.Recorder()
	r.Pass("mesh", 120*time.Millisecond, nil)
	r.Pass("namespace", time.Second, errors.New("conflict"))
	for range 3 {
		r.Applied("PrometheusRule")
	}
	r.Pruned("ConfigMap")
	r.ApplyFailed("PodMonitor")
	var nilRecorder *Recorder
	nilRecorder.Pass("mesh", time.Second, nil) // a no-op, not a panic

	const want = `
# HELP routebundle_reconciles_total Reconcile passes of the bundle, by pass (mesh, namespace) and result (success, error).
# TYPE routebundle_reconciles_total counter
routebundle_reconciles_total{pass="mesh",result="error"} 0
routebundle_reconciles_total{pass="mesh",result="success"} 1
routebundle_reconciles_total{pass="namespace",result="error"} 1
routebundle_reconciles_total{pass="namespace",result="success"} 0
# HELP routebundle_objects_applied_total Objects applied with server-side apply, by kind.
# TYPE routebundle_objects_applied_total counter
routebundle_objects_applied_total{kind="PrometheusRule"} 3
# HELP routebundle_objects_pruned_total Objects deleted because the bundle no longer holds them, by kind.
# TYPE routebundle_objects_pruned_total counter
routebundle_objects_pruned_total{kind="ConfigMap"} 1
# HELP routebundle_apply_errors_total Failed applies or deletes of an object, by kind.
# TYPE routebundle_apply_errors_total counter
routebundle_apply_errors_total{kind="PodMonitor"} 1
`
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want),
		"routebundle_reconciles_total", "routebundle_objects_applied_total", "routebundle_objects_pruned_total", "routebundle_apply_errors_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(e.Registry(), "routebundle_reconcile_duration_seconds"); n != 2 {
		t.Errorf("duration histogram: %d series", n)
	}
	// Without Prometheus only configuration and controller metrics exist.
	if _, ok := value(t, e, "routebundle_prometheus_up", nil); ok {
		t.Error("prometheus_up without a Prometheus")
	}
	if err := e.Cycle(t.Context()); err == nil {
		t.Error("a cycle without Prometheus succeeded")
	}
}
