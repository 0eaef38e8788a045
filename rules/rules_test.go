package rules

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

// Every generated file loads with Prometheus' rule file parser (which also
// parses every expression and template), and every expression prints back
// to itself, so what the printer wrote is what the parser reads.
func TestOutputParses(t *testing.T) {
	inv := fixture()
	inv.RouteSets = append(inv.RouteSets, manySets(3, 5)...)
	b, diags := Build(inv, goldenOptions())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	p := parser.NewParser(parser.Options{})
	for _, f := range b.Files {
		data, err := f.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if _, errs := rulefmt.Parse(data, false, model.UTF8Validation, p, promslog.NewNopLogger()); len(errs) > 0 {
			t.Errorf("%s: %v", f.Name, errs)
		}
		for _, g := range f.Groups.Groups {
			for _, r := range g.Rules {
				if got := mustParse(t, r.Expr).String(); got != r.Expr {
					t.Errorf("%s does not print back to itself:\n got %s\nwant %s", g.Name, got, r.Expr)
				}
			}
		}
	}
}

// manySets returns n namespace-scoped route sets of k routes each, in n namespaces.
func manySets(n, k int) []inventory.RouteSet {
	out := make([]inventory.RouteSet, 0, n)
	for i := range n {
		ns := fmt.Sprintf("team-%04d", i)
		values := make([]string, k)
		for j := range k {
			values[j] = fmt.Sprintf("GET /api/v1/resource-%d/{id}", j)
		}
		out = append(out, inventory.RouteSet{
			ID: ns + "/routes", Namespace: ns, Tag: "route_name",
			Scope:     inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: ns, Selector: map[string]string{"app": "api"}},
			Routes:    routes(values...),
			Metrics:   []inventory.Metric{inventory.RequestCount, inventory.RequestDuration},
			Plugin:    diag.ObjectRef{Kind: "WasmPlugin", Namespace: ns, Name: "routes"},
			Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: ns, Name: "routes"},
			Annotations: map[string]string{
				policy.Prefix + "objective": "0.999",
			},
		})
	}
	return out
}

func countRules(b *Bundle) (recording, alerting int) {
	for _, f := range b.Files {
		for _, g := range f.Groups.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					alerting++
				} else {
					recording++
				}
			}
		}
	}
	return recording, alerting
}

// A route set costs the same number of rules whatever its number of
// routes; only overridden routes add alerts.
func TestRuleCountIsFixedPerSet(t *testing.T) {
	count := func(routes int, ann map[string]string) (int, int) {
		set := manySets(1, routes)[0]
		for k, v := range ann {
			set.Annotations[k] = v
		}
		b, diags := Build(&inventory.Inventory{RouteSets: []inventory.RouteSet{set}}, DefaultOptions())
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		return countRules(b)
	}
	rec2, alert2 := count(2, nil)
	rec1000, alert1000 := count(1000, nil)
	if rec2 != rec1000 || alert2 != alert1000 {
		t.Errorf("2 routes: %d+%d rules, 1000 routes: %d+%d", rec2, alert2, rec1000, alert1000)
	}
	// 5m: requests, errors, ratio, buckets, 3 quantiles, by response code,
	// unknown share; 3 per long window; 30d sums its older blocks in two
	// runs, of requests and of errors.
	if want := 9 + 3*len(derivedWindows()) + 4; rec2 != want {
		t.Errorf("recording rules: %d, want %d", rec2, want)
	}
	// error ratio, latency, page, ticket, unknown share.
	if alert2 != 5 {
		t.Errorf("alerting rules: %d, want 5", alert2)
	}
	override := map[string]string{policy.RoutesAnnotation: `{"GET /api/v1/resource-1/{id}": {latency-p99: 50}}`}
	if rec, alert := count(1000, override); rec != rec1000 || alert != alert1000+4 {
		t.Errorf("one overridden route: %d+%d rules, want %d+%d", rec, alert, rec1000, alert1000+4)
	}
}

func TestNamesAreDNSLabels(t *testing.T) {
	long := strings.Repeat("very-long-namespace-name-", 4)
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"routebundle", "podinfo", "route_name"}, "routebundle-podinfo-route-name"},
		{[]string{"routebundle", "Ünïcode ☃", "__tag__"}, "routebundle-n-code-tag"},
		{[]string{"---"}, "x"},
		{[]string{"routebundle", long, "route_name"}, ""},
	} {
		got := k8sName(tc.parts...)
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("%q -> %q: %v", tc.parts, got, errs)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("%q -> %q, want %q", tc.parts, got, tc.want)
		}
	}
	a, b := k8sName("routebundle", long+"a", "t"), k8sName("routebundle", long+"b", "t")
	if a == b {
		t.Errorf("truncated names collide: %s", a)
	}
}

