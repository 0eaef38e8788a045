package rules

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

// target is what one set of alert rules covers: every route that follows
// the set-wide policy, or one route with its own.
type target struct {
	route  string // "" for the set-wide rules
	filter []*labels.Matcher
	policy policy.Policy
}

// targets splits a unit into the set-wide target and one per overridden
// route. The set-wide rules leave out the overridden routes and "unknown"
// (a classification gap is the unknown-share alert's business).
func targets(u *unit) []target {
	overrides := u.policy.Overrides()
	set := target{filter: []*labels.Matcher{pql.Neq(u.Tag, series.UnknownRoute)}, policy: u.policy.Set}
	out := make([]target, 0, len(overrides)+1)
	for _, v := range overrides {
		set.filter = append(set.filter, pql.Neq(u.Tag, v))
		out = append(out, target{route: v, filter: []*labels.Matcher{pql.Eq(u.Tag, v)}, policy: u.policy.Routes[v]})
	}
	return append([]target{set}, out...)
}

// burnWindow is one condition of a multi-window multi-burn-rate alert: the
// error ratio over both windows is above factor times the error budget.
type burnWindow struct {
	long, short series.Window
	factor      float64
	// budgetDays is how fast the 30-day budget is gone at this burn rate.
	budgetDays float64
}

func pageWindows() []burnWindow {
	return []burnWindow{
		{long: series.Window1h, short: series.Window5m, factor: 14.4, budgetDays: 30 / 14.4},
		{long: series.Window6h, short: series.Window30m, factor: 6, budgetDays: 5},
	}
}

func ticketWindows() []burnWindow {
	return []burnWindow{
		{long: series.Window1d, short: series.Window2h, factor: 3, budgetDays: 10},
		{long: series.Window3d, short: series.Window6h, factor: 1, budgetDays: 30},
	}
}

// alertRules are a unit's alerts: each enabled kind once for the set-wide
// routes and once per overridden route, then the per-workload unknown share.
func alertRules(u *unit, c *compiled) []rulefmt.Rule {
	var out []rulefmt.Rule
	for _, t := range targets(u) {
		start := len(out)
		p := t.policy
		if p.Alerts.ErrorRatio {
			out = append(out, errorRatioAlert(u, c, t))
		}
		if u.latency && p.Alerts.Latency {
			out = append(out, latencyAlert(u, c, t))
		}
		if p.Objective > 0 && p.Alerts.BurnRatePage {
			out = append(out, burnAlert(u, c, t, series.AlertRouteErrorBudgetBurn, c.Severities.Page, pageWindows()))
		}
		if p.Objective > 0 && p.Alerts.BurnRateTicket {
			out = append(out, burnAlert(u, c, t, series.AlertRouteErrorBudgetTicket, c.Severities.Ticket, ticketWindows()))
		}
		u.annotateRoutes(out[start:], t)
	}
	if u.policy.Set.Alerts.UnknownShare {
		out = append(out, unknownShareAlert(u, c))
	}
	return out
}

// gate keeps the routes of t that served at least the minimum request rate
// over w; nil when there is no minimum.
func gate(u *unit, t target, w series.Window) parser.Expr {
	if t.policy.MinRequestRate <= 0 {
		return nil
	}
	return compare(parser.GTE, u.recorded(series.RequestsRate(w), t.filter...), t.policy.MinRequestRate)
}

// burnGate keeps the routes of t that serve the minimum request rate now
// (over 5m) or served it over the long window w. The long window's rate
// counts the whole window, so a route younger than w passes on its current
// rate, and a route that has just gone quiet on its past one.
func burnGate(u *unit, t target, w series.Window) parser.Expr {
	long := gate(u, t, w)
	if long == nil {
		return nil
	}
	return or(long, gate(u, t, shortWindow), u.by()...)
}

