package dashboards

// One function per panel. Each takes the view (what the dashboard filters
// on) and returns a sized panel builder; ids and positions are assigned by
// assemble.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/routebundle/routebundle/series"
)

func totalRateStat(v *view) *stat.PanelBuilder {
	return single("Requests", "Requests per second to the selected workloads and routes, "+
		"from the recorded series "+series.RequestsRate5m+" (server-side view).", units.RequestsPerSecond).
		WithTarget(instantQuery("A", sumBy(v.routed(series.RequestsRate5m)), "requests"))
}

func errorRatioStat(v *view) *stat.PanelBuilder {
	return single("Error ratio", "Share of the selected requests that are errors "+
		"(as the recording rules define errors), over 5m.", units.PercentUnit).
		Thresholds(thresholds(step(nil, colorOK), step(cog.ToPtr(v.policy.errorRatio), colorBad))).
		WithTarget(instantQuery("A", v.errorRatioBy(), "error ratio"))
}

func p99Stat(v *view) *stat.PanelBuilder {
	return single("p99 latency", "99th percentile of the request duration over the selected "+
		"workloads and routes, from the recorded bucket rates.", units.Milliseconds).
		Thresholds(thresholds(step(nil, colorOK), step(cog.ToPtr(v.policy.latencyP99Ms), colorBad))).
		WithTarget(instantQuery("A", v.quantileBy("0.99"), "p99"))
}

func unknownShareStat(v *view) *stat.PanelBuilder {
	return single("Unknown route share", "Highest share of requests, among the selected workloads, "+
		"whose route tag is \""+series.UnknownRoute+"\". "+v.unknownHint(), units.PercentUnit).
		Thresholds(thresholds(step(nil, colorOK), step(cog.ToPtr(v.policy.unknownRatio), colorBad))).
		WithTarget(instantQuery("A", "max("+v.unknownSel()+")", "unknown"))
}

func routeCountStat(v *view) *stat.PanelBuilder {
	return single("Routes with traffic", "Number of routes (per workload) that served requests "+
		"in the last 5m.", units.Short).
		WithTarget(instantQuery("A", "count("+sumBy(v.routed(series.RequestsRate5m), v.by...)+" > 0)", "routes"))
}

func requestRateByRoute(v *view) *timeseries.PanelBuilder {
	return graph("Request rate by route", "Requests per second of each route, summed over the "+
		"selected workloads.", units.RequestsPerSecond).
		WithTarget(rangeQuery("A", sumBy(v.routed(series.RequestsRate5m), v.by...), legend(v.by...)))
}

func errorRatioByRoute(v *view) *timeseries.PanelBuilder {
	return withLimits(graph("Error ratio by route", fmt.Sprintf("Share of each route's requests "+
		"that are errors. The dashed line is the error-ratio alert threshold (%g).", v.policy.errorRatio),
		units.PercentUnit), step(nil, colorOK), step(cog.ToPtr(v.policy.errorRatio), colorBad)).
		WithTarget(rangeQuery("A", v.errorRatioBy(v.by...), legend(v.by...)))
}

func responseCodesByRoute(v *view) *timeseries.PanelBuilder {
	by := append(slices.Clip(v.by), series.LabelResponseCode)
	return graph("Response codes by route", "Requests per second of each route split by HTTP "+
		"response code, stacked.", units.RequestsPerSecond).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		FillOpacity(40).
		WithTarget(rangeQuery("A", sumBy(v.routed(series.ResponsesRate5m), by...), legend(by...)))
}

func latencyByRoute(v *view, quantile, name string) *timeseries.PanelBuilder {
	p := graph(name+" latency by route", "The "+name+" request duration of each route, from the "+
		"recorded bucket rates summed over the selected workloads.", units.Milliseconds).
		Span(gridWidth / 3).
		WithTarget(rangeQuery("A", v.quantileBy(quantile, v.by...), legend(v.by...)))
	if quantile == "0.99" {
		p = withLimits(p, step(nil, colorOK), step(cog.ToPtr(v.policy.latencyP99Ms), colorBad))
	}
	return p
}

