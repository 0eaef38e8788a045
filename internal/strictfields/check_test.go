package strictfields

import (
	"strings"
	"testing"

	"github.com/routebundle/routebundle/manifest"
)

// mistakes are objects as people write them, with the slips the issue
// names and a few more: a misspelt field at every level of the spec and in
// metadata, next to fields that are free-form (pluginConfig, labels,
// tagOverrides keys) and must not be reported.
const mistakes = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: routes
  namespace: shop
  lables: {app: cart}
  annotations: {anything: goes}
spec:
  selctor:
    matchLabels: {app: cart}
  targetRefsX:
  - {kind: Gateway, name: waypoint}
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  match:
  - mode: SERVER
    ports: [{number: 8080, name: http}]
  pluginConfig:
    anything: goes
    attributes:
    - output_attribute: istio_operationId
      match: [{value: GET /x, condition: "true"}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: routes, namespace: shop}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mod: SERVER}
      tagOverride:
        route_name: {value: "filter_state['wasm.istio_operationId']"}
      tagOverrides:
        route_name: {valeu: "filter_state['wasm.istio_operationId']"}
        any_tag_name: {operation: REMOVE}
  tracing:
  - customTags:
      my_tag: {literl: {value: x}}
`

func TestCheckFindsUnknownFields(t *testing.T) {
	objs, diags := manifest.Decode("mistakes.yaml", []byte(mistakes))
	if len(diags) > 0 || len(objs) != 2 {
		t.Fatalf("%d objects, %v", len(objs), diags)
	}
	c := New()
	var got []string
	for i := range objs {
		for _, u := range c.Check(&objs[i]) {
			got = append(got, u.Path.String()+" -> "+u.Suggestion)
			if src := objs[i].FieldSource(u.Path); src.Line <= objs[i].Source.Line {
				t.Errorf("%s: at %s, not at its own line", u.Path, src)
			}
			if !strings.Contains(u.Message(), "strict field validation") {
				t.Errorf("message: %s", u.Message())
			}
		}
	}
	want := []string{
		"metadata.lables -> labels",
		"spec.match[0].ports[0].name -> ",
		"spec.selctor -> selector",
		"spec.targetRefsX -> targetRefs",
		"spec.metrics[0].overrides[0].match.mod -> mode",
		"spec.metrics[0].overrides[0].tagOverride -> tagOverrides",
		"spec.metrics[0].overrides[0].tagOverrides.route_name.valeu -> value",
		"spec.tracing[0].customTags.my_tag.literl -> literal",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("unknown fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckIgnoresOtherKinds(t *testing.T) {
	objs, _ := manifest.Decode("x.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspek: {}\n"))
	if got := New().Check(&objs[0]); got != nil {
		t.Errorf("ConfigMap checked: %v", got)
	}
}

func TestKindProblem(t *testing.T) {
	c := New()
	for _, tc := range []struct{ apiVersion, kind, want string }{
		{"extensions.istio.io/v1alpha1", "WasmPlugin", ""},
		{"telemetry.istio.io/v1", "Telemetry", ""},
		{"telemetry.istio.io/v1alpha1", "Telemetry", ""},
		{"extensions.istio.io/v1alpha1", "WASMPlugin", `did you mean "WasmPlugin"`},
		{"extensions.istio.io/v1alpha1", "wasmplugin", `did you mean "WasmPlugin"`},
		{"telemetry.istio.io/v1", "telemetry", `did you mean "Telemetry"`},
		{"extension.istio.io/v1alpha1", "WasmPlugin", "did you mean apiVersion: extensions.istio.io/v1alpha1"},
		{"extensions.istio.io/v1", "WasmPlugin", "Istio serves WasmPlugin: v1alpha1"},
		{"telemetry.istio.io/v1beta1", "Telemetry", "Istio serves Telemetry: v1, v1alpha1"},
		// Not Istio's: another API's Telemetry, an unrelated kind.
		{"opentelemetry.io/v1", "Telemetry", ""},
		{"v1", "ConfigMap", ""},
		{"apps/v1", "Deployment", ""},
	} {
		got := c.KindProblem(tc.apiVersion, tc.kind)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.apiVersion, tc.kind, got, tc.want)
		}
	}
}
