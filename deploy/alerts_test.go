package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	promparser "github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/routebundle/routebundle/internal/testutil"
)

// ruleFile writes the spec of the chart's PrometheusRule as a Prometheus
// rule file into dir.
func ruleFile(t *testing.T, r rendering, dir string) string {
	t.Helper()
	pr := find(t, r.objects, "PrometheusRule", "")
	spec, _, _ := unstructured.NestedMap(pr.Object, "spec")
	data, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestChartAlertsPromtool checks the chart's alerts with promtool: every
// case's rules pass `promtool check rules`, and the default ones behave as
// testdata/alerts_test.yaml says under `promtool test rules`.
func TestChartAlertsPromtool(t *testing.T) {
	promtool := testutil.Binary(t, "promtool")
	for _, tc := range chartCases {
		r := mustRender(t, tc.values)
		if len(kindsOf(r.objects, "PrometheusRule")) == 0 {
			continue
		}
		p := ruleFile(t, r, t.TempDir())
		if out, err := exec.Command(promtool, "check", "rules", "--lint-fatal", p).CombinedOutput(); err != nil {
			t.Errorf("%s: promtool check rules: %v\n%s", tc.name, err, out)
		}
	}
	dir := t.TempDir()
	ruleFile(t, mustRender(t, ""), dir)
	tests, err := os.ReadFile("testdata/alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	testPath := filepath.Join(dir, "alerts_test.yaml")
	if err := os.WriteFile(testPath, tests, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", testPath).CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// TestChartAlertsReadExportedMetrics: every routebundle_* series the
// chart's alerts read is one the exporter exports, as its sources name
// them; the only other series is Prometheus' own up.
func TestChartAlertsReadExportedMetrics(t *testing.T) {
	exported := exporterMetrics(t)
	if len(exported) < 20 {
		t.Fatalf("found only %d metric names in exporter/: %v", len(exported), exported)
	}
	r := mustRender(t, "")
	pr := find(t, r.objects, "PrometheusRule", "")
	groups, _, _ := unstructured.NestedSlice(pr.Object, "spec", "groups")
	read := 0
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, rule := range rules {
			rule := rule.(map[string]any)
			expr, err := promparser.NewParser(promparser.Options{}).ParseExpr(rule["expr"].(string))
			if err != nil {
				t.Fatalf("%s: %v", rule["alert"], err)
			}
			promparser.Inspect(expr, func(n promparser.Node, _ []promparser.Node) error {
				vs, ok := n.(*promparser.VectorSelector)
				if !ok {
					return nil
				}
				read++
				name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(vs.Name, "_bucket"), "_count"), "_sum")
				if name != "up" && !exported[name] {
					t.Errorf("alert %s reads %s, which the exporter does not export", rule["alert"], vs.Name)
				}
				return nil
			})
		}
	}
	if read == 0 {
		t.Error("the alerts read no series")
	}
}

var metricName = regexp.MustCompile(`^routebundle_[a-z0-9_]*[a-z0-9]$`)

// exporterMetrics reads the metric names package exporter defines from its
// sources: string literals that are whole routebundle_* names (the
// Recorder's counters), and the names its descriptor helper prefixes with
// routebundle_ (d("prometheus_up", ...)).
func exporterMetrics(t *testing.T) map[string]bool {
	t.Helper()
	dir := filepath.Join(testutil.ModuleRoot(t), "exporter")
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	prefixed := false
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BinaryExpr: // "routebundle_"+name in the helper
					if s, ok := stringLit(n.X); ok && s == "routebundle_" && n.Op == token.ADD {
						prefixed = true
					}
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "d" && len(n.Args) > 0 {
						if s, ok := stringLit(n.Args[0]); ok {
							out["routebundle_"+s] = true
						}
					}
				case *ast.BasicLit:
					if s, ok := stringLit(n); ok && metricName.MatchString(s) {
						out[s] = true
					}
				}
				return true
			})
		}
	}
	if !prefixed {
		t.Fatal(`exporter/ no longer builds names as "routebundle_"+name: update exporterMetrics`)
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("exporter metrics: %s", strings.Join(names, " "))
	return out
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
