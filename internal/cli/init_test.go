package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/scaffold"
	"github.com/routebundle/routebundle/series"
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
	o.Source = path
	out, err := scaffold.Generate(parseInput(t, path, p), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := out.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parseInput parses a route list (.txt) or an OpenAPI document.
func parseInput(t *testing.T, path string, p scaffold.ParseOptions) []scaffold.Route {
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
	return routes
}

func TestInitBasePathNote(t *testing.T) {
	petstore := scaffoldTestdata(t, "petstore.yaml")
	note := "add --base-path /v1"
	_, _, stderr := runCLI(t, "", "init", "--openapi", petstore, "--waypoint", "w")
	if !strings.Contains(stderr, note) {
		t.Errorf("stderr %q lacks the hint %q", stderr, note)
	}
	_, _, stderr = runCLI(t, "", "init", "--openapi", petstore, "--waypoint", "w", "--base-path", "/v1")
	if stderr != "" {
		t.Errorf("stderr %q with --base-path given, want nothing", stderr)
	}
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
		{"no input", "", []string{"--waypoint", "w"}, "give exactly one of --openapi FILE, --routes FILE and --from-routes PATH..."},
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
		{"max routes", "GET /a\nGET /b\n", []string{"--routes", "-", "--waypoint", "w", "--max-routes", "1"}, "2 routes exceed the maximum of 1; raise it with --max-routes N or split the input"},
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

// initCase is one input and scope for the integration tests.
type initCase struct {
	name      string
	input     string // file in scaffold/testdata
	inputFlag string // --openapi or --routes
	args      []string
	// namespace and labels address explain's request to the generated scope.
	namespace string
	labels    string
}

func initCases() []initCase {
	var cases []initCase
	for _, in := range []struct{ file, flag string }{
		{"petstore.yaml", "--openapi"}, {"users.yaml", "--openapi"}, {"inventory.json", "--openapi"}, {"routes.txt", "--routes"},
	} {
		for _, mode := range []string{"wasm", "no-wasm"} {
			waypoint := initCase{name: in.file + " waypoint " + mode, input: in.file, inputFlag: in.flag, namespace: "shop",
				args: []string{"--namespace", "shop", "--waypoint", "shop-waypoint"}}
			sidecars := initCase{name: in.file + " sidecars " + mode, input: in.file, inputFlag: in.flag,
				namespace: "default", labels: "app=shop,version=v1", args: []string{"--selector", "app=shop"}}
			for _, c := range []initCase{waypoint, sidecars} {
				if mode == "no-wasm" {
					c.args = append(c.args, "--no-wasm")
				}
				cases = append(cases, c)
			}
		}
	}
	return cases
}

// runInitCase writes the classification of c to a file and returns its
// path and the routes of the input.
func runInitCase(t *testing.T, c initCase) (string, []scaffold.Route) {
	t.Helper()
	input := scaffoldTestdata(t, c.input)
	out := filepath.Join(t.TempDir(), "classification.yaml")
	args := append([]string{"init", c.inputFlag, input, "-o", out}, c.args...)
	if code, _, stderr := runCLI(t, "", args...); code != ExitOK {
		t.Fatalf("init exit %d: %s", code, stderr)
	}
	return out, parseInput(t, input, scaffold.ParseOptions{})
}

// TestInitOutputIsClean runs `bundlegen lint` on init's output, which must
// report no diagnostic of warning or error severity, and reads it as lint
// and explain do: one route set with every route, latency included.
func TestInitOutputIsClean(t *testing.T) {
	aenv, err := attrgen.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range initCases() {
		t.Run(c.name, func(t *testing.T) {
			out, routes := runInitCase(t, c)
			code, stdout, stderr := runCLI(t, "", "lint", "-o", "json", out)
			if code != ExitOK {
				t.Errorf("lint exit %d: %s%s", code, stdout, stderr)
			}
			var diags []struct{ Severity, Code, Message string }
			if err := json.Unmarshal([]byte(stdout), &diags); err != nil {
				t.Fatalf("lint output: %v\n%s", err, stdout)
			}
			for _, d := range diags {
				if d.Severity != diag.Info.String() {
					t.Errorf("lint: %s %s: %s", d.Severity, d.Code, d.Message)
				}
			}
			inv, err := readInventory(&Env{}, aenv, input{paths: []string{out}})
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.RouteSets) != 1 {
				t.Fatalf("%d route sets, want 1", len(inv.RouteSets))
			}
			rs := inv.RouteSets[0]
			if got := len(rs.RouteValues()); got < len(routes) {
				t.Errorf("route set has %d values for %d routes", got, len(routes))
			}
			if !rs.HasLatency() {
				t.Errorf("route tag is not on %s", inventory.RequestDuration)
			}
		})
	}
}

// templateParam matches an OpenAPI path parameter.
var templateParam = regexp.MustCompile(`\{[^}]*\}`)

// TestInitExplain runs `bundlegen explain` on init's output for a sample
// request of every route (parameters replaced by 123, with a query string)
// and for an unrouted one: each must get its route's value, or unknown.
func TestInitExplain(t *testing.T) {
	for _, c := range initCases() {
		t.Run(c.name, func(t *testing.T) {
			out, routes := runInitCase(t, c)
			for _, r := range routes {
				path := templateParam.ReplaceAllString(r.Template, "123") + "?page=2&q=x/y"
				expectExplained(t, c, out, r.Method, path, r.Value)
			}
			expectExplained(t, c, out, "GET", "/not/a/route/of/this/service?x=1", series.UnknownRoute)
		})
	}
}

func expectExplained(t *testing.T, c initCase, file, method, target, want string) {
	t.Helper()
	args := []string{"explain", file, "--namespace", c.namespace, "-o", "json"}
	if c.labels != "" {
		args = append(args, "--labels", c.labels)
	}
	code, stdout, stderr := runCLI(t, "", append(args, method, target)...)
	if code != ExitOK {
		t.Fatalf("explain %s %s: exit %d: %s", method, target, code, stderr)
	}
	var x struct {
		RouteSets []struct {
			Value string `json:"value"`
		} `json:"routeSets"`
	}
	if err := json.Unmarshal([]byte(stdout), &x); err != nil {
		t.Fatalf("explain output: %v\n%s", err, stdout)
	}
	if len(x.RouteSets) != 1 {
		t.Fatalf("explain %s %s: %d route sets in scope, want 1\n%s", method, target, len(x.RouteSets), stdout)
	}
	if got := x.RouteSets[0].Value; got != want {
		t.Errorf("explain %s %s = %q, want %q", method, target, got, want)
	}
}

// TestInitPodinfo regenerates the blog's classification with init and lints
// it next to the example's namespace and waypoint, as a user replacing the
// hand-written WasmPlugin and Telemetry would: no warnings, same routes.
func TestInitPodinfo(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"namespace.yaml", "waypoint.yaml"} {
		data, err := fs.ReadFile(examples.Podinfo(), "podinfo/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range [][]string{nil, {"--no-wasm"}} {
		args := append([]string{"init", "--routes", "-", "--namespace", "podinfo", "--waypoint", "podinfo-waypoint",
			"-o", filepath.Join(dir, "routes.yaml")}, mode...)
		if code, _, stderr := runCLI(t, "GET /healthz\nPOST /echo\n", args...); code != ExitOK {
			t.Fatalf("init %v: exit %d: %s", mode, code, stderr)
		}
		if code, stdout, stderr := runCLI(t, "", "lint", dir); code != ExitOK || stdout != "" {
			t.Errorf("lint %v: exit %d:\n%s%s", mode, code, stdout, stderr)
		}
		c := initCase{namespace: "podinfo"}
		expectExplained(t, c, dir, "GET", "/healthz", "GET /healthz")
		expectExplained(t, c, dir, "POST", "/echo?x=1", "POST /echo")
		expectExplained(t, c, dir, "GET", "/echo", series.UnknownRoute)
	}
}
