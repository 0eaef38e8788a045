package dashboards

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

// viewPolicy is what the panels of one dashboard show of the alerting
// policy: set-wide thresholds as lines, and the routes that have an SLO.
type viewPolicy struct {
	errorRatio   float64
	latencyP99Ms float64
	unknownRatio float64
	// objectives groups the routes with an SLO by objective, ascending.
	objectives []objective
}

// objective is the routes of a dashboard that share one SLO objective:
// one query serves them all.
type objective struct {
	value  float64
	routes []string
}

func defaultViewPolicy(d policy.Defaults) viewPolicy {
	return viewPolicy{errorRatio: d.ErrorRatio, latencyP99Ms: d.LatencyP99Ms, unknownRatio: d.UnknownRatio}
}

// resolvePolicy resolves the annotations of every set of g. Thresholds are
// the first set's set-wide ones (per-route overrides are not drawn);
// objectives are per route, the first set to name a route wins. Resolve's
// diagnostics are not returned: the rules report the same ones.
func resolvePolicy(g *group, d policy.Defaults) viewPolicy {
	var vp viewPolicy
	byValue := map[float64][]string{}
	seen := map[string]bool{}
	for i, rs := range g.sets {
		sp, _ := policy.Resolve(rs, d)
		if i == 0 {
			vp = defaultViewPolicy(sp.Set)
		}
		for _, r := range rs.RouteValues() {
			if seen[r] {
				continue
			}
			seen[r] = true
			if o := sp.Route(r).Objective; o > 0 && o < 1 {
				byValue[o] = append(byValue[o], r)
			}
		}
	}
	for o, routes := range byValue {
		vp.objectives = append(vp.objectives, objective{value: o, routes: routes})
	}
	slices.SortFunc(vp.objectives, func(a, b objective) int { return cmp.Compare(a.value, b.value) })
	return vp
}

// Burn-rate factors of the multi-window multi-burn-rate alerts: the page
// fires at 14.4× (2% of a 30-day budget in 1h) or 6× (5% in 6h), the
// ticket at 3× and 1×.
const (
	burnPageFast = 14.4
	burnPageSlow = 6.0
	burnTicket   = 1.0
)

func sloPanels(v *view) []cog.Builder[dashboard.Panel] {
	if len(v.policy.objectives) == 0 {
		return nil
	}
	return []cog.Builder[dashboard.Panel]{errorBudgetLeft(v), burnRate(v)}
}

// budgetRatio is the error ratio of the objective's routes over window,
// divided by the error budget (1 - objective): 1 means the budget is spent
// exactly at that pace. It reads the long-window rates the rules record for
// route sets with an objective, and divides summed rates so that busy
// workloads weigh more than quiet ones.
func budgetRatio(v *view, o objective, window series.Window) string {
	only := reLit(v.tag, o.routes)
	return "(" + ratioOf(sumBy(v.routed(series.ErrorsRate(window), only), v.by...),
		sumBy(v.routed(series.RequestsRate(window), only), v.by...)) + ") / (1 - " + formatObjective(o.value) + ")"
}

func formatObjective(o float64) string { return strconv.FormatFloat(o, 'g', -1, 64) }

func objectivesText(objs []objective) string {
	parts := make([]string, len(objs))
	for i, o := range objs {
		parts[i] = fmt.Sprintf("%s%% for %d route(s)", strconv.FormatFloat(o.value*100, 'g', -1, 64), len(o.routes))
	}
	return strings.Join(parts, ", ")
}

func errorBudgetLeft(v *view) *stat.PanelBuilder {
	p := single("Error budget left", "Share of each route's 30-day error budget that is left: "+
		"1 − (error ratio over 30 days) ÷ (1 − objective). 100% is untouched, 0 is spent, below 0 "+
		"overspent. Objectives: "+objectivesText(v.policy.objectives)+".", units.PercentUnit).
		Span(gridWidth / 2).
		Height(graphHeight).
		TextMode(common.BigValueTextModeValueAndName).
		GraphMode(common.BigValueGraphModeNone).
		Thresholds(thresholds(step(nil, colorBad), step(cog.ToPtr(0.0), colorWarn), step(cog.ToPtr(0.25), colorOK)))
	for i, o := range v.policy.objectives {
		p = p.WithTarget(instantQuery(refID(i), "1 - "+budgetRatio(v, o, series.Window30d), legend(v.by...)))
	}
	return p
}

func burnRate(v *view) *timeseries.PanelBuilder {
	p := withLimits(graph("Burn rate (1h)", fmt.Sprintf("How fast each route spends its error budget, "+
		"over the last hour: 1 spends it exactly in 30 days. The burn-rate alerts page at %g× "+
		"(over 1h and 5m) or %g× (over 6h and 30m). Objectives: %s.", burnPageFast, burnPageSlow,
		objectivesText(v.policy.objectives)), units.Short),
		step(nil, colorOK), step(cog.ToPtr(float64(burnTicket)), colorWarn),
		step(cog.ToPtr(float64(burnPageSlow)), colorBad), step(cog.ToPtr(burnPageFast), colorBad))
	for i, o := range v.policy.objectives {
		p = p.WithTarget(rangeQuery(refID(i), budgetRatio(v, o, series.Window1h), legend(v.by...)))
	}
	return p
}

// refID names the i-th query of a panel: A..Z, then A1.. (Grafana only
// needs them unique within the panel).
func refID(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return string(rune('A'+i%26)) + strconv.Itoa(i/26)
}
