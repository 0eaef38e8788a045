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
	"github.com/routebundle/routebundle/internal/service"
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
	for _, want := range []string{`controller_runtime_reconcile_total{controller="routebundle"`, "workqueue_depth", "go_goroutines", "rest_client_requests_total"} {
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
	passes := in.rec.count(controller.ScopeMesh)
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
	passes = in.rec.count(controller.ScopeMesh) - passes
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

// testExporterOnly runs the service as --exporter-only does, with an
// exporter that keeps what the service hands it: the inventory it reads
// is current, and nothing is written.
func testExporterOnly(t *testing.T, k *cluster, srv *k8stest.Server, opts service.Options) {
	cfg, err := srv.AddUser("routebundle-exporter")
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	opts.RESTConfig, opts.ExporterOnly = cfg, true
	var deps service.ExporterDeps
	opts.Exporter = func(d service.ExporterDeps) (controller.Recorder, error) {
		deps = d
		return controller.NopRecorder{}, nil
	}
	in := startService(t, opts)
	if !deps.ExporterOnly || deps.Registry == nil || deps.Manager == nil {
		t.Fatalf("the exporter got %+v", deps)
	}
	eventually(t, waitTimeout, "the inventory reaches the exporter", func() error {
		inv := deps.Inventory()
		if inv == nil {
			return errors.New("no inventory yet")
		}
		for _, rs := range inv.RouteSets {
			if rs.Namespace == "dry" {
				return nil
			}
		}
		return fmt.Errorf("%d route sets, none of namespace dry", len(inv.RouteSets))
	})
	// An edit reaches it too, through a namespace pass.
	k.apply(plugin("dry", "routes", "app", nil, "a", "b"))
	eventually(t, waitTimeout, "the edit reaches the inventory", func() error {
		for _, rs := range deps.Inventory().RouteSets {
			if rs.Namespace == "dry" && len(rs.Routes) == 2 {
				return nil
			}
		}
		return errors.New("not yet")
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
