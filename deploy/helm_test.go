// Package deploy holds the tests of what routebundle ships for installing
// it: the Helm chart (helm/routebundle), the kustomize base and overlay
// (kustomize/), and the Dockerfile. The chart is rendered with Helm's Go
// SDK and the kustomizations built with kustomize's, so that the tests see
// what `helm install` and `kubectl apply -k` see; the rendered objects go
// to a real API server, and the RBAC they grant is proven sufficient and
// necessary by running the service under it (rbac_test.go).
//
// The package has no non-test code: Helm and kustomize are linked into its
// test binary only, never into bundlegen or routebundle.
package deploy

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/service"
	"github.com/routebundle/routebundle/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	chartDir         = "helm/routebundle"
	releaseName      = "routebundle"
	releaseNamespace = "routebundle"
)

// rendering is what `helm install` makes of the chart with some values.
type rendering struct {
	manifest string
	notes    string
	objects  []*unstructured.Unstructured
}

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	return c
}

// render renders the chart as `helm install --dry-run` (client only) does,
// with the values given as YAML: schema validation, templates, NOTES.txt.
func render(t testing.TB, valuesYAML string) (rendering, error) {
	t.Helper()
	vals, err := chartutil.ReadValues([]byte(valuesYAML))
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	inst := action.NewInstall(&action.Configuration{})
	inst.DryRun, inst.ClientOnly, inst.Replace = true, true, true
	inst.ReleaseName, inst.Namespace = releaseName, releaseNamespace
	inst.KubeVersion = kubeVersion(t)
	rel, err := inst.Run(loadChart(t), vals.AsMap())
	if err != nil {
		return rendering{}, err
	}
	r := rendering{manifest: rel.Manifest, notes: rel.Info.Notes}
	if r.objects, err = k8stest.DecodeObjects([]byte(rel.Manifest)); err != nil {
		t.Fatalf("the rendered manifest does not decode: %v", err)
	}
	return r, nil
}

// kubeVersion is the version of the kube-apiserver the tests run, as
// tools/kube/go.mod pins it (Helm would otherwise assume one from its own
// build).
func kubeVersion(t testing.TB) *chartutil.KubeVersion {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "tools", "kube", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "k8s.io/kubernetes" {
			v, err := chartutil.ParseKubeVersion(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatal("tools/kube/go.mod does not require k8s.io/kubernetes")
	return nil
}

func mustRender(t testing.TB, valuesYAML string) rendering {
	t.Helper()
	r, err := render(t, valuesYAML)
	if err != nil {
		t.Fatalf("render the chart: %v", err)
	}
	return r
}

// chartCases are the value sets rendered into goldens and applied to the
// API server.
var chartCases = []struct{ name, values string }{
	{"default", ""},
	{"custom", `
fullnameOverride: rb
replicaCount: 2
image: {repository: registry.example/routebundle, digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
kubePrometheusStack: {release: prom}
targetNamespaces: {monitors: observability, rules: observability, dashboards: grafana}
grafana: {folder: Routes, sidecarLabel: grafana_dashboard, sidecarLabelValue: "yes"}
istio: {rootNamespace: mesh-root, namespace: istiod}
prometheus:
  url: https://mimir.observability.svc:8080
  pathPrefix: /prometheus
  headers: {X-Scope-OrgID: team-a}
  bearerToken: {secretName: mimir-token}
  tls: {secretName: mimir-ca}
config:
  alerts: {objective: 99.9%, errorRatio: 2%}
  rules: {grafanaURL: "https://grafana.example", errorSelector: 'response_code=~"5..|429"'}
  dashboards: {titlePrefix: Shop routes}
resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {memory: 1Gi}}
logLevel: debug
resyncPeriod: 30m
metrics: {serviceMonitor: {interval: 1m, labels: {team: platform}}}
prometheusRule: {severity: critical, for: 10m, unknownShare: 0.9, labels: {team: platform}}
podAnnotations: {example.com/owner: platform}
nodeSelector: {kubernetes.io/os: linux}
`},
	{"namespaced", `
watchNamespaces: [shop, payments]
prometheus: {url: ""}
grafana: {folder: Routes}
`},
	{"exporter-only", `
exporterOnly: true
prometheus: {basicAuth: {username: routebundle, secretName: prom-basic-auth}}
prometheusRule: {enabled: false}
metrics: {serviceMonitor: {enabled: false}}
`},
}

// TestChartGolden renders the chart with each case's values: the manifest
// and NOTES.txt must equal the goldens (-update rewrites them).
func TestChartGolden(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRender(t, tc.values)
			testutil.Golden(t, filepath.Join("testdata", "chart", tc.name+".yaml"), r.manifest, *update)
			testutil.Golden(t, filepath.Join("testdata", "chart", tc.name+".NOTES.txt"), r.notes, *update)
		})
	}
}

