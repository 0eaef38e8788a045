//go:build e2e

package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/internal/cli"
	"github.com/routebundle/routebundle/internal/e2e"
	"github.com/routebundle/routebundle/internal/operatortest"
	"github.com/routebundle/routebundle/internal/promtest"
	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/series"
)

// How long each step may take; the whole test takes a few minutes.
const (
	stepTimeout = 90 * time.Second
	// alertTimeout covers the error ratio crossing its threshold, ErrorFor
	// and a few evaluations.
	alertTimeout = 2 * time.Minute
)

// The PrometheusRule routebundle applies for examples/podinfo.
const (
	ruleNamespace = "podinfo"
	ruleName      = "routebundle-podinfo-route-name"
)

// healthzOverride gives GET /healthz a latency threshold of its own (a
// routebundle.io/routes override, as the README documents them), so that
// the PrometheusRule names the route and renaming it changes the rules.
const healthzOverride = `{"GET /healthz": {latency-p99: 100ms}}`

// TestEndToEnd runs the stack once; the steps are subtests in order, each
// relying on the ones before.
func TestEndToEnd(t *testing.T) {
	objs, err := e2e.PodinfoObjects()
	if err != nil {
		t.Fatal(err)
	}
	wasm := find(t, objs, "WasmPlugin")
	wasm.SetAnnotations(map[string]string{"routebundle.io/routes": healthzOverride})
	s := e2e.Start(t, e2e.Options{Objects: objs})
	t.Cleanup(func() {
		if err := s.Prometheus.Err(); err != nil {
			t.Errorf("keeping Prometheus in step with the operator: %v", err)
		}
		if t.Failed() {
			cfg, err := os.ReadFile(filepath.Join(s.Prometheus.Dir, "prometheus.yml"))
			t.Logf("the configuration Prometheus runs (%v):\n%s", err, cfg)
		}
	})
	steps := []struct {
		name string
		run  func(t *testing.T, s *e2e.Stack)
	}{
		{"operator selects the bundle", testOperatorSelects},
		{"targets discovered through the PodMonitor", testTargets},
		{"recorded per-route series", testRecorded},
		{"alert fires on a 5xx burst", testAlert},
		{"exporter reports routes, unknown share and rule health", testExporter},
		{"bundlegen routes", func(t *testing.T, s *e2e.Stack) { testRoutesCommand(t, s, objs) }},
		{"route renamed in the WasmPlugin", func(t *testing.T, s *e2e.Stack) { testRename(t, s, wasm) }},
		{"deleted WasmPlugin prunes the rules", func(t *testing.T, s *e2e.Stack) { testPrune(t, s, wasm) }},
	}
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) { st.run(t, s) }) {
			return
		}
	}
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == kind {
			return u
		}
	}
	t.Fatalf("no %s in examples/podinfo", kind)
	return nil
}

// testOperatorSelects: the operator found routebundle's PodMonitor,
// ServiceMonitor and PrometheusRule by their release label and wrote them
// into the configuration and a rule file.
func testOperatorSelects(t *testing.T, s *e2e.Stack) {
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		g := s.Prometheus.Generated()
		for _, job := range []string{
			"podMonitor/monitoring/routebundle-envoy-stats/0",
			"podMonitor/monitoring/routebundle-ztunnel/0",
			"serviceMonitor/monitoring/routebundle-istiod/0",
		} {
			if !strings.Contains(string(g.Config), "job_name: "+job) {
				return fmt.Errorf("the operator's configuration has no job %s:\n%s", job, g.Config)
			}
		}
		if f := ruleFile(g); f == "" {
			return fmt.Errorf("no rule file of PrometheusRule %s/%s in %v", ruleNamespace, ruleName, keys(g))
		}
		return nil
	})
}

// ruleFile is the operator's rule file of routebundle's PrometheusRule.
func ruleFile(g *operatortest.Generated) string {
	for _, files := range g.RuleFiles {
		for name, content := range files {
			if strings.HasPrefix(name, ruleNamespace+"-"+ruleName+"-") {
				return content
			}
		}
	}
	return ""
}

func keys(g *operatortest.Generated) []string {
	var out []string
	for cm, files := range g.RuleFiles {
		for name := range files {
			out = append(out, cm+"/"+name)
		}
	}
	slices.Sort(out)
	return out
}

