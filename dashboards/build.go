// Package dashboards builds Grafana dashboards for per-route Istio metrics
// with the Grafana Foundation SDK: one dashboard per route set scope (a
// waypoint, service, workload selector, namespace or the mesh, and the
// route tag), and a mesh-wide routes overview linking to them. Queries read
// the recorded series named in package series; the generator is pure.
package dashboards

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/parallel"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// Diagnostic codes reported by Build.
const (
	// CodeOptions: the dashboards options are invalid; nothing is built.
	CodeOptions = "RB400"
	// CodeTagName: the route tag is not a label name PromQL can select.
	CodeTagName = "RB401"
	// CodeTagReserved: the route tag is a label the dashboards already group by.
	CodeTagReserved = "RB402"
	// CodeNamespace: the route set's namespace is not a valid namespace name.
	CodeNamespace = "RB403"
	// CodeRouteVariable: route values that Grafana's route variable cannot select.
	CodeRouteVariable = "RB404"
	// CodeBuild: the SDK refused a dashboard (a bug in this package).
	CodeBuild = "RB405"
)

// Dashboard is one generated dashboard.
type Dashboard struct {
	// UID is the Grafana UID; it also names the file and the ConfigMap.
	UID string
	// FileName is UID + ".json".
	FileName  string
	Dashboard dashboard.Dashboard
}

// Build returns the workload dashboards of every route set scope and the
// routes overview, sorted by UID, and diagnostics for the route sets it
// could not show. A broken route set never stops the others. Route sets
// whose tag is not on REQUEST_COUNT have no recorded series and get no
// dashboard; the rules report them (RB312), as they report the policy
// annotations' diagnostics.
func Build(inv *inventory.Inventory, opts Options) ([]Dashboard, diag.List) {
	if err := opts.Validate(); err != nil {
		return nil, diag.List{{Severity: diag.Error, Code: CodeOptions, Message: err.Error()}}
	}
	sets, diags := usableSets(inv)
	groups := groupSets(sets)
	// Each dashboard is independent; a thousand of them are worth all cores.
	built := make([]*Dashboard, len(groups))
	builtDiags := make([]diag.List, len(groups))
	parallel.For(len(groups), func(i int) { built[i], builtDiags[i] = buildWorkload(groups[i], opts) })
	out := make([]Dashboard, 0, len(groups)+1)
	for i, d := range built {
		diags = append(diags, builtDiags[i]...)
		if d != nil {
			out = append(out, *d)
		}
	}
	if len(groups) > 0 {
		d, err := overviewDashboard(groups, opts)
		if err != nil {
			diags = append(diags, diag.Diagnostic{Severity: diag.Error, Code: CodeBuild,
				Message: fmt.Sprintf("building the routes overview: %v", err)})
		} else {
			out = append(out, newDashboard(OverviewUID, d))
		}
	}
	slices.SortFunc(out, func(a, b Dashboard) int { return cmp.Compare(a.UID, b.UID) })
	diags.Sort()
	return out, diags
}

func newDashboard(uid string, d dashboard.Dashboard) Dashboard {
	return Dashboard{UID: uid, FileName: uid + ".json", Dashboard: d}
}

func buildWorkload(g *group, opts Options) (*Dashboard, diag.List) {
	var diags diag.List
	route, safe := routeMatcher(g.scope.tag, g.routes)
	if !safe {
		diags = unselectableRoutes(g)
	}
	v := newWorkloadView(g, route, resolvePolicy(g, opts.Policy))
	d, err := workloadDashboard(g, v, opts)
	if err != nil {
		return nil, append(diags, setDiag(g.sets[0], diag.Error, CodeBuild,
			fmt.Sprintf("building dashboard %s: %v", v.uid, err)))
	}
	out := newDashboard(v.uid, d)
	return &out, diags
}

