package bundle

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWriteDirRemovesOnlyGeneratedStaleFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules/old.yaml"), Header+"\ngroups: []\n")
	writeFile(t, filepath.Join(dir, "dashboards/old.json"), `{"description": "`+headerText+`"}`)
	writeFile(t, filepath.Join(dir, "rules/mine.yaml"), "# hand-written\ngroups: []\n")
	writeFile(t, filepath.Join(dir, "README.md"), Header+"\n")

	files := Files{{Path: "rules/new.yaml", Data: []byte(Header + "\ngroups: []\n")}}
	n, err := WriteDir(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(files[0].Data)) {
		t.Errorf("written = %d, want %d", n, len(files[0].Data))
	}
	for p, want := range map[string]bool{
		"rules/old.yaml":      false, // generated, no longer in the bundle
		"dashboards/old.json": false,
		"rules/mine.yaml":     true, // no header: never ours to delete
		"README.md":           true, // not a format we write
		"rules/new.yaml":      true,
	} {
		_, err := os.Stat(filepath.Join(dir, p))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", p, got, want)
		}
	}
}

// TestWriteDirKeepsStaleFilesOnError checks that a run whose writes fail
// deletes nothing: here two files claim the same path.
func TestWriteDirKeepsStaleFilesOnError(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.yaml")
	writeFile(t, old, Header+"\ngroups: []\n")
	twice := File{Path: "a.yaml", Data: []byte(Header + "\n")}
	_, err := WriteDir(dir, Files{twice, twice})
	if err == nil || !strings.Contains(err.Error(), "both named a.yaml") {
		t.Errorf("err = %v, want one naming the duplicate path", err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("stale file removed after a failed run: %v", err)
	}
}

func TestCheckReportsDrift(t *testing.T) {
	dir := t.TempDir()
	files := Files{
		{Path: "a.yaml", Data: []byte(Header + "\na: 1\n")},
		{Path: "b.yaml", Data: []byte(Header + "\nb: 1\n")},
	}
	if _, err := WriteDir(dir, files); err != nil {
		t.Fatal(err)
	}
	d, err := Check(dir, files)
	if err != nil || !d.Empty() {
		t.Fatalf("fresh dir: drift %+v, err %v", d, err)
	}

	writeFile(t, filepath.Join(dir, "b.yaml"), Header+"\nb: 2\n")
	writeFile(t, filepath.Join(dir, "c.yaml"), Header+"\nc: 1\n")
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	d, err = Check(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	want := Drift{Added: []string{"a.yaml"}, Changed: []string{"b.yaml"}, Removed: []string{"c.yaml"}}
	if !slices.Equal(d.Added, want.Added) || !slices.Equal(d.Changed, want.Changed) || !slices.Equal(d.Removed, want.Removed) {
		t.Errorf("drift = %+v, want %+v", d, want)
	}
	var b strings.Builder
	if err := d.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "missing  a.yaml\ndiffers  b.yaml\nstale    c.yaml\n" {
		t.Errorf("summary:\n%s", got)
	}
}

func TestWriteStreamIsValidMultiDocumentYAML(t *testing.T) {
	files := Files{
		{Path: "x.yaml", Data: []byte(Header + "\nkind: A\n")},
		{Path: "d.json", Data: []byte(`{"title": "a \"quoted\" title", "panels": []}`)},
	}
	var b strings.Builder
	if err := WriteStream(&b, files); err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(b.String()))
	var docs []map[string]any
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding stream: %v\n%s", err, b.String())
		}
		docs = append(docs, m)
	}
	if len(docs) != 2 || docs[0]["kind"] != "A" || docs[1]["title"] != `a "quoted" title` {
		t.Errorf("decoded %v from\n%s", docs, b.String())
	}
}

// TestWriteDirRemovesEmptiedDirectories: directories that held only stale
// generated files go with them; one with a hand-written file stays.
func TestWriteDirRemovesEmptiedDirectories(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules/old.yaml"), Header+"\ngroups: []\n")
	writeFile(t, filepath.Join(dir, "prometheus/deep/old.yaml"), Header+"\n")
	writeFile(t, filepath.Join(dir, "dashboards/old.json"), `{"description": "`+headerText+`"}`)
	writeFile(t, filepath.Join(dir, "dashboards/mine.json"), `{}`)
	if err := os.MkdirAll(filepath.Join(dir, "empty-before"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteDir(dir, Files{{Path: "a.yaml", Data: []byte(Header + "\n")}}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"rules": false, "prometheus": false, "dashboards": true, "empty-before": true, "a.yaml": true,
	} {
		_, err := os.Stat(filepath.Join(dir, p))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", p, got, want)
		}
	}
}
