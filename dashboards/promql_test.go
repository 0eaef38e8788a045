package dashboards

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// This file substitutes template variables the way Grafana does and parses
// every query with the PromQL parser. Grafana's rules, from its Prometheus
// datasource and template service:
//   - a variable with multi-select or All, without format: each value gets
//     prometheusSpecialRegexEscape (\ becomes \\\\, regex metacharacters
//     get \\), several values are joined as (a|b);
//   - a single-value variable (constant, textbox): prometheusRegularEscape
//     (\ becomes \\, ' becomes \\');
//   - ${var:regex}: regex metacharacters get one \, several values (a|b);
//   - All with a custom all value: the all value, unformatted.
// The "classic" escaping is modelled: it does not escape '"'.

// grafanaVarRef is Grafana's variable syntax: $var, [[var:fmt]], ${var.field:fmt}.
var grafanaVarRef = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// selection is the value of one variable.
type selection struct {
	multi    bool // multi-select or include-all variable
	all      bool
	allValue string
	values   []string
}

func (s selection) selected(universe []string) []string {
	if s.all {
		return universe
	}
	return s.values
}

var builtins = map[string]string{"__rate_interval": "1m", "__range": "1h", "__interval": "30s"}

func interpolate(q string, vars map[string]selection) (string, error) {
	var err error
	out := grafanaVarRef.ReplaceAllStringFunc(q, func(m string) string {
		sub := grafanaVarRef.FindStringSubmatch(m)
		name, format := cmp.Or(sub[1], sub[2], sub[4]), cmp.Or(sub[3], sub[6])
		if b, ok := builtins[name]; ok {
			return b
		}
		v, ok := vars[name]
		if !ok {
			err = fmt.Errorf("unknown variable %q in %s", m, q)
			return m
		}
		if v.all {
			return v.allValue
		}
		switch {
		case format == "regex":
			return join(v.values, regexEscape)
		case format == "" && v.multi:
			return join(v.values, specialRegexEscape)
		case format == "":
			return regularEscape(v.values[0])
		}
		err = fmt.Errorf("format %q not modelled", format)
		return m
	})
	return out, err
}

func join(values []string, escape func(string) string) string {
	e := make([]string, len(values))
	for i, v := range values {
		e[i] = escape(v)
	}
	if len(e) == 1 {
		return e[0]
	}
	return "(" + strings.Join(e, "|") + ")"
}