func errorRatioAlert(u *unit, c *compiled, t target) rulefmt.Rule {
	p := t.policy
	e := and(compare(parser.GTR, u.recorded(series.ErrorRatio5m, t.filter...), p.ErrorRatio),
		gate(u, t, shortWindow), u.by()...)
	return rulefmt.Rule{
		Alert: series.AlertRouteErrorRatioHigh, Expr: u.withRoutingLabels(e, t.route == "").String(), For: p.ErrorFor,
		Labels: u.routeLabels(t, c.Severities.ErrorRatio),
		Annotations: u.annotations(c, true,
			"Route "+u.routeRef()+" fails {{ $value | humanizePercentage }} of its requests",
			fmt.Sprintf("The error ratio of the route over %s has been above %s for %s%s.",
				shortWindow, percent(p.ErrorRatio), p.ErrorFor, minRateNote(p))),
	}
}

func latencyAlert(u *unit, c *compiled, t target) rulefmt.Rule {
	p := t.policy
	p99 := u.recorded(series.DurationQuantile5m, append(t.filter, pql.Eq(series.LabelQuantile, "0.99"))...)
	e := and(compare(parser.GTR, p99, p.LatencyP99Ms), gate(u, t, shortWindow), u.by()...)
	return rulefmt.Rule{
		Alert: series.AlertRouteLatencyP99High, Expr: u.withRoutingLabels(e, t.route == "").String(), For: p.LatencyFor,
		Labels: u.routeLabels(t, c.Severities.Latency),
		Annotations: u.annotations(c, true,
			"Route "+u.routeRef()+` has a p99 latency of {{ $value | printf "%.0f" }}ms`,
			fmt.Sprintf("The p99 latency of the route over %s has been above %sms for %s%s.",
				shortWindow, formatFloat(p.LatencyP99Ms), p.LatencyFor, minRateNote(p))),
	}
}

// burnAlert fires when any of the windows burns the error budget of the
// objective at least factor times too fast, over both its long and its
// short window (the short one lets the alert stop soon after recovery).
func burnAlert(u *unit, c *compiled, t target, name, severity string, windows []burnWindow) rulefmt.Rule {
	budget := 1 - t.policy.Objective
	var e parser.Expr
	var why []string
	for _, w := range windows {
		threshold := w.factor * budget
		cond := and(
			and(compare(parser.GTR, u.recorded(series.ErrorRatio(w.long), t.filter...), threshold),
				compare(parser.GTR, u.recorded(series.ErrorRatio(w.short), t.filter...), threshold), u.by()...),
			burnGate(u, t, w.long), u.by()...)
		if e == nil {
			e = cond
		} else {
			e = or(e, cond, u.by()...)
		}
		why = append(why, fmt.Sprintf("%s× over %s and %s (budget gone in %s days)",
			formatFloat(w.factor), w.long, w.short, formatFloat(math.Round(w.budgetDays*10)/10)))
	}
	return rulefmt.Rule{
		Alert: name, Expr: u.withRoutingLabels(e, t.route == "").String(),
		Labels: u.routeLabels(t, severity),
		Annotations: u.annotations(c, true,
			"Route "+u.routeRef()+" is burning its error budget: {{ $value | humanizePercentage }} errors",
			fmt.Sprintf("The route spends the 30-day error budget of its %s objective too fast: %s%s.",
				percent(t.policy.Objective), strings.Join(why, ", or "), minRateNote(t.policy))),
	}
}

func unknownShareAlert(u *unit, c *compiled) rulefmt.Rule {
	p := u.policy.Set
	perWorkload := []string{series.LabelWorkloadNamespace, series.LabelWorkload}
	share := u.recorded(series.UnknownRatio5m)
	var traffic parser.Expr
	if p.MinRequestRate > 0 {
		traffic = compare(parser.GTE, sumBy(u.recorded(series.RequestsRate5m), perWorkload...), p.MinRequestRate)
	}
	e := u.withRoutingLabels(and(compare(parser.GTR, share, p.UnknownRatio), traffic, perWorkload...), false)
	return rulefmt.Rule{
		Alert: series.AlertWorkloadUnknownRoutes, Expr: e.String(), For: p.UnknownFor,
		Labels: map[string]string{series.AlertLabelSeverity: c.Severities.UnknownShare},
		Annotations: u.annotations(c, false,
			"{{ $value | humanizePercentage }} of the requests to "+workloadRef+" match no route",
			fmt.Sprintf("The route tag %s has been %q for more than %s of the workload's requests for %s: "+
				"%s. `bundlegen explain` shows which match fires for a request.",
				u.Tag, series.UnknownRoute, percent(p.UnknownRatio), p.UnknownFor, u.unclassified())),
	}
}

