package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/series"
)

// CodeMixedViews: a client-side route set uses a tag that a mesh-wide
// server-side unit records too.
const CodeMixedViews = "RB314"

// Route sets read on the client side (inventory.ReporterSource: the route
// names a gateway or the client sidecars write, reporter="source") share one
// unit per tag, which selects every destination namespace but those with a
// server-side unit of the same tag (inventory.Traffic). The recorded series
// keep the destination's labels, as the server side's do, so a mesh-wide
// server-side unit of the tag leaves no namespace: the client-side unit is
// dropped and reported.

// reporter selects the side of the unit's requests.
func (u *unit) reporter() *labels.Matcher {
	if u.ClientSide {
		return pql.Eq(series.LabelReporter, series.ClientReporter)
	}
	return pql.Re(series.LabelReporter, series.ServerReporters)
}

// separateViews drops the client-side units whose tag a mesh-wide
// server-side unit records.
func separateViews(units []*unit) ([]*unit, diag.List) {
	var diags diag.List
	out := units[:0:0]
	for _, u := range units {
		i := slices.IndexFunc(units, func(m *unit) bool { return !m.ClientSide && m.MeshWide() && m.Tag == u.Tag })
		if !u.ClientSide || i < 0 {
			out = append(out, u)
			continue
		}
		for _, rs := range u.Sets {
			diags = append(diags, diag.Diagnostic{
				Severity: diag.Warning, Code: CodeMixedViews, Object: setObject(rs), Source: rs.Source, Field: "spec.metrics",
				Message: fmt.Sprintf("route set %s reads tag %q on the client side (reporter=%q), and route set %s records the same tag mesh-wide on the server side: "+
					"their series would mix, so %s gets no rules or alerts; give it a tag of its own (e.g. client_%s)",
					rs.ID, rs.Tag, series.ClientReporter, units[i].Sets[0].ID, rs.ID, rs.Tag),
			})
		}
	}
	return out, diags
}

// maxRouteMatches bounds the routes an alert's route_match annotation
// spells out: beyond it the template would outweigh the rule.
const maxRouteMatches = 100

// annotateRoutes adds to the alerts of target t what its route matches,
// for route sets read from route objects (xds.route_name): "GET /healthz
// (HTTPRoute podinfo/podinfo)". A set-wide alert picks the text by its
// route label; route names never enter the template as text.
func (u *unit) annotateRoutes(alerts []rulefmt.Rule, t target) {
	matches := u.routeMatches()
	if len(matches) == 0 {
		return
	}
	text := ""
	switch {
	case t.route != "":
		text = literal(matches[t.route])
	case len(matches) <= maxRouteMatches:
		var b strings.Builder
		b.WriteString(`{{ $route := index $labels ` + strconv.Quote(u.Tag) + ` }}`)
		for i, v := range sortedKeys(matches) {
			if i > 0 {
				b.WriteString(`{{ else if eq $route ` + strconv.Quote(v) + ` }}`)
			} else {
				b.WriteString(`{{ if eq $route ` + strconv.Quote(v) + ` }}`)
			}
			b.WriteString(literal(matches[v]))
		}
		b.WriteString(`{{ end }}`)
		text = b.String()
	}
	if text == "" {
		return
	}
	for i := range alerts {
		alerts[i].Annotations[AnnotationRouteMatch] = text
	}
}

// AnnotationRouteMatch is the alert annotation saying what the route
// matches, for routes of route objects.
const AnnotationRouteMatch = "route_match"

// routeMatches maps each route value of the unit's route-object sets to
// what it matches and where it is written.
func (u *unit) routeMatches() map[string]string {
	parts := map[string][]string{}
	for _, rs := range u.Sets {
		if rs.Routing == nil {
			continue
		}
		for _, r := range rs.Routes {
			s := r.Summary
			if r.Object.Name != "" {
				s += " (" + r.Object.Kind + " " + r.Object.Namespace + "/" + r.Object.Name + ")"
			}
			if !slices.Contains(parts[r.Value], s) {
				parts[r.Value] = append(parts[r.Value], s)
			}
		}
	}
	out := make(map[string]string, len(parts))
	for v, p := range parts {
		out[v] = strings.Join(p, "; ")
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// unclassified says which requests read "unknown": those no condition
// classifies, or, for route sets of route objects, those no route
// matches (Envoy answers them 404, and xds.route_name is absent).
func (u *unit) unclassified() string {
	for _, rs := range u.Sets {
		if rs.Routing == nil {
			return "requests no condition of " + literal(u.objects()) + " classifies"
		}
	}
	return "requests no route of the route objects matches (Envoy answers them 404 and xds.route_name is absent), read by " + literal(u.objects())
}