func TestNameCollisionsGetHashes(t *testing.T) {
	a, b := manySets(1, 1)[0], manySets(1, 1)[0]
	a.ID, a.Tag = "x/a", "route_name"
	b.ID, b.Tag = "x/b", "route__name" // sanitises to the same name
	m := meshSet()
	m.Namespace, m.Scope.Namespace = "mesh", "mesh"
	ns := manySets(1, 1)[0]
	ns.ID, ns.Namespace, ns.Scope.Namespace = "mesh/ns", "mesh", "mesh" // a namespace called mesh
	bundle, diags := Build(&inventory.Inventory{RouteSets: []inventory.RouteSet{a, b, m, ns}}, DefaultOptions())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	seen := map[string]bool{}
	groups := map[string]bool{}
	for _, f := range bundle.Files {
		if seen[f.Name] {
			t.Errorf("duplicate object name %s", f.Name)
		}
		seen[f.Name] = true
		if errs := validation.IsDNS1123Label(f.Name); len(errs) > 0 {
			t.Errorf("%s: %v", f.Name, errs)
		}
		for _, g := range f.Groups.Groups {
			if groups[g.Name] {
				t.Errorf("duplicate group name %s", g.Name)
			}
			groups[g.Name] = true
		}
	}
	if len(seen) != 4 {
		t.Errorf("want 4 rule files, got %v", seen)
	}
}

func TestBuildDiagnostics(t *testing.T) {
	badTag := podinfoSet()
	badTag.ID, badTag.Tag = "a/bad", "route-name"
	reserved := podinfoSet()
	reserved.ID, reserved.Tag = "b/reserved", series.LabelResponseCode
	noCount := podinfoSet()
	noCount.ID, noCount.Metrics = "c/nocount", []inventory.Metric{inventory.RequestDuration}
	badAnnotation := podinfoSet()
	badAnnotation.ID, badAnnotation.Namespace, badAnnotation.Scope.Namespace = "d/ann", "other", "other"
	badAnnotation.Annotations = map[string]string{policy.Prefix + "objective": "lots"}
	// Same namespace and tag as podinfoSet, another objective.
	twin := podinfoSet()
	twin.ID = "podinfo/twin"
	twin.Scope = inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "podinfo", Selector: map[string]string{"app": "x"}}
	twin.Annotations = map[string]string{policy.Prefix + "objective": "0.99"}
	twin.Plugin.Name = "twin"

	inv := &inventory.Inventory{RouteSets: []inventory.RouteSet{podinfoSet(), twin, badTag, reserved, noCount, badAnnotation}}
	b, diags := Build(inv, DefaultOptions())
	var got []string
	for _, d := range diags {
		got = append(got, d.Code+" "+d.Severity.String()+" "+d.Object.String())
	}
	want := []string{
		"RB301 error WasmPlugin/podinfo/podinfo-wasmplugin",
		"RB311 error Telemetry/podinfo/podinfo-telemetry",
		"RB311 error Telemetry/podinfo/podinfo-telemetry",
		"RB312 warning Telemetry/podinfo/podinfo-telemetry",
		"RB313 warning Telemetry/podinfo/podinfo-telemetry",
	}
	slices.Sort(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"), diags)
	}
	// The healthy sets still get their rules: podinfo (shared with its
	// twin) and the set with a bad annotation, on its defaults.
	var names []string
	for _, f := range b.Files {
		names = append(names, f.Name+" "+strings.Join(f.RouteSets, ","))
	}
	wantFiles := []string{
		"routebundle-other-route-name d/ann",
		"routebundle-podinfo-route-name podinfo/podinfo-wasmplugin,podinfo/twin",
	}
	if strings.Join(names, "\n") != strings.Join(wantFiles, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(wantFiles, "\n"))
	}
}