var (
	regexMeta        = regexp.MustCompile(`[\\^$*+?.()|\[\]{}/]`)
	promRegexMeta    = regexp.MustCompile(`[$^*{}\[\]+?.()|]`)
	regexEscape      = func(v string) string { return regexMeta.ReplaceAllString(v, `\$0`) }
	regularEscape    = func(v string) string { return strings.NewReplacer(`\`, `\\`, `'`, `\\'`).Replace(v) }
	specialRegexEsc1 = func(v string) string { return strings.ReplaceAll(v, `\`, `\\\\`) }
)

func specialRegexEscape(v string) string {
	return promRegexMeta.ReplaceAllString(specialRegexEsc1(v), `\\$0`)
}

// dashQuery is one query of a dashboard with where it is.
type dashQuery struct{ where, expr string }

func dashQueries(t *testing.T, d dashboard.Dashboard) []dashQuery {
	t.Helper()
	var out []dashQuery
	for _, pr := range d.Panels {
		if pr.Panel == nil {
			continue
		}
		for _, target := range pr.Panel.Targets {
			b, err := json.Marshal(target)
			if err != nil {
				t.Fatal(err)
			}
			var q struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			}
			if err := json.Unmarshal(b, &q); err != nil {
				t.Fatal(err)
			}
			out = append(out, dashQuery{fmt.Sprintf("panel %q query %s", *pr.Panel.Title, q.RefID), q.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != dashboard.VariableTypeQuery {
			continue
		}
		m := labelValuesQuery.FindStringSubmatch(*v.Query.String)
		if m == nil || !labelName.MatchString(m[2]) {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, *v.Query.String)
			continue
		}
		out = append(out, dashQuery{"variable " + v.Name, m[1]})
	}
	return out
}

var labelValuesQuery = regexp.MustCompile(`^label_values\((.*), (\w+)\)$`)

// scenario is one set of variable values and the universe of values each
// variable could have, to check what the matchers select.
type scenario struct {
	name string
	vars map[string]selection
}

// dashScenarios returns the variable selections to try on a dashboard: All,
// each route alone, several routes, several workloads.
func dashScenarios(routes []string, namespace string, textboxRoute bool) []scenario {
	ns := selection{values: []string{namespace}}
	if namespace == "" {
		ns = selection{multi: true, values: []string{"shop", "web"}}
	}
	base := func(route selection) map[string]selection {
		return map[string]selection{
			VarDatasource: {values: []string{"prom"}},
			VarNamespace:  ns,
			VarWorkload:   {multi: true, values: []string{"podinfo", "cart-v2"}},
			VarRoute:      route,
		}
	}
	if textboxRoute {
		return []scenario{
			{"regex .+", base(selection{values: []string{".+"}})},
			{"regex GET /.*", base(selection{values: []string{`GET /.*`}})},
			{`regex with \{`, base(selection{values: []string{`GET /users/\{id\}`}})},
		}
	}
	out := []scenario{{"all", base(selection{multi: true, all: true, allValue: ".+"})}}
	for _, r := range routes {
		out = append(out, scenario{"route " + r, base(selection{multi: true, values: []string{r}})})
	}
	out = append(out, scenario{"all routes listed", base(selection{multi: true, values: routes})})
	return out
}

// TestQueriesParse substitutes the variables of every query of every
// example and parses it; the route matchers must then select exactly the
// selected routes, whatever characters they contain.
func TestQueriesParse(t *testing.T) {
	for _, ex := range examples() {
		inv := ex.inv()
		ds, _ := build(t, inv)
		groups := groupsByUID(inv)
		for _, d := range ds {
			g := groups[d.UID]
			var (
				routes    []string
				namespace string
				tags      []string
				textbox   = g == nil
				quoted    bool
			)
			if g != nil {
				routes = append(slices.Clone(g.routes), series.UnknownRoute)
				if g.scope.kind != inventory.ScopeMesh && !sourceView(g) {
					namespace = g.scope.namespace
				}
				tags = []string{g.scope.tag}
				// Only a backtick forces the double-quoted form.
				quoted = strings.Contains(strings.Join(g.routes, ""), "`")
			} else {
				for _, g := range groups {
					routes = append(routes, g.routes...)
					tags = append(tags, g.scope.tag)
				}
			}
			for _, q := range dashQueries(t, d.Dashboard) {
				where := ex.name + "/" + d.UID + " " + q.where
				for _, sc := range dashScenarios(routes, namespace, textbox) {
					if quoted && slices.ContainsFunc(sc.vars[VarRoute].values, func(v string) bool {
						return strings.ContainsAny(v, "\"\n")
					}) {
						continue // Grafana cannot select these (warned about as RB404)
					}
					checkQuery(t, where+" ["+sc.name+"]", q.expr, sc, routes, tags, textbox)
				}
			}
		}
	}
}

func groupsByUID(inv *inventory.Inventory) map[string]*group {
	sets, _ := usableSets(inv)
	out := map[string]*group{}
	for _, g := range groupSets(sets) {
		out[g.scope.uid()] = g
	}
	return out
}

func checkQuery(t *testing.T, where, raw string, sc scenario, routes, tags []string, textbox bool) {
	t.Helper()
	if strings.Contains(raw, "[[") {
		t.Errorf("%s: [[ in query would be taken for a variable: %s", where, raw)
	}
	q, err := interpolate(raw, sc.vars)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		t.Errorf("%s: %v\nquery: %s", where, err, q)
		return
	}
	if textbox {
		return // the overview's route filter is a free regex
	}
	got := tagSelections(expr, routes, tags)
	base := tagSelectionsWith(t, raw, sc, selection{multi: true, all: true, allValue: ".+"}, routes, tags)
	// A selector that selects something even when the route variable
	// matches nothing does not depend on the variable.
	none := tagSelectionsWith(t, raw, sc, selection{multi: true, values: []string{"\x01none"}}, routes, tags)
	want := sc.vars[VarRoute].selected(routes)
	for i := range got {
		exp := intersect(base[i], want)
		if len(none[i]) > 0 {
			exp = base[i]
		}
		if !slices.Equal(got[i], exp) {
			t.Errorf("%s: selector %d selects routes %q, want %q\nquery: %s", where, i, got[i], exp, q)
		}
	}
	for _, vs := range selectors(expr) {
		for _, m := range vs.LabelMatchers {
			if m.Name == series.LabelWorkload && m.Type == labels.MatchRegexp {
				for _, w := range sc.vars[VarWorkload].values {
					if !m.Matches(w) {
						t.Errorf("%s: workload matcher %s does not match %q", where, m, w)
					}
				}
			}
		}
	}
}

// tagSelectionsWith interpolates raw with another route selection.
func tagSelectionsWith(t *testing.T, raw string, sc scenario, route selection, routes, tags []string) [][]string {
	t.Helper()
	vars := maps.Clone(sc.vars)
	vars[VarRoute] = route
	q, err := interpolate(raw, vars)
	if err != nil {
		t.Fatal(err)
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		t.Fatalf("%v\nquery: %s", err, q)
	}
	return tagSelections(e, routes, tags)
}

