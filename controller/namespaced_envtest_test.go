package controller_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	crclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/controller"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/testutil"
)

// namespacedMesh is a sidecar namespace shop with a classification, a
// mesh-wide one in Istio's root namespace, here mesh-root (the bundle
// config's rootNamespace), whose rules go there, and
// routebundle's objects from earlier: a stale PodMonitor in monitoring and
// a PrometheusRule in other, a namespace outside the output namespaces.
const namespacedMesh = `apiVersion: v1
kind: Namespace
metadata: {name: mesh-root}
---
apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {istio-injection: enabled}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: cart-routes, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match:
      - value: GET /items
        condition: "request.method == 'GET' && request.url_path == '/items'"
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides: {route_name: {value: "filter_state['wasm.istio_operationId']"}}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: health-routes, namespace: mesh-root}
spec:
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_healthOperation
      match:
      - value: health
        condition: "request.url_path == '/healthz'"
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: health, namespace: mesh-root}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides: {health_route: {value: "filter_state['wasm.istio_healthOperation']"}}
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: routebundle-gone
  namespace: monitoring
  labels: {app.kubernetes.io/managed-by: routebundle}
  annotations: {routebundle.io/sources: "*"}
spec:
  selector: {matchLabels: {app: gone}}
  podMetricsEndpoints: [{port: metrics}]
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: routebundle-other-gone
  namespace: other
  labels: {app.kubernetes.io/managed-by: routebundle}
  annotations: {routebundle.io/sources: WasmPlugin/shop/gone-routes}
spec:
  groups:
  - name: gone
    rules: [{record: "gone:up", expr: "up"}]
`

