package bundle_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// hostile is a WasmPlugin and Telemetry whose route values hold everything
// that breaks naive quoting: PromQL and JSON quotes, backslashes, braces,
// newlines, NEL, YAML 1.1 booleans and non-ASCII — with an objective and
// per-route overrides, so that the values land in rules and dashboards.
const hostile = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: weird-routes
  namespace: shop
  annotations:
    routebundle.io/objective: "0.999"
    routebundle.io/routes: |
      "GET /say \"hi\" {x}": {error-ratio: "0.2"}
      "line\nbreak\u0085nel": {latency-p99: "300ms"}
      "Y": {min-request-rate: "2"}
spec:
  selector: {matchLabels: {app: cart}}
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match:
      - value: "GET /say \"hi\" {x}"
        condition: request.url_path == '/a'
      - value: "back\\slash } ` + "`" + `tick"
        condition: request.url_path == '/b'
      - value: "line\nbreak\u0085nel"
        condition: request.url_path == '/c'
      - value: "Y"
        condition: request.url_path == '/d'
      - value: "café ☕ $route ${x}"
        condition: request.url_path == '/e'
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: weird, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS}
      tagOverrides:
        route_name: {value: "filter_state['wasm.istio_operationId']"}
`

// inventories returns the inputs every integration test covers.
func inventories(t *testing.T) map[string]*inventory.Inventory {
	t.Helper()
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	res, err := manifest.ReadFS(examples.Podinfo())
	if err != nil {
		t.Fatal(err)
	}
	httproute, err := manifest.ReadFS(examples.HTTPRoute())
	if err != nil {
		t.Fatal(err)
	}
	objs, diags := manifest.Decode("hostile.yaml", []byte(hostile))
	if len(diags) > 0 {
		t.Fatalf("hostile input: %v", diags)
	}
	invs := map[string]*inventory.Inventory{
		"podinfo":   b.FromManifests(res),
		"httproute": b.FromManifests(httproute),
		"hostile":   b.Build(objs),
	}
	for name, inv := range invs {
		if len(inv.RouteSets) == 0 || inv.Diagnostics.HasErrors() {
			t.Fatalf("%s: %d route sets; diagnostics:\n%v", name, len(inv.RouteSets), inv.Diagnostics)
		}
	}
	return invs
}

func render(t *testing.T, inv *inventory.Inventory, f bundle.Format) bundle.Files {
	t.Helper()
	b, diags, err := bundle.Build(inv, bundle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Warnings are expected: a backtick in a hostile value costs the
	// dashboard's route variable its raw-string form (RB404).
	if diags.HasErrors() {
		t.Fatalf("generator errors:\n%v", diags)
	}
	files, err := b.Files(f)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestOperatorObjectsPassTheAPIServer creates (dry-run) every object of the
// operator format in a real kube-apiserver with the prometheus-operator,
// Istio and Gateway API CRDs installed, so a schema error fails here.
func TestOperatorObjectsPassTheAPIServer(t *testing.T) {
	srv := k8stest.Start(t)
	for name, inv := range inventories(t) {
		t.Run(name, func(t *testing.T) {
			files := render(t, inv, bundle.FormatOperator)
			var objs []runtime.Object
			kinds := map[string]int{}
			for _, f := range files {
				for _, u := range decodeObjects(t, f) {
					if u.GetNamespace() == "" {
						u.SetNamespace("monitoring") // what `kubectl apply -n` would do
					}
					kinds[u.GetKind()]++
					objs = append(objs, u)
				}
			}
			for _, k := range []string{"PrometheusRule", "PodMonitor", "ServiceMonitor", "ConfigMap"} {
				if kinds[k] == 0 {
					t.Errorf("no %s generated", k)
				}
			}
			if err := k8stest.DryRunApply(t.Context(), srv.Config, objs...); err != nil {
				t.Error(err)
			}
		})
	}
}

func decodeObjects(t *testing.T, f bundle.File) []*unstructured.Unstructured {
	t.Helper()
	objs, err := k8stest.DecodeObjects(f.Data)
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	return objs
}

// TestPlainRuleFilesPassPromtool runs `promtool check rules` over the plain
// rule files of every input.
func TestPlainRuleFilesPassPromtool(t *testing.T) {
	promtool := testutil.Binary(t, "promtool")
	for name, inv := range inventories(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := bundle.WriteDir(dir, render(t, inv, bundle.FormatFiles)); err != nil {
				t.Fatal(err)
			}
			ruleFiles, err := filepath.Glob(filepath.Join(dir, "rules", "*.yaml"))
			if err != nil || len(ruleFiles) == 0 {
				t.Fatalf("no rule files (%v)", err)
			}
			out, err := exec.CommandContext(t.Context(), promtool, append([]string{"check", "rules"}, ruleFiles...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool check rules: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "SUCCESS") {
				t.Errorf("promtool said:\n%s", out)
			}
		})
	}
}

// TestRenderedObjectsReadBackUnchanged decodes every rendered file the way
// kubectl does and compares it with the object Objects yields (what the
// service applies): route values must survive the YAML layer byte for byte.
func TestRenderedObjectsReadBackUnchanged(t *testing.T) {
	for name, inv := range inventories(t) {
		t.Run(name, func(t *testing.T) {
			cfg := bundle.DefaultConfig()
			b, _, err := bundle.Build(inv, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{}
			for _, o := range b.Objects() {
				obj, err := o.Complete()
				if err != nil {
					t.Fatal(err)
				}
				want[obj.GetObjectKind().GroupVersionKind().Kind+"/"+obj.GetName()] = normalize(t, obj)
			}
			files, err := b.Files(bundle.FormatOperator)
			if err != nil {
				t.Fatal(err)
			}
			compared := 0
			for _, f := range files {
				for _, u := range decodeObjects(t, f) {
					if name == "hostile" && u.GetKind() == "PrometheusRule" && !strings.Contains(string(f.Data), `\u0085`) {
						t.Errorf("%s: the per-route override rules do not carry the NEL route value", f.Path)
					}
					w, ok := want[u.GetKind()+"/"+u.GetName()]
					if !ok {
						t.Errorf("%s: %s/%s is not one of the bundle's objects", f.Path, u.GetKind(), u.GetName())
						continue
					}
					compared++
					if !reflect.DeepEqual(normalize(t, u.Object), w) {
						t.Errorf("%s reads back differently from the object it renders", f.Path)
					}
				}
			}
			// Every object must have been read back.
			if compared != len(want) {
				t.Errorf("compared %d rendered objects, want %d", compared, len(want))
			}
		})
	}
}

// normalize passes an object, typed or decoded, through JSON so that the
// two forms compare equal (field names, numbers).
func normalize(t *testing.T, obj any) map[string]any {
	t.Helper()
	js, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
