// Package testutil finds the real components (promtool, prometheus,
// kube-apiserver, etcd) that the Makefile builds into bin/, and the module
// root for golden files.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ModuleRoot returns the directory of routebundle's go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not inside the routebundle module")
	}
	return filepath.Dir(gomod)
}

// BinDir is where the Makefile puts tool binaries: $ROUTEBUNDLE_BIN, or bin/
// under the module root.
func BinDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ROUTEBUNDLE_BIN"); d != "" {
		return d
	}
	return filepath.Join(ModuleRoot(t), "bin")
}

// Binary returns the path of a tool built by `make tools`. A missing tool
// fails the test rather than skipping it: a skipped check would hide the gap.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(BinDir(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found (%v): run `make tools` first", name, err)
	}
	return p
}

// Golden compares got with the file at path. With update set (each package's
// -update flag) it first rewrites the file, so a reviewed change is accepted
// by running the test once with -update.
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