// TestChartLint runs Helm's linter (the one `helm lint --strict` runs) with
// each case's values.
func TestChartLint(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := chartutil.ReadValues([]byte(tc.values))
			if err != nil {
				t.Fatal(err)
			}
			lint := action.NewLint()
			lint.Strict, lint.Namespace, lint.KubeVersion = true, releaseNamespace, kubeVersion(t)
			res := lint.Run([]string{chartDir}, vals.AsMap())
			for _, m := range res.Messages {
				t.Logf("lint: %s", m)
			}
			for _, err := range res.Errors {
				t.Errorf("lint: %v", err)
			}
			if action.HasWarningsOrErrors(res) {
				t.Error("helm lint --strict reports warnings or errors")
			}
		})
	}
}

// TestChartSchemaRejects checks that values.schema.json turns wrong values
// away before anything renders, naming the value.
func TestChartSchemaRejects(t *testing.T) {
	for _, tc := range []struct{ values, want string }{
		{`replicaCount: "2"`, "/replicaCount"},
		{`replicaCount: "2"`, "want integer"},
		{`watchNamespaces: shop`, "/watchNamespaces"},
		{`watchNamespaces: [Shop]`, "/watchNamespaces/0"},
		{`watchNamespaces: [shop, shop]`, "/watchNamespaces"},
		{`leaderElection: {enabled: "yes"}`, "/leaderElection/enabled"},
		{`logLevel: verbose`, "/logLevel"},
		{`resyncPeriod: 10`, "/resyncPeriod"},
		{`resyncPeriod: ten minutes`, "/resyncPeriod"},
		{`targetNamespaces: {monitors: ""}`, "/targetNamespaces/monitors"},
		{`kubePrometheusStack: {releas: prom}`, "releas"},
		{`prometheus: {headers: {X-Scope-OrgID: 1}}`, "/prometheus/headers/X-Scope-OrgID"},
		{`prometheus: {tls: {insecureSkipVerify: "true"}}`, "/prometheus/tls/insecureSkipVerify"},
		{`config: "alerts: {}"`, "/config"},
		{`prometheusRule: {unknownShare: 2}`, "/prometheusRule/unknownShare"},
		{`prometheusRule: {for: 15 minutes}`, "/prometheusRule/for"},
		{`metrics: {port: 80800}`, "/metrics/port"},
		{`image: {pullPolicy: Sometimes}`, "/image/pullPolicy"},
		{`{dryRun: true, exporterOnly: true}`, "/exporterOnly"},
		{`imagePullSecrets: [regcred]`, "/imagePullSecrets/0"},
	} {
		_, err := render(t, tc.values)
		if err == nil {
			t.Errorf("values %s: rendered; want a schema error", tc.values)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "values don't meet the specifications of the schema") || !strings.Contains(msg, tc.want) {
			t.Errorf("values %s: error %q does not name %q", tc.values, msg, tc.want)
		}
	}
}

