package rules

import (
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/series"
)

// The long windows cost a fixed number of samples per cycle, whatever their
// length, and equal rate() over the raw counters within 1%:
//
//   - Up to 6h the windows are rate() over the raw series, like the 5m
//     rates: exact by definition, and a few hundred samples per series.
//   - 1d, 3d and 30d are chained from the next shorter recorded window S:
//     the mean of the W/S recorded S-rates at now, now-S, now-2S, ... (one
//     `offset` selector each). Those blocks do not overlap and cover
//     (now-W, now] exactly, so their mean is the rate over W; a block missing
//     because the route is younger counts as 0, as rate() counts nothing
//     before a series starts. Each block is one sample per route: 30d reads
//     10 samples of the 3d series where an average of the 5m series reads
//     43,200, and 3d reads 3 of the 1d series.
//   - Chaining starts at 1d because rate() extrapolates each block over the
//     scrape gap at its start from the block's own average: a burst that
//     straddles a block boundary is misjudged by (burst - average) x gap.
//     With a 10x burst and one-minute scrapes that is 4% of a 2h window
//     chained from 1h blocks and 1.8% of a 6h one from 2h blocks, but under
//     0.6% of 1d from 6h blocks (a test measures all three).
//   - A subquery (avg_over_time(x[W:S])) would read the same points, but its
//     steps are aligned to multiples of S since the epoch, not to now: the
//     window would end up to S in the past and miss a fresh burst. It also
//     decodes every chunk of the inner series in the range.
//   - Ratios are never averaged, which would weigh a quiet hour like a busy
//     one (Sloth's 30d ratio averages its 5m ratios): each window's ratio
//     divides its own error and request rates.
//   - Windows of 2h and longer are evaluated in groups of their own at a
//     slower interval (Options.LongInterval, Options.PeriodInterval; 2m by
//     default): 2m is under 2% of the shortest of them, and the alerts that
//     read them pair each with a shorter window evaluated every cycle. 30d
//     serves the error budget, not an alert.
//   - A block is found by Prometheus' lookback of 5m: an outage of the
//     rule evaluation longer than that leaves its blocks out of the windows
//     that read them, until they have passed.

// sloWindow is how one long window is recorded.
type sloWindow struct {
	w series.Window
	// from is the recorded window it is chained from; "" reads the raw series.
	from series.Window
	// group is the suffix of the rule group that records it.
	group string
}

// sloWindows are the windows recorded for routes with an objective, in
// evaluation order: each after the one it is chained from.
func sloWindows() []sloWindow {
	return []sloWindow{
		{w: series.Window30m, group: groupSLO},
		{w: series.Window1h, group: groupSLO},
		{w: series.Window2h, group: groupLong},
		{w: series.Window6h, group: groupLong},
		{w: series.Window1d, from: series.Window6h, group: groupLong},
		{w: series.Window3d, from: series.Window1d, group: groupLong},
		{w: series.Window30d, from: series.Window3d, group: groupPeriod},
	}
}

// derivedWindows are the windows longer than 5m that the rules record.
func derivedWindows() []series.Window {
	out := make([]series.Window, 0, len(sloWindows()))
	for _, sw := range sloWindows() {
		out = append(out, sw.w)
	}
	return out
}

// blocks is the number of `from` windows that make up the window.
func (sw sloWindow) blocks() int {
	if sw.from == "" {
		return 1
	}
	return int(duration(sw.w) / duration(sw.from))
}

// blockLabel keeps the blocks of a chained window apart until they are summed.
const blockLabel = "routebundle_block"

// sloRules record the windows of the group with the given suffix.
func sloRules(u *unit, c *compiled, group string) []rulefmt.Rule {
	var out []rulefmt.Rule
	for _, sw := range sloWindows() {
		if sw.group == group {
			out = append(out, u.windowRules(sw, c)...)
		}
	}
	return out
}

// windowRules are the request rate, error rate and error ratio over one window.
func (u *unit) windowRules(sw sloWindow, c *compiled) []rulefmt.Rule {
	var requests, errors parser.Expr
	if sw.from == "" {
		requests = u.rawRate(series.IstioRequestsTotal, sw.w)
		// A route without errors records 0, not nothing, like the 5m rate.
		errors = or(u.rawRate(series.IstioRequestsTotal, sw.w, c.errorMatchers...),
			scale(0, u.recorded(series.RequestsRate(sw.w))), u.by()...)
	} else {
		requests = u.chained(series.RequestsRate(sw.from), sw.from, sw.blocks())
		errors = u.chained(series.ErrorsRate(sw.from), sw.from, sw.blocks())
	}
	return []rulefmt.Rule{
		u.record(series.RequestsRate(sw.w), requests),
		u.record(series.ErrorsRate(sw.w), errors),
		u.record(series.ErrorRatio(sw.w), ratio(u.recorded(series.ErrorsRate(sw.w)), u.recorded(series.RequestsRate(sw.w)))),
	}
}

// rawRate is the per-route rate of an Istio counter over w.
func (u *unit) rawRate(metric string, w series.Window, extra ...*labels.Matcher) parser.Expr {
	return sumBy(rangeCall("rate", u.raw(metric, extra...), duration(w)), u.by()...)
}

// chained is the mean of n consecutive blocks of the recorded rate name over
// window from, the newest ending now: the rate over n*from. Each older block
// gets a label of its own so that `or` keeps it beside the others, and the
// sum drops it again; a block the route has no sample for adds nothing.
func (u *unit) chained(name string, from series.Window, n int) parser.Expr {
	var union parser.Expr = u.recorded(name)
	for k := 1; k < n; k++ {
		block := u.recorded(name)
		block.OriginalOffset = time.Duration(k) * duration(from)
		// `or` is left-associative: the chain needs no parentheses.
		union = &parser.BinaryExpr{
			Op: parser.LOR, LHS: union, RHS: call("label_replace", block,
				str(blockLabel), str(strconv.Itoa(k)), str(series.LabelRouteTag), str(".*")),
			VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany},
		}
	}
	return &parser.BinaryExpr{Op: parser.DIV, LHS: sumBy(union, u.by()...), RHS: number(float64(n))}
}

func str(s string) *parser.StringLiteral { return &parser.StringLiteral{Val: s} }