// testTargets: Prometheus found the waypoint and the sidecar through
// Kubernetes pod discovery, as the PodMonitor selects them, and nothing
// else (podinfo's own pod has no proxy).
func testTargets(t *testing.T, s *e2e.Stack) {
	api := s.Prometheus.API(t)
	want := []string{s.Mesh.Waypoint.URL(), s.Mesh.Sidecar.URL()}
	slices.Sort(want)
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		res, err := api.Targets(ctx)
		if err != nil {
			return err
		}
		var up, all, other []string
		for _, tg := range res.Active {
			if tg.Labels["job"] != "envoy-stats" {
				other = append(other, fmt.Sprintf("%s %s %s", tg.Labels, tg.Health, tg.LastError))
				continue
			}
			all = append(all, fmt.Sprintf("%s %s %s", tg.ScrapeURL, tg.Health, tg.LastError))
			if tg.Health == promv1.HealthGood {
				up = append(up, tg.ScrapeURL)
			}
		}
		slices.Sort(up)
		if !slices.Equal(up, want) || len(all) != len(want) {
			return fmt.Errorf("envoy-stats targets %v, want %v up (other targets: %v, %d dropped)", all, want, other, len(res.Dropped))
		}
		return nil
	})
}

// routeValues are the per-route values of a recorded series.
func routeValues(ctx context.Context, api promv1.API, query string) (map[string]float64, error) {
	v, _, _, err := api.Query(ctx, query, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	out := map[string]float64{}
	for _, smp := range v.(model.Vector) {
		out[string(smp.Metric["route_name"])] = float64(smp.Value)
	}
	return out, nil
}

// near reports whether got is within 20% of want.
func near(got, want float64) bool { return math.Abs(got-want) <= 0.2*want }

// testRecorded: the bundle's recording rules, as the operator wrote them,
// give each route's rate once: the share of each route is the traffic
// model's, and the total is the waypoint's alone (the sidecar's
// client-side view of the same requests is not counted again). A rate
// over 5m reads low until 5m of samples exist, so shares and the raw
// series over the same window are compared, not requests per second.
func testRecorded(t *testing.T, s *e2e.Stack) {
	api := s.Prometheus.API(t)
	wantShare := map[string]float64{"GET /healthz": 5.0 / 8, "POST /echo": 2.0 / 8, series.UnknownRoute: 1.0 / 8}
	const raw = `sum by (route_name) (rate(istio_requests_total{reporter="waypoint",destination_workload="podinfo"}[5m]))`
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		got, err := routeValues(ctx, api, series.RequestsRate5m+`{destination_workload="podinfo"}`)
		if err != nil {
			return err
		}
		waypoint, err := routeValues(ctx, api, raw)
		if err != nil {
			return err
		}
		total := 0.0
		for _, v := range got {
			total += v
		}
		if len(got) != len(wantShare) || total == 0 {
			return fmt.Errorf("%s: %v, want the routes %v", series.RequestsRate5m, got, wantShare)
		}
		for r, w := range wantShare {
			if !near(got[r]/total, w) || !near(got[r], waypoint[r]) {
				return fmt.Errorf("%s: %v, want shares %v of the waypoint's %v", series.RequestsRate5m, got, wantShare, waypoint)
			}
		}
		share, err := routeValues(ctx, api, series.UnknownRatio5m+`{destination_workload="podinfo"}`)
		if err != nil {
			return err
		}
		if !near(share[""], 1.0/8) {
			return fmt.Errorf("%s: %v, want 0.125", series.UnknownRatio5m, share)
		}
		errs, err := routeValues(ctx, api, series.ErrorRatio5m+`{destination_workload="podinfo"}`)
		if err != nil {
			return err
		}
		if len(errs) != 3 || errs["POST /echo"] != 0 {
			return fmt.Errorf("%s: %v, want 0 for every route", series.ErrorRatio5m, errs)
		}
		return nil
	})
}

// alertsOf returns the alerts named name by their route label and state.
func alertsOf(ctx context.Context, api promv1.API, name string) (map[string]promv1.AlertState, error) {
	res, err := api.Alerts(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]promv1.AlertState{}
	for _, a := range res.Alerts {
		if string(a.Labels["alertname"]) == name {
			out[string(a.Labels["route"])] = a.State
		}
	}
	return out, nil
}