// unselectableRoutes reports the route values the route variable cannot
// select when a backtick elsewhere in the dashboard forces Grafana's own
// escaping, which leaves '"' and newlines as they are.
func unselectableRoutes(g *group) diag.List {
	var diags diag.List
	for _, rs := range g.sets {
		for _, r := range rs.Routes {
			if !strings.ContainsAny(r.Value, "\"\n") {
				continue
			}
			d := setDiag(rs, diag.Warning, CodeRouteVariable, fmt.Sprintf("the dashboard's route variable "+
				"cannot select route %q: with a backtick in another route value of the dashboard, its "+
				"queries rely on Grafana's escaping, which leaves double quotes and newlines as they are; "+
				"the panels still show the route under All", r.Value))
			d.Field = r.Field
			if r.Source != (diag.Source{}) {
				d.Source = r.Source
			}
			diags = append(diags, d)
		}
	}
	return diags
}

// usableSets returns the route sets whose tag and namespace can be put in
// a query, sorted by ID, and a diagnostic for each of the others.
func usableSets(inv *inventory.Inventory) ([]*inventory.RouteSet, diag.List) {
	if inv == nil {
		return nil, nil
	}
	var (
		sets  []*inventory.RouteSet
		diags diag.List
	)
	for i := range inv.RouteSets {
		rs := &inv.RouteSets[i]
		if !rs.HasMetric(inventory.RequestCount) {
			continue
		}
		if d, ok := checkSet(rs); !ok {
			diags = append(diags, d)
			continue
		}
		sets = append(sets, rs)
	}
	slices.SortStableFunc(sets, func(a, b *inventory.RouteSet) int { return cmp.Compare(a.ID, b.ID) })
	return sets, diags
}

func checkSet(rs *inventory.RouteSet) (diag.Diagnostic, bool) {
	switch {
	case !labelName.MatchString(rs.Tag):
		return tagDiag(rs, CodeTagName, fmt.Sprintf("route tag %q is not a Prometheus "+
			"label name ([a-zA-Z_][a-zA-Z0-9_]*); no dashboard for this route set", rs.Tag)), false
	case slices.Contains(reservedLabels(), rs.Tag):
		return tagDiag(rs, CodeTagReserved, fmt.Sprintf("route tag %q is also an Istio "+
			"label the dashboards group by; no dashboard for this route set", rs.Tag)), false
	}
	if rs.Scope.Kind == inventory.ScopeMesh {
		return diag.Diagnostic{}, true
	}
	ns := cmp.Or(rs.Scope.Namespace, rs.Namespace)
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		d := setDiag(rs, diag.Error, CodeNamespace, fmt.Sprintf("namespace %q is not valid: %s; "+
			"no dashboard for this route set", ns, errs[0]))
		d.Field = "metadata.namespace"
		return d, false
	}
	return diag.Diagnostic{}, true
}

// reservedLabels are labels of the recorded series other than the route tag.
func reservedLabels() []string {
	return []string{series.LabelReporter, series.LabelResponseCode, series.LabelWorkloadNamespace,
		series.LabelWorkload, series.LabelLE, series.LabelQuantile, series.LabelRouteTag, "__name__"}
}

// tagDiag reports on the Telemetry, which names the tag.
func tagDiag(rs *inventory.RouteSet, code, msg string) diag.Diagnostic {
	return diag.Diagnostic{Severity: diag.Error, Code: code, Object: rs.Telemetry, Field: "spec.metrics",
		Message: msg, Source: rs.Source}
}

// setDiag reports on the WasmPlugin of a route set (which holds the route
// values), or its Telemetry when it has none.
func setDiag(rs *inventory.RouteSet, sev diag.Severity, code, msg string) diag.Diagnostic {
	obj := rs.Plugin
	if obj == (diag.ObjectRef{}) {
		obj = rs.Telemetry
	}
	return diag.Diagnostic{Severity: sev, Code: code, Object: obj, Message: msg, Source: rs.Source}
}
