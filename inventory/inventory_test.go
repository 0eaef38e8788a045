package inventory

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// summary renders a route set on one line.
func summary(rs RouteSet) string {
	var values []string
	for _, r := range rs.Routes {
		values = append(values, r.Value)
	}
	var metrics []string
	for _, m := range rs.Metrics {
		metrics = append(metrics, string(m))
	}
	scope := string(rs.Scope.Kind) + "/" + rs.Scope.Namespace
	if len(rs.Scope.Selector) > 0 {
		scope += "{" + formatSelector(rs.Scope.Selector) + "}"
	}
	return fmt.Sprintf("%s scope=%s tag=%s attr=%s metrics=%s mode=%s routes=[%s]",
		rs.ID, scope, rs.Tag, rs.Attribute,
		strings.Join(metrics, ","), rs.Mode, strings.Join(values, "|"))
}

func rename(doc, from, to string) string { return strings.Replace(doc, from, to, 1) }

func TestRouteSets(t *testing.T) {
	meshTelemetry := rename(rename(strings.Replace(telemetryHead, waypointRefs, "", 1), "namespace: shop", "namespace: istio-system"), "name: shop-telemetry", "name: mesh") + overridesOK
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{
			name:  "waypoint plugin and Telemetry",
			input: valid(),
			want:  []string{"shop/shop-routes/shop-telemetry/route_name scope=waypoint/shop tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /items|POST /items]"},
		},
		{
			name: "CEL-only Telemetry",
			input: telemetryWith(celTag(`"request.url_path == '/healthz' ? 'GET /healthz' : (request.method == 'POST' ? 'POST' : 'other')"`) +
				"    - match: {metric: REQUEST_SIZE, mode: CLIENT}\n      tagOverrides:\n        op: {value: \"request.method == 'GET' ? 'read' : 'write'\"}\n"),
			// op is only on the client side (RB022): no route set.
			want: []string{
				"shop/shop-telemetry/route_name scope=waypoint/shop tag=route_name attr= metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /healthz|POST|other]",
			},
		},
		{
			name: "mesh-wide Telemetry joins plugins of two namespaces",
			input: docs(strings.Replace(pluginHead, waypointRefs, "", 1)+matchesOK,
				rename(rename(strings.Replace(pluginHead, waypointRefs, "  selector:\n    matchLabels: {app: a}\n", 1), "namespace: shop", "namespace: other"), "name: shop-routes", "name: other-routes")+"      - value: A\n        condition: request.url_path == '/a'\n",
				meshTelemetry),
			want: []string{
				"other/other-routes/istio-system:mesh/route_name scope=workload/other{app=a} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[A]",
				"shop/shop-routes/istio-system:mesh/route_name scope=namespace/shop tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /items|POST /items]",
			},
		},
		{
			// The join looks only at plugins of the Telemetry's namespace and
			// of the root namespace: here one of each, and one elsewhere.
			name: "a root-namespace plugin runs mesh-wide and reaches a namespace's Telemetry",
			input: docs(rename(strings.Replace(pluginHead, waypointRefs, "", 1), "namespace: shop", "namespace: istio-system")+matchesOK,
				rename(rename(strings.Replace(pluginHead, waypointRefs, "", 1), "namespace: shop", "namespace: other"), "name: shop-routes", "name: other-routes")+"      - value: A\n        condition: request.url_path == '/a'\n",
				strings.Replace(telemetryHead, waypointRefs, "", 1)+overridesOK),
			want: []string{"shop/istio-system:shop-routes/shop-telemetry/route_name scope=namespace/shop tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /items|POST /items]"},
		},
		{
			name: "ALL_METRICS, REMOVE, disabled and custom metrics",
			input: docs(pluginHead+matchesOK, telemetryWith(
				"    - tagOverrides:\n        route_name: {value: \"filter_state['wasm.istio_operationId']\"}\n"+
					"    - match: {metric: REQUEST_SIZE}\n      tagOverrides:\n        route_name: {operation: REMOVE}\n"+
					"    - match: {metric: RESPONSE_SIZE, mode: SERVER}\n      disabled: true\n"+
					"    - match: {customMetric: my_metric}\n      tagOverrides:\n        other: {value: \"filter_state['wasm.istio_operationId']\"}\n")),
			// RESPONSE_SIZE carries the tag on the client side only.
			want: []string{"shop/shop-routes/shop-telemetry/route_name scope=waypoint/shop tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /items|POST /items]"},
		},
		{
			name: "the plugin that runs last classifies first",
			input: docs(gatewayWaypoint, pluginHead+matchesOK,
				rename(rename(pluginHead, "name: shop-routes", "name: early"), "phase: STATS", "phase: AUTHN")+"      - value: fallback\n",
				telemetryHead+overridesOK),
			want: []string{"shop/shop-routes/shop-telemetry/route_name scope=waypoint/shop tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /items|POST /items|fallback]"},
		},
		{
			name: "selectors merge; a namespace-wide Telemetry reaches a waypoint plugin",
			input: docs(
				rename(strings.Replace(pluginHead, waypointRefs, "  selector:\n    matchLabels: {app: a}\n", 1), "namespace: shop", "namespace: side")+matchesOK,
				rename(strings.Replace(telemetryHead, waypointRefs, "  selector:\n    matchLabels: {tier: web}\n", 1), "namespace: shop", "namespace: side")+overridesOK,
				pluginHead+matchesOK,
				rename(strings.Replace(telemetryHead, waypointRefs, "", 1), "name: shop-telemetry", "name: ns-wide")+overridesOK),
			want: []string{
				"shop/shop-routes/ns-wide/route_name scope=waypoint/shop tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /items|POST /items]",
				"side/shop-routes/shop-telemetry/route_name scope=workload/side{app=a,tier=web} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /items|POST /items]",
			},
		},
		{
			// GatewayClass istio-waypoint attaches only from the root
			// namespace (pilot policyattachment.go, ShouldAttachPolicy).
			name: "GatewayClass and Service targets meet the waypoint",
			input: docs(nsWaypoint, gatewayWaypoint,
				rename(rename(pluginHead, "kind: Gateway\n    group: gateway.networking.k8s.io\n    name: shop-waypoint", "kind: GatewayClass\n    group: gateway.networking.k8s.io\n    name: istio-waypoint"), "namespace: shop", "namespace: istio-system")+matchesOK,
				rename(telemetryHead, "kind: Gateway\n    group: gateway.networking.k8s.io\n    name: shop-waypoint", "kind: Service\n    name: items")+overridesOK),
			want: []string{"shop/istio-system:shop-routes/shop-telemetry/route_name scope=service/shop tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /items|POST /items]"},
		},
		{
			// Tag values compare by meaning: the same CEL spelt with other
			// spacing and parentheses is one tag on both metrics.
			name: "one CEL tag, two spellings",
			input: telemetryWith(tagOn("REQUEST_COUNT", `"request.method == 'GET' ? 'r' : 'w'"`) +
				tagOn("REQUEST_DURATION", `"(request.method=='GET') ? 'r' : 'w'"`)),
			want: []string{"shop/shop-telemetry/route_name scope=waypoint/shop tag=route_name attr= metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[r|w]"},
		},
		{
			name: "one tag, two values on different metrics: unique IDs",
			input: telemetryWith(tagOn("REQUEST_COUNT", `"request.method == 'GET' ? 'r' : 'w'"`) +
				tagOn("REQUEST_DURATION", `"request.method == 'POST' ? 'p' : 'o'"`)),
			want: []string{
				"shop/shop-telemetry/route_name scope=waypoint/shop tag=route_name attr= metrics=REQUEST_COUNT mode=CLIENT_AND_SERVER routes=[r|w]",
				"shop/shop-telemetry/route_name#2 scope=waypoint/shop tag=route_name attr= metrics=REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[p|o]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := build(t, tt.input)
			var got []string
			for _, rs := range inv.RouteSets {
				got = append(got, summary(rs))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("route sets:\n%s\nwant:\n%s\ndiagnostics:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), fullText(inv.Diagnostics))
			}
		})
	}
}