// TestChartBundleConfig checks the bundle config the chart writes: it is
// valid for routebundle (bundle.ParseConfig is what the service reads it
// with, strictly) and carries the chart's values, with config's own keys
// taking precedence.
func TestChartBundleConfig(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRender(t, tc.values)
			cm := find(t, r.objects, "ConfigMap", "")
			data, _, _ := unstructured.NestedString(cm.Object, "data", "config.yaml")
			cfg, err := bundle.ParseConfig(cm.GetName()+"/config.yaml", []byte(data))
			if err != nil {
				t.Fatalf("the chart's bundle config does not parse:\n%s\n%v", data, err)
			}
			if tc.name == "custom" {
				checkEqual(t, "scrape.namespace", cfg.Scrape.Namespace, "observability")
				checkEqual(t, "scrape.istioNamespace", cfg.Scrape.IstioNamespace, "istiod")
				checkEqual(t, "rules.namespace", cfg.Rules.Namespace, "observability")
				checkEqual(t, "rules.release", cfg.Rules.Release, "prom")
				checkEqual(t, "dashboards.configMap.namespace", cfg.Dashboards.ConfigMap.Namespace, "grafana")
				checkEqual(t, "dashboards.configMap.labelValue", cfg.Dashboards.ConfigMap.LabelValue, "yes")
				checkEqual(t, "dashboards.configMap.folder", cfg.Dashboards.ConfigMap.Folder, "Routes")
				checkEqual(t, "dashboards.titlePrefix", cfg.Dashboards.TitlePrefix, "Shop routes")
				checkEqual(t, "rootNamespace", cfg.RootNamespace, "mesh-root")
			}
		})
	}
}

func checkEqual(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// TestChartDeploymentHardened checks what the issue asks of the pod, in
// every case: non-root, read-only root file system, no privilege
// escalation, no capabilities, RuntimeDefault seccomp, requests and limits,
// probes on the service's endpoints.
func TestChartDeploymentHardened(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRender(t, tc.values)
			dep := find(t, r.objects, "Deployment", "")
			pod := nested[map[string]any](t, dep.Object, "spec", "template", "spec")
			want := map[string]any{"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}}
			for k, v := range want {
				if got := nested[any](t, pod, "securityContext", k); fmt.Sprint(got) != fmt.Sprint(v) {
					t.Errorf("pod securityContext.%s = %v, want %v", k, got, v)
				}
			}
			c := nested[[]any](t, pod, "containers")[0].(map[string]any)
			sc := nested[map[string]any](t, c, "securityContext")
			if sc["allowPrivilegeEscalation"] != false || sc["readOnlyRootFilesystem"] != true ||
				fmt.Sprint(nested[any](t, sc, "capabilities", "drop")) != "[ALL]" {
				t.Errorf("container securityContext = %v", sc)
			}
			for _, k := range []string{"requests", "limits"} {
				if len(nested[map[string]any](t, c, "resources", k)) == 0 {
					t.Errorf("no resources.%s", k)
				}
			}
			for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
				if got := nested[string](t, c, probe, "httpGet", "path"); got != path {
					t.Errorf("%s path = %q, want %q", probe, got, path)
				}
			}
		})
	}
}

// TestChartArgsParse: the Deployment's arguments are flags routebundle
// has, with values it takes (a --help after them stops it from starting).
func TestChartArgsParse(t *testing.T) {
	for _, tc := range chartCases {
		dep := find(t, mustRender(t, tc.values).objects, "Deployment", "")
		c := nested[[]any](t, dep.Object, "spec", "template", "spec", "containers")[0].(map[string]any)
		var args []string
		for _, a := range nested[[]any](t, c, "args") {
			args = append(args, a.(string))
		}
		if err := service.Run(t.Context(), append(args, "--help"), io.Discard, io.Discard); err != nil {
			t.Errorf("%s: routebundle %s: %v", tc.name, strings.Join(args, " "), err)
		}
	}
}