// topRoutes draws the ten routes with the highest value of expr.
func topRoutes(v *view, title, description, unit, expr string) *timeseries.PanelBuilder {
	return graph(title, description+" Ten routes at each point in time.", unit).
		WithTarget(rangeQuery("A", "topk(10, "+expr+")", legend(v.by...)))
}

// Table columns, as renamed by the organize transformation.
const (
	colRoute     = "Route"
	colNamespace = "Namespace"
	colWorkload  = "Workload"
	colRate      = "Requests/s"
	colErrors    = "Errors"
	colP99       = "p99"
	colShare     = "Share"
)

func routesTable(v *view) *table.PanelBuilder {
	p := grid("Routes", "Every route with traffic now: request rate, error ratio"+
		v.ifLatency(", p99 latency", "")+" and its share of its workloads' requests.").
		WithTarget(tableQuery("A", sumBy(v.routed(series.RequestsRate5m), v.by...))).
		WithTarget(tableQuery("B", v.errorRatioBy(v.by...)))
	var cols []column
	if v.chooseNamespace {
		cols = append(cols, column{field: series.LabelWorkloadNamespace, title: colNamespace})
	}
	if len(v.by) > 1 {
		cols = append(cols, column{field: series.LabelWorkload, title: colWorkload})
	}
	cols = append(cols, column{v.tag, colRoute, ""}, column{"Value #A", colRate, units.RequestsPerSecond},
		column{"Value #B", colErrors, units.PercentUnit})
	if v.latency {
		p = p.WithTarget(tableQuery("C", v.quantileBy("0.99", v.by...)))
		cols = append(cols, column{"Value #C", colP99, units.Milliseconds})
	}
	p = p.WithTarget(tableQuery("D", v.share()))
	cols = append(cols, column{"Value #D", colShare, units.PercentUnit})
	return tableColumns(p, cols).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName(colRate).Desc(true),
		})
}

func unknownShareByWorkload(v *view) *timeseries.PanelBuilder {
	return withLimits(graph("Unknown route share by workload", "Share of each workload's requests "+
		"whose route tag is \""+series.UnknownRoute+"\". "+v.unknownHint(), units.PercentUnit),
		step(nil, colorOK), step(cog.ToPtr(v.policy.unknownRatio), colorBad)).
		Max(1).
		WithTarget(rangeQuery("A", "max by ("+strings.Join(v.unknownBy(), ", ")+") ("+v.unknownSel()+")",
			legend(v.unknownBy()...)))
}

func untaggedRequests(v *view) *timeseries.PanelBuilder {
	return graph("Requests without the route tag", "Server-side requests to the selected "+
		"workloads that carry no "+v.tag+" label at all, by reporter, from the raw "+
		series.IstioRequestsTotal+". Anything here was served by a proxy the Telemetry does not "+
		"reach (a sidecar where a waypoint is targeted, or the reverse), or the tag is written "+
		"under another name.", units.RequestsPerSecond).
		WithTarget(rangeQuery("A", sumBy("rate("+sel(series.IstioRequestsTotal,
			v.reporterMatcher(),
			v.namespace, v.workload, eqLit(v.tag, ""))+"[$__rate_interval])",
			series.LabelWorkload, series.LabelReporter),
			legend(series.LabelWorkload, series.LabelReporter)))
}

// column is one table column: the field the query returns, its title and unit.
type column struct{ field, title, unit string }

// tableColumns merges the instant queries of a table into one row per label
// set and names, orders and formats the columns.
func tableColumns(p *table.PanelBuilder, cols []column) *table.PanelBuilder {
	rename := make(map[string]any, len(cols))
	index := make(map[string]any, len(cols))
	for i, c := range cols {
		rename[c.field] = c.title
		index[c.field] = i
	}
	p = p.WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName":  rename,
			"indexByName":   index,
		}})
	for _, c := range cols {
		if c.unit != "" {
			p = p.OverrideByName(c.title, unitOverride(c.unit))
		}
	}
	return p
}

// linkColumn adds a data link to the cells of one column.
func linkColumn(p *table.PanelBuilder, col, title, url string) *table.PanelBuilder {
	return p.OverrideByName(col, []dashboard.DynamicConfigValue{{Id: "links", Value: []any{
		map[string]any{"title": title, "url": url},
	}}})
}
