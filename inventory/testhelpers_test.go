package inventory

import (
	"fmt"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
)

// Building blocks of test manifests; each ends with a newline.
const (
	nsWaypoint = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio.io/dataplane-mode: ambient
    istio.io/use-waypoint: shop-waypoint
`
	gatewayWaypoint = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: shop-waypoint
  namespace: shop
spec:
  gatewayClassName: istio-waypoint
`
	// waypointRefs is the spec.targetRefs of pluginHead and telemetryHead;
	// tests replace it to scope them otherwise.
	waypointRefs = `  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: shop-waypoint
`
	// pluginHead is a WasmPlugin up to its match list, targeting the waypoint.
	pluginHead = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: shop-routes
  namespace: shop
spec:
` + waypointRefs + `  url: oci://ghcr.io/istio/attributegen:1.24
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match:
`
	matchesOK = `      - value: GET /items
        condition: request.method == 'GET' && request.url_path == '/items'
      - value: POST /items
        condition: request.method == 'POST' && request.url_path == '/items'
`
	telemetryHead = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: shop-telemetry
  namespace: shop
spec:
` + waypointRefs + `  metrics:
  - providers:
    - name: prometheus
    overrides:
`
	overridesOK = `    - match:
        metric: REQUEST_COUNT
      tagOverrides:
        route_name:
          value: filter_state['wasm.istio_operationId']
    - match:
        metric: REQUEST_DURATION
      tagOverrides:
        route_name:
          value: filter_state['wasm.istio_operationId']
`
)

// docs joins documents into one multi-document file.
func docs(d ...string) string { return strings.Join(d, "---\n") }

// valid is a complete, clean setup: no diagnostics.
func valid() string {
	return docs(nsWaypoint, gatewayWaypoint, pluginHead+matchesOK, telemetryHead+overridesOK)
}

func build(t *testing.T, input string) *Inventory {
	t.Helper()
	objs, diags := manifest.Decode("test.yaml", []byte(input))
	b, err := NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	return b.FromManifests(&manifest.Result{Objects: objs, Diagnostics: diags})
}

// brief renders a diagnostic as "code object field".
func brief(d diag.Diagnostic) string {
	obj := d.Object.String()
	if d.Object == (diag.ObjectRef{}) {
		obj = "-"
	}
	return fmt.Sprintf("%s %s %s", d.Code, obj, d.Field)
}

func briefs(l diag.List) []string {
	out := make([]string, 0, len(l))
	for _, d := range l {
		out = append(out, brief(d))
	}
	return out
}
