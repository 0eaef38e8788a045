package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/controller"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/service"
)

// TestService runs the service against a real kube-apiserver: one server
// and one service for the whole package, scenarios as subtests in order
// (each in namespaces of its own). The server starts without CRDs, so
// that the first scenario is a cluster where Istio and the
// prometheus-operator are not installed yet.
func TestService(t *testing.T) {
	srv := k8stest.StartWith(t, k8stest.Options{SkipCRDs: true, AuditLog: true})
	rb, err := srv.AddUser("routebundle")
	if err != nil {
		t.Fatal(err)
	}
	k := newCluster(t, srv.Config)
	configPath := filepath.Join(t.TempDir(), "bundle.yaml")
	writeFile(t, configPath, "rules: {release: prom-a}\n")
	opts := service.Options{
		RESTConfig:              rb,
		Config:                  configPath,
		ConfigPoll:              100 * time.Millisecond,
		LeaderElect:             true,
		LeaderElectionNamespace: "default",
		ResyncPeriod:            5 * time.Second,
		Tune: func(o *controller.Options) {
			o.MeshDelay = 500 * time.Millisecond
			o.CRDRetry, o.CRDRetryMax = 100*time.Millisecond, time.Second
		},
	}
	in := startService(t, opts)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service logs:\n%s", in.logs.String())
		}
	})

	t.Run("missing CRDs", func(t *testing.T) { testMissingCRDs(t, srv, in) })
	if t.Failed() {
		return
	}
	k.apply(docs(namespace("monitoring"), namespace("istio-system")))
	t.Run("create", func(t *testing.T) { testCreate(t, k) })
	t.Run("edit a route", func(t *testing.T) { testEdit(t, k) })
	t.Run("manual edit reverted", func(t *testing.T) { testManualEdit(t, k) })
	t.Run("delete", func(t *testing.T) { testDelete(t, k) })
	t.Run("same name without the label", func(t *testing.T) { testNotOwned(t, k) })
	t.Run("invalid WasmPlugin", func(t *testing.T) { testInvalid(t, k) })
	t.Run("config changed on disk", func(t *testing.T) { testConfigReload(t, k, in, configPath) })
	t.Run("root namespace reaches all", func(t *testing.T) { testRootNamespace(t, k) })
	t.Run("burst coalesced", func(t *testing.T) { testBurst(t, k, srv) })
	t.Run("API server restarted", func(t *testing.T) { testRestart(t, k, srv) })
	t.Run("metrics", func(t *testing.T) { testMetrics(t, k, in) })
	t.Run("steady state", func(t *testing.T) { testSteadyState(t, k, srv, in) })
	t.Run("graceful shutdown", func(t *testing.T) { testShutdown(t, k, in) })
	t.Run("dry run", func(t *testing.T) { testDryRun(t, k, srv, opts) })
	t.Run("exporter only", func(t *testing.T) { testExporterOnly(t, k, srv, opts) })
}

// testMissingCRDs: without the CRDs the service says which one is missing,
// is not ready, and does not exit; once they are installed it gets ready.
func testMissingCRDs(t *testing.T, srv *k8stest.Server, in *instance) {
	eventually(t, waitTimeout, "log names the missing CRD", func() error {
		for _, crd := range []string{"wasmplugins.extensions.istio.io", "prometheusrules.monitoring.coreos.com"} {
			if !strings.Contains(in.logs.String(), `"crd":"`+crd+`"`) {
				return fmt.Errorf("no log line names %s", crd)
			}
		}
		return nil
	})
	code, body, err := in.get("/readyz/mesh", true)
	if err != nil || code == 200 || !strings.Contains(body, "waiting for CRDs") {
		t.Errorf("/readyz without CRDs: %d %q %v, want not ready, naming the CRDs", code, body, err)
	}
	if code, _, err := in.get("/healthz", true); err != nil || code != 200 {
		t.Errorf("/healthz: %d %v", code, err)
	}
	if err := srv.InstallCRDs(); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitTimeout, "ready once the CRDs are installed", func() error {
		code, body, err := in.get("/readyz", true)
		if err == nil && code != 200 {
			err = fmt.Errorf("%d %s", code, body)
		}
		return err
	})
}