// TestChartRBACModes checks where the rules land: one ClusterRole with
// every rule by default; with watchNamespaces, a ClusterRole with
// Namespaces (cluster-scoped) alone, Roles reading the sources in the
// watched and root namespaces, and Roles watching and writing the bundle
// where it goes, the namespaces routebundle is told with
// --output-namespaces.
func TestChartRBACModes(t *testing.T) {
	def := mustRender(t, "")
	if n := len(kindsOf(def.objects, "Role")); n != 1 {
		t.Errorf("default: %d Roles, want only the leader election one", n)
	}
	ns := mustRender(t, "watchNamespaces: [shop, payments]\ntargetNamespaces: {rules: alerts}\nconfig: {dashboards: {configMap: {namespace: grafana}}}")
	cr := find(t, ns.objects, "ClusterRole", "")
	if got := resourcesOf(cr); !slices.Equal(got, []string{"namespaces"}) {
		t.Errorf("namespace-scoped ClusterRole on %v, want namespaces only", got)
	}
	rules, _, _ := unstructured.NestedSlice(cr.Object, "rules")
	for _, r := range rules {
		verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
		for _, v := range verbs {
			if v != "list" && v != "watch" {
				t.Errorf("namespace-scoped ClusterRole grants %s: %v", v, r)
			}
		}
	}
	where := map[string][]string{}
	for _, r := range kindsOf(ns.objects, "Role") {
		where[r.GetName()] = append(where[r.GetName()], r.GetNamespace())
	}
	// The dashboards' namespace comes from values.config, which wins over
	// targetNamespaces: the Roles follow the config routebundle reads.
	outputs := []string{"alerts", "grafana", "monitoring"}
	for name, want := range map[string][]string{
		"routebundle-sources":         {"istio-system", "payments", "shop"},
		"routebundle-outputs":         outputs,
		"routebundle-leader-election": {releaseNamespace},
	} {
		got := where[name]
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("Role %s in %v, want %v", name, got, want)
		}
	}
	dep := find(t, ns.objects, "Deployment", "")
	args := nested[[]any](t, nested[[]any](t, dep.Object, "spec", "template", "spec", "containers")[0].(map[string]any), "args")
	if want := "--output-namespaces=" + strings.Join(outputs, ","); !slices.Contains(args, any(want)) {
		t.Errorf("the Deployment's arguments %v do not have %s", args, want)
	}
	if n, m := len(kindsOf(ns.objects, "RoleBinding")), len(kindsOf(ns.objects, "Role")); n != m {
		t.Errorf("%d RoleBindings for %d Roles", n, m)
	}
	// Together the Roles and the ClusterRole grant what the one ClusterRole
	// of the default grants.
	var all []string
	for _, o := range append(kindsOf(ns.objects, "Role"), cr) {
		if !strings.HasSuffix(o.GetName(), "-leader-election") {
			all = append(all, resourcesOf(o)...)
		}
	}
	sort.Strings(all)
	if got, want := slices.Compact(all), resourcesOf(find(t, def.objects, "ClusterRole", "")); !slices.Equal(got, want) {
		t.Errorf("namespace-scoped resources %v, default %v", got, want)
	}
}

func resourcesOf(role *unstructured.Unstructured) []string {
	var out []string
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
		out = append(out, res...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func kindsOf(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// find returns the one object of kind (named name, when not empty).
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range kindsOf(objs, kind) {
		if name == "" || o.GetName() == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s %q, want 1", len(found), kind, name)
	}
	return found[0]
}

// nested returns the field at path, failing the test when it is missing or
// of another type.
func nested[T any](t testing.TB, obj map[string]any, path ...string) T {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(obj, path...)
	if err != nil || !ok {
		t.Fatalf("no field %s", strings.Join(path, "."))
	}
	out, ok := v.(T)
	if !ok {
		t.Fatalf("field %s is a %T", strings.Join(path, "."), v)
	}
	return out
}

// yamlOf is for messages.
func yamlOf(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