// TestNamespaceScoped runs the controller with watched namespaces against
// a real API server: the bundle is applied, pruned and kept in the output
// namespaces (by default the watched ones, the root namespace and the
// config's), the root namespace's mesh-wide rules land in the root
// namespace, nothing outside is touched, and the API server's audit log
// shows that the bundle's kinds and Events were never listed or watched
// beyond those namespaces. A config writing elsewhere is refused at start
// and on reload.
func TestNamespaceScoped(t *testing.T) {
	srv := k8stest.StartWith(t, k8stest.Options{AuditReads: true})
	rbCfg, err := srv.AddUser("routebundle")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := crclient.New(srv.Config, crclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := k8stest.DecodeObjects([]byte(namespacedMesh))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		create(t, cl, o)
	}
	configPath := filepath.Join(t.TempDir(), "bundle.yaml")
	writeConfig := func(s string) {
		t.Helper()
		if err := os.WriteFile(configPath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig("rootNamespace: mesh-root\nrules: {release: prom}\n")
	logs := &testutil.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(io.MultiWriter(t.Output(), logs), nil))
	config, err := controller.LoadConfigFile(configPath, 50*time.Millisecond, log)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("refused at start", func(t *testing.T) {
		_, err := controller.New(newManager(t, rbCfg), controller.Options{Config: config, Logger: log,
			WatchNamespaces: []string{"shop"}, OutputNamespaces: []string{"monitoring", "shop"}})
		if err == nil || !strings.Contains(err.Error(), configPath+`: rules.namespace: unset, each route set's rules go to its own namespace, and the source namespace "mesh-root" is not among the output namespaces (monitoring, shop`) {
			t.Errorf("rules of the root namespace outside the output namespaces: %v", err)
		}
		_, err = controller.New(newManager(t, rbCfg), controller.Options{Config: config, Logger: log, OutputNamespaces: []string{"shop"}})
		if err == nil || !strings.Contains(err.Error(), "--output-namespaces needs --watch-namespaces") {
			t.Errorf("output namespaces without watched ones: %v", err)
		}
	})

	mgr := newManager(t, rbCfg)
	c, err := controller.New(mgr, quick(controller.Options{Config: config, Logger: log, WatchNamespaces: []string{"shop"}}))
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	stop := startManager(t, mgr)
	waitFor(t, "ready", func() error { return c.ReadyCheck(nil) })

	ctx := t.Context()
	rules := func(ns string) ([]unstructured.Unstructured, error) {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("monitoring.coreos.com/v1")
		list.SetKind("PrometheusRuleList")
		err := cl.List(ctx, list, crclient.InNamespace(ns), crclient.MatchingLabels{"app.kubernetes.io/managed-by": "routebundle"})
		return list.Items, err
	}
	names := func(ns string) ([]string, error) {
		items, err := rules(ns)
		var out []string
		for _, u := range items {
			out = append(out, u.GetName())
		}
		return out, err
	}
	hasRules := func(ns string, want ...string) func() error {
		return func() error {
			got, err := names(ns)
			if err == nil && !slices.Equal(got, want) {
				err = fmt.Errorf("PrometheusRules of %s: %q, want %q", ns, got, want)
			}
			return err
		}
	}
	waitFor(t, "shop's rules", hasRules("shop", "routebundle-shop-route-name"))
	// A mesh-wide route set (a root-namespace WasmPlugin without selector)
	// has its rules in the root namespace, one of the output namespaces.
	waitFor(t, "the root namespace's mesh-wide rules", hasRules("mesh-root", "routebundle-mesh-health-route"))
	waitFor(t, "the PodMonitor", func() error {
		_, err := getObject(t, cl, "PodMonitor", "monitoring", "routebundle-envoy-stats")
		return err
	})
	waitFor(t, "the stale PodMonitor pruned", func() error {
		if _, err := getObject(t, cl, "PodMonitor", "monitoring", "routebundle-gone"); err == nil {
			return errors.New("still there")
		}
		return nil
	})
	if got, err := names("other"); err != nil || !slices.Equal(got, []string{"routebundle-other-gone"}) {
		t.Errorf("outside the output namespaces: %q (%v), want routebundle's object left alone", got, err)
	}

	t.Run("manual edit reverted", func(t *testing.T) {
		pr, err := getObject(t, cl, "PrometheusRule", "shop", "routebundle-shop-route-name")
		if err != nil {
			t.Fatal(err)
		}
		pr.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "routebundle", "edited-by": "hand"})
		if err := cl.Update(ctx, pr, crclient.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "manual edit reverted", func() error {
			pr, err := getObject(t, cl, "PrometheusRule", "shop", "routebundle-shop-route-name")
			if err == nil && pr.GetLabels()["edited-by"] != "" {
				err = errors.New("the label is still there")
			}
			return err
		})
	})

	// Nothing valid puts a route set's objects outside the namespaces of
	// its sources, so the config check is complete: a targetRef naming
	// another namespace is refused by Istio's CRD (the applyAll guard is
	// for what the API server did not validate).
	t.Run("cross-namespace targetRefs refused", func(t *testing.T) {
		objs, err := k8stest.DecodeObjects([]byte(outsideGateway))
		if err != nil {
			t.Fatal(err)
		}
		err = cl.Create(ctx, objs[0])
		if err == nil || !strings.Contains(err.Error(), "cross namespace referencing is not currently supported") {
			t.Errorf("a Telemetry targeting a Gateway in other: %v, want refused by the CRD", err)
		}
	})

	t.Run("refused on reload", func(t *testing.T) {
		writeConfig("rootNamespace: mesh-root\nrules: {release: prom, namespace: other}\n")
		waitFor(t, "the config refused", func() error {
			if !strings.Contains(logs.String(), `rules.namespace: namespace \"other\" is not among the output namespaces (mesh-root, monitoring, shop`) {
				return errors.New("no log line names the key and the namespace")
			}
			return nil
		})
		if !strings.Contains(logs.String(), "the new bundle config is invalid; keeping the one in force") {
			t.Error("the refusal does not say the config in force is kept")
		}
		if got, err := names("other"); err != nil || len(got) != 1 {
			t.Errorf("rules in other after the refused config: %q (%v)", got, err)
		}
		// A config within the output namespaces moves the rules, and the
		// old ones are pruned.
		writeConfig("rootNamespace: mesh-root\nrules: {release: prom, namespace: monitoring}\n")
		waitFor(t, "the rules moved to monitoring", hasRules("monitoring", "routebundle-mesh-health-route", "routebundle-shop-route-name"))
		waitFor(t, "shop's old rules pruned", hasRules("shop"))
		waitFor(t, "the root namespace's old rules pruned", hasRules("mesh-root"))
		// Istio's root namespace is the one of the start: the caches and
		// the Roles are made for it.
		writeConfig("rootNamespace: istio-system\nrules: {release: prom, namespace: monitoring}\n")
		waitFor(t, "a new root namespace refused", func() error {
			if !strings.Contains(logs.String(), `rootNamespace: \"istio-system\": Istio's root namespace was mesh-root when routebundle started`) {
				return errors.New("no log line")
			}
			return nil
		})
	})

	// The audit log: every list and watch of the bundle's kinds and of
	// Events stayed in the output and source namespaces. Watches are
	// logged when they end.
	stop()
	outputs := []string{"mesh-root", "monitoring", "shop"}
	scoped := map[string][]string{
		"prometheusrules.monitoring.coreos.com": outputs, "podmonitors.monitoring.coreos.com": outputs,
		"servicemonitors.monitoring.coreos.com": outputs, "configmaps": outputs,
		"events": {"mesh-root", "shop"}, "events.events.k8s.io": {"mesh-root", "shop"},
	}
	var outside []string
	waitFor(t, "the audit log of the bundle's kinds and Events", func() error {
		reqs, err := srv.Requests(begin)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		outside = nil
		for _, r := range reqs {
			allowed, ok := scoped[r.Resource]
			if r.User != "routebundle" || !ok || r.Verb != "list" && r.Verb != "watch" {
				continue
			}
			seen[r.Resource+" "+r.Verb] = true
			if !slices.Contains(allowed, r.Namespace) {
				outside = append(outside, fmt.Sprintf("%s: outside %q", r, allowed))
			}
		}
		for _, want := range []string{"prometheusrules.monitoring.coreos.com watch", "configmaps watch", "events list"} {
			if !seen[want] {
				return fmt.Errorf("no %s in the audit log yet", want)
			}
		}
		return nil
	})
	if len(outside) > 0 {
		t.Errorf("lists and watches beyond namespace-scoped mode's namespaces:\n%s", strings.Join(outside, "\n"))
	}
}

// outsideGateway is a Telemetry in shop reading the route names of a
// Gateway in other, outside the output namespaces.
const outsideGateway = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: edge-route-names, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: edge, namespace: other}]
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT}
      tagOverrides: {edge_route: {value: xds.route_name}}
`

func getObject(t *testing.T, cl crclient.Client, kind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("monitoring.coreos.com/v1")
	u.SetKind(kind)
	return u, cl.Get(t.Context(), crclient.ObjectKey{Namespace: ns, Name: name}, u)
}