const workloadRef = "{{ $labels." + series.LabelWorkloadNamespace + " }}/{{ $labels." + series.LabelWorkload + " }}"

// routeRef renders the route and its workload from the alert's labels.
// Route values never enter a template as text: they would be executed.
func (u *unit) routeRef() string {
	return `"{{ index $labels ` + strconv.Quote(u.Tag) + ` }}" of ` + workloadRef
}

// routeLabels are the labels a route alert rule sets itself: its severity
// and, for the rule of one overridden route, the route spelled as a literal
// (which also keeps it apart from the set-wide rule of the same name for
// promtool's duplicate check). The namespace, workload and set-wide route
// labels come from the expression (see withRoutingLabels).
func (u *unit) routeLabels(t target, severity string) map[string]string {
	m := map[string]string{series.AlertLabelSeverity: severity}
	if t.route != "" {
		m[series.AlertLabelRoute] = literal(t.route)
	}
	return m
}

// withRoutingLabels copies the alert's routing labels (namespace, workload
// and, with route, the route) from the labels of the series that e returns:
// label_join of a single label copies its value verbatim. Prometheus expands
// every label and annotation of every active alert as a Go template at every
// evaluation, parsing it anew each time; a label the expression copies costs
// a fraction of that. The route is copied first, so that a route tag named
// like another routing label still yields the route.
func (u *unit) withRoutingLabels(e parser.Expr, route bool) parser.Expr {
	copyLabel := func(e parser.Expr, dst, src string) parser.Expr {
		return pql.Call("label_join", e, pql.Str(dst), pql.Str(""), pql.Str(src))
	}
	if route {
		e = copyLabel(e, series.AlertLabelRoute, u.Tag)
	}
	e = copyLabel(e, series.AlertLabelNamespace, series.LabelWorkloadNamespace)
	return copyLabel(e, series.AlertLabelWorkload, series.LabelWorkload)
}

func (u *unit) annotations(c *compiled, perRoute bool, summary, description string) map[string]string {
	a := map[string]string{"summary": summary, "description": description}
	if link := c.dashboardLink(u, perRoute); link != "" {
		a["dashboard"] = link
	}
	return a
}

// objects names the route sets' objects for descriptions.
func (u *unit) objects() string {
	names := make([]string, 0, len(u.Sets))
	for _, rs := range u.Sets {
		names = append(names, setObject(rs).String())
	}
	return strings.Join(names, ", ")
}

// dashboardLink is the alert's link into Grafana: the dashboard the bundle
// builder names for the unit's first route set, with the namespace, workload
// and (for route alerts) route variables taken from the alert's labels.
func (c *compiled) dashboardLink(u *unit, perRoute bool) string {
	if c.grafanaURL == "" || c.DashboardUID == nil {
		return ""
	}
	uid := c.DashboardUID(u.Sets[0])
	if uid == "" {
		return ""
	}
	link := c.grafanaURL + "/d/" + url.PathEscape(uid) +
		"?var-namespace={{ $labels." + series.LabelWorkloadNamespace + " | urlquery }}" +
		"&var-workload={{ $labels." + series.LabelWorkload + " | urlquery }}"
	if perRoute {
		link += "&var-route={{ index $labels " + strconv.Quote(u.Tag) + " | urlquery }}"
	}
	return link
}

// literal makes s template text that renders as s.
func literal(s string) string {
	if !strings.Contains(s, "{{") && !strings.Contains(s, "}}") {
		return s
	}
	// A Go string literal is a template string constant.
	return "{{ " + strconv.Quote(s) + " }}"
}

func minRateNote(p policy.Policy) string {
	if p.MinRequestRate <= 0 {
		return ""
	}
	return fmt.Sprintf(" (routes serving under %s requests/s do not alert)", formatFloat(p.MinRequestRate))
}

func percent(f float64) string { return formatFloat(round12(f*100)) + "%" }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
