package dashboards

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

func newWorkloadView(g *group, route matcher, pol viewPolicy) *view {
	v := &view{
		uid:             g.scope.uid(),
		tag:             g.scope.tag,
		latency:         g.latency,
		chooseNamespace: g.scope.kind == inventory.ScopeMesh || sourceView(g),
		namespace:       reVar(series.LabelWorkloadNamespace, VarNamespace),
		workload:        reVar(series.LabelWorkload, VarWorkload),
		route:           route,
		by:              []string{g.scope.tag},
		shareOn:         []string{},
		policy:          pol,
		source:          sourceView(g),
		routeRows:       routeRows(g),
	}
	for _, rs := range g.sets {
		v.attribute = cmp.Or(v.attribute, rs.Attribute)
	}
	return v
}

// workloadSections lists the rows and panels of a workload dashboard.
func workloadSections(v *view) []section {
	stats := []*stat.PanelBuilder{totalRateStat(v), errorRatioStat(v)}
	if v.latency {
		stats = append(stats, p99Stat(v))
	}
	stats = append(stats, unknownShareStat(v))

	table := withRouteMappings(linkColumn(routesTable(v), colRoute, "Focus on this route", v.focusRouteURL()), v.routeRows)
	traffic := []cog.Builder[dashboard.Panel]{
		table, requestRateByRoute(v), errorRatioByRoute(v), responseCodesByRoute(v).Span(gridWidth),
	}
	if len(v.routeRows) > 0 {
		traffic = append(traffic, routeLegend(v))
	}
	sections := []section{
		{title: "Summary", panels: spread(stats)},
		{title: "Traffic by route", panels: traffic},
	}
	if v.latency {
		sections = append(sections, section{title: "Latency by route", panels: []cog.Builder[dashboard.Panel]{
			latencyByRoute(v, "0.5", "p50"), latencyByRoute(v, "0.9", "p90"), latencyByRoute(v, "0.99", "p99"),
		}})
	}
	if slo := sloPanels(v); len(slo) > 0 {
		sections = append(sections, section{title: "SLO", panels: slo})
	}
	sections = append(sections, section{title: "Classification", panels: []cog.Builder[dashboard.Panel]{
		unknownShareByWorkload(v), untaggedRequests(v),
	}})
	return sections
}

// workloadVariables: the namespace is fixed (a hidden constant) unless the
// route set is mesh-wide; workload and route are chosen from the recorded series.
func workloadVariables(v *view, g *group, opts Options) []cog.Builder[dashboard.VariableModel] {
	vars := []cog.Builder[dashboard.VariableModel]{datasourceVariable(opts.Datasource)}
	if v.chooseNamespace {
		vars = append(vars, multiVariable(VarNamespace, "Namespace",
			labelValues(sel(series.RequestsRate5m, neLit(v.tag, "")), series.LabelWorkloadNamespace), ".+"))
	} else {
		vars = append(vars, constantVariable(VarNamespace, g.scope.namespace))
	}
	return append(vars,
		multiVariable(VarWorkload, "Workload", labelValues(
			sel(series.RequestsRate5m, v.namespace, neLit(v.tag, "")), series.LabelWorkload), ".+"),
		multiVariable(VarRoute, "Route", labelValues(
			sel(series.RequestsRate5m, v.namespace, v.workload, neLit(v.tag, "")), v.tag), ".+"),
	)
}

func workloadTitle(g *group, opts Options) string {
	if opts.TitlePrefix == "" {
		return g.name
	}
	return opts.TitlePrefix + " / " + g.name
}

func workloadDescription(g *group) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Per-route traffic of %s, route tag %s.", g.scope.where(), g.scope.tag)
	for _, rs := range g.sets {
		b.WriteString(" Classified by ")
		if rs.Plugin != (diag.ObjectRef{}) {
			fmt.Fprintf(&b, "%s and ", rs.Plugin)
		}
		fmt.Fprintf(&b, "%s.", rs.Telemetry)
	}
	b.WriteString(" " + GeneratedMarker)
	return b.String()
}

// workloadDashboard assembles the dashboard of one group.
func workloadDashboard(g *group, v *view, opts Options) (dashboard.Dashboard, error) {
	b := base(v.uid, workloadTitle(g, opts), workloadDescription(g), opts).
		Variables(workloadVariables(v, g, opts)).
		Link(dashboard.NewDashboardLinkBuilder("Routes overview").
			Type(dashboard.DashboardLinkTypeLink).
			Url(URLPath(OverviewUID, nil)).
			Icon("dashboard").
			Tooltip("Every route of the mesh").
			KeepTime(true).
			IncludeVars(true))
	return assemble(b, workloadSections(v))
}
