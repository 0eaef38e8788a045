package service_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/controller"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/meshsim"
	"github.com/routebundle/routebundle/internal/promapi"
	"github.com/routebundle/routebundle/internal/promtest"
	"github.com/routebundle/routebundle/internal/service"
	"github.com/routebundle/routebundle/internal/testutil"
)

// testRestart edits a WasmPlugin and restarts the API server at once: the
// edit is applied once it is back, and so is what comes after.
func testRestart(t *testing.T, k *cluster, srv *k8stest.Server) {
	k.apply(plugin("team", "api-routes", "api", map[string]string{"routebundle.io/objective": "99.5%"}, "users", "orders"))
	if err := srv.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*waitTimeout, "the edit made before the restart is applied", func() error {
		pr, err := k.get(prometheusRuleGVK, "team", "routebundle-team-route-name")
		if err == nil && (pr == nil || !strings.Contains(rulesText(t, pr), "99.5%")) {
			err = errors.New("no SLO rules for 99.5% yet")
		}
		return err
	})
	k.apply(docs(namespace("later"), plugin("later", "web-routes", "web", nil, "home"), telemetry("later", "web", "web")))
	k.mustGet(prometheusRuleGVK, "later", "routebundle-later-route-name")
}

// testMetrics reads /metrics: controller-runtime's metrics of the
// controller are gathered beside the service's own registry.
func testMetrics(t *testing.T, k *cluster, in *instance) {
	code, body, err := in.get("/metrics", false)
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{`controller_runtime_reconcile_total{controller="routebundle"`, "workqueue_depth", "go_goroutines", "rest_client_requests_total",
		`routebundle_reconciles_total{pass="mesh",result="success"}`, "routebundle_routes{"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	lease := &coordinationv1.Lease{}
	if err := k.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: service.LeaderElectionID}, lease); err != nil {
		t.Fatalf("leader election Lease: %v", err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Error("the Lease has no holder")
	}
}

// steadyFor is how long the steady state is watched: a minute of resyncs
// (every 5s here), unless ROUTEBUNDLE_STEADY_STATE says otherwise.
func steadyFor(t *testing.T) time.Duration {
	if s := os.Getenv("ROUTEBUNDLE_STEADY_STATE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("ROUTEBUNDLE_STEADY_STATE: %v", err)
		}
		return d
	}
	return time.Minute
}

// testSteadyState: with nothing changing, a minute of mesh-wide passes
// writes nothing, as the API server counts: no audited write by the
// service's user (its Lease renewals aside) and no resourceVersion moved.
func testSteadyState(t *testing.T, k *cluster, srv *k8stest.Server, in *instance) {
	// Settle: two full passes after the last write.
	eventually(t, waitTimeout, "settled", func() error {
		writes, err := srv.Writes(time.Now().Add(-12 * time.Second))
		if err != nil {
			return err
		}
		for _, w := range writes {
			if w.User == "routebundle" && w.Resource != "leases.coordination.k8s.io" {
				return fmt.Errorf("recent write: %s", w)
			}
		}
		return nil
	})
	before := managedVersions(t, k)
	passes := in.passes(controller.ScopeMesh)
	begin := time.Now()
	time.Sleep(steadyFor(t))
	writes, err := srv.Writes(begin)
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, w := range writes {
		if w.User == "routebundle" && w.Resource != "leases.coordination.k8s.io" {
			ours = append(ours, w.String())
		}
	}
	passes = in.passes(controller.ScopeMesh) - passes
	t.Logf("%d mesh-wide passes over %d objects in %s: %d writes", passes, len(before), time.Since(begin).Round(time.Second), len(ours))
	if len(ours) > 0 {
		t.Errorf("writes at steady state:\n%s", strings.Join(ours, "\n"))
	}
	if passes < int(steadyFor(t)/(10*time.Second)) {
		t.Errorf("only %d mesh-wide passes", passes)
	}
	after := managedVersions(t, k)
	for key, rv := range before {
		if after[key] != rv {
			t.Errorf("%s: resourceVersion %s -> %s", key, rv, after[key])
		}
	}
}

// managedVersions returns the resourceVersion of every object labelled as
// routebundle's.
func managedVersions(t *testing.T, k *cluster) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, gvk := range []string{"monitoring.coreos.com/v1/PrometheusRuleList", "monitoring.coreos.com/v1/PodMonitorList",
		"monitoring.coreos.com/v1/ServiceMonitorList", "v1/ConfigMapList"} {
		list := &unstructured.UnstructuredList{}
		i := strings.LastIndex(gvk, "/")
		list.SetAPIVersion(gvk[:i])
		list.SetKind(gvk[i+1:])
		if err := k.c.List(context.Background(), list, client.MatchingLabels{"app.kubernetes.io/managed-by": "routebundle"}); err != nil {
			t.Fatal(err)
		}
		for _, u := range list.Items {
			out[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u.GetResourceVersion()
		}
	}
	if len(out) == 0 {
		t.Fatal("no managed objects")
	}
	return out
}

// testShutdown stops the service as SIGTERM would: Start returns nil and
// the Lease is released for the next leader.
func testShutdown(t *testing.T, k *cluster, in *instance) {
	begin := time.Now()
	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stopped in %s", time.Since(begin).Round(time.Millisecond))
	lease := &coordinationv1.Lease{}
	if err := k.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: service.LeaderElectionID}, lease); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the Lease is still held by %s", *h)
	}
}