func testCreate(t *testing.T, k *cluster) {
	k.apply(docs(namespace("shop"),
		plugin("shop", "cart-routes", "cart", nil, "items", "checkout"),
		telemetry("shop", "cart", "cart")))
	pr := k.mustGet(prometheusRuleGVK, "shop", "routebundle-shop-route-name")
	checkOwned(t, pr, "Telemetry/shop/cart,WasmPlugin/shop/cart-routes")
	if pr.GetLabels()["release"] != "prom-a" {
		t.Errorf("release label %q, want the config's prom-a", pr.GetLabels()["release"])
	}
	var name string
	eventually(t, waitTimeout, "dashboard ConfigMap", func() error {
		var err error
		if name, err = k.dashboardOf("shop", "cart-routes"); err == nil && name == "" {
			err = errors.New("none")
		}
		return err
	})
	cm := k.mustGet(configMapGVK, "monitoring", name)
	checkOwned(t, cm, "Telemetry/shop/cart,WasmPlugin/shop/cart-routes")
	if cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v", cm.GetLabels())
	}
	if !strings.Contains(dashboardJSON(t, cm), `"uid": "`+name+`"`) {
		t.Errorf("ConfigMap %s does not hold dashboard %s", name, name)
	}
	pm := k.mustGet(podMonitorGVK, "monitoring", "routebundle-envoy-stats")
	checkOwned(t, pm, "*")
}

// checkOwned checks routebundle's marks on an object it applied.
func checkOwned(t *testing.T, u *unstructured.Unstructured, sources string) {
	t.Helper()
	if u.GetLabels()["app.kubernetes.io/managed-by"] != "routebundle" {
		t.Errorf("%s %s: labels %v", u.GetKind(), u.GetName(), u.GetLabels())
	}
	if got := u.GetAnnotations()["routebundle.io/sources"]; got != sources {
		t.Errorf("%s %s: sources %q, want %q", u.GetKind(), u.GetName(), got, sources)
	}
	if u.GetAnnotations()[controller.AnnotationContentHash] == "" {
		t.Errorf("%s %s has no content hash", u.GetKind(), u.GetName())
	}
	var managers []string
	for _, mf := range u.GetManagedFields() {
		managers = append(managers, mf.Manager+"/"+string(mf.Operation))
	}
	if !reflect.DeepEqual(managers, []string{"routebundle/Apply"}) {
		t.Errorf("%s %s: field managers %v, want routebundle/Apply", u.GetKind(), u.GetName(), managers)
	}
}

func dashboardJSON(t *testing.T, cm *unstructured.Unstructured) string {
	t.Helper()
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	if len(data) != 1 {
		t.Fatalf("ConfigMap %s holds %d files", cm.GetName(), len(data))
	}
	for _, v := range data {
		return v
	}
	return ""
}

