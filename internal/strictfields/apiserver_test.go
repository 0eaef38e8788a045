package strictfields

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/manifest"
)

var serverUnknown = regexp.MustCompile(`unknown field "([^"]+)"`)

// TestAgreesWithTheAPIServer creates objects (dry run, strict field
// validation) in a real kube-apiserver with Istio's CRDs and compares the
// unknown fields it reports with the checker's: for the objects of
// mistakes.yaml, and for every valid example object with each of its
// fields in turn renamed.
func TestAgreesWithTheAPIServer(t *testing.T) {
	srv := k8stest.Start(t)
	c := New()
	server := func(t *testing.T, o *manifest.Object) []string {
		t.Helper()
		u := &unstructured.Unstructured{Object: jsonCopy(t, o.Content)}
		err := k8stest.DryRunApply(t.Context(), srv.Config, u)
		var out []string
		if err != nil {
			for _, m := range serverUnknown.FindAllStringSubmatch(err.Error(), -1) {
				out = append(out, m[1])
			}
			if len(out) == 0 {
				t.Logf("%s: the API server rejects it for other reasons: %v", o.Ref(), err)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	ours := func(o *manifest.Object) []string {
		var out []string
		for _, u := range c.Check(o) {
			out = append(out, u.Path.String())
		}
		slices.Sort(out)
		return out
	}

	t.Run("mistakes", func(t *testing.T) {
		objs, _ := manifest.Decode("mistakes.yaml", []byte(mistakes))
		for i := range objs {
			got, want := ours(&objs[i]), server(t, &objs[i])
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("%s: checker %q, API server %q", objs[i].Ref(), got, want)
			}
		}
	})

	t.Run("every field renamed", func(t *testing.T) {
		objs := sampleObjects(t)
		checked := 0
		for i := range objs {
			if c.Check(&objs[i]) != nil {
				t.Fatalf("%s: the sample itself has unknown fields: %v", objs[i].Ref(), c.Check(&objs[i]))
			}
			for _, v := range renamings(objs[i].Content) {
				o := manifest.FromUnstructured(v.content)
				want := server(t, &o)
				if len(want) == 0 {
					continue // rejected for a missing required field first, or accepted
				}
				checked++
				if got := ours(&o); !slices.Equal(got, want) {
					t.Errorf("%s with %s renamed: checker %q, API server %q", o.Ref(), v.path, got, want)
				}
			}
		}
		if checked < 20 {
			t.Errorf("only %d renamed fields compared", checked)
		}
		t.Logf("%d renamed fields compared with the API server", checked)
	})
}

// sampleObjects are the WasmPlugins and Telemetries of the embedded
// example plus objects shaped like Istio's docs (tracing, access logging,
// a legacy targetRef, vmConfig, match ports).
func sampleObjects(t *testing.T) []manifest.Object {
	t.Helper()
	res, err := manifest.ReadFS(examples.Podinfo())
	if err != nil {
		t.Fatal(err)
	}
	more, diags := manifest.Decode("docs.yaml", []byte(docsShaped))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	var out []manifest.Object
	for _, o := range append(res.Objects, more...) {
		if o.Kind == "WasmPlugin" || o.Kind == "Telemetry" {
			out = append(out, o)
		}
	}
	return out
}

const docsShaped = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: openid-connect, namespace: istio-ingress, labels: {app: x}}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  url: oci://private-registry:5000/openid-connect/openid:latest
  imagePullPolicy: IfNotPresent
  imagePullSecret: private-registry-pull-secret
  phase: AUTHN
  priority: 10
  failStrategy: FAIL_OPEN
  type: HTTP
  sha256: ""
  pluginName: openid
  match:
  - mode: SERVER
    ports: [{number: 80}]
  vmConfig:
    env: [{name: POD_NAME, valueFrom: HOST}, {name: TRUST_DOMAIN, value: cluster.local}]
  pluginConfig:
    openid_server: authn
---
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}
  accessLogging:
  - providers: [{name: envoy}]
    filter: {expression: response.code >= 400}
    match: {mode: CLIENT}
    disabled: false
  tracing:
  - providers: [{name: zipkin}]
    randomSamplingPercentage: 10
    disableSpanReporting: false
    customTags:
      env: {environment: {name: ENV, defaultValue: x}}
      hdr: {header: {name: x-id}}
  metrics:
  - providers: [{name: prometheus}]
    reportingInterval: 15s
    overrides:
    - match: {customMetric: my_metric, mode: CLIENT}
      disabled: true
    - match: {metric: REQUEST_COUNT}
      tagOverrides:
        request_host: {operation: UPSERT, value: request.host}
`

type variant struct {
	path    string
	content map[string]any
}

// renamings returns one copy of obj per declared field (below spec and
// metadata, not inside free-form maps such as labels), with that field's
// key given an "x" suffix.
func renamings(obj map[string]any) []variant {
	var out []variant
	var walk func(v any, path []any, free bool)
	walk = func(v any, path []any, free bool) {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range slicesSorted(t) {
				p := append(slices.Clip(path), k)
				if !free && len(p) > 1 {
					out = append(out, variant{path: fmt.Sprint(p), content: renamed(obj, p)})
				}
				walk(t[k], p, freeForm(k))
			}
		case []any:
			for i, item := range t {
				walk(item, append(slices.Clip(path), i), false)
			}
		}
	}
	for _, top := range []string{"spec", "metadata"} {
		walk(obj[top], []any{top}, false)
	}
	return out
}

// freeForm keys hold maps whose keys are data, not fields.
func freeForm(key string) bool {
	switch key {
	case "labels", "annotations", "matchLabels", "pluginConfig", "tagOverrides", "customTags":
		return true
	}
	return false
}

func slicesSorted(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// renamed returns a deep copy of obj with the key at path renamed.
func renamed(obj map[string]any, path []any) map[string]any {
	c := deepCopyAny(obj).(map[string]any)
	var cur any = c
	for _, step := range path[:len(path)-1] {
		switch s := step.(type) {
		case string:
			cur = cur.(map[string]any)[s]
		case int:
			cur = cur.([]any)[s]
		}
	}
	m := cur.(map[string]any)
	k := path[len(path)-1].(string)
	m[k+"x"] = m[k]
	delete(m, k)
	return c
}

// jsonCopy is m as the API server receives it: through JSON, so that
// numbers are what unstructured objects hold.
func jsonCopy(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(js, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func deepCopyAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopyAny(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopyAny(e)
		}
		return s
	}
	return v
}
