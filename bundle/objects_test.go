package bundle_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// twoNamespaces classifies two workloads of shop, which share one
// PrometheusRule and get a dashboard each, and the namespace billing.
const twoNamespaces = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: cart-routes, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match: [{value: GET /cart, condition: "request.url_path == '/cart'"}]
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: pay-routes, namespace: shop}
spec:
  selector: {matchLabels: {app: pay}}
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match: [{value: POST /pay, condition: "request.url_path == '/pay'"}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS}
      tagOverrides:
        route_name: {value: "filter_state['wasm.istio_operationId']"}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: pay, namespace: shop}
spec:
  selector: {matchLabels: {app: pay}}
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS}
      tagOverrides:
        route_name: {value: "filter_state['wasm.istio_operationId']"}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: invoices, namespace: billing}
spec:
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match: [{value: GET /invoices, condition: "request.url_path == '/invoices'"}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: routes, namespace: billing}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS}
      tagOverrides:
        route_name: {value: "filter_state['wasm.istio_operationId']"}
`

func TestObjectsNameTheirSources(t *testing.T) {
	objs, diags := manifest.Decode("two.yaml", []byte(twoNamespaces))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	inv, err := inventory.Build(objs)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := bundle.Build(inv, bundle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range b.Objects() {
		obj := o.Object
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		if obj.GetLabels()[bundle.LabelManagedBy] != bundle.ManagedBy {
			t.Errorf("%s %s has no %s label", kind, obj.GetName(), bundle.LabelManagedBy)
		}
		if (o.Dashboard != nil) != (kind == "ConfigMap") {
			t.Errorf("%s %s: dashboard %v", kind, obj.GetName(), o.Dashboard != nil)
		}
		if (len(o.RouteSets) == 0) != (len(o.Sources) == 0) {
			t.Errorf("%s %s: route sets %v but sources %v", kind, obj.GetName(), o.RouteSets, o.Sources)
		}
		got[kind+"/"+obj.GetNamespace()+"/"+obj.GetName()] = obj.GetAnnotations()[bundle.AnnotationSources]
	}
	shopDashboard := dashboardUID(t, b, "shop", "cart")
	want := map[string]string{
		"PrometheusRule/shop/routebundle-shop-route-name":       "Telemetry/shop/cart,Telemetry/shop/pay,WasmPlugin/shop/cart-routes,WasmPlugin/shop/pay-routes",
		"PrometheusRule/billing/routebundle-billing-route-name": "Telemetry/billing/routes,WasmPlugin/billing/invoices",
		"ConfigMap//" + shopDashboard:                           "Telemetry/shop/cart,WasmPlugin/shop/cart-routes",
		"ConfigMap//" + dashboards.OverviewUID:                  bundle.MeshSources,
		"PodMonitor/monitoring/routebundle-envoy-stats":         bundle.MeshSources,
		"ServiceMonitor/monitoring/routebundle-istiod":          bundle.MeshSources,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: sources %q, want %q", k, got[k], v)
		}
	}
	// 2 rules, 3 workload dashboards and the overview, 2 monitors.
	if len(got) != 8 {
		t.Errorf("%d objects, want 8: %v", len(got), got)
	}
}

func dashboardUID(t *testing.T, b *bundle.Bundle, ns, app string) string {
	t.Helper()
	for _, d := range b.Dashboards {
		if strings.HasPrefix(d.UID, ns+"-app-"+app) {
			return d.UID
		}
	}
	var uids []string
	for _, d := range b.Dashboards {
		uids = append(uids, d.UID)
	}
	t.Fatalf("no dashboard for %s/%s in %v", ns, app, uids)
	return ""
}

func TestObjectsAreCopies(t *testing.T) {
	b := podinfoBundle(t)
	first := b.Objects()
	for _, o := range first {
		o.Object.SetName("changed")
		o.Object.GetLabels()["x"] = "y"
	}
	for _, o := range b.Objects() {
		if o.Object.GetName() == "changed" || o.Object.GetLabels()["x"] != "" {
			t.Fatalf("%s: a change to an earlier Objects call shows", o.Object.GetName())
		}
	}
	for _, pr := range b.Rules.PrometheusRules {
		if _, ok := pr.Annotations[bundle.AnnotationSources]; ok {
			t.Errorf("Objects annotated the generator's own PrometheusRule %s", pr.Name)
		}
	}
}

func TestCompleteCarriesTheDashboard(t *testing.T) {
	b := podinfoBundle(t)
	n := 0
	for _, o := range b.Objects() {
		obj, err := o.Complete()
		if err != nil {
			t.Fatal(err)
		}
		if o.Dashboard == nil {
			if obj != o.Object {
				t.Errorf("%s: Complete copied an object without a dashboard", obj.GetName())
			}
			continue
		}
		n++
		want, err := o.Dashboard.JSON()
		if err != nil {
			t.Fatal(err)
		}
		cm := obj.(*corev1.ConfigMap)
		if cm.Data[o.Dashboard.FileName] != string(want) || len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s does not carry exactly the dashboard's JSON", cm.Name)
		}
		if o.Object.(*corev1.ConfigMap).Data != nil {
			t.Errorf("Complete filled in the object of %s itself", cm.Name)
		}
	}
	if n == 0 {
		t.Error("no dashboard ConfigMaps")
	}
}

func podinfoBundle(t *testing.T) *bundle.Bundle {
	t.Helper()
	b, _, err := bundle.Build(inventories(t)["podinfo"], bundle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestObjectEncoderMatchesComplete: the encoder's JSON is Complete's object.
func TestObjectEncoderMatchesComplete(t *testing.T) {
	enc := bundle.NewObjectEncoder()
	for name, inv := range inventories(t) {
		b, _, err := bundle.Build(inv, bundle.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range b.Objects() {
			got, err := enc.JSON(o)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := o.Complete()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(decodeJSON(t, got), normalize(t, obj)) {
				t.Errorf("%s: %s %s encodes differently from its complete object", name,
					obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName())
			}
		}
	}
}

func decodeJSON(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%v:\n%.300s", err, data)
	}
	return m
}
