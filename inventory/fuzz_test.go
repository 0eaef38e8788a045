package inventory

import (
	"bytes"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/manifest"
)

// FuzzBuild builds an inventory from arbitrary YAML. It must never panic,
// must be deterministic, and what it returns must keep the model's promises.
func FuzzBuild(f *testing.F) {
	// The whole example as one multi-document file, so that the join runs.
	files, _ := fs.Glob(examples.Podinfo(), "podinfo/*.yaml")
	var example [][]byte
	for _, name := range files {
		if data, err := fs.ReadFile(examples.Podinfo(), name); err == nil {
			example = append(example, data)
		}
	}
	f.Add(bytes.Join(example, []byte("---\n")))
	for _, s := range []string{
		valid(),
		docs(pluginHead+"      - value: x\n        condition: request.url_path.matches('a(')\n      - value: x\n", telemetryHead+celTag("istio_operationId")),
		telemetryWith(celTag(`"request.url_path == '/a' ? 'A' : (true ? 'B' : request.headers['x'])"`)),
		docs(nsWaypoint, strings.Replace(pluginHead, "phase: STATS", "phase: 3", 1)+"      - {value: [a], condition: {x: 1}}\n"),
		"apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t}\nspec:\n  targetRef: {kind: Service, name: s}\n  metrics:\n  - overrides:\n    - match: {customMetric: c, mode: BOTH}\n      tagOverrides: {a: null, b: 3, c: {operation: REMOVE}}\n",
		"apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: w, namespace: istio-system}\nspec:\n  url: file:///attributegen.wasm\n  priority: 1.5\n  pluginConfig: {attributes: [{output_attribute: a, match: [{value: v, condition: ''}]}, 7]}\n",
	} {
		f.Add([]byte(s))
	}
	b, err := NewDefaultBuilder()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, diags := manifest.Decode("fuzz.yaml", data)
		inv := b.FromManifests(&manifest.Result{Objects: objs, Diagnostics: diags})
		checkInvariants(t, inv)
		again := b.FromManifests(&manifest.Result{Objects: objs, Diagnostics: diags})
		if !bytes.Equal(marshal(t, inv), marshal(t, again)) || fullText(inv.Diagnostics) != fullText(again.Diagnostics) {
			t.Fatal("two builds of the same objects differ")
		}
	})
}

func checkInvariants(t *testing.T, inv *Inventory) {
	t.Helper()
	for i, rs := range inv.RouteSets {
		if i > 0 && inv.RouteSets[i-1].ID >= rs.ID {
			t.Errorf("route set IDs not sorted and unique: %q then %q", inv.RouteSets[i-1].ID, rs.ID)
		}
		if len(rs.Routes) == 0 || len(rs.Metrics) == 0 || rs.Tag == "" || rs.Telemetry.Name == "" {
			t.Errorf("incomplete route set %+v", rs)
		}
		if !slices.IsSorted(rs.Metrics) || slices.Contains(rs.Metrics, AllMetrics) {
			t.Errorf("metrics %v: want sorted and expanded", rs.Metrics)
		}
		if rs.Namespace == "" || rs.Scope.Namespace != rs.Namespace {
			t.Errorf("route set %s: namespace %q, scope namespace %q", rs.ID, rs.Namespace, rs.Scope.Namespace)
		}
	}
	codes := make(map[string]diag.Severity)
	for _, ci := range diag.Codes() {
		codes[ci.Code] = ci.Severity
	}
	for _, d := range inv.Diagnostics {
		if sev, ok := codes[d.Code]; !ok || sev != d.Severity || d.Message == "" {
			t.Errorf("bad diagnostic %v", d)
		}
	}
}
