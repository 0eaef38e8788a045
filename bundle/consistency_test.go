package bundle_test

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/internal/seriescheck"
	"github.com/routebundle/routebundle/internal/synth"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/series"
)

// TestBundleAgreesWithItself reads the rendered files of every input
// (podinfo, the hostile values, a synthetic mesh) in both formats, the way
// Prometheus, the operator and Grafana will, and checks that every series
// a dashboard panel, template variable, alert or recording rule reads is a
// raw Istio series or recorded by a rule of the same bundle, with the
// labels the query selects and groups on.
func TestBundleAgreesWithItself(t *testing.T) {
	invs := inventories(t)
	invs["synthetic mesh"] = synthInventory(t, synth.Mesh{Namespaces: 4, Workloads: 3, Routes: 5})
	invs["mixed scopes"] = decodeInventory(t, "mixed.yaml", mixed)
	invs["route names"] = decodeInventory(t, "routenames.yaml", routeNamesMesh)
	for name, inv := range invs {
		for _, f := range []bundle.Format{bundle.FormatOperator, bundle.FormatFiles} {
			t.Run(name+"/"+string(f), func(t *testing.T) {
				parts := readBundle(t, render(t, inv, f))
				c := seriescheck.New(seriescheck.IstioRaw(routeTags(inv)), parts.rules)
				problems := c.Rules()
				for _, q := range parts.queries {
					problems = append(problems, c.Query(q.where, q.expr)...)
				}
				for _, v := range parts.variables {
					problems = append(problems, c.LabelValues(v.where, v.expr, v.label)...)
				}
				for _, p := range problems {
					t.Error(p)
				}
				// The check must have had something to check: every
				// dashboard query kind, and the response-code panel that
				// once read a series nobody recorded.
				if len(parts.rules) == 0 || len(parts.queries) == 0 || len(parts.variables) == 0 {
					t.Fatalf("read %d rules, %d queries, %d variables", len(parts.rules), len(parts.queries), len(parts.variables))
				}
				if !parts.reads(series.ResponsesRate5m) {
					t.Errorf("no dashboard query reads %s", series.ResponsesRate5m)
				}
			})
		}
	}
}

// TestSeriesCheckCatchesMistakes feeds the checker the podinfo bundle's
// real rules with queries that go wrong in the ways a generator can.
func TestSeriesCheckCatchesMistakes(t *testing.T) {
	inv := inventories(t)["podinfo"]
	parts := readBundle(t, render(t, inv, bundle.FormatFiles))
	c := seriescheck.New(seriescheck.IstioRaw(routeTags(inv)), parts.rules)
	for _, tc := range []struct{ query, want string }{
		{`sum(route_code:istio_requests:rate1h)`, "recorded by no rule"},
		{`sum(route:istio_requests:rate5m{destination_workload_namespace="shop"})`, `podinfo`},
		{`sum by (response_code) (route:istio_requests:rate5m)`, "no label response_code"},
		{`route:istio_requests:rate5m{request_operation!=""}`, "request_operation"},
		{`histogram_quantile(0.99, sum by (route_name) (route:istio_request_duration_milliseconds_bucket:rate5m))`, "without an le label"},
		{`route:istio_request_duration_milliseconds:histogram_quantile5m{quantile="0.95"}`, `quantile`},
		{`sum by (le) (rate(istio_request_duration_milliseconds_bucket[5m])) / on (le) sum(rate(istio_requests_total[5m]))`, "right-hand series carry no label le"},
		{`rate(istio_requests_totl[5m])`, "not a metric Istio exports"},
		{`sum(rate(istio_requests_total{operation_id!=""}[5m]))`, "operation_id"},
	} {
		probs := c.Query("test", seriescheck.GrafanaQuery(tc.query))
		if len(probs) == 0 || !strings.Contains(probs[0].Msg, tc.want) {
			t.Errorf("%s: problems %v, want one mentioning %q", tc.query, probs, tc.want)
		}
	}
	if probs := c.LabelValues("test", `route:istio_requests:rate5m`, "response_code"); len(probs) == 0 {
		t.Error("label_values of a label the series lack passed")
	}
	alert := seriescheck.Rule{Where: "test", Alert: "X", Expr: `route:istio_requests:rate5m > 1`,
		Annotations: map[string]string{"summary": "{{ $labels.pod }} is busy"}}
	if probs := seriescheck.New(seriescheck.IstioRaw(routeTags(inv)), append(parts.rules, alert)).Rules(); len(probs) != 1 || !strings.Contains(probs[0].Msg, "$labels.pod") {
		t.Errorf("an alert template reading a missing label: %v", probs)
	}
}