// rulesText is the rule groups of a PrometheusRule as JSON, for searching.
func rulesText(t *testing.T, pr *unstructured.Unstructured) string {
	t.Helper()
	groups, _, _ := unstructured.NestedSlice(pr.Object, "spec", "groups")
	b, err := json.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testEdit renames a route and gives it an objective: the rules gain its
// SLO, the dashboard shows the new name.
func testEdit(t *testing.T, k *cluster) {
	before := k.mustGet(prometheusRuleGVK, "shop", "routebundle-shop-route-name")
	if strings.Contains(rulesText(t, before), "GET /pay") {
		t.Fatal("the rules mention GET /pay before the edit")
	}
	k.apply(plugin("shop", "cart-routes", "cart",
		map[string]string{"routebundle.io/routes": `{"GET /pay": {objective: "99.9%"}}`}, "items", "pay"))
	eventually(t, waitTimeout, "the rules follow the edit", func() error {
		pr, err := k.get(prometheusRuleGVK, "shop", "routebundle-shop-route-name")
		if err == nil && !strings.Contains(rulesText(t, pr), "GET /pay") {
			err = errors.New("no rule for GET /pay yet")
		}
		return err
	})
	eventually(t, waitTimeout, "the dashboard follows the edit", func() error {
		name, err := k.dashboardOf("shop", "cart-routes")
		if err != nil {
			return err
		}
		cm, err := k.get(configMapGVK, "monitoring", name)
		if err != nil || cm == nil {
			return fmt.Errorf("%v", err)
		}
		// Routes with an objective get error-budget panels.
		if !strings.Contains(dashboardJSON(t, cm), "GET /pay") {
			return errors.New("the dashboard shows no error budget of GET /pay")
		}
		return nil
	})
}

// testManualEdit changes a managed PrometheusRule and ConfigMap by hand:
// both are put back.
func testManualEdit(t *testing.T, k *cluster) {
	pr := k.mustGet(prometheusRuleGVK, "shop", "routebundle-shop-route-name")
	want := rulesText(t, pr)
	groups, _, _ := unstructured.NestedSlice(pr.Object, "spec", "groups")
	g0 := groups[0].(map[string]any)
	rules := g0["rules"].([]any)
	rules[0].(map[string]any)["expr"] = "vector(1)"
	if err := unstructured.SetNestedSlice(pr.Object, groups, "spec", "groups"); err != nil {
		t.Fatal(err)
	}
	if err := k.c.Update(context.Background(), pr, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	name, err := k.dashboardOf("shop", "cart-routes")
	if err != nil || name == "" {
		t.Fatalf("no dashboard: %v", err)
	}
	cm := k.mustGet(configMapGVK, "monitoring", name)
	wantJSON := dashboardJSON(t, cm)
	if err := unstructured.SetNestedStringMap(cm.Object, map[string]string{"x.json": "{}"}, "data"); err != nil {
		t.Fatal(err)
	}
	if err := k.c.Update(context.Background(), cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitTimeout, "the manual edits are reverted", func() error {
		pr, err := k.get(prometheusRuleGVK, "shop", "routebundle-shop-route-name")
		if err != nil {
			return err
		}
		if rulesText(t, pr) != want {
			return errors.New("the PrometheusRule still differs")
		}
		cm, err := k.get(configMapGVK, "monitoring", name)
		if err != nil {
			return err
		}
		data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
		if len(data) != 1 || dashboardJSON(t, cm) != wantJSON {
			return fmt.Errorf("the ConfigMap still differs (%d keys)", len(data))
		}
		return nil
	})
}

// testDelete deletes the WasmPlugin: its rules and dashboard are pruned.
func testDelete(t *testing.T, k *cluster) {
	name, err := k.dashboardOf("shop", "cart-routes")
	if err != nil || name == "" {
		t.Fatalf("no dashboard: %v", err)
	}
	k.delete(wasmPluginGVK, "shop", "cart-routes")
	eventually(t, waitTimeout, "pruned", func() error {
		for _, o := range []struct {
			kind      string
			ns, name  string
			isPresent func() (*unstructured.Unstructured, error)
		}{
			{"PrometheusRule", "shop", "routebundle-shop-route-name", func() (*unstructured.Unstructured, error) {
				return k.get(prometheusRuleGVK, "shop", "routebundle-shop-route-name")
			}},
			{"ConfigMap", "monitoring", name, func() (*unstructured.Unstructured, error) {
				return k.get(configMapGVK, "monitoring", name)
			}},
		} {
			u, err := o.isPresent()
			if err != nil {
				return err
			}
			if u != nil {
				return fmt.Errorf("%s %s/%s is still there", o.kind, o.ns, o.name)
			}
		}
		return nil
	})
}

// events returns the Events about an object.
func (k *cluster) events(kind, ns, name string) ([]corev1.Event, error) {
	list := &corev1.EventList{}
	if err := k.c.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			out = append(out, e)
		}
	}
	return out, nil
}

// waitEvent waits for an Event with reason on the WasmPlugin ns/name.
func (k *cluster) waitEvent(t *testing.T, ns, name, reason string) corev1.Event {
	t.Helper()
	var found corev1.Event
	eventually(t, waitTimeout, fmt.Sprintf("Event %s on WasmPlugin %s/%s", reason, ns, name), func() error {
		evs, err := k.events("WasmPlugin", ns, name)
		if err != nil {
			return err
		}
		var reasons []string
		for _, e := range evs {
			if e.Reason == reason {
				found = e
				return nil
			}
			reasons = append(reasons, e.Reason)
		}
		return fmt.Errorf("events: %v", reasons)
	})
	return found
}

