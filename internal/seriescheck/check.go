// Package seriescheck checks that a monitoring bundle agrees with itself:
// every series a query reads (a dashboard panel, a template variable, an
// alert, a recording rule, an exporter's query) is either a raw series of
// a known schema (Istio's metrics as Envoy exports them) or recorded by a
// rule of the same bundle, and carries the labels the query selects on and
// groups by. It follows labels through the PromQL syntax tree the way the
// engine computes them: aggregations keep their grouping labels, one-to-one
// matching keeps the on() labels, group_left copies the included ones,
// histogram_quantile drops le, a rule adds its own labels.
//
// It is meant for tests: a query reading a series nobody records is an
// empty panel or an alert that never fires, and nothing else notices.
package seriescheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Rule is a recording or alerting rule of the bundle.
type Rule struct {
	// Where names the rule in problems: file, group, index.
	Where  string
	Record string
	Alert  string
	Expr   string
	// Labels are added to the recorded series (or the alerts).
	Labels      map[string]string
	Annotations map[string]string
}

// Checker knows the raw series and the rules of one bundle.
type Checker struct {
	raw    map[string]set
	rules  []Rule
	byName map[string][]int
	parser parser.Parser

	out      map[int]set
	problems map[int][]string
	state    map[int]int
}

// Series describes the labels of a raw metric: Labels are on every series,
// Optional on some (a route tag is only where a Telemetry puts it).
type Series struct {
	Labels, Optional []string
}

// New returns a checker for rules over the raw series in raw, keyed by
// metric name (see IstioRaw).
func New(raw map[string]Series, rules []Rule) *Checker {
	c := &Checker{
		raw: map[string]set{}, rules: rules, byName: map[string][]int{},
		parser: parser.NewParser(parser.Options{}),
		out:    map[int]set{}, problems: map[int][]string{}, state: map[int]int{},
	}
	for m, sr := range raw {
		s := anyOf(sr.Labels...)
		for _, l := range sr.Optional {
			s.labels[l] = value{any: true, maybeAbsent: true}
		}
		c.raw[m] = s
	}
	for i, r := range rules {
		if r.Record != "" {
			c.byName[r.Record] = append(c.byName[r.Record], i)
		}
	}
	return c
}

