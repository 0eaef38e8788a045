package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/testutil"
)

// TestInitFromRoutes writes the Telemetry of route names for the
// httproute example's route objects and reads it back with them: lint
// finds nothing, and explain gives a request its rule's name.
func TestInitFromRoutes(t *testing.T) {
	root := testutil.ModuleRoot(t)
	dir := t.TempDir()
	for _, f := range []string{"namespace.yaml", "waypoint.yaml", "httproute.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, "examples", "httproute", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "telemetry.yaml")
	code, stdout, stderr := runCLI(t, "", "init", "--from-routes", dir, "-o", out)
	if code != ExitOK || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", "lint", dir, out)
	if code != ExitOK || stdout != "" {
		t.Errorf("lint: exit %d:\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "", "explain", dir, out, "--namespace", "podinfo", "POST", "/echo")
	if code != ExitOK || !strings.Contains(stdout, `value:   "post-echo"`) {
		t.Errorf("explain: exit %d:\n%s", code, stdout)
	}
}

// TestInitFromRoutesSuggests: unnamed rules get a name suggested on
// stderr, from standard input too, on every side.
func TestInitFromRoutesSuggests(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "routing", "testdata", "bookinfo-reviews.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, string(data), "init", "--from-routes", "-", "--side", "client", "--namespace", "frontend")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		`bundlegen: suggestion: HTTPRoute/bookinfo/reviews spec.rules[0] (header end-user=jason) has no name: istiod names its routes "bookinfo.reviews.0" after its position`,
		"add name: header-end-user-jason",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, want := range []string{"from <stdin> (client side)", "namespace: frontend", "mode: CLIENT\n", "reviews-v3: any"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestInitFromRoutesErrors(t *testing.T) {
	example := filepath.Join(testutil.ModuleRoot(t), "examples", "httproute")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from-routes"}, "--from-routes needs the PATH"},
		{[]string{"--from-routes", example, "--no-wasm"}, "[--no-wasm] do not apply to --from-routes"},
		{[]string{"--from-routes", example, "--openapi", "x.yaml"}, "[--openapi] do not apply"},
		{[]string{"--from-routes", example, "--side", "ingress"}, `--side: side "ingress"`},
		{[]string{"--from-routes", example, "--side", "gateway"}, "no route object of the input applies on the gateway side"},
		{[]string{"--from-routes", filepath.Join(example, "namespace.yaml")}, "no HTTPRoute, GRPCRoute or VirtualService"},
		{[]string{"--routes", "x.txt", example}, "unexpected argument"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"init"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestInitFromRoutesSides: --side picks the proxies that read the names:
// the Gateways the routes attach to (client side of the gateway), or the
// client sidecars of a namespace, narrowed by --selector; read back with
// the route objects, each is a route set on that side.
func TestInitFromRoutesSides(t *testing.T) {
	root := testutil.ModuleRoot(t)
	gatewayRoutes := filepath.Join(root, "routing", "testdata", "podinfo-httproute.yaml")
	for _, tc := range []struct {
		name  string
		args  []string
		want  []string
		lacks string
	}{
		{"gateway", []string{"--side", "gateway", "--tag", "gateway_route"},
			[]string{"(gateway side)", "kind: Gateway", "group: gateway.networking.k8s.io", "mode: CLIENT\n", "gateway_route:\n", "healthz: GET /healthz"}, "selector:"},
		{"client", []string{"--side", "client", "--namespace", "web", "--selector", "app=frontend"},
			[]string{"(client side)", "namespace: web", "app: frontend", "mode: CLIENT\n", "echo: POST /echo"}, "targetRefs:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "telemetry.yaml")
			args := append([]string{"init", "--from-routes", gatewayRoutes, "-o", out}, tc.args...)
			code, _, stderr := runCLI(t, "", args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, "add name: api") {
				t.Errorf("no name suggested for the unnamed rule:\n%s", stderr)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.want {
				if !strings.Contains(string(data), want) {
					t.Errorf("output lacks %q:\n%s", want, data)
				}
			}
			if strings.Contains(string(data), tc.lacks) {
				t.Errorf("output has %q:\n%s", tc.lacks, data)
			}
			// What init wrote reads back as route names with the routes,
			// recorded from the client side's series.
			code, stdout, stderr := runCLI(t, "", "generate", "--format", "files", gatewayRoutes, out)
			if code != ExitOK || !strings.Contains(stdout, `"text": "healthz: GET /healthz`) || !strings.Contains(stdout, `reporter=\"source\"`) {
				t.Errorf("generate: exit %d:\n%s", code, stderr)
			}
		})
	}
}

// TestInitFromRoutesBadInput: broken route objects and unparsable files are
// reported by file, line, object and field, the Telemetry is written for
// the objects that could be read, and the exit code says there were
// errors.
func TestInitFromRoutesBadInput(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"routes.yaml": `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart, port: 8080}]
  rules:
  - name: cart
    matches: [{path: {type: PathPrefix, value: /cart}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: pay, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: pay, port: 8080}]
  rules:
  - name: pay
    matches: [{path: {type: Bogus, value: /pay}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shape, namespace: shop}
spec:
  parentRefs: 7
  rules: "x"
`,
		"broken.yaml": "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCLI(t, "", "init", "--from-routes", dir)
	if code != ExitFindings {
		t.Errorf("exit %d, want %d", code, ExitFindings)
	}
	routes, broken := filepath.Join(dir, "routes.yaml"), filepath.Join(dir, "broken.yaml")
	for _, want := range []string{
		routes + `:17: error RB002 HTTPRoute/shop/pay: spec.rules[0].matches[0].path.type: "Bogus" is not one of [Exact PathPrefix RegularExpression] [spec.rules[0].matches[0].path.type]`,
		routes + ":23: error RB002 HTTPRoute/shop/shape: spec.parentRefs: want a list, got number 7 [spec.parentRefs]",
		routes + `:24: error RB002 HTTPRoute/shop/shape: spec.rules: want a list, got string "x" [spec.rules]`,
		broken + ":3: error RB001",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// The objects that could be read get their Telemetry.
	for _, want := range []string{"kind: Telemetry", "namespace: shop", "name: cart", "cart: /cart/*"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}
