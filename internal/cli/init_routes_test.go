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
