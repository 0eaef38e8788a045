package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/routebundle/routebundle/examples"
)

const nsDoc = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n"

func ns(name string) string { return strings.Replace(nsDoc, "%s", name, 1) }

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func names(objs []Object) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.Name)
	}
	return strings.Join(s, ",")
}

func TestReadPaths(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml":           ns("a"),
		"sub/b.yml":        ns("b"),
		"sub/c.json":       `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}`,
		"sub/notes.txt":    ns("txt"),
		".git/d.yaml":      ns("hidden"),
		"sub/.cache/e.yml": ns("hidden2"),
		"z.yaml":           "kind: Namespace\nmetadata: {name: [broken\n",
		"explicit.conf":    ns("explicit"),
	})
	tests := []struct {
		name      string
		paths     []string
		stdin     string
		want      string
		wantDiags int
	}{
		{"directory recursively, lexical order", []string{dir}, "", "a,b,c", 1},
		{"file named explicitly whatever its extension", []string{filepath.Join(dir, "explicit.conf")}, "", "explicit", 0},
		{"stdin between paths", []string{filepath.Join(dir, "a.yaml"), "-"}, ns("in"), "a,in", 0},
		{"no paths", nil, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ReadPaths(tt.paths, strings.NewReader(tt.stdin))
			if err != nil {
				t.Fatal(err)
			}
			if got := names(res.Objects); got != tt.want {
				t.Errorf("objects = %s, want %s", got, tt.want)
			}
			if len(res.Diagnostics) != tt.wantDiags {
				t.Errorf("diagnostics = %v, want %d", res.Diagnostics, tt.wantDiags)
			}
		})
	}
	res, err := ReadPaths([]string{"-"}, strings.NewReader(ns("s")))
	if err != nil || res.Objects[0].Source.File != StdinName {
		t.Errorf("stdin object source = %v, %v", res, err)
	}
}

func TestReadPathsErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": ns("a")})
	missing := filepath.Join(dir, "missing.yaml")
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"missing file", []string{missing}, missing},
		{"missing after a good one", []string{dir, missing}, missing},
	}
	if os.Getuid() != 0 {
		locked := filepath.Join(dir, "locked")
		if err := os.Mkdir(locked, 0o000); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
		tests = append(tests, struct {
			name  string
			paths []string
			want  string
		}{"unreadable directory", []string{dir}, locked})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPaths(tt.paths, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
	if _, err := ReadPaths([]string{"-"}, nil); err == nil || !strings.Contains(err.Error(), StdinName) {
		t.Errorf("stdin without reader: err = %v", err)
	}
}

func TestReadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"x/a.yaml":      {Data: []byte(ns("a"))},
		"x/b.txt":       {Data: []byte(ns("b"))},
		".hidden/c.yml": {Data: []byte(ns("c"))},
		"d.YAML":        {Data: []byte(ns("d"))},
	}
	res, err := ReadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Objects); got != "d,a" {
		t.Errorf("objects = %s", got)
	}
	if res.Objects[1].Source.File != "x/a.yaml" || res.Objects[1].Source.Line != 1 {
		t.Errorf("source = %v", res.Objects[1].Source)
	}
}

func TestReadPodinfoExample(t *testing.T) {
	res, err := ReadFS(examples.Podinfo())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range res.Objects {
		kinds = append(kinds, o.Kind)
	}
	if got := strings.Join(kinds, ","); got != "Namespace,Telemetry,WasmPlugin,Gateway" {
		t.Errorf("kinds = %s", got)
	}
	if len(res.Diagnostics) != 0 {
		t.Errorf("diagnostics: %v", res.Diagnostics)
	}
}
