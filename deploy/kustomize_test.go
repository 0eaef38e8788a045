package deploy

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/testutil"
)

const (
	kustomizeBase    = "kustomize/base"
	kustomizeExample = "kustomize/overlays/example"
	// baseManifest is generated from the chart's defaults.
	baseManifest = kustomizeBase + "/routebundle.yaml"
)

var kustomizations = []string{kustomizeBase, kustomizeExample}

// kustomize builds a kustomization as `kubectl apply -k` does.
func kustomize(t testing.TB, dir string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	out, err := res.AsYaml()
	if err != nil {
		return nil, err
	}
	return k8stest.DecodeObjects(out)
}

func mustKustomize(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := kustomize(t, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return objs
}

// helmOnly are the lines of the chart's output that only Helm means: its
// labels and the template names.
var helmOnly = regexp.MustCompile(`(?m)^(# Source: .*|\s*helm\.sh/chart: .*|\s*app\.kubernetes\.io/managed-by: Helm)\n`)

// TestKustomizeBaseIsTheChart: the base's manifest is the chart rendered
// with its defaults, less Helm's labels (-update regenerates it), so that
// the two ways of installing cannot drift apart.
func TestKustomizeBaseIsTheChart(t *testing.T) {
	r := mustRender(t, "")
	got := "# Code generated from deploy/helm/routebundle with its default values by\n" +
		"# `go test ./deploy -run TestKustomizeBaseIsTheChart -update`. DO NOT EDIT.\n" +
		strings.TrimPrefix(helmOnly.ReplaceAllString(r.manifest, ""), "---\n")
	testutil.Golden(t, baseManifest, got, *update)
}

// TestKustomizeBuild builds the base and the example overlay with
// kustomize's API: the base holds the chart's default objects (kinds,
// names, namespaces and RBAC rules alike); the overlay changes what it says
// it changes and keeps the rest.
func TestKustomizeBuild(t *testing.T) {
	chart := mustRender(t, "").objects
	base := mustKustomize(t, kustomizeBase)
	// The base creates its namespace, as helm install --create-namespace does.
	find(t, base, "Namespace", releaseNamespace)
	if got, want := inventory(slices.DeleteFunc(slices.Clone(base), isNamespace)), inventory(chart); !reflect.DeepEqual(got, want) {
		t.Errorf("base objects:\n%s\nchart's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := rbacRules(base), rbacRules(chart); !reflect.DeepEqual(got, want) {
		t.Errorf("base RBAC rules differ from the chart's:\n%s\nchart's:\n%s", yamlOf(got), yamlOf(want))
	}

	ex := mustKustomize(t, kustomizeExample)
	if got, want := inventory(ex), inventory(base); !reflect.DeepEqual(got, want) {
		t.Errorf("the overlay adds or removes objects:\n%s\nbase:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := rbacRules(ex), rbacRules(base); !reflect.DeepEqual(got, want) {
		t.Errorf("the overlay changes RBAC rules:\n%s", yamlOf(got))
	}
	dep := find(t, ex, "Deployment", "")
	c := nested[[]any](t, dep.Object, "spec", "template", "spec", "containers")[0].(map[string]any)
	if img := c["image"]; img != "routebundle/routebundle:0.1.0" {
		t.Errorf("overlay image %v", img)
	}
	args := fmt.Sprint(c["args"])
	if !strings.Contains(args, "--prometheus-url=http://prometheus-operated.observability.svc:9090") {
		t.Errorf("overlay args %s", args)
	}
	cm := find(t, ex, "ConfigMap", "")
	data, _, _ := unstructured.NestedString(cm.Object, "data", "config.yaml")
	if !strings.Contains(data, "release: prom") {
		t.Errorf("overlay config:\n%s", data)
	}
	vol := nested[[]any](t, dep.Object, "spec", "template", "spec", "volumes")[0].(map[string]any)
	if got := nested[string](t, vol, "configMap", "name"); got != cm.GetName() {
		t.Errorf("the Deployment mounts ConfigMap %s, the overlay makes %s", got, cm.GetName())
	}
}

func isNamespace(o *unstructured.Unstructured) bool { return o.GetKind() == "Namespace" }

// inventory lists kind namespace/name of each object, sorted.
func inventory(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	sort.Strings(out)
	return out
}

// rbacRules are the rules of each (Cluster)Role, and the subjects and role
// of each binding, by kind and name.
func rbacRules(objs []*unstructured.Unstructured) map[string]any {
	out := map[string]any{}
	for _, o := range objs {
		key := filepath.Join(o.GetKind(), o.GetNamespace(), o.GetName())
		switch o.GetKind() {
		case "ClusterRole", "Role":
			out[key] = o.Object["rules"]
		case "ClusterRoleBinding", "RoleBinding":
			out[key] = []any{o.Object["roleRef"], o.Object["subjects"]}
		}
	}
	return out
}

func runtimeObjects(objs []*unstructured.Unstructured) []runtime.Object {
	out := make([]runtime.Object, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}