// testDryRun runs a second service with --dry-run as its own user: it
// logs what it would apply and the API server audits no write of it.
func testDryRun(t *testing.T, k *cluster, srv *k8stest.Server, opts service.Options) {
	cfg, err := srv.AddUser("routebundle-dry")
	if err != nil {
		t.Fatal(err)
	}
	k.apply(docs(namespace("dry"), plugin("dry", "routes", "app", nil, "a"), telemetry("dry", "app", "app")))
	begin := time.Now()
	// Watching one namespace, it must not mean to prune the others'.
	opts.RESTConfig, opts.DryRun, opts.WatchNamespaces = cfg, true, []string{"dry"}
	in := startService(t, opts)
	eventually(t, waitTimeout, "the dry run says what it would apply", func() error {
		if !strings.Contains(in.logs.String(), `"msg":"dry run: would apply","object":"PrometheusRule/dry/routebundle-dry-route-name"`) {
			return errors.New("not yet")
		}
		return nil
	})
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(in.logs.String(), `"msg":"dry run: would prune","object":"PrometheusRule/team/`) {
		t.Error("watching namespace dry, the dry run would prune the rules of team")
	}
	writes, err := srv.Writes(begin)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		if w.User == "routebundle-dry" {
			t.Errorf("the dry run wrote: %s", w)
		}
	}
	if pr, err := k.get(prometheusRuleGVK, "dry", "routebundle-dry-route-name"); err != nil || pr != nil {
		t.Errorf("the dry run's PrometheusRule exists (%v)", err)
	}
}

// testExporterOnly runs the service as --exporter-only does, against a
// real Prometheus that scrapes a synthetic sidecar of the dry namespace's
// workload: /metrics reports the configuration the service reads (an edit
// included), what Prometheus holds of it, and nothing is written.
func testExporterOnly(t *testing.T, k *cluster, srv *k8stest.Server, opts service.Options) {
	cfg, err := srv.AddUser("routebundle-exporter")
	if err != nil {
		t.Fatal(err)
	}
	app := meshsim.Workload{Namespace: "dry", Name: "app"}
	client := meshsim.Workload{Namespace: "dry", Name: "client"}
	sidecar := meshsim.Start(t, meshsim.Proxy{Reporter: meshsim.ReporterDestination, Tag: "route_name", Flows: []meshsim.Flow{
		{Source: client, Destination: app, Route: "GET /a", RPS: 9},
		{Source: client, Destination: app, RPS: 1}, // unknown
	}})
	prom := promtest.Start(t, promtest.Options{Config: promtest.Config(promtest.StaticScrapeConfig{
		Job: "envoy-stats", Targets: []string{sidecar.Addr()}, MetricsPath: meshsim.MetricsPath,
	})})
	prom.WaitForTargets(t, 1, waitTimeout)

	begin := time.Now()
	opts.RESTConfig, opts.ExporterOnly = cfg, true
	opts.Exporter = service.ExporterOptions{
		Prometheus: promapi.Options{URL: prom.URL},
		Interval:   2 * time.Second, Timeout: 2 * time.Second,
	}
	in := startService(t, opts)
	// The route set of dry, as its info series names it.
	var set string
	scrape := func(name string, labels map[string]string) (float64, error) {
		code, body, err := in.get("/metrics", false)
		if err != nil || code != 200 {
			return 0, fmt.Errorf("/metrics: %d %v", code, err)
		}
		m, err := testutil.ParseExposition(strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		if set == "" {
			info := m.Get("routebundle_route_set_info", map[string]string{"namespace": "dry"})
			if len(info) != 1 {
				return 0, fmt.Errorf("route set of dry: %v", info)
			}
			set = info[0].Labels["route_set"]
		}
		if _, ok := labels["route"]; ok {
			labels["route_set"] = set
		}
		return m.One(name, labels)
	}
	eventually(t, waitTimeout, "the configuration and Prometheus' data reach /metrics", func() error {
		if up, err := scrape("routebundle_prometheus_up", nil); err != nil || up != 1 {
			return fmt.Errorf("prometheus_up %g %v", up, err)
		}
		if n, err := scrape("routebundle_routes", map[string]string{"namespace": "dry"}); err != nil || n != 1 {
			return fmt.Errorf("routes of dry: %g %v", n, err)
		}
		if n, err := scrape("routebundle_route_series", map[string]string{"route": "GET /a", "metric": "istio_requests_total"}); err != nil || n < 1 {
			return fmt.Errorf("series of GET /a: %g %v", n, err)
		}
		unknown, err := scrape("routebundle_workload_unknown_route_ratio", map[string]string{"destination_workload_namespace": "dry", "destination_workload": "app"})
		if err != nil || unknown < 0.09 || unknown > 0.11 {
			return fmt.Errorf("unknown share of dry/app %g (want 0.1) %v", unknown, err)
		}
		return nil
	})
	// An edit reaches it too, through a namespace pass: GET /b is
	// configured and never seen.
	k.apply(plugin("dry", "routes", "app", nil, "a", "b"))
	eventually(t, waitTimeout, "the edit reaches /metrics", func() error {
		if n, err := scrape("routebundle_routes", map[string]string{"namespace": "dry"}); err != nil || n != 2 {
			return fmt.Errorf("routes of dry: %g %v", n, err)
		}
		if u, err := scrape("routebundle_route_unseen", map[string]string{"route": "GET /b"}); err != nil || u != 1 {
			return fmt.Errorf("GET /b unseen: %g %v", u, err)
		}
		if _, err := scrape("routebundle_route_unseen", map[string]string{"route": "GET /a"}); err == nil {
			return errors.New("GET /a, which has traffic, is reported unseen")
		}
		return nil
	})
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	writes, err := srv.Writes(begin)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		if w.User == "routebundle-exporter" {
			t.Errorf("--exporter-only wrote: %s", w)
		}
	}
}
