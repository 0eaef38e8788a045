package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/synth"
	"github.com/routebundle/routebundle/internal/testutil"
)

// TestGenerateExamplesUpToDate fails when examples/_gen drifts from what
// bundlegen generates for the embedded examples (podinfo in
// examples/_gen/FORMAT, the others in examples/_gen/NAME/FORMAT); `make
// examples` refreshes it.
func TestGenerateExamplesUpToDate(t *testing.T) {
	root := testutil.ModuleRoot(t)
	for _, example := range examples.Names() {
		for _, format := range []string{"operator", "files"} {
			t.Run(example+"/"+format, func(t *testing.T) {
				dir := filepath.Join(root, "examples", "_gen", format)
				if example != examples.Default {
					dir = filepath.Join(root, "examples", "_gen", example, format)
				}
				code, _, stderr := runCLI(t, "", "generate", "--example", example, "--check", "--format", format, "-o", dir)
				if code != ExitOK {
					t.Fatalf("exit %d: %s is stale; run `make examples`\n%s", code, dir, stderr)
				}
			})
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	var outs []string
	for range 3 {
		code, stdout, stderr := runCLI(t, "", "generate", "-o", "-")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		outs = append(outs, stdout)
	}
	if outs[0] != outs[1] || outs[1] != outs[2] {
		t.Error("the same input gave different bytes")
	}
	if !strings.HasPrefix(outs[0], bundle.Header+"\n") {
		t.Errorf("stream does not start with the generated header:\n%.200s", outs[0])
	}
}

func TestGenerateWritesRemovesStaleAndChecks(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "prometheusrule_old_gone.yaml")
	mine := filepath.Join(dir, "kustomization.yaml")
	writeTestFile(t, stale, bundle.Header+"\nkind: PrometheusRule\n")
	writeTestFile(t, mine, "resources: []\n")

	if code, _, stderr := runCLI(t, "", "generate", "-o", dir); code != ExitOK {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale generated file was kept (err %v)", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("hand-written file was removed: %v", err)
	}
	if code, _, stderr := runCLI(t, "", "generate", "--check", "-o", dir); code != ExitOK {
		t.Fatalf("check right after generate: exit %d: %s", code, stderr)
	}

	entries, err := filepath.Glob(filepath.Join(dir, "prometheusrule_*.yaml"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no PrometheusRule written (%v)", err)
	}
	writeTestFile(t, entries[0], bundle.Header+"\nedited: by hand\n")
	code, _, stderr := runCLI(t, "", "generate", "--check", "-o", dir)
	if code != ExitFindings || !strings.Contains(stderr, "differs  "+filepath.Base(entries[0])) {
		t.Errorf("check after an edit: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestGenerateFilesFormatLayout(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "", "generate", "--format", "files", "-o", dir); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, pattern := range []string{"rules/*.yaml", "dashboards/*.json", "prometheus/scrape-configs.yaml"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pattern)); len(m) == 0 {
			t.Errorf("no file matches %s", pattern)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bundle.yaml")
	writeTestFile(t, badConfig, "rules:\n  release: x\n  relase: typo\n")
	brokenInput := filepath.Join(dir, "in")
	writeTestFile(t, filepath.Join(brokenInput, "good.yaml"), readExample(t, "wasmplugin.yaml")+"---\n"+readExample(t, "telemetry.yaml"))
	writeTestFile(t, filepath.Join(brokenInput, "bad.yaml"), "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: bad, namespace: podinfo}\nspec:\n  pluginConfig:\n    attributes: oops\n")

	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
		wantStdout string
	}{
		{"unknown config key", []string{"-c", badConfig}, ExitUsage, []string{badConfig + ":3: rules.relase: unknown key; did you mean release?"}, ""},
		{"missing config", []string{"-c", filepath.Join(dir, "nope.yaml")}, ExitUsage, []string{"nope.yaml"}, ""},
		{"bad format", []string{"--format", "helm"}, ExitUsage, []string{`"helm"`}, ""},
		{"check needs a dir", []string{"--check"}, ExitUsage, []string{"--check"}, ""},
		{"unreadable input", []string{filepath.Join(dir, "missing")}, ExitUsage, []string{"missing"}, ""},
		// The broken object is reported; the healthy route set is still generated.
		{"error diagnostics", []string{brokenInput}, ExitFindings, []string{"bad.yaml", "WasmPlugin/podinfo/bad"}, "kind: PrometheusRule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append([]string{"generate", "-o", "-"}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if !strings.Contains(stdout, tc.wantStdout) {
				t.Errorf("stdout lacks %q", tc.wantStdout)
			}
		})
	}
}

func readExample(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "examples", "podinfo", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeTestFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLintReportsAnnotationFindings: a malformed alerting annotation is a
// lint error naming the annotation, and the route set is still linted.
func TestLintReportsAnnotationFindings(t *testing.T) {
	dir := t.TempDir()
	plugin := strings.Replace(readExample(t, "wasmplugin.yaml"), "  namespace: podinfo\n",
		"  namespace: podinfo\n  annotations:\n    routebundle.io/objective: \"lots\"\n    routebundle.io/routes: '{\"GET /nope\": {error-ratio: \"0.2\"}}'\n", 1)
	writeTestFile(t, filepath.Join(dir, "p.yaml"), plugin+"---\n"+readExample(t, "telemetry.yaml"))
	code, stdout, stderr := runCLI(t, "", "lint", dir)
	if code != ExitFindings {
		t.Errorf("exit %d, want 1; stderr: %s", code, stderr)
	}
	for _, want := range []string{
		"error RB301 WasmPlugin/podinfo/podinfo-wasmplugin", "metadata.annotations[routebundle.io/objective]",
		"warning RB303 WasmPlugin/podinfo/podinfo-wasmplugin",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lint output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestGenerateSyntheticMesh runs generate over many route sets — the
// parallel paths (decoding, compiling, rendering and writing) — counts the
// objects, and checks that what was written file by file is the bundle
// --check renders in memory. `make test` also runs it under the race
// detector.
func TestGenerateSyntheticMesh(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	mesh := synth.Mesh{Namespaces: 4, Workloads: 5, Routes: 6}
	if err := mesh.Write(in); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "", "generate", "-o", out, in); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for pattern, want := range map[string]int{
		// Route sets of one namespace and tag share their rules (RB313).
		"prometheusrule_*.yaml": mesh.Namespaces,
		// One dashboard per workload scope, plus the overview.
		"configmap_*.yaml": mesh.WasmPlugins() + 1,
	} {
		if m, _ := filepath.Glob(filepath.Join(out, pattern)); len(m) != want {
			t.Errorf("%d files match %s, want %d", len(m), pattern, want)
		}
	}
	if code, _, stderr := runCLI(t, "", "generate", "--check", "-o", out, in); code != ExitOK {
		t.Errorf("check after generate: exit %d: %s", code, stderr)
	}
}
