package rules

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	goldenDir     = "testdata/golden"
	goldenObjects = "testdata/prometheusrules.golden.yaml"
	// promtoolTests exercises the alerts of the podinfo golden with promtool test rules.
	promtoolTests = "testdata/podinfo_alerts_test.yaml"
)

// goldenOptions are the defaults plus a Grafana link, so the goldens show
// every annotation.
func goldenOptions() Options {
	o := DefaultOptions()
	o.GrafanaURL = "https://grafana.example.com"
	o.DashboardUID = func(rs *inventory.RouteSet) string { return "rb-" + k8sName(rs.ID) }
	return o
}

func TestGolden(t *testing.T) {
	b, diags := Build(fixture(), goldenOptions())
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	want := map[string][]byte{}
	for _, f := range b.Files {
		data, err := f.YAML()
		if err != nil {
			t.Fatal(err)
		}
		want[filepath.Join(goldenDir, f.Name+".yaml")] = data
	}
	var objects bytes.Buffer
	for _, pr := range b.PrometheusRules {
		data, err := yaml.Marshal(pr)
		if err != nil {
			t.Fatal(err)
		}
		objects.WriteString("---\n")
		objects.Write(data)
	}
	want[goldenObjects] = objects.Bytes()

	if *update {
		// Start afresh, so that files no longer generated go away.
		if err := os.RemoveAll(goldenDir); err != nil {
			t.Fatal(err)
		}
	}
	existing, _ := filepath.Glob(filepath.Join(goldenDir, "*.yaml"))
	for _, p := range existing {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is no longer generated: run go test ./rules -run TestGolden -update", p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		testutil.Golden(t, p, string(want[p]), *update)
	}
}

func goldenRuleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden rule files (%v): run go test ./rules -run TestGolden -update", err)
	}
	return files
}

// promtool is Prometheus' own checker, built from the module proxy by the Makefile.
func TestPromtoolCheckRules(t *testing.T) {
	promtool := testutil.Binary(t, "promtool")
	for _, f := range goldenRuleFiles(t) {
		out, err := exec.Command(promtool, "check", "rules", "--lint=all", "--lint-fatal", f).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", f, err, out)
		}
	}
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := testutil.Binary(t, "promtool")
	out, err := exec.Command(promtool, "test", "rules", promtoolTests).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Errorf("promtool test rules %s: %v\n%s", promtoolTests, err, out)
	}
}
