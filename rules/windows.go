package rules

import (
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/internal/pql"
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
const blockLabel = series.LabelBlock

// maxBlocksPerRule is the most blocks of a chained window one rule reads.
// A rule's query opens every TSDB block between its oldest and its newest
// selector, and each selector decodes the index entry (labels and chunk
// list) of each of its series in every one of them, whether its own offset
// falls there or not: the ten offsets of 30d, 3d apart, would cost ten
// selectors times the eleven blocks of 30 days. The older blocks are summed
// in runs of their own instead (series.Blocks), each rule spanning only
// the TSDB blocks of its run, and the window's rule adds those sums, read
// where they were just written, to its newest blocks.
const maxBlocksPerRule = 4

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

// run is the blocks [first, end) of a chained window, 0 the newest.
type run struct{ first, end int }

// runs splits the window's blocks into runs of at most maxBlocksPerRule,
// as even as possible, newest first.
func (sw sloWindow) runs() []run {
	n := sw.blocks()
	count := (n + maxBlocksPerRule - 1) / maxBlocksPerRule
	out := make([]run, 0, count)
	for i, first := 0, 0; i < count; i++ {
		size := (n - first + count - i - 1) / (count - i)
		out = append(out, run{first: first, end: first + size})
		first += size
	}
	return out
}

// windowRules are the request rate, error rate and error ratio over one
// window, after the sums of the older blocks of a chained one.
func (u *unit) windowRules(sw sloWindow, c *compiled) []rulefmt.Rule {
	var out []rulefmt.Rule
	var requests, errors parser.Expr
	if sw.from == "" {
		requests = u.rawRate(series.IstioRequestsTotal, sw.w)
		// A route without errors records 0, not nothing, like the 5m rate.
		errors = or(u.rawRate(series.IstioRequestsTotal, sw.w, c.errorMatchers...),
			pql.Scale(0, u.recorded(series.RequestsRate(sw.w))), u.by()...)
	} else {
		runs := sw.runs()
		for _, r := range runs[1:] {
			for _, name := range []string{series.RequestsRate(sw.w), series.ErrorsRate(sw.w)} {
				out = append(out, u.record(series.Blocks(name),
					sumBy(u.blocks(fromName(name, sw), sw.from, r), u.by()...), blockLabel, strconv.Itoa(r.first)))
			}
		}
		requests = u.chained(series.RequestsRate(sw.w), sw, runs)
		errors = u.chained(series.ErrorsRate(sw.w), sw, runs)
	}
	return append(out,
		u.record(series.RequestsRate(sw.w), requests),
		u.record(series.ErrorsRate(sw.w), errors),
		u.record(series.ErrorRatio(sw.w), ratio(u.recorded(series.ErrorsRate(sw.w)), u.recorded(series.RequestsRate(sw.w)))),
	)
}

// fromName is the series of the window sw is chained from that corresponds
// to name, a series of sw.
func fromName(name string, sw sloWindow) string {
	if name == series.ErrorsRate(sw.w) {
		return series.ErrorsRate(sw.from)
	}
	return series.RequestsRate(sw.from)
}

// rawRate is the per-route rate of an Istio counter over w.
func (u *unit) rawRate(metric string, w series.Window, extra ...*labels.Matcher) parser.Expr {
	return sumBy(pql.RangeCall("rate", u.raw(metric, extra...), duration(w)), u.by()...)
}

// chained is the rate name over the window sw: the mean of its blocks, the
// newest run read from the recorded rate of sw.from, the older runs from
// their sums (series.Blocks). A block the route has no sample for adds
// nothing.
func (u *unit) chained(name string, sw sloWindow, runs []run) parser.Expr {
	union := u.blocks(fromName(name, sw), sw.from, runs[0])
	if len(runs) > 1 {
		// Each sum carries the first block of its run in blockLabel, apart
		// from the blocks of the newest run.
		union = &parser.BinaryExpr{
			Op: parser.LOR, LHS: union, RHS: u.recorded(series.Blocks(name)),
			VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany},
		}
	}
	return &parser.BinaryExpr{Op: parser.DIV, LHS: sumBy(union, u.by()...), RHS: pql.Number(float64(sw.blocks()))}
}

// blocks is the union of the blocks of run r of the recorded rate name over
// window from, block k ending k*from ago. Every block but the run's first
// gets its index in blockLabel so that `or` keeps it beside the others; the
// sum over the union drops the label again.
func (u *unit) blocks(name string, from series.Window, r run) parser.Expr {
	at := func(k int) *parser.VectorSelector {
		v := u.recorded(name)
		v.OriginalOffset = time.Duration(k) * duration(from)
		return v
	}
	var union parser.Expr = at(r.first)
	for k := r.first + 1; k < r.end; k++ {
		// `or` is left-associative: the chain needs no parentheses.
		union = &parser.BinaryExpr{
			Op: parser.LOR, LHS: union, RHS: pql.Call("label_replace", at(k),
				pql.Str(blockLabel), pql.Str(strconv.Itoa(k)), pql.Str(series.LabelRouteTag), pql.Str(".*")),
			VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany},
		}
	}
	return union
}