// mixed has a mesh-wide classification and a namespace's own one on the
// same tag (the mesh's rules exclude that namespace), a CEL-only
// classification on REQUEST_COUNT alone (no latency series) on a second
// tag, and objectives per set and per route.
const mixed = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: mesh-routes, namespace: istio-system}
spec:
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match:
      - {value: GET /healthz, condition: "request.url_path == '/healthz'"}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-routes, namespace: istio-system}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS}
      tagOverrides:
        route_name: {value: "filter_state['wasm.istio_operationId']"}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: shop-routes
  namespace: shop
  annotations:
    routebundle.io/objective: 99.5%
    routebundle.io/routes: '{"POST /cart": {objective: "99.9%"}}'
spec:
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match:
      - {value: GET /cart, condition: "request.method == 'GET' && request.url_path == '/cart'"}
      - {value: POST /cart, condition: "request.method == 'POST' && request.url_path == '/cart'"}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: shop-ops
  namespace: shop
  annotations: {routebundle.io/objective: "0.99"}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides:
        operation: {value: "request.method == 'GET' ? 'read' : 'write'"}
`

func decodeInventory(t *testing.T, file, data string) *inventory.Inventory {
	t.Helper()
	objs, diags := manifest.Decode(file, []byte(data))
	if len(diags) > 0 {
		t.Fatalf("%s: %v", file, diags)
	}
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	inv := b.Build(objs)
	if len(inv.RouteSets) == 0 || inv.Diagnostics.HasErrors() {
		t.Fatalf("%s: %d route sets; diagnostics:\n%v", file, len(inv.RouteSets), inv.Diagnostics)
	}
	return inv
}

// routeTags lists the route tags a Telemetry puts on each raw metric.
func routeTags(inv *inventory.Inventory) map[string][]string {
	out := map[string][]string{}
	for _, rs := range inv.RouteSets {
		if rs.HasMetric(inventory.RequestCount) {
			out[series.IstioRequestsTotal] = append(out[series.IstioRequestsTotal], rs.Tag)
		}
		if rs.HasLatency() {
			out["istio_request_duration_milliseconds"] = append(out["istio_request_duration_milliseconds"], rs.Tag)
		}
	}
	return out
}

func synthInventory(t *testing.T, m synth.Mesh) *inventory.Inventory {
	t.Helper()
	dir := t.TempDir()
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	res, err := manifest.ReadPaths([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	inv := b.FromManifests(res)
	if len(inv.RouteSets) != m.WasmPlugins() || inv.Diagnostics.HasErrors() {
		t.Fatalf("synthetic mesh: %d route sets; diagnostics:\n%v", len(inv.RouteSets), inv.Diagnostics)
	}
	return inv
}

type query struct{ where, expr, label string }

// bundleParts is what the rendered files say: the rules as Prometheus
// loads them, the dashboards' queries as Grafana sends them.
type bundleParts struct {
	rules     []seriescheck.Rule
	queries   []query
	variables []query
}

func (p *bundleParts) reads(name string) bool {
	for _, q := range p.queries {
		if strings.Contains(q.expr, name+"{") {
			return true
		}
	}
	return false
}

// ruleGroups is the shape of a rule file and of a PrometheusRule's spec.
type ruleGroups struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Record, Alert, Expr string
			Labels, Annotations map[string]string
		}
	}
}

func readBundle(t *testing.T, files bundle.Files) *bundleParts {
	t.Helper()
	p := &bundleParts{}
	for _, f := range files {
		switch {
		case strings.HasPrefix(f.Path, "rules/"):
			var g ruleGroups
			if err := yaml.Unmarshal(f.Data, &g); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			p.addRules(f.Path, g)
		case path.Ext(f.Path) == ".json":
			p.addDashboard(t, f.Path, f.Data)
		case strings.HasSuffix(f.Path, ".yaml"):
			for _, u := range decodeObjects(t, f) {
				switch u.GetKind() {
				case "PrometheusRule":
					var pr struct{ Spec ruleGroups }
					js, _ := json.Marshal(u.Object)
					if err := json.Unmarshal(js, &pr); err != nil {
						t.Fatalf("%s: %v", f.Path, err)
					}
					p.addRules(f.Path, pr.Spec)
				case "ConfigMap":
					data, _ := u.Object["data"].(map[string]any)
					for k, v := range data {
						p.addDashboard(t, f.Path+" "+k, []byte(v.(string)))
					}
				}
			}
		}
	}
	return p
}

func (p *bundleParts) addRules(file string, g ruleGroups) {
	for _, grp := range g.Groups {
		for i, r := range grp.Rules {
			p.rules = append(p.rules, seriescheck.Rule{
				Where:  fmt.Sprintf("%s group %s rule %d (%s%s)", file, grp.Name, i, r.Record, r.Alert),
				Record: r.Record, Alert: r.Alert, Expr: r.Expr, Labels: r.Labels, Annotations: r.Annotations,
			})
		}
	}
}

var labelValues = regexp.MustCompile(`^label_values\((.*), *(\w+)\)$`)

// addDashboard collects every panel query (rows' panels included) and
// every query variable, with the dashboard's constants substituted.
func (p *bundleParts) addDashboard(t *testing.T, where string, data []byte) {
	t.Helper()
	var d struct {
		Templating struct {
			List []struct {
				Type, Name string
				Query      any
			}
		}
		Panels []dashPanel
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	consts := map[string]string{}
	for _, v := range d.Templating.List {
		if s, ok := v.Query.(string); ok && v.Type == "constant" {
			consts[v.Name] = s
		}
	}
	expand := func(q string) string {
		for name, v := range consts {
			q = strings.ReplaceAll(q, "$"+name, v)
		}
		return seriescheck.GrafanaQuery(q)
	}
	for _, v := range d.Templating.List {
		s, ok := v.Query.(string)
		if v.Type != "query" || !ok {
			continue
		}
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("%s variable %s: query %q is not label_values(selector, label)", where, v.Name, s)
			continue
		}
		p.variables = append(p.variables, query{where + " variable " + v.Name, expand(m[1]), m[2]})
	}
	var walk func([]dashPanel)
	walk = func(panels []dashPanel) {
		for _, pn := range panels {
			for _, tg := range pn.Targets {
				p.queries = append(p.queries, query{where: fmt.Sprintf("%s panel %q query %s", where, pn.Title, tg.RefID), expr: expand(tg.Expr)})
			}
			walk(pn.Panels)
		}
	}
	walk(d.Panels)
}

type dashPanel struct {
	Title   string
	Targets []struct{ Expr, RefID string }
	Panels  []dashPanel
}

// TestReleaseReachesEveryObject reads the labels off every object the
// operator format renders: the bundle config's release must be on each of
// them, ConfigMaps included, as the README says.
func TestReleaseReachesEveryObject(t *testing.T) {
	cfg, err := bundle.ParseConfig("cfg.yaml", []byte("release: prom-a\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, inv := range inventories(t) {
		t.Run(name, func(t *testing.T) {
			b, _, err := bundle.Build(inv, cfg)
			if err != nil {
				t.Fatal(err)
			}
			files, err := b.Files(bundle.FormatOperator)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, f := range files {
				for _, u := range decodeObjects(t, f) {
					kinds[u.GetKind()]++
					if got := u.GetLabels()["release"]; got != "prom-a" {
						t.Errorf("%s %s: release label %q, want prom-a", u.GetKind(), u.GetName(), got)
					}
				}
			}
			for _, k := range []string{"PrometheusRule", "PodMonitor", "ServiceMonitor", "ConfigMap"} {
				if kinds[k] == 0 {
					t.Errorf("no %s rendered", k)
				}
			}
		})
	}
}

// TestOperatorRulesListRecordOrAlertFirst: each rule of a rendered
// PrometheusRule starts with record or alert, then expr, as the files
// format and hand-written rule files do.
func TestOperatorRulesListRecordOrAlertFirst(t *testing.T) {
	for name, inv := range inventories(t) {
		rules := 0
		for _, f := range render(t, inv, bundle.FormatOperator) {
			if !strings.HasPrefix(f.Path, "prometheusrule_") {
				continue
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(f.Data, &doc); err != nil {
				t.Fatal(err)
			}
			for _, g := range child(child(doc.Content[0], "spec"), "groups").Content {
				for _, r := range child(g, "rules").Content {
					rules++
					first, second := r.Content[0].Value, r.Content[2].Value
					if first != "record" && first != "alert" || second != "expr" {
						t.Errorf("%s %s: a rule starts with %s, %s", name, f.Path, first, second)
					}
				}
			}
		}
		if rules == 0 {
			t.Errorf("%s: no rules read", name)
		}
	}
}

func child(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return &yaml.Node{}
}