func selectors(e parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

// tagSelections returns, per selector, the routes that all its matchers on
// a route tag accept (in universe order).
func tagSelections(e parser.Expr, universe, tags []string) [][]string {
	var out [][]string
	for _, vs := range selectors(e) {
		var ok []string
		for _, r := range universe {
			if matchesAll(vs.LabelMatchers, tags, r) {
				ok = append(ok, r)
			}
		}
		out = append(out, ok)
	}
	return out
}

func matchesAll(ms []*labels.Matcher, tags []string, value string) bool {
	for _, m := range ms {
		if slices.Contains(tags, m.Name) && !m.Matches(value) {
			return false
		}
	}
	return true
}

func intersect(a, b []string) []string {
	var out []string
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// TestSLOQueriesSelectTheirRoutes: each objective's queries select exactly
// the routes with that objective, never "unknown" nor routes without one.
func TestSLOQueriesSelectTheirRoutes(t *testing.T) {
	for _, tc := range []struct {
		inv   *inventory.Inventory
		uid   string
		byRef map[string][]string
	}{
		{mixedInventory(), UID(&mixedInventory().RouteSets[0]), map[string][]string{
			"A": {"GET /cart"}, "B": {"POST /cart/items"},
		}},
		{hostileInventory(), UID(&hostileInventory().RouteSets[0]), map[string][]string{"A": hostileRoutes}},
	} {
		ds, _ := build(t, tc.inv)
		i := slices.IndexFunc(ds, func(d Dashboard) bool { return d.UID == tc.uid })
		if i < 0 {
			t.Fatalf("no dashboard %s", tc.uid)
		}
		g := groupsByUID(tc.inv)[tc.uid]
		universe := append(slices.Clone(g.routes), series.UnknownRoute)
		vars := dashScenarios(nil, g.scope.namespace, false)[0].vars
		n := 0
		for _, q := range dashQueries(t, ds[i].Dashboard) {
			if !strings.Contains(q.where, `"Error budget left"`) && !strings.Contains(q.where, `"Burn rate (1h)"`) {
				continue
			}
			n++
			ref := q.where[strings.LastIndexByte(q.where, ' ')+1:]
			s, err := interpolate(q.expr, vars)
			if err != nil {
				t.Fatal(err)
			}
			e, err := parser.NewParser(parser.Options{}).ParseExpr(s)
			if err != nil {
				t.Fatalf("%s: %v", q.where, err)
			}
			for _, got := range tagSelections(e, universe, []string{g.scope.tag}) {
				if !slices.Equal(got, tc.byRef[ref]) {
					t.Errorf("%s: selects %q, want %q", q.where, got, tc.byRef[ref])
				}
			}
		}
		if n != 2*len(tc.byRef) {
			t.Errorf("%s: %d SLO queries, want %d", tc.uid, n, 2*len(tc.byRef))
		}
	}
}

// TestLinksUseKnownVariables: data links only use variables Grafana knows.
func TestLinksUseKnownVariables(t *testing.T) {
	known := []string{VarDatasource, VarNamespace, VarWorkload, VarRoute, "__url_time_range", "__value"}
	for _, ex := range examples() {
		ds, _ := build(t, ex.inv())
		for _, d := range ds {
			b := mustJSON(t, d)
			for _, m := range regexp.MustCompile(`"url": "([^"]*)"`).FindAllStringSubmatch(string(b), -1) {
				for _, ref := range grafanaVarRef.FindAllStringSubmatch(m[1], -1) {
					if name := cmp.Or(ref[1], ref[2], ref[4]); !slices.Contains(known, name) {
						t.Errorf("%s: link %s uses unknown variable %s", d.UID, m[1], name)
					}
				}
			}
		}
	}
}

// TestLiteral: lit and reLit select exactly the value, whatever it holds,
// and leave nothing Grafana would interpolate.
func TestLiteral(t *testing.T) {
	values := append(slices.Clone(hostileRoutes), "", "`", "\x00\x7f", "\xff invalid utf-8", `\x24`, "${__rate_interval}")
	for _, v := range values {
		for _, m := range []matcher{eqLit("l", v), reLit("l", []string{v})} {
			q := sel("m", m)
			if grafanaVarRef.MatchString(q) {
				t.Errorf("%q: %s has a Grafana variable reference", v, q)
			}
			e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
			if err != nil {
				t.Errorf("%q: %s: %v", v, q, err)
				continue
			}
			pm := e.(*parser.VectorSelector).LabelMatchers
			got := pm[slices.IndexFunc(pm, func(m *labels.Matcher) bool { return m.Name == "l" })]
			if !got.Matches(v) {
				t.Errorf("%q: %s does not match it", v, q)
			}
			for _, other := range values {
				if other != v && got.Matches(other) {
					t.Errorf("%q: %s also matches %q", v, q, other)
				}
			}
		}
	}
}
