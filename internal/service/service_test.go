package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

var _ = corev1.EventTypeWarning
