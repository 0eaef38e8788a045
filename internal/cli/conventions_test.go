package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/synth"
	"github.com/routebundle/routebundle/internal/testutil"
)

// TestHelpAndUsage: help that was asked for goes to stdout and exits 0;
// usage after a mistake goes to stderr and exits 2, for every command.
func TestHelpAndUsage(t *testing.T) {
	for name := range commands() {
		for _, help := range [][]string{{name, "-h"}, {name, "--help"}, {"help", name}} {
			code, stdout, stderr := runCLI(t, "", help...)
			if code != ExitOK || stderr != "" || !strings.HasPrefix(stdout, "usage: bundlegen "+name) {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout", help, code, stdout, stderr)
			}
		}
		code, stdout, stderr := runCLI(t, "", name, "--no-such-flag")
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "no-such-flag") || !strings.Contains(stderr, "usage: bundlegen "+name) {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want exit 2, the error and the usage on stderr", name, code, stdout, stderr)
		}
	}
	for _, help := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		code, stdout, stderr := runCLI(t, "", help...)
		if code != ExitOK || stderr != "" || !strings.Contains(stdout, "commands:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", help, code, stdout, stderr)
		}
	}
	for _, mistake := range [][]string{nil, {"nope"}, {"help", "nope"}} {
		code, stdout, stderr := runCLI(t, "", mistake...)
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "commands:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and the usage on stderr", mistake, code, stdout, stderr)
		}
	}
}

func TestVersionRejectsArguments(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "version", "extra")
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, `"extra"`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 naming the argument", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "", "version"); code != ExitOK || !strings.HasPrefix(stdout, "bundlegen ") {
		t.Errorf("version: exit %d, stdout %q", code, stdout)
	}
}

// TestFlagsAfterPaths: flags may follow the PATHs, and "--" ends the flags.
func TestFlagsAfterPaths(t *testing.T) {
	podinfo := filepath.Join("..", "..", "examples", "podinfo")
	code, before, _ := runCLI(t, "", "lint", "-o", "json", podinfo)
	code2, after, _ := runCLI(t, "", "lint", podinfo, "-o", "json")
	if code != ExitOK || code2 != ExitOK || before != after || !strings.HasPrefix(after, "[") {
		t.Errorf("lint PATH -o json: exit %d, output %q; want what lint -o json PATH prints (exit %d)", code2, after, code)
	}
	out := t.TempDir()
	if code, _, stderr := runCLI(t, "", "generate", podinfo, "-o", out, "--format", "files"); code != ExitOK {
		t.Fatalf("generate PATH -o DIR --format files: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "", "generate", podinfo, "--check", "-o", out, "--format", "files"); code != ExitOK {
		t.Errorf("generate PATH --check -o DIR: exit %d: %s", code, stderr)
	}
	// After --, "-o" is a path.
	code, _, stderr := runCLI(t, "", "lint", "--", podinfo, "-o")
	if code != ExitUsage || !strings.Contains(stderr, "-o") || strings.Contains(stderr, "flag needs an argument") {
		t.Errorf("lint -- PATH -o: exit %d, stderr %q; want the missing path -o reported", code, stderr)
	}
	// "--" as a flag's value is a value.
	if code, _, stderr := runCLI(t, "", "lint", podinfo, "-o", "--"); code != ExitUsage || !strings.Contains(stderr, `"--"`) {
		t.Errorf("lint PATH -o --: exit %d, stderr %q; want -o's value rejected", code, stderr)
	}
}

// TestFormatSwitchLeavesNoEmptyFolders generates both formats into one
// directory in turn: each run leaves exactly its own files.
func TestFormatSwitchLeavesNoEmptyFolders(t *testing.T) {
	out := t.TempDir()
	for _, format := range []string{"files", "operator", "files", "operator"} {
		if code, _, stderr := runCLI(t, "", "generate", "--format", format, "-o", out); code != ExitOK {
			t.Fatalf("generate --format %s: exit %d: %s", format, code, stderr)
		}
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("%s/ left behind by the files format", e.Name())
		}
	}
	if len(entries) == 0 {
		t.Error("no operator files written")
	}
}

