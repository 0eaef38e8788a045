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
