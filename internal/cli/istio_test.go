package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// istioManifest is a file of the inventory's real-shaped manifests (each
// names the published manifest it is shaped like).
func istioManifest(name string) string {
	return filepath.Join("..", "..", "inventory", "testdata", "istio", name)
}

// run is one bundlegen run of a case and what its output must (not) say.
type run struct {
	args     []string
	code     int
	want     []string // substrings of stdout
	not      []string // strings stdout must not contain
	stderr   []string // substrings of stderr
	noStderr bool
}

func (r run) check(t *testing.T) {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", r.args...)
	if code != r.code {
		t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), code, r.code, stdout, stderr)
		return
	}
	for _, w := range r.want {
		if !strings.Contains(stdout, w) {
			t.Errorf("%s: stdout lacks %q:\n%s", strings.Join(r.args, " "), w, stdout)
		}
	}
	for _, n := range r.not {
		if strings.Contains(stdout, n) {
			t.Errorf("%s: stdout has %q:\n%s", strings.Join(r.args, " "), n, stdout)
		}
	}
	for _, w := range r.stderr {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr lacks %q:\n%s", strings.Join(r.args, " "), w, stderr)
		}
	}
	if r.noStderr && stderr != "" {
		t.Errorf("%s: stderr %q, want none", strings.Join(r.args, " "), stderr)
	}
}

