package rules

import (
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/series"
)

// shortWindow is the window every rate is taken over from the raw series.
const shortWindow = series.Window5m

func duration(w series.Window) time.Duration {
	d, err := model.ParseDuration(string(w))
	if err != nil {
		// The windows are constants of package series; a test parses them all.
		return 0
	}
	return time.Duration(d)
}

// record makes a recording rule of the unit; its series are labelled with
// the route tag's name (see recorded).
func (u *unit) record(name string, e parser.Expr, lbls ...string) rulefmt.Rule {
	m := map[string]string{series.LabelRouteTag: u.Tag}
	for i := 0; i+1 < len(lbls); i += 2 {
		m[lbls[i]] = lbls[i+1]
	}
	return rulefmt.Rule{Record: name, Expr: e.String(), Labels: m}
}

// recordingRules are the fixed 5m rules of a unit: request, error and ratio
// per route, latency when the tag is on REQUEST_DURATION, requests by
// response code, and the share of unknown traffic per workload. Every rule aggregates by the route tag, so
// their number does not grow with the routes.
func recordingRules(u *unit, c *compiled) []rulefmt.Rule {
	rate := func(metric string, extra ...*labels.Matcher) parser.Expr {
		return u.rawRate(metric, shortWindow, extra...)
	}
	requests := u.recorded(series.RequestsRate5m)
	out := []rulefmt.Rule{
		u.record(series.RequestsRate5m, rate(series.IstioRequestsTotal)),
		// A route without errors records 0, not nothing: the long windows
		// average this series, and gaps would bias them upwards.
		u.record(series.ErrorsRate5m, or(rate(series.IstioRequestsTotal, c.errorMatchers...), pql.Scale(0, requests), u.by()...)),
		u.record(series.ErrorRatio5m, ratio(u.recorded(series.ErrorsRate5m), requests)),
	}
	if u.latency {
		out = append(out, latencyRules(u)...)
	}
	return append(out, responsesRule(u), unknownShareRule(u))
}

// ratio divides errors by requests where there were requests; a route
// without traffic has no ratio rather than NaN.
func ratio(errors, requests parser.Expr) parser.Expr {
	return pql.Binary(parser.DIV, errors, compare(parser.GTR, requests, 0))
}

func latencyRules(u *unit) []rulefmt.Rule {
	buckets := sumBy(
		pql.RangeCall("rate", u.raw(series.IstioRequestDurationBucket), duration(shortWindow)),
		append(u.by(), series.LabelLE)...)
	out := []rulefmt.Rule{u.record(series.DurationBucketRate5m, buckets)}
	for _, q := range series.Quantiles() {
		e := pql.Call("histogram_quantile", pql.Number(quantileValue(q)), u.recorded(series.DurationBucketRate5m))
		out = append(out, u.record(series.DurationQuantile5m, e, series.LabelQuantile, q))
	}
	return out
}

// unknownShareRule records, per workload, the share of requests whose
// route tag is "unknown": 0 when every request was classified.
func unknownShareRule(u *unit) rulefmt.Rule {
	perWorkload := []string{series.LabelWorkloadNamespace, series.LabelWorkload}
	all := sumBy(u.recorded(series.RequestsRate5m), perWorkload...)
	unknown := sumBy(u.recorded(series.RequestsRate5m, pql.Eq(u.Tag, series.UnknownRoute)), perWorkload...)
	e := pql.Binary(parser.DIV, or(unknown, pql.Scale(0, all)), compare(parser.GTR, all, 0))
	return u.record(series.UnknownRatio5m, e)
}

// quantileValue reads a quantile label value of package series ("0.99").
func quantileValue(q string) float64 {
	f, err := strconv.ParseFloat(q, 64)
	if err != nil {
		return 0 // constants of package series; a test parses them all
	}
	return f
}