// waitDashboard waits for the dashboard ConfigMap of a WasmPlugin.
func (k *cluster) waitDashboard(t *testing.T, ns, plugin string) string {
	t.Helper()
	var name string
	eventually(t, waitTimeout, "dashboard of "+ns+"/"+plugin, func() error {
		var err error
		if name, err = k.dashboardOf(ns, plugin); err == nil && name == "" {
			err = errors.New("none")
		}
		return err
	})
	return name
}

// testNotOwned: a PrometheusRule of the name routebundle would use, but
// without its label, is left alone; the owner of the WasmPlugin hears why.
func testNotOwned(t *testing.T, k *cluster) {
	k.apply(docs(namespace("team"), `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: routebundle-team-route-name, namespace: team}
spec:
  groups:
  - name: mine
    rules: [{record: "team:up", expr: "up"}]
`))
	before := k.mustGet(prometheusRuleGVK, "team", "routebundle-team-route-name")
	k.apply(docs(plugin("team", "api-routes", "api", nil, "users", "orders"), telemetry("team", "api", "api")))
	k.waitDashboard(t, "team", "api-routes")
	ev := k.waitEvent(t, "team", "api-routes", controller.ReasonNotOwned)
	if ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Message, "PrometheusRule/team/routebundle-team-route-name") {
		t.Errorf("event %s %q", ev.Type, ev.Message)
	}
	after := k.mustGet(prometheusRuleGVK, "team", "routebundle-team-route-name")
	if after.GetResourceVersion() != before.GetResourceVersion() || len(after.GetLabels()) != 0 {
		t.Errorf("the unlabelled PrometheusRule was touched: resourceVersion %s -> %s, labels %v",
			before.GetResourceVersion(), after.GetResourceVersion(), after.GetLabels())
	}
	// Handing it over: once it is deleted, routebundle's own appears.
	k.delete(prometheusRuleGVK, "team", "routebundle-team-route-name")
	eventually(t, waitTimeout, "routebundle's PrometheusRule replaces the deleted one", func() error {
		pr, err := k.get(prometheusRuleGVK, "team", "routebundle-team-route-name")
		if err == nil && (pr == nil || pr.GetLabels()["app.kubernetes.io/managed-by"] != "routebundle") {
			err = errors.New("not yet")
		}
		return err
	})
}

// testInvalid: a WasmPlugin whose condition does not compile gets an Event
// naming the problem; the other plugin of its namespace is served.
func testInvalid(t *testing.T, k *cluster) {
	bad := strings.Replace(plugin("mixed", "bad-routes", "bad", nil, "x"),
		`condition: "request.url_path == '/x'"`, `condition: "request.url_path == "`, 1)
	k.apply(docs(namespace("mixed"), bad, telemetry("mixed", "bad", "bad"),
		plugin("mixed", "good-routes", "good", nil, "a", "b"), telemetry("mixed", "good", "good")))
	ev := k.waitEvent(t, "mixed", "bad-routes", "RB008")
	if ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Message, "spec.pluginConfig.attributes[0].match[0].condition") {
		t.Errorf("event %s %q, want a warning naming the field", ev.Type, ev.Message)
	}
	k.waitDashboard(t, "mixed", "good-routes")
	k.mustGet(prometheusRuleGVK, "mixed", "routebundle-mixed-route-name")
}

// testConfigReload rewrites the bundle config: the objects follow; an
// invalid config is reported and the one in force kept.
func testConfigReload(t *testing.T, k *cluster, in *instance, path string) {
	release := func() (string, error) {
		pr, err := k.get(prometheusRuleGVK, "mixed", "routebundle-mixed-route-name")
		if err != nil || pr == nil {
			return "", fmt.Errorf("no PrometheusRule (%v)", err)
		}
		return pr.GetLabels()["release"], nil
	}
	writeFile(t, path, "rules: {release: prom-b}\n")
	eventually(t, waitTimeout, "the new config applies", func() error {
		r, err := release()
		if err == nil && r != "prom-b" {
			err = fmt.Errorf("release %q", r)
		}
		return err
	})
	writeFile(t, path, "rules: {release: prom-c, bogus: 1}\n")
	eventually(t, waitTimeout, "the invalid config is reported", func() error {
		if !strings.Contains(in.logs.String(), "the new bundle config is invalid; keeping the one in force") {
			return errors.New("no log line")
		}
		return nil
	})
	time.Sleep(time.Second)
	if r, err := release(); err != nil || r != "prom-b" {
		t.Errorf("after an invalid config: release %q (%v), want prom-b kept", r, err)
	}
	// A restarted service must be able to read it.
	writeFile(t, path, "rules: {release: prom-b}\n")
}