func TestOptions(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"selector", func(o *Options) { o.ErrorSelector = `response_code=~"5..` }, "errorSelector"},
		{"metric name", func(o *Options) { o.ErrorSelector = `{__name__="x"}` }, "errorSelector"},
		{"relative url", func(o *Options) { o.GrafanaURL = "grafana/" }, "grafanaURL"},
		{"template url", func(o *Options) { o.GrafanaURL = "https://g/{{ .x }}" }, "grafanaURL"},
		{"defaults", func(o *Options) { o.Defaults.ErrorRatio = 2 }, "defaults"},
		{"severity", func(o *Options) { o.Severities.Page = "" }, "severities.page"},
		{"long interval", func(o *Options) { o.LongInterval = lookback }, "longInterval"},
		{"period interval", func(o *Options) { o.PeriodInterval = 0 }, "periodInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one about %s", err, tc.want)
			}
			b, diags := Build(fixture(), o)
			if len(b.Files) != 0 || len(diags) != 1 || diags[0].Code != CodeOptions || diags[0].Severity != diag.Error {
				t.Errorf("invalid options: want an empty bundle and one %s error, got %d files and %v", CodeOptions, len(b.Files), diags)
			}
		})
	}
}

func TestObjectsAndErrorSelector(t *testing.T) {
	o := DefaultOptions()
	o.Namespace = "monitoring"
	o.Release = "prom"
	o.Labels = map[string]string{"team": "sre"}
	o.ErrorSelector = `{response_code=~"5..|429"}`
	o.Interval = model.Duration(30e9)
	b, _ := Build(fixture(), o)
	for _, pr := range b.PrometheusRules {
		if pr.Namespace != "monitoring" || pr.Labels["release"] != "prom" || pr.Labels["team"] != "sre" {
			t.Errorf("%s: namespace %q labels %v", pr.Name, pr.Namespace, pr.Labels)
		}
		if pr.Kind != "PrometheusRule" || pr.APIVersion != "monitoring.coreos.com/v1" {
			t.Errorf("%s: %s %s", pr.Name, pr.APIVersion, pr.Kind)
		}
		for _, g := range pr.Spec.Groups {
			want := "30s"
			switch {
			case strings.HasSuffix(g.Name, "-"+groupLong):
				want = DefaultLongInterval.String()
			case strings.HasSuffix(g.Name, "-"+groupPeriod):
				want = DefaultPeriodInterval.String()
			}
			if g.Interval == nil || string(*g.Interval) != want {
				t.Errorf("%s: interval %v", g.Name, g.Interval)
			}
		}
	}
	if rule := b.Files[0].Groups.Groups[0].Rules[1]; !strings.Contains(rule.Expr, `response_code=~"5..|429"`) {
		t.Errorf("error selector not used: %s", rule.Expr)
	}
	o.Release = ""
	b, _ = Build(fixture(), o)
	if _, ok := b.PrometheusRules[0].Labels["release"]; ok {
		t.Error("empty release must omit the label")
	}
}

func TestConstantsParse(t *testing.T) {
	for _, w := range append(series.SLOWindows(), derivedWindows()...) {
		if duration(w) <= 0 {
			t.Errorf("window %q does not parse", w)
		}
	}
	for _, q := range series.Quantiles() {
		if v := quantileValue(q); v <= 0 || v >= 1 {
			t.Errorf("quantile %q does not parse", q)
		}
	}
}

func TestEmptyInventory(t *testing.T) {
	for _, inv := range []*inventory.Inventory{nil, {}} {
		b, diags := Build(inv, DefaultOptions())
		if len(b.Files) != 0 || len(b.PrometheusRules) != 0 || len(diags) != 0 {
			t.Errorf("%v: want nothing, got %d files, %v", inv, len(b.Files), diags)
		}
	}
}

// The hand-written rule files read back, with Prometheus' own parser, as
// exactly the typed groups they were written from.
func TestYAMLRoundTrip(t *testing.T) {
	inv := fixture()
	inv.RouteSets = append(inv.RouteSets, manySets(2, 3)...)
	o := goldenOptions()
	o.Interval = model.Duration(90e9)
	b, _ := Build(inv, o)
	for _, f := range b.Files {
		data, err := f.YAML()
		if err != nil {
			t.Fatal(err)
		}
		got, errs := rulefmt.Parse(data, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
		if len(errs) > 0 {
			t.Fatalf("%s: %v\n%s", f.Name, errs, data)
		}
		if !reflect.DeepEqual(got.Groups, f.Groups.Groups) {
			t.Errorf("%s does not read back as written:\n got %+v\nwant %+v", f.Name, got.Groups, f.Groups.Groups)
		}
	}
}