// TestInputWithoutClassification: a PATH with no WasmPlugin or Telemetry
// says so on stderr for every command, and generate --check fails on it.
func TestInputWithoutClassification(t *testing.T) {
	empty := t.TempDir()
	only := filepath.Join(t.TempDir(), "ns.yaml")
	writeTestFile(t, only, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
	for _, path := range []string{empty, only} {
		for _, args := range [][]string{
			{"lint", path},
			{"generate", "-o", "-", path},
			{"explain", "--namespace", "shop", path, "GET", "/"},
		} {
			_, _, stderr := runCLI(t, "", args...)
			if !strings.Contains(stderr, "no WasmPlugin or Telemetry in "+path) {
				t.Errorf("%q: stderr %q lacks the note", args, stderr)
			}
		}
		out := t.TempDir()
		if code, _, stderr := runCLI(t, "", "generate", "-o", out, path); code != ExitOK {
			t.Fatalf("generate: exit %d: %s", code, stderr)
		}
		code, _, stderr := runCLI(t, "", "generate", "--check", "-o", out, path)
		if code != ExitFindings || !strings.Contains(stderr, "no route set") {
			t.Errorf("generate --check of %s: exit %d, stderr %q; want exit 1 saying there is nothing to check", path, code, stderr)
		}
	}
	// The embedded example and a real input say nothing of the kind.
	if _, _, stderr := runCLI(t, "", "lint"); strings.Contains(stderr, "note:") {
		t.Errorf("lint of the example: %q", stderr)
	}
}

// TestUnrelatedKindsAreSkipped: among many ConfigMaps, the Istio objects are
// still read (and a kind in the wrong case still reported), and the
// skipped objects are counted in the note when nothing else is there.
func TestUnrelatedKindsAreSkipped(t *testing.T) {
	dir := t.TempDir()
	if _, err := (synth.ConfigMaps{Files: 3, PerFile: 4, DataBytes: 2000}).Write(dir); err != nil {
		t.Fatal(err)
	}
	_, _, stderr := runCLI(t, "", "lint", dir)
	if !strings.Contains(stderr, "3 manifest files read, 12 objects of other kinds skipped") {
		t.Errorf("note: %q", stderr)
	}
	writeTestFile(t, filepath.Join(dir, "podinfo.yaml"), readExample(t, "wasmplugin.yaml")+"---\n"+readExample(t, "telemetry.yaml")+"---\n"+readExample(t, "waypoint.yaml")+"---\n"+readExample(t, "namespace.yaml"))
	writeTestFile(t, filepath.Join(dir, "shout.yaml"), "apiVersion: extensions.istio.io/v1alpha1\nkind: WASMPlugin\nmetadata: {name: x, namespace: shop}\nspec: {url: file:///x.wasm}\n")
	code, stdout, stderr := runCLI(t, "", "lint", dir)
	if code != ExitFindings || !strings.Contains(stdout, "RB202") || strings.Contains(stderr, "note:") {
		t.Errorf("exit %d, stdout %q, stderr %q; want RB202 for the WASMPlugin only", code, stdout, stderr)
	}
	if code, out, _ := runCLI(t, "", "generate", "-o", "-", dir); code != ExitFindings || !strings.Contains(out, "routebundle-podinfo-route-name") {
		t.Errorf("generate among ConfigMaps: exit %d; the podinfo rules are missing", code)
	}
}

// TestREADMEUsageMatchesHelp: the synopsis the README gives for a command
// is the first line of its -h.
func TestREADMEUsageMatchesHelp(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for name := range commands() {
		_, help, _ := runCLI(t, "", name, "-h")
		synopsis := strings.TrimPrefix(firstLine(help), "usage: ")
		for line := range strings.SplitSeq(string(data), "\n") {
			if strings.HasPrefix(line, "bundlegen "+name+" [") {
				found++
				if line != synopsis {
					t.Errorf("README: %q\n-h:     %q", line, synopsis)
				}
			}
		}
	}
	if found < 2 {
		t.Errorf("found %d synopses in the README", found)
	}
}