// testRootNamespace: a mesh-wide Telemetry in istio-system adds a tag in
// every namespace with attributegen plugins; deleting it removes them.
func testRootNamespace(t *testing.T, k *cluster) {
	k.apply(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-routes, namespace: istio-system}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides: {route_mesh: {value: "filter_state['wasm.istio_operationId']"}}
`)
	for _, ns := range []string{"team", "mixed"} {
		pr := k.mustGet(prometheusRuleGVK, ns, "routebundle-"+ns+"-route-mesh")
		if !strings.Contains(pr.GetAnnotations()["routebundle.io/sources"], "Telemetry/istio-system/mesh-routes") {
			t.Errorf("%s: sources %q", ns, pr.GetAnnotations()["routebundle.io/sources"])
		}
	}
	k.delete(schema.GroupVersionKind{Group: "telemetry.istio.io", Version: "v1", Kind: "Telemetry"}, "istio-system", "mesh-routes")
	eventually(t, waitTimeout, "the mesh-wide tag's rules are pruned", func() error {
		for _, ns := range []string{"team", "mixed"} {
			if pr, err := k.get(prometheusRuleGVK, ns, "routebundle-"+ns+"-route-mesh"); err != nil || pr != nil {
				return fmt.Errorf("%s still has its rules (%v)", ns, err)
			}
		}
		return nil
	})
}

// testBurst edits twenty WasmPlugins of one namespace at once: the
// namespace's PrometheusRule ends up with every edit, in fewer writes.
func testBurst(t *testing.T, k *cluster, srv *k8stest.Server) {
	const n = 20
	var objs []string
	for i := range n {
		objs = append(objs, plugin("burst", fmt.Sprintf("p%02d", i), fmt.Sprintf("app%02d", i), nil, fmt.Sprintf("r%02d", i)),
			telemetry("burst", fmt.Sprintf("t%02d", i), fmt.Sprintf("app%02d", i)))
	}
	k.apply(docs(append([]string{namespace("burst")}, objs...)...))
	k.mustGet(prometheusRuleGVK, "burst", "routebundle-burst-route-name")
	time.Sleep(2 * time.Second) // let the light mesh pass go by
	begin := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k.apply(plugin("burst", fmt.Sprintf("p%02d", i), fmt.Sprintf("app%02d", i),
				map[string]string{"routebundle.io/routes": fmt.Sprintf(`{"GET /r%02d": {objective: "99%%"}}`, i)}, fmt.Sprintf("r%02d", i)))
		})
	}
	wg.Wait()
	edited := time.Since(begin)
	eventually(t, waitTimeout, "every edit reaches the rules", func() error {
		pr, err := k.get(prometheusRuleGVK, "burst", "routebundle-burst-route-name")
		if err != nil {
			return err
		}
		text := rulesText(t, pr)
		for i := range n {
			if !strings.Contains(text, fmt.Sprintf("GET /r%02d", i)) {
				return fmt.Errorf("no rule for GET /r%02d", i)
			}
		}
		return nil
	})
	writes, err := srv.Writes(begin)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, w := range writes {
		if w.User == "routebundle" && w.Resource == "prometheusrules.monitoring.coreos.com" && w.Name == "routebundle-burst-route-name" {
			count++
		}
	}
	t.Logf("%d edits in %s: %d writes to the PrometheusRule", n, edited.Round(time.Millisecond), count)
	if count == 0 || count >= n {
		t.Errorf("%d edits made %d writes to the PrometheusRule, want fewer than edits", n, count)
	}
}
