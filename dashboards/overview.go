package dashboards

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/routebundle/routebundle/series"
)

// overviewViews returns one view per route tag in use, sorted by tag: route
// sets that write different tags cannot share a query.
func overviewViews(groups []*group, pol viewPolicy) []*view {
	byTag := map[string]*view{}
	for _, g := range groups {
		v := byTag[g.scope.tag]
		if v == nil {
			v = &view{
				uid:             OverviewUID,
				tag:             g.scope.tag,
				chooseNamespace: true,
				namespace:       reVar(series.LabelWorkloadNamespace, VarNamespace),
				workload:        reVar(series.LabelWorkload, VarWorkload),
				// A textbox regex: Grafana escapes \ for double quotes.
				route:   reVar(g.scope.tag, VarRoute),
				by:      []string{series.LabelWorkloadNamespace, series.LabelWorkload, g.scope.tag},
				shareOn: []string{series.LabelWorkloadNamespace, series.LabelWorkload},
				policy:  pol,
			}
			byTag[g.scope.tag] = v
		}
		v.latency = v.latency || g.latency
		for _, rs := range g.sets {
			v.attribute = cmp.Or(v.attribute, rs.Attribute)
		}
	}
	views := make([]*view, 0, len(byTag))
	for _, tag := range slices.Sorted(maps.Keys(byTag)) {
		views = append(views, byTag[tag])
	}
	return views
}

// overviewSections: per tag, the summary, the table of every route and the
// top routes; then the classification gaps of every workload.
func overviewSections(views []*view) []section {
	var sections []section
	for _, v := range views {
		title := "Routes"
		if len(views) > 1 {
			title += " (tag " + v.tag + ")"
		}
		stats := []*stat.PanelBuilder{totalRateStat(v), errorRatioStat(v)}
		if v.latency {
			stats = append(stats, p99Stat(v))
		}
		stats = append(stats, routeCountStat(v))
		table := linkColumn(routesTable(v), colNamespace, "Route dashboards of this namespace",
			"/dashboards?query=${__value.raw:percentencode}")
		panels := append(spread(stats), table,
			topRoutes(v, "Top routes by request rate", "Requests per second.", units.RequestsPerSecond,
				sumBy(v.routed(series.RequestsRate5m), v.by...)),
			topRoutes(v, "Top routes by error ratio", "Share of requests that are errors.", units.PercentUnit,
				v.errorRatioBy(v.by...)))
		if v.latency {
			panels = append(panels, topRoutes(v, "Top routes by p99 latency",
				"99th percentile of the request duration.", units.Milliseconds, v.quantileBy("0.99", v.by...)).
				Span(gridWidth))
		}
		sections = append(sections, section{title: title, panels: panels})
	}
	all := *views[0]
	all.anyTag = true
	for _, v := range views[1:] {
		all.attribute = cmp.Or(all.attribute, v.attribute)
	}
	sections = append(sections, section{title: "Classification", panels: []cog.Builder[dashboard.Panel]{
		unknownShareStat(&all).Span(gridWidth / 4).Height(graphHeight),
		unknownShareByWorkload(&all).Span(gridWidth * 3 / 4),
	}})
	return sections
}

func overviewVariables(opts Options) []cog.Builder[dashboard.VariableModel] {
	return []cog.Builder[dashboard.VariableModel]{
		datasourceVariable(opts.Datasource),
		multiVariable(VarNamespace, "Namespace",
			labelValues(series.RequestsRate5m, series.LabelWorkloadNamespace), ".+"),
		multiVariable(VarWorkload, "Workload", labelValues(
			sel(series.RequestsRate5m, reVar(series.LabelWorkloadNamespace, VarNamespace)), series.LabelWorkload), ".+"),
		dashboard.NewTextBoxVariableBuilder(VarRoute).
			Label("Route (regex)").
			Description("A regular expression the route must match fully, e.g. GET /api/.*").
			DefaultValue(dashboard.StringOrMap{String: cog.ToPtr(".+")}),
	}
}

// overviewDashboard lists every route of the mesh; groups must not be empty.
func overviewDashboard(groups []*group, opts Options) (dashboard.Dashboard, error) {
	views := overviewViews(groups, defaultViewPolicy(opts.Policy))
	sets := 0
	for _, g := range groups {
		sets += len(g.sets)
	}
	title := "Routes overview"
	if opts.TitlePrefix != "" {
		title = opts.TitlePrefix + " overview"
	}
	desc := fmt.Sprintf("Every route of the mesh: %d route set(s) in %d workload dashboard(s), "+
		"listed under the \"Route dashboards\" link. %s", sets, len(groups), GeneratedMarker)
	b := base(OverviewUID, title, desc, opts).Variables(overviewVariables(opts))
	return assemble(b, overviewSections(views))
}