// testAlert: RouteErrorRatioHigh is quiet, then fires for POST /echo once
// half of its requests fail, and never for GET /healthz.
func testAlert(t *testing.T, s *e2e.Stack) {
	api := s.Prometheus.API(t)
	ctx := t.Context()
	before, err := alertsOf(ctx, api, series.AlertRouteErrorRatioHigh)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) > 0 {
		t.Fatalf("%s before any error: %v", series.AlertRouteErrorRatioHigh, before)
	}
	if err := s.SetErrorRatio("POST /echo", 0.5); err != nil {
		t.Fatal(err)
	}
	promtest.Eventually(t, alertTimeout, func(ctx context.Context) error {
		got, err := alertsOf(ctx, api, series.AlertRouteErrorRatioHigh)
		if err != nil {
			return err
		}
		if _, ok := got["GET /healthz"]; ok {
			t.Fatalf("%s for GET /healthz, which has no errors: %v", series.AlertRouteErrorRatioHigh, got)
		}
		if got["POST /echo"] != promv1.AlertStateFiring {
			return fmt.Errorf("%s: %v, want POST /echo firing", series.AlertRouteErrorRatioHigh, got)
		}
		return nil
	})
	res, err := api.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Alerts {
		if a.Labels["route"] == "GET /healthz" {
			t.Errorf("alert for GET /healthz: %v", a.Labels)
		}
	}
}

// testRename: renaming GET /healthz in the WasmPlugin (with its override)
// reaches the PrometheusRule, the operator's rule file and Prometheus'
// loaded rules; once the waypoint reports the new name, so do the
// recorded series.
func testRename(t *testing.T, s *e2e.Stack, wasm *unstructured.Unstructured) {
	ctx := t.Context()
	renamed := wasm.DeepCopy()
	renamed.SetAnnotations(map[string]string{"routebundle.io/routes": strings.ReplaceAll(healthzOverride, "GET /healthz", "GET /livez")})
	attrs, _, _ := unstructured.NestedSlice(renamed.Object, "spec", "pluginConfig", "attributes")
	matches, _, _ := unstructured.NestedSlice(attrs[0].(map[string]any), "match")
	for _, m := range matches {
		m := m.(map[string]any)
		if m["value"] == "GET /healthz" {
			m["value"] = "GET /livez"
			m["condition"] = "request.method == 'GET' && request.url_path == '/livez'"
		}
	}
	if err := unstructured.SetNestedSlice(attrs[0].(map[string]any), matches, "match"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedSlice(renamed.Object, attrs, "spec", "pluginConfig", "attributes"); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	const newMatcher, oldMatcher = `route_name="GET /livez"`, `route_name="GET /healthz"`
	api := s.Prometheus.API(t)
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		var pr monitoringv1.PrometheusRule
		if err := s.Client.Get(ctx, client.ObjectKey{Namespace: ruleNamespace, Name: ruleName}, &pr); err != nil {
			return err
		}
		exprs := ruleExprs(&pr)
		if !strings.Contains(exprs, newMatcher) || strings.Contains(exprs, oldMatcher) {
			return fmt.Errorf("PrometheusRule %s/%s not renamed:\n%s", ruleNamespace, ruleName, exprs)
		}
		return nil
	})
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		f := ruleFile(s.Prometheus.Generated())
		exprs, err := fileExprs(f)
		if err != nil {
			return err
		}
		if !strings.Contains(exprs, newMatcher) || strings.Contains(exprs, oldMatcher) {
			return fmt.Errorf("the rule file Prometheus runs is not renamed:\n%s", f)
		}
		return loadedRulesMention(ctx, api, newMatcher, oldMatcher)
	})
	if err := s.RenameRoute("GET /healthz", "GET /livez"); err != nil {
		t.Fatal(err)
	}
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		got, err := routeValues(ctx, api, series.RequestsRate5m+`{destination_workload="podinfo"}`)
		if err != nil {
			return err
		}
		if got["GET /livez"] <= 0 {
			return fmt.Errorf("%s: %v, want GET /livez", series.RequestsRate5m, got)
		}
		return nil
	})
	// The exporter sees the new value's series, and the old value's,
	// still in Prometheus, as a value the configuration no longer has.
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		m, err := scrape(ctx, s.Routebundle.MetricsURL)
		if err != nil {
			return err
		}
		if got := routeSeries(m); !slices.Contains(got, "GET /livez") || slices.Contains(got, "GET /healthz") {
			return fmt.Errorf("routebundle_route_series: routes %v, want GET /livez and not GET /healthz", got)
		}
		if v, err := m.One("routebundle_route_set_unconfigured_routes", nil); err != nil || v != 1 {
			return fmt.Errorf("routebundle_route_set_unconfigured_routes %v (%v), want 1 (GET /healthz)", v, err)
		}
		return nil
	})
}