// Problem is one disagreement, named by where the query is.
type Problem struct {
	Where string
	Query string
	Msg   string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s\n\tin %s", p.Where, p.Msg, p.Query) }

// Rules checks the expression of every rule, and that the labels alert
// templates read ({{ $labels.x }}) are on the alert's series.
func (c *Checker) Rules() []Problem {
	var out []Problem
	for i, r := range c.rules {
		if r.Record != "" {
			_, probs := c.ruleOutput(i)
			for _, msg := range probs {
				out = append(out, Problem{r.Where, r.Expr, msg})
			}
			continue
		}
		e, s, probs := c.parse(r.Where, r.Expr)
		out = append(out, probs...)
		if e == nil {
			continue
		}
		for _, name := range templateLabels(r.Labels, r.Annotations) {
			if !s.mayHave(name) {
				out = append(out, Problem{r.Where, r.Expr, fmt.Sprintf(
					"a template reads $labels.%s, which the alert's series do not carry (they carry %s)",
					name, strings.Join(s.sortedNames(), ", "))})
			}
		}
	}
	return out
}

// Query checks one query, for example a dashboard panel's, whose Grafana
// variables GrafanaQuery has replaced.
func (c *Checker) Query(where, expr string) []Problem {
	_, _, probs := c.parse(where, expr)
	return probs
}

// LabelValues checks a template variable's label_values(selector, label):
// the selected series must exist and carry label.
func (c *Checker) LabelValues(where, selector, label string) []Problem {
	_, s, probs := c.parse(where, selector)
	if len(probs) == 0 && !s.mayHave(label) {
		probs = append(probs, Problem{where, selector, fmt.Sprintf(
			"label_values reads label %s, which these series do not carry (they carry %s)",
			label, strings.Join(s.sortedNames(), ", "))})
	}
	return probs
}

func (c *Checker) parse(where, expr string) (parser.Expr, set, []Problem) {
	e, err := c.parser.ParseExpr(expr)
	if err != nil {
		return nil, set{}, []Problem{{where, expr, "does not parse: " + err.Error()}}
	}
	ev := &evaluation{c: c}
	s := ev.eval(e)
	out := make([]Problem, 0, len(ev.problems))
	for _, msg := range ev.problems {
		out = append(out, Problem{where, expr, msg})
	}
	return e, s, out
}

// ruleOutput returns what the series recorded by rule i look like, and
// the problems of its expression (computed once).
func (c *Checker) ruleOutput(i int) (set, []string) {
	switch c.state[i] {
	case computing:
		return openSet(), []string{"the rule reads its own series"}
	case done:
		return c.out[i], c.problems[i]
	}
	c.state[i] = computing
	r := c.rules[i]
	var s set
	ev := &evaluation{c: c}
	if e, err := c.parser.ParseExpr(r.Expr); err != nil {
		s = openSet()
		ev.report("does not parse: %v", err)
	} else {
		s = ev.eval(e).drop(labels.MetricName)
	}
	for k, v := range r.Labels {
		if strings.Contains(v, "{{") {
			s = s.with(k, value{any: true})
		} else {
			s = s.with(k, value{values: []string{v}})
		}
	}
	s.scalar = false
	c.out[i], c.problems[i], c.state[i] = s, ev.problems, done
	return s, ev.problems
}

// States of a rule's output computation.
const (
	computing = 1
	done      = 2
)

// evaluation follows one expression's labels, collecting problems.
type evaluation struct {
	c        *Checker
	problems []string
}

func (ev *evaluation) report(format string, args ...any) {
	ev.problems = append(ev.problems, fmt.Sprintf(format, args...))
}

func (ev *evaluation) eval(e parser.Expr) set {
	switch n := e.(type) {
	case *parser.NumberLiteral, *parser.StringLiteral:
		return scalarSet()
	case *parser.ParenExpr:
		return ev.eval(n.Expr)
	case *parser.UnaryExpr:
		return ev.eval(n.Expr)
	case *parser.StepInvariantExpr:
		return ev.eval(n.Expr)
	case *parser.MatrixSelector:
		return ev.eval(n.VectorSelector)
	case *parser.SubqueryExpr:
		return ev.eval(n.Expr)
	case *parser.VectorSelector:
		return ev.selector(n)
	case *parser.AggregateExpr:
		return ev.aggregate(n)
	case *parser.Call:
		return ev.call(n)
	case *parser.BinaryExpr:
		return ev.binary(n)
	}
	ev.report("expression %T not understood", e)
	return openSet()
}

func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

func (ev *evaluation) selector(vs *parser.VectorSelector) set {
	name := metricName(vs)
	ms := withoutVariables(vs.LabelMatchers)
	if name == "" {
		ev.report("%s selects no single metric name", vs)
		return openSet()
	}
	if raw, ok := ev.c.raw[name]; ok {
		if m := raw.mismatch(ms); m != nil {
			ev.report("%s selects %s, but %s series have no such label", name, m, name)
		}
		return raw.narrow(ms)
	}
	idx := ev.c.byName[name]
	if len(idx) == 0 {
		if _, known := ev.c.raw[name]; !known && strings.HasPrefix(name, "istio_") {
			ev.report("%s is not a metric Istio exports", name)
		} else {
			ev.report("%s is recorded by no rule of the bundle", name)
		}
		return openSet()
	}
	var (
		out     set
		matched bool
		first   *labels.Matcher
		firstS  set
	)
	for _, i := range idx {
		s, _ := ev.c.ruleOutput(i) // its problems are the rule's
		if m := s.mismatch(ms); m != nil {
			if first == nil {
				first, firstS = m, s
			}
			continue
		}
		if !matched {
			out, matched = s, true
		} else {
			out = union(out, s)
		}
	}
	if !matched {
		if first != nil {
			ev.report("no rule records %s with %s (its %d rule(s) record the labels %s%s)",
				name, first, len(idx), strings.Join(firstS.sortedNames(), ", "), knownValues(firstS, first.Name))
		}
		return openSet()
	}
	return out.narrow(ms)
}

// knownValues describes the values a rule gives label name, for messages.
func knownValues(s set, name string) string {
	v, ok := s.labels[name]
	if !ok || v.any || len(v.values) == 0 {
		return ""
	}
	return fmt.Sprintf("; %s is %q", name, v.values)
}

func (ev *evaluation) aggregate(n *parser.AggregateExpr) set {
	in := ev.eval(n.Expr)
	for _, l := range n.Grouping {
		if !n.Without && !in.mayHave(l) {
			ev.report("%s by (%s): the aggregated series carry no label %s (they carry %s)",
				n.Op, strings.Join(n.Grouping, ", "), l, strings.Join(in.sortedNames(), ", "))
		}
	}
	switch n.Op {
	case parser.TOPK, parser.BOTTOMK, parser.LIMITK, parser.LIMIT_RATIO:
		return in
	}
	var out set
	switch {
	case n.Without:
		out = in.drop(append([]string{labels.MetricName}, n.Grouping...)...)
	case len(n.Grouping) > 0:
		out = in.keep(n.Grouping)
	default:
		out = newSet()
	}
	if n.Op == parser.COUNT_VALUES {
		if lit, ok := n.Param.(*parser.StringLiteral); ok {
			out = out.with(lit.Val, value{any: true})
		}
	}
	return out
}

func (ev *evaluation) call(n *parser.Call) set {
	args := make([]set, len(n.Args))
	for i, a := range n.Args {
		args[i] = ev.eval(a)
	}
	vectorArg := func() set {
		for i, a := range n.Args {
			if t := a.Type(); t == parser.ValueTypeVector || t == parser.ValueTypeMatrix {
				return args[i].drop(labels.MetricName)
			}
		}
		return newSet()
	}
	stringArg := func(i int) string {
		if i < len(n.Args) {
			if lit, ok := n.Args[i].(*parser.StringLiteral); ok {
				return lit.Val
			}
		}
		return ""
	}
	switch n.Func.Name {
	case "time", "vector", "scalar", "pi":
		return scalarSet()
	case "histogram_quantile", "histogram_fraction":
		in := args[len(args)-1]
		if !in.mayHave("le") {
			ev.report("%s over series without an le label (they carry %s)",
				n.Func.Name, strings.Join(in.sortedNames(), ", "))
		}
		return in.drop(labels.MetricName, "le")
	case "label_replace":
		return vectorArg().with(stringArg(1), value{any: true, maybeAbsent: true})
	case "label_join":
		return vectorArg().with(stringArg(1), value{any: true, maybeAbsent: true})
	case "absent", "absent_over_time":
		if len(n.Args) == 1 {
			return newSet().narrow(selectorMatchers(n.Args[0]))
		}
	}
	return vectorArg()
}

func selectorMatchers(e parser.Expr) []*labels.Matcher {
	switch n := e.(type) {
	case *parser.VectorSelector:
		return n.LabelMatchers
	case *parser.MatrixSelector:
		return selectorMatchers(n.VectorSelector)
	}
	return nil
}

func (ev *evaluation) binary(n *parser.BinaryExpr) set {
	l, r := ev.eval(n.LHS), ev.eval(n.RHS)
	switch {
	case l.scalar && r.scalar:
		return scalarSet()
	case l.scalar:
		return r.drop(labels.MetricName)
	case r.scalar:
		return l.drop(labels.MetricName)
	}
	vm := n.VectorMatching
	if vm == nil {
		vm = &parser.VectorMatching{Card: parser.CardOneToOne}
	}
	if vm.On {
		for _, lbl := range vm.MatchingLabels {
			for i, s := range []set{l, r} {
				if !s.mayHave(lbl) {
					ev.report("%s on (%s): the %s-hand series carry no label %s (they carry %s)",
						n.Op, strings.Join(vm.MatchingLabels, ", "), [2]string{"left", "right"}[i], lbl, strings.Join(s.sortedNames(), ", "))
				}
			}
		}
	}
	switch n.Op {
	case parser.LAND, parser.LUNLESS:
		return l
	case parser.LOR:
		return union(l, r)
	}
	many, one := l, r
	if vm.Card == parser.CardOneToMany {
		many, one = r, l
	}
	out := many.drop(labels.MetricName)
	if vm.Card == parser.CardOneToOne {
		if vm.On {
			out = out.keep(vm.MatchingLabels)
		} else {
			out = out.drop(vm.MatchingLabels...)
		}
	}
	for _, inc := range vm.Include {
		if v, ok := one.get(inc); ok {
			out = out.with(inc, v)
		} else {
			out = out.drop(inc)
		}
	}
	return out
}

// VarPlaceholder is what GrafanaQuery puts where a template variable was:
// a matcher holding it matches any value the label may have.
const VarPlaceholder = "__grafana_variable__"

var (
	grafanaBuiltin = regexp.MustCompile(`\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}`)
	grafanaVar     = regexp.MustCompile(`\$\{\w+(?:\.[^:}]+)?(?::[^}]+)?\}|\$\w+|\[\[\w+(?::\w+)?\]\]`)
)

// GrafanaQuery replaces the template variables of a dashboard query: the
// interval variables by 5m, the others by VarPlaceholder.
func GrafanaQuery(q string) string {
	q = grafanaBuiltin.ReplaceAllString(q, "5m")
	return grafanaVar.ReplaceAllString(q, VarPlaceholder)
}

// withoutVariables turns matchers on a template variable into "label is
// present", which is all that can be known before Grafana substitutes it.
func withoutVariables(ms []*labels.Matcher) []*labels.Matcher {
	out := make([]*labels.Matcher, 0, len(ms))
	for _, m := range ms {
		if strings.Contains(m.Value, VarPlaceholder) {
			m = labels.MustNewMatcher(labels.MatchNotEqual, m.Name, "")
		}
		out = append(out, m)
	}
	return out
}

var templateLabel = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|index \$labels "([^"]+)"`)

// templateLabels lists the labels alert templates read.
func templateLabels(maps ...map[string]string) []string {
	var out []string
	for _, m := range maps {
		for _, v := range m {
			for _, sub := range templateLabel.FindAllStringSubmatch(v, -1) {
				out = append(out, sub[1]+sub[2])
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
