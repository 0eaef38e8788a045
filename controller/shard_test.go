package controller

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/synth"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// mixedMesh has what makes namespaces depend on each other, if anything
// does: Istio's root namespace with a mesh-wide Telemetry (a second tag in
// every namespace) and a plugin with a selector (which reaches workloads of
// every namespace), a waypoint namespace, a CEL-only classification, two
// namespaces whose rule names could collide after sanitising, and a
// namespace named like the mesh-wide dashboard's title.
const mixedMesh = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-routes, namespace: istio-system}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides:
        route_mesh: {value: "filter_state['wasm.istio_operationId']"}
        route_edge: {value: "filter_state['wasm.istio_edgeId']"}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: edge, namespace: istio-system}
spec:
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_edgeId
      match: [{value: edge, condition: "request.url_path == '/edge'"}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: edge, namespace: mesh-wide}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides: {route_edge: {value: "filter_state['wasm.istio_edgeId']"}}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: health, namespace: istio-system}
spec:
  selector: {matchLabels: {app: cart}}
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_healthId
      match: [{value: health, condition: "request.url_path == '/healthz'"}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: cart-health, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides: {health: {value: "filter_state['wasm.istio_healthId']"}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: cel, namespace: cel, annotations: {routebundle.io/objective: "99%"}}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS}
      tagOverrides:
        route_name: {value: "request.url_path == '/a' ? 'A' : (request.url_path == '/b' ? 'B' : 'other')"}
`

// TestNamespaceShardsMatchTheMesh checks the invariant namespace passes
// rest on: the objects of a namespace, built from the sources of that
// namespace and the root namespace alone, are byte for byte those of the
// whole mesh's bundle, unless their names differ, in which case the pass
// leaves the namespace to a mesh pass.
func TestNamespaceShardsMatchTheMesh(t *testing.T) {
	dir := t.TempDir()
	if err := (synth.Mesh{Namespaces: 4, Workloads: 3, Routes: 3}).Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"a-b", "a", "mesh-wide"} {
		// "a-b" + "c" and "a" + "b_c" sanitise to the same rule name.
		tag := map[string]string{"a-b": "c", "a": "b_c", "mesh-wide": "route_name"}[ns]
		m := synth.Mesh{Namespaces: 1, Workloads: 1, Routes: 2}
		if err := os.Mkdir(filepath.Join(dir, ns), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := m.Write(filepath.Join(dir, ns)); err != nil {
			t.Fatal(err)
		}
		retag(t, filepath.Join(dir, ns), ns, tag)
	}
	if err := os.WriteFile(filepath.Join(dir, "mixed.yaml"), []byte(mixedMesh), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := manifest.ReadPaths([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	podinfo, err := manifest.ReadFS(examples.Podinfo())
	if err != nil {
		t.Fatal(err)
	}
	objs := append(res.Objects, podinfo.Objects...)
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	cfg := bundle.DefaultConfig()
	cfg.Dashboards.ConfigMap.Namespace = cfg.Scrape.Namespace // as bundleConfig does
	plan := func(objs []manifest.Object) (*plan, *inventory.Inventory) {
		inv := b.Build(objs)
		bu, _, err := bundle.Build(inv, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return newPlan(bu.Objects(), inv, inventory.RootNamespace), inv
	}
	mesh, inv := plan(objs)
	want := renderAll(t, mesh)
	namespaces := map[string]bool{}
	for _, rs := range inv.RouteSets {
		namespaces[rs.Namespace] = true
	}
	for _, ns := range []string{"shop", "cel", "podinfo", "mesh-wide", "team-000", "a", "a-b"} {
		if !namespaces[ns] {
			t.Fatalf("no route set in namespace %s: the test mesh is not what it should be", ns)
		}
	}
	if len(mesh.byShard[meshShard]) < 3 {
		t.Fatalf("shards %v: the test mesh is not what it should be", slices.Collect(maps.Keys(mesh.byShard)))
	}
	var deferred []string
	for ns := range namespaces {
		if ns == inventory.RootNamespace {
			continue
		}
		shard, _ := plan(namespaceSources(objs, ns))
		if !slices.Equal(shard.byShard[ns], mesh.byShard[ns]) {
			// The pass leaves such a namespace to a mesh pass.
			deferred = append(deferred, ns)
			continue
		}
		got := renderAll(t, shard)
		for _, k := range shard.byShard[ns] {
			if !bytes.Equal(got[k], want[k]) {
				t.Errorf("%s: %s differs from the mesh's", ns, k)
			}
		}
	}
	// Only names that depend on other namespaces (here: colliding rule
	// names, which get a hash) make a namespace defer to a mesh pass.
	slices.Sort(deferred)
	if !slices.Equal(deferred, []string{"a", "a-b"}) {
		t.Errorf("namespaces whose objects differ from the mesh's: %v, want [a a-b]", deferred)
	}
}

// namespaceSources is what a namespace pass reads: the sources of ns and
// of the root namespace, and those two Namespaces.
func namespaceSources(objs []manifest.Object, ns string) []manifest.Object {
	var out []manifest.Object
	for _, o := range objs {
		in := o.Namespace
		if o.Kind == "Namespace" {
			in = o.Name
		}
		if in == ns || in == inventory.RootNamespace {
			out = append(out, o)
		}
	}
	return out
}

func renderAll(t *testing.T, p *plan) map[objKey][]byte {
	t.Helper()
	out := map[objKey][]byte{}
	for _, o := range p.objs {
		r, err := render(bundle.NewObjectEncoder(), o)
		if err != nil {
			t.Fatal(err)
		}
		out[r.key] = r.body
	}
	return out
}

// retag renames the synthetic namespace team-000 in dir to ns and its tag
// route_name to tag.
func retag(t *testing.T, dir, ns, tag string) {
	t.Helper()
	p := filepath.Join(dir, "ns-000.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("team-000"), []byte(ns))
	data = bytes.ReplaceAll(data, []byte("route_name:"), []byte(tag+":"))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInventoryLeavesObjectsAlone guards the caches' UnsafeDisableDeepCopy:
// the objects the inventory and the bundle are built from are the cache's
// own, and must come out unchanged.
func TestInventoryLeavesObjectsAlone(t *testing.T) {
	res, err := manifest.ReadFS(examples.Podinfo())
	if err != nil {
		t.Fatal(err)
	}
	mixed, diags := manifest.Decode("mixed.yaml", []byte(mixedMesh))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	var objs []manifest.Object
	var before []map[string]any
	for _, o := range append(res.Objects, mixed...) {
		data, err := json.Marshal(o.Content)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, manifest.FromUnstructured(u.Object))
		before = append(before, runtime.DeepCopyJSON(u.Object))
	}
	inv, err := inventory.Build(objs)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := bundle.Build(inv, bundle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range b.Objects() {
		if _, err := render(bundle.NewObjectEncoder(), o); err != nil {
			t.Fatal(err)
		}
	}
	for i, o := range objs {
		if !reflect.DeepEqual(o.Content, before[i]) {
			t.Errorf("%s %s/%s was changed", o.Kind, o.Namespace, o.Name)
		}
	}
}