func ruleExprs(pr *monitoringv1.PrometheusRule) string {
	var b strings.Builder
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			b.WriteString(r.Expr.String())
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// fileExprs are the expressions of a rule file, one a line.
func fileExprs(file string) (string, error) {
	var f struct {
		Groups []struct {
			Rules []struct{ Expr string }
		}
	}
	if err := yaml.Unmarshal([]byte(file), &f); err != nil {
		return "", fmt.Errorf("rule file: %w", err)
	}
	var b strings.Builder
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			b.WriteString(r.Expr)
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}

// loadedRulesMention checks that Prometheus evaluates a rule containing
// want and none containing unwanted.
func loadedRulesMention(ctx context.Context, api promv1.API, want, unwanted string) error {
	res, err := api.Rules(ctx, nil)
	if err != nil {
		return err
	}
	found := false
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			var q string
			switch r := r.(type) {
			case promv1.AlertingRule:
				q = r.Query
			case promv1.RecordingRule:
				q = r.Query
			}
			if strings.Contains(q, unwanted) {
				return fmt.Errorf("Prometheus still evaluates %s in group %s", q, g.Name)
			}
			found = found || strings.Contains(q, want)
		}
	}
	if !found {
		return fmt.Errorf("Prometheus evaluates no rule with %s", want)
	}
	return nil
}

// testPrune: deleting the WasmPlugin makes routebundle delete its
// PrometheusRule; the operator drops the rule file and Prometheus the
// groups.
func testPrune(t *testing.T, s *e2e.Stack, wasm *unstructured.Unstructured) {
	api := s.Prometheus.API(t)
	if err := s.Client.Delete(t.Context(), wasm.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		var pr monitoringv1.PrometheusRule
		err := s.Client.Get(ctx, client.ObjectKey{Namespace: ruleNamespace, Name: ruleName}, &pr)
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("PrometheusRule %s/%s still there (%v)", ruleNamespace, ruleName, err)
		}
		return nil
	})
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		if f := ruleFile(s.Prometheus.Generated()); f != "" {
			return fmt.Errorf("the operator still has a rule file of %s/%s", ruleNamespace, ruleName)
		}
		res, err := api.Rules(ctx, nil)
		if err != nil {
			return err
		}
		for _, g := range res.Groups {
			if strings.HasPrefix(g.Name, ruleName) {
				return fmt.Errorf("Prometheus still evaluates group %s", g.Name)
			}
		}
		return nil
	})
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		m, err := scrape(ctx, s.Routebundle.MetricsURL)
		if err != nil {
			return err
		}
		if got := m.Get("routebundle_routes", map[string]string{"namespace": "podinfo"}); len(got) > 0 && got[0].Value != 0 {
			return fmt.Errorf("routebundle_routes{namespace=podinfo} %v, want none", got)
		}
		if v, err := m.One("routebundle_objects_pruned_total", map[string]string{"kind": "PrometheusRule"}); err != nil || v < 1 {
			return fmt.Errorf("routebundle_objects_pruned_total{kind=PrometheusRule} %v (%v), want >= 1", v, err)
		}
		return nil
	})
}

// scrape reads routebundle's /metrics.
func scrape(ctx context.Context, url string) (testutil.Exposition, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", url, resp.Status)
	}
	m, err := testutil.ParseExposition(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing %s/metrics: %w", url, err)
	}
	return m, nil
}

// routeSeries are the routes routebundle_route_series reports series of.
func routeSeries(m testutil.Exposition) []string {
	var out []string
	for _, s := range m.Get("routebundle_route_series", map[string]string{"metric": series.IstioRequestsTotal}) {
		if s.Value > 0 && !slices.Contains(out, s.Labels["route"]) {
			out = append(out, s.Labels["route"])
		}
	}
	slices.Sort(out)
	return out
}

