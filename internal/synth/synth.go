// Package synth writes synthetic Istio manifests for benchmarks: many
// namespaces, each with sidecar workloads classified by their own
// attributegen WasmPlugin and Telemetry.
package synth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Mesh sizes a synthetic mesh.
type Mesh struct {
	Namespaces int
	// Workloads per namespace; each gets one WasmPlugin and one Telemetry.
	Workloads int
	// Routes per WasmPlugin; every condition is distinct.
	Routes int
}

// BenchmarkMesh is the size issue 5 sets for `generate`: 1,000 WasmPlugins
// of 10 routes in 100 namespaces.
func BenchmarkMesh() Mesh { return Mesh{Namespaces: 100, Workloads: 10, Routes: 10} }

// WasmPlugins is the number of WasmPlugins (and route sets) in the mesh.
func (m Mesh) WasmPlugins() int { return m.Namespaces * m.Workloads }

// Write writes one file per namespace into dir.
func (m Mesh) Write(dir string) error {
	for n := range m.Namespaces {
		p := filepath.Join(dir, fmt.Sprintf("ns-%03d.yaml", n))
		if err := os.WriteFile(p, []byte(m.namespace(n)), 0o644); err != nil {
			return fmt.Errorf("writing synthetic manifests: %w", err)
		}
	}
	return nil
}

func (m Mesh) namespace(n int) string {
	ns := fmt.Sprintf("team-%03d", n)
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns)
	for w := range m.Workloads {
		app := fmt.Sprintf("svc-%02d", w)
		b.WriteString("---\n")
		m.wasmPlugin(&b, ns, app, n, w)
		b.WriteString("---\n")
		telemetry(&b, ns, app)
	}
	return b.String()
}

func (m Mesh) wasmPlugin(b *strings.Builder, ns, app string, n, w int) {
	fmt.Fprintf(b, `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: %[2]s-routes
  namespace: %[1]s
spec:
  selector:
    matchLabels:
      app: %[2]s
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match:
`, ns, app)
	for r := range m.Routes {
		fmt.Fprintf(b, "      - value: GET /v%[1]d/%[2]s/items-%[3]d/{id}\n"+
			"        condition: request.method == 'GET' && request.url_path.matches('^/v%[1]d/%[2]s/items-%[3]d/[^/]+$')\n",
			n, app, w*m.Routes+r)
	}
}

func telemetry(b *strings.Builder, ns, app string) {
	fmt.Fprintf(b, `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: %[2]s-routes
  namespace: %[1]s
spec:
  selector:
    matchLabels:
      app: %[2]s
  metrics:
  - providers:
    - name: prometheus
    overrides:
    - match:
        metric: REQUEST_COUNT
      tagOverrides:
        route_name:
          value: filter_state['wasm.istio_operationId']
    - match:
        metric: REQUEST_DURATION
      tagOverrides:
        route_name:
          value: filter_state['wasm.istio_operationId']
`, ns, app)
}
