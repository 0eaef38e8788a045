package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const brokenDir = "testdata/lint/broken"

// TestLintGolden pins lint's text and JSON output for the embedded example
// and for the broken manifests in testdata/lint/broken.
func TestLintGolden(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"podinfo", nil, ExitOK},
		{"broken", []string{brokenDir}, ExitFindings},
	}
	for _, tt := range tests {
		for _, format := range []string{"text", "json"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				args := append([]string{"lint", "-o", format}, tt.args...)
				code, stdout, stderr := runCLI(t, "", args...)
				if code != tt.wantCode {
					t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
				}
				ext := map[string]string{"text": ".txt", "json": ".json"}[format]
				checkGolden(t, filepath.Join("lint", tt.name+ext), stdout)
				if format == "json" {
					checkJSONShape(t, stdout)
				}
			})
		}
	}
}

// checkJSONShape checks the documented keys of every diagnostic.
func checkJSONShape(t *testing.T, out string) {
	t.Helper()
	var diags []map[string]any
	if err := json.Unmarshal([]byte(out), &diags); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	keys := []string{"severity", "code", "object", "field", "message", "file", "line"}
	for _, d := range diags {
		if len(d) != len(keys) {
			t.Errorf("keys of %v, want exactly %v", d, keys)
		}
		for _, k := range keys {
			if _, ok := d[k]; !ok {
				t.Errorf("diagnostic %v lacks %q", d, k)
			}
		}
		if s := d["severity"]; s != "error" && s != "warning" && s != "info" {
			t.Errorf("severity %v", s)
		}
	}
}

// TestLintBrokenCoversCodes keeps the broken set honest: it must show the
// issue's diagnostics.
func TestLintBrokenCoversCodes(t *testing.T) {
	_, stdout, _ := runCLI(t, "", "lint", brokenDir)
	for _, code := range []string{"RB001", "RB002", "RB003", "RB004", "RB005", "RB006", "RB007", "RB008",
		"RB009", "RB010", "RB011", "RB012", "RB013", "RB014", "RB015", "RB201", "RB202"} {
		if !strings.Contains(stdout, " "+code+" ") {
			t.Errorf("broken set shows no %s", code)
		}
	}
}

func TestLintExitCodes(t *testing.T) {
	blog, err := os.ReadFile(filepath.Join("testdata", "lint", "broken", "03-blog-as-written.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"clean example", "", []string{"lint"}, ExitOK, "", ""},
		{"warnings only", "", []string{"lint", filepath.Join(brokenDir, "05-providers.json")}, ExitOK, "warning RB015", ""},
		{"errors from stdin", string(blog), []string{"lint", "-"}, ExitFindings, "<stdin>:", ""},
		{"flags after paths", string(blog), []string{"lint", "-", "-o", "json"}, ExitFindings, `"code": "RB003"`, ""},
		{"unreadable path", "", []string{"lint", missing}, ExitUsage, "", missing},
		{"unknown format", "", []string{"lint", "-o", "yaml"}, ExitUsage, "", `"yaml"`},
		{"unknown flag", "", []string{"lint", "--bogus"}, ExitUsage, "", "bogus"},
		{"help", "", []string{"lint", "-h"}, ExitOK, "usage: bundlegen lint", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantStderr)
			}
		})
	}
}