// TestIstioCasesAgree runs lint, explain and generate on each case of
// issue 10 and checks that they tell the same story: what lint reports,
// explain shows for a request, and generate records (or leaves out).
func TestIstioCasesAgree(t *testing.T) {
	kiali := istioManifest("kiali-travels.yaml")
	kialiNS := istioManifest("kiali-travels-namespace.yaml")
	published := istioManifest("kiali-travels-as-published.yaml")
	classify := istioManifest("classify-metrics.yaml")
	plugin := istioManifest("bookinfo-sidecar-plugin.yaml")
	tests := []struct {
		name string
		runs []run
	}{
		{
			// Disjoint selectors: one route set, dashboard and explanation
			// per workload; a workload no plugin selects still carries the
			// namespace-wide Telemetry's tag, as "unknown".
			name: "disjoint selectors",
			runs: []run{
				{args: []string{"lint", kialiNS}, code: ExitOK, noStderr: true},
				{args: []string{"explain", kialiNS, "--namespace", "travel-agency", "--labels", "app=hotels,version=v1", "--header", "user=new", "GET", "/hotels/paris"},
					want: []string{"route set travel-agency/attribgen-travelagency-hotels/custom-tags/request_operation", `value:   "New"`},
					not:  []string{"route set travel-agency/attribgen-travelagency-cars"}},
				{args: []string{"explain", kialiNS, "--namespace", "travel-agency", "--labels", "app=flights,version=v1", "GET", "/flights/paris"},
					want: []string{"tag request_operation (Telemetry/travel-agency/custom-tags)", `value:   "unknown"`,
						"no attributegen config producing istio_operationId runs on the destination workload in namespace travel-agency labelled app=flights,version=v1"}},
				{args: []string{"generate", "--format", "files", kialiNS},
					want: []string{"# Source: dashboards/travel-agency-app-cars-", "# Source: dashboards/travel-agency-app-hotels-", "# Source: dashboards/travel-agency-app-travels-",
						`destination_workload_namespace="travel-agency"`}},
			},
		},
		{
			// Root-namespace plugins with selectors: the rules select the
			// app's workloads in every namespace, never istio-system alone.
			name: "root namespace",
			runs: []run{
				{args: []string{"lint", kiali}, code: ExitOK, noStderr: true},
				{args: []string{"explain", kiali, "--namespace", "travel-agency", "--labels", "app=cars", "--header", "user=bob", "GET", "/cars/paris"},
					want: []string{"route set istio-system/attribgen-travelagency-cars/custom-tags/request_operation", `value:   "Registered"`,
						"the sidecars of workloads labelled app=cars in every namespace"}},
				{args: []string{"generate", "--format", "files", kiali},
					want: []string{`destination_app=~"cars|hotels|travels"`},
					not:  []string{`destination_workload_namespace="istio-system"`}},
				{args: []string{"generate", "--format", "files", classify},
					want: []string{`istio_requests_total{destination_app=~"reviews",reporter=~"waypoint|destination",request_operation!=""}`},
					not:  []string{`destination_workload_namespace="istio-system"`}},
				{args: []string{"explain", classify, "--namespace", "default", "--labels", "app=reviews,version=v2", "GET", "/reviews/0"},
					want: []string{`value:   "GetReview"`}},
			},
		},
		{
			// --root-namespace (and the bundle config's rootNamespace): with
			// another root, istio-system is a namespace like any other.
			name: "root namespace configured",
			runs: []run{
				{args: []string{"explain", kiali, "--root-namespace", "istio-config", "--namespace", "travel-agency", "--labels", "app=cars", "GET", "/cars"},
					want: []string{"no route tag applies"}},
				{args: []string{"generate", "--format", "files", "--root-namespace", "istio-config", kiali},
					want: []string{`destination_workload_namespace="istio-system"`}, not: []string{"destination_app"}},
				{args: []string{"lint", "--root-namespace", "istio-config", kiali}, noStderr: true},
			},
		},
		{
			// The published demo reads the bare attribute: lint errs,
			// explain says unknown and why, generate leaves the tag out.
			name: "always unknown",
			runs: []run{
				{args: []string{"lint", published}, code: ExitFindings, want: []string{"error RB003 Telemetry/istio-system/custom-tags"}, not: []string{"RB004"}},
				{args: []string{"explain", published, "--namespace", "travel-agency", "--labels", "app=hotels", "--header", "user=new", "GET", "/hotels/paris"},
					code: ExitFindings,
					want: []string{"tag request_operation (Telemetry/istio-system/custom-tags)", `value:   "unknown"`, "it reads the bare attribute istio_operationId"},
					not:  []string{`"New"`}, stderr: []string{"the input has 1 error diagnostic(s)"}},
				{args: []string{"generate", "--format", "files", published}, code: ExitFindings,
					not: []string{"request_operation!=", "# Source: rules/"}, stderr: []string{"RB003"}},
			},
		},
		{
			name: "disabled is not sticky",
			runs: []run{
				{args: []string{"lint", plugin, istioManifest("overrides-disabled-not-sticky.yaml")}, noStderr: true},
				{args: []string{"generate", "--format", "files", plugin, istioManifest("overrides-disabled-not-sticky.yaml")},
					want: []string{"route:istio_request_duration_milliseconds:histogram_quantile5m"}},
			},
		},
		{
			name: "one tag, two spellings",
			runs: []run{
				{args: []string{"lint", plugin, istioManifest("overrides-two-spellings.yaml")}, noStderr: true, not: []string{"RB007", "RB312"}},
				{args: []string{"generate", "--format", "files", plugin, istioManifest("overrides-two-spellings.yaml")},
					want: []string{"route:istio_request_duration_milliseconds:histogram_quantile5m"}, not: []string{"RB312"}},
			},
		},
		{
			name: "mode CLIENT",
			runs: []run{
				{args: []string{"lint", plugin, istioManifest("overrides-client-only.yaml")}, want: []string{"warning RB022"}},
				{args: []string{"explain", plugin, istioManifest("overrides-client-only.yaml"), "--namespace", "default", "--labels", "app=reviews", "GET", "/reviews"},
					want: []string{"tag route_name (Telemetry/default/client-routes)", "only on client-side metrics (mode: CLIENT)"}},
				{args: []string{"generate", "--format", "files", plugin, istioManifest("overrides-client-only.yaml")},
					not: []string{"# Source: rules/", "route_name!="}, stderr: []string{"RB022"}},
			},
		},
		{
			name: "a response_code override next to the route tag",
			runs: []run{
				{args: []string{"lint", istioManifest("classify-metrics-response.yaml")}, want: []string{"warning RB023", "503, 5xx"}},
				{args: []string{"explain", istioManifest("classify-metrics-response.yaml"), "--namespace", "default", "--labels", "app=productpage", "GET", "/productpage"},
					want: []string{`value:   "GetProductPage"`}, not: []string{"response_code"}},
			},
		},
		{
			// string() is the stats filter's CEL, not attributegen's.
			name: "customize-metrics",
			runs: []run{{args: []string{"lint", istioManifest("customize-metrics.yaml")}, noStderr: true, not: []string{"RB"}}},
		},
		{
			name: "a condition that fails for ordinary requests",
			runs: []run{
				{args: []string{"lint", istioManifest("beta-header.yaml")}, want: []string{"warning RB024 WasmPlugin/shop/cart-routes: request.headers['x-beta'] fails to evaluate"}},
				// Flags after the positional arguments.
				{args: []string{"explain", "--namespace", "shop", "GET", "/cart/me", istioManifest("beta-header.yaml"), "--labels", "app=cart"},
					want: []string{`value:   "unknown"`, "the condition reads header x-beta, which this request does not have: give it with --header x-beta=..."}},
				{args: []string{"explain", "--namespace", "shop", "GET", "/cart/me", istioManifest("beta-header.yaml"), "--labels", "app=cart", "--header", "x-beta=no"},
					want: []string{`value:   "GET /cart/me"`}},
			},
		},
		{
			name: "response attributes",
			runs: []run{
				{args: []string{"explain", istioManifest("response-class-tag.yaml"), "--namespace", "default", "--labels", "app=productpage", "GET", "/productpage"},
					want: []string{`value:   "unknown"`, "the condition reads response.code, which this request does not have (attributegen runs after the response by default): give it with --response-code"}},
				{args: []string{"explain", istioManifest("response-class-tag.yaml"), "--namespace", "default", "--labels", "app=productpage", "--response-code", "503", "GET", "/productpage"},
					want: []string{`value:   "503"`}},
				{args: []string{"explain", istioManifest("response-class-tag.yaml"), "--namespace", "default", "--labels", "app=productpage", "--response-code", "503", "-o", "json", "GET", "/productpage"},
					want: []string{`"value": "503"`}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range tt.runs {
				r.check(t)
			}
		})
	}
}

// TestRootNamespaceConfig reads the root namespace from the bundle config.
func TestRootNamespaceConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bundle.yaml")
	if err := os.WriteFile(cfg, []byte("rootNamespace: istio-config\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run{args: []string{"generate", "--format", "files", "-c", cfg, istioManifest("kiali-travels.yaml")},
		want: []string{`destination_workload_namespace="istio-system"`}, not: []string{"destination_app"}}.check(t)
	if err := os.WriteFile(cfg, []byte("rootNamespace: Istio_System\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run{args: []string{"generate", "-c", cfg, istioManifest("kiali-travels.yaml")}, code: ExitUsage,
		stderr: []string{`rootNamespace "Istio_System"`}}.check(t)
}
