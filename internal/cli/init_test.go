package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/scaffold"
)

// runCLI runs bundlegen with args and stdin, returning the exit code and outputs.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr}
	code := Run(context.Background(), env, args)
	return code, stdout.String(), stderr.String()
}

func scaffoldTestdata(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(testutil.ModuleRoot(t), "scaffold", "testdata", name)
}

// TestInitFlags checks that each flag reaches the generator: the CLI output
// must equal what scaffold produces with the matching options.
func TestInitFlags(t *testing.T) {
	petstore := scaffoldTestdata(t, "petstore.yaml")
	routes := scaffoldTestdata(t, "routes.txt")
	tests := []struct {
		name  string
		args  []string
		input string
		parse scaffold.ParseOptions
		opts  scaffold.Options
	}{
		{"openapi waypoint", []string{"--openapi", petstore, "--namespace", "shop", "--waypoint", "shop-waypoint", "--base-path", "/v1"},
			petstore, scaffold.ParseOptions{BasePath: "/v1"}, scaffold.Options{Namespace: "shop", Waypoint: "shop-waypoint"}},
		{"routes sidecars no-wasm", []string{"--routes", routes, "--selector", "app=shop, tier=web", "--no-wasm", "--tag", "op"},
			routes, scaffold.ParseOptions{}, scaffold.Options{Selector: map[string]string{"app": "shop", "tier": "web"}, NoWasm: true, Tag: "op"}},
		{"all names", []string{"--routes", routes, "--waypoint", "w", "--name", "n", "--attribute", "a", "--url", "oci://x/y:1", "-o", "-"},
			routes, scaffold.ParseOptions{}, scaffold.Options{Waypoint: "w", Name: "n", Attribute: "a", PluginURL: "oci://x/y:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append([]string{"init"}, tc.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d, stderr %s", code, stderr)
			}
			want := generate(t, tc.input, tc.parse, tc.opts)
			if stdout != want {
				t.Errorf("output:\n%s\nwant:\n%s", stdout, want)
			}
		})
	}
}

func generate(t *testing.T, path string, p scaffold.ParseOptions, o scaffold.Options) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parse := scaffold.ParseOpenAPI
	if strings.HasSuffix(path, ".txt") {
		parse = scaffold.ParseRouteList
	}
	routes, err := parse(path, data, p)
	if err != nil {
		t.Fatal(err)
	}
	o.Source = path
	out, err := scaffold.Generate(routes, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := out.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInitStdinAndFile(t *testing.T) {
	outFile := filepath.Join(t.TempDir(), "routes.yaml")
	code, stdout, stderr := runCLI(t, "GET /healthz\nPOST /echo\n", "init", "--routes", "-", "--waypoint", "w", "-o", outFile)
	if code != ExitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"from <stdin> (2 routes)", "value: GET /healthz", "value: POST /echo"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestInitErrors(t *testing.T) {
	petstore := scaffoldTestdata(t, "petstore.yaml")
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: x\n    put:\n      operationId: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no input", "", []string{"--waypoint", "w"}, "give exactly one of --openapi FILE and --routes FILE"},
		{"two inputs", "", []string{"--openapi", petstore, "--routes", petstore, "--waypoint", "w"}, "give exactly one of"},
		{"positional", "", []string{"--openapi", petstore, "extra"}, `unexpected argument "extra"`},
		{"missing file", "", []string{"--openapi", missing, "--waypoint", "w"}, missing},
		{"bad spec", "", []string{"--openapi", bad, "--waypoint", "w"}, bad + `:7: paths["/a"].put.operationId: duplicate operationId "x"`},
		{"swagger on stdin", "swagger: '2.0'\n", []string{"--openapi", "-", "--waypoint", "w"}, "<stdin>:1: swagger: Swagger 2.0 is not supported"},
		{"bad route line", "GET\n", []string{"--routes", "-", "--waypoint", "w"}, "<stdin>:1: want `METHOD /path [VALUE]`"},
		{"no scope", "GET /a\n", []string{"--routes", "-"}, "no scope: name a waypoint or a sidecar selector"},
		{"both scopes", "GET /a\n", []string{"--routes", "-", "--waypoint", "w", "--selector", "app=a"}, "exclusive"},
		{"bad selector", "GET /a\n", []string{"--routes", "-", "--selector", "app"}, `--selector: "app": want key=value`},
		{"duplicate selector key", "GET /a\n", []string{"--routes", "-", "--selector", "a=1,a=2"}, `label "a" given twice`},
		{"max routes", "GET /a\nGET /b\n", []string{"--routes", "-", "--waypoint", "w", "--max-routes", "1"}, "2 routes exceed the maximum of 1"},
		{"bad max routes", "GET /a\n", []string{"--routes", "-", "--waypoint", "w", "--max-routes", "0"}, "--max-routes 0"},
		{"bad tag", "GET /a\n", []string{"--routes", "-", "--waypoint", "w", "--tag", "a-b"}, `tag "a-b"`},
		{"unknown flag", "", []string{"--bogus"}, "flag provided but not defined: -bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.stdin, append([]string{"init"}, tc.args...)...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q\ndoes not contain %q", stderr, tc.want)
			}
		})
	}
}