// testExporter: routebundle's /metrics reports what it configured and
// what it found in Prometheus: the routes and their series, the unknown
// share, the generated rule groups evaluating without error, Prometheus
// reachable, and the objects it applied.
func testExporter(t *testing.T, s *e2e.Stack) {
	promtest.Eventually(t, stepTimeout, func(ctx context.Context) error {
		m, err := scrape(ctx, s.Routebundle.MetricsURL)
		if err != nil {
			return err
		}
		if v, err := m.One("routebundle_prometheus_up", nil); err != nil || v != 1 {
			return fmt.Errorf("routebundle_prometheus_up %v (%v), want 1", v, err)
		}
		if v, err := m.One("routebundle_routes", map[string]string{"namespace": "podinfo"}); err != nil || v != 2 {
			return fmt.Errorf("routebundle_routes{namespace=podinfo} %v (%v), want 2", v, err)
		}
		if got, want := routeSeries(m), []string{"GET /healthz", "POST /echo", series.UnknownRoute}; !slices.Equal(got, want) {
			return fmt.Errorf("routebundle_route_series: routes %v, want %v", got, want)
		}
		share, err := m.One("routebundle_workload_unknown_route_ratio", map[string]string{
			series.LabelWorkloadNamespace: "podinfo", series.LabelWorkload: "podinfo", series.LabelRouteTag: "route_name",
		})
		if err != nil || !near(share, 1.0/8) {
			return fmt.Errorf("routebundle_workload_unknown_route_ratio %v (%v), want 0.125", share, err)
		}
		groups := m.Get("routebundle_rule_group_healthy", nil)
		if len(groups) < 2 {
			return fmt.Errorf("routebundle_rule_group_healthy: %v, want the recording and alert groups", groups)
		}
		for _, g := range groups {
			if g.Value != 1 {
				return fmt.Errorf("rule group %s unhealthy: %v", g.Labels["rule_group"], m["routebundle_rule_last_error_info"])
			}
		}
		if v, err := m.One("routebundle_objects_applied_total", map[string]string{"kind": "PrometheusRule"}); err != nil || v < 1 {
			return fmt.Errorf("routebundle_objects_applied_total{kind=PrometheusRule} %v (%v), want >= 1", v, err)
		}
		return nil
	})
}

// routeRow is a row of `bundlegen routes -o json`.
type routeRow struct {
	Namespace, Workload, Route, Source string
	RPS, SuccessRatio, P50Ms, P99Ms    *float64
	Seen, Configured                   bool
}

// testRoutesCommand: `bundlegen routes` reads the per-route table from the
// recorded series the operator installed: every route seen, GET /healthz
// fully successful and fast, POST /echo failing, the unknown row.
func testRoutesCommand(t *testing.T, s *e2e.Stack, objs []*unstructured.Unstructured) {
	dir := t.TempDir()
	if err := e2e.WriteObjects(dir, objs); err != nil {
		t.Fatal(err)
	}
	run := func(format string) (string, string) {
		var out, errb strings.Builder
		env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
		if code := cli.Run(t.Context(), env, []string{"routes", "--prometheus", s.Prometheus.URL, "--namespace", "podinfo", "-o", format, dir}); code != 0 {
			t.Fatalf("bundlegen routes -o %s: exit %d: %s", format, code, errb.String())
		}
		return out.String(), errb.String()
	}
	out, notes := run("json")
	var rows []routeRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	byRoute := map[string]routeRow{}
	for _, r := range rows {
		if r.Namespace != "podinfo" || r.Workload != "podinfo" || r.Source != "recorded" || !r.Seen || !r.Configured {
			t.Errorf("row %+v: want podinfo/podinfo, recorded, seen, configured (notes: %s)", r, notes)
		}
		byRoute[r.Route] = r
	}
	healthz, echo := byRoute["GET /healthz"], byRoute["POST /echo"]
	if len(rows) != 3 || healthz.SuccessRatio == nil || echo.SuccessRatio == nil || byRoute[series.UnknownRoute].RPS == nil {
		t.Fatalf("rows %s, want GET /healthz, POST /echo and unknown with traffic", out)
	}
	if *healthz.SuccessRatio != 1 || *echo.SuccessRatio >= 0.95 {
		t.Errorf("success ratios: GET /healthz %v, POST /echo %v; want 1 and under 0.95 in the burst", *healthz.SuccessRatio, *echo.SuccessRatio)
	}
	// GET /healthz takes 2-8ms, POST /echo 20-400ms (PodinfoWaypoint).
	if healthz.P99Ms == nil || *healthz.P99Ms > 10 || echo.P50Ms == nil || *echo.P50Ms < 10 {
		t.Errorf("latencies: GET /healthz p99 %v, POST /echo p50 %v", ptrString(healthz.P99Ms), ptrString(echo.P50Ms))
	}
	table, _ := run("table")
	for _, want := range []string{"ROUTE", "GET /healthz", "POST /echo", series.UnknownRoute, "100.00%"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q:\n%s", want, table)
		}
	}
}

func ptrString(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}