func readPodinfo(t *testing.T) []manifest.Object {
	t.Helper()
	res, err := manifest.ReadFS(examples.Podinfo())
	if err != nil {
		t.Fatal(err)
	}
	return res.Objects
}

func marshal(t *testing.T, inv *Inventory) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(inv); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPodinfoGolden pins the inventory of the embedded example.
func TestPodinfoGolden(t *testing.T) {
	inv, err := Build(readPodinfo(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Diagnostics) != 0 {
		t.Errorf("the example has diagnostics:\n%s", fullText(inv.Diagnostics))
	}
	got := marshal(t, inv)
	golden := filepath.Join("testdata", "podinfo.inventory.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("inventory differs from %s (run go test -update):\n%s", golden, got)
	}
}

// TestOrderIndependent checks that input order changes nothing.
func TestOrderIndependent(t *testing.T) {
	objs, _ := manifest.Decode("test.yaml", []byte(docs(nsWaypoint, gatewayWaypoint, pluginHead+matchesOK,
		telemetryHead+celTag("istio_operationId"), rename(telemetryHead, "name: shop-telemetry", "name: b")+overridesOK)))
	b, err := NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	first := b.Build(objs)
	want := marshal(t, first)
	wantDiags := fullText(first.Diagnostics)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10 {
		rng.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
		inv := b.Build(objs)
		if got := marshal(t, inv); !bytes.Equal(got, want) {
			t.Fatalf("inventory depends on input order:\n%s\nwant:\n%s", got, want)
		}
		if got := fullText(inv.Diagnostics); got != wantDiags {
			t.Fatalf("diagnostics depend on input order:\n%s\nwant:\n%s", got, wantDiags)
		}
	}
}

// TestAPIServerObjects feeds the builder objects as the API server returns
// them (JSON-decoded, no file): same route sets, no positions.
func TestAPIServerObjects(t *testing.T) {
	var objs []manifest.Object
	for _, o := range readPodinfo(t) {
		data, err := json.Marshal(o.Content)
		if err != nil {
			t.Fatal(err)
		}
		var content map[string]any
		if err := json.Unmarshal(data, &content); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, manifest.FromUnstructured(content))
	}
	fromAPI, err := Build(objs)
	if err != nil {
		t.Fatal(err)
	}
	fromFiles, err := Build(readPodinfo(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(fromAPI.RouteSets) != 1 || summary(fromAPI.RouteSets[0]) != summary(fromFiles.RouteSets[0]) {
		t.Fatalf("route sets from the API differ: %+v", fromAPI.RouteSets)
	}
	if src := fromAPI.RouteSets[0].Source; src.File != "" || src.Line != 0 {
		t.Errorf("API route set has a source: %v", src)
	}
	// A broken object from the API is reported without a file.
	broken := manifest.FromUnstructured(map[string]any{
		"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin",
		"metadata": map[string]any{"name": "w", "namespace": "ns"},
		"spec":     map[string]any{"url": "oci://x/attributegen:1", "phase": "STATS", "pluginConfig": map[string]any{"attributes": "oops"}},
	})
	inv, err := Build([]manifest.Object{broken})
	if err != nil {
		t.Fatal(err)
	}
	if got := fullText(inv.Diagnostics); !strings.HasPrefix(got, "<cluster>: error RB002 WasmPlugin/ns/w: spec.pluginConfig.attributes: want a list") {
		t.Errorf("diagnostics = %s", got)
	}
}
