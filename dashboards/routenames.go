package dashboards

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/text"

	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// Route sets read from the mesh's route objects (a tag reading
// xds.route_name) have route names for values, which say little by
// themselves ("podinfo.podinfo.2"): their dashboards show beside each name
// what the route matches and where it is written, as value mappings of the
// routes table's Route column and as a legend panel. Names and summaries
// are user input: the mapping holds them as JSON strings, and the legend
// is a plain-text code panel, which Grafana neither renders as Markdown
// nor as HTML.

// routeRow is one route of a route object in a dashboard's legend.
type routeRow struct {
	value, summary, object string
}

// maxLegendRoutes bounds the routes a dashboard spells out.
const maxLegendRoutes = 500

// routeRows lists the route-object routes of a group's sets, one row per
// value and summary.
func routeRows(g *group) []routeRow {
	var rows []routeRow
	seen := make(map[routeRow]bool)
	for _, rs := range g.sets {
		if rs.Routing == nil {
			continue
		}
		for _, r := range rs.Routes {
			row := routeRow{value: r.Value, summary: r.Summary}
			if r.Object.Name != "" {
				row.object = r.Object.Kind + " " + r.Object.Namespace + "/" + r.Object.Name + " " + r.Field
			}
			if !seen[row] {
				seen[row] = true
				rows = append(rows, row)
			}
		}
	}
	return rows
}

// routeMappings maps each route name to "name: what it matches", as the
// JSON of a Grafana value mapping (a generic value, so that it reads back
// as it was written).
func routeMappings(rows []routeRow) []any {
	options := make(map[string]any, len(rows))
	text := make(map[string]string, len(rows))
	var order []string
	for _, r := range rows {
		if t, ok := text[r.value]; ok {
			text[r.value] = t + " or " + noVariables(r.summary)
			continue
		}
		order = append(order, r.value)
		text[r.value] = noVariables(r.value + ": " + r.summary)
	}
	for i, v := range order {
		options[v] = map[string]any{"index": i, "text": text[v]}
	}
	return []any{map[string]any{"type": string(dashboard.MappingTypeValueToText), "options": options}}
}

// withRouteMappings shows each route name of the routes table with what
// it matches.
func withRouteMappings(p *table.PanelBuilder, rows []routeRow) *table.PanelBuilder {
	if len(rows) == 0 || len(rows) > maxLegendRoutes {
		return p
	}
	return p.OverrideByName(colRoute, []dashboard.DynamicConfigValue{{Id: "mappings", Value: routeMappings(rows)}})
}

// routeLegend is a text panel listing each route name, what it matches and
// the rule it comes from, in Envoy's order.
func routeLegend(v *view) *text.PanelBuilder {
	rows := v.routeRows
	note := ""
	if len(rows) > maxLegendRoutes {
		note = fmt.Sprintf("\n(%d more routes; `bundlegen explain` lists them)", len(rows)-maxLegendRoutes)
		rows = rows[:maxLegendRoutes]
	}
	head := routeRow{value: "ROUTE (" + v.tag + ")", summary: "MATCHES", object: "RULE"}
	wValue, wSummary := width(head.value), width(head.summary)
	for _, r := range rows {
		wValue, wSummary = max(wValue, width(plain(r.value))), max(wSummary, width(plain(r.summary)))
	}
	var b strings.Builder
	for _, r := range append([]routeRow{head}, rows...) {
		value, summary := plain(r.value), plain(r.summary)
		fmt.Fprintf(&b, "%s%s  %s%s  %s\n", value, strings.Repeat(" ", wValue-width(value)),
			summary, strings.Repeat(" ", wSummary-width(summary)), plain(r.object))
	}
	b.WriteString("\nA request no route matches gets a 404 from Envoy; its " + v.tag + " reads \"" + series.UnknownRoute + "\"." + note)
	return text.NewPanelBuilder().
		Title("Route names").
		Description("The names istiod gives the routes of the route objects (what xds.route_name reads), " +
			"what each matches and the rule it is written in, in the order Envoy tries them.").
		Span(gridWidth).
		Height(uint32(min(4+len(rows), 16))).
		Mode(text.TextModeCode).
		Code(text.NewCodeOptionsBuilder().Language(text.CodeLanguagePlaintext).ShowLineNumbers(false).ShowMiniMap(false)).
		Content(strings.TrimRight(b.String(), "\n"))
}

// plain renders user input on one line (quoted when it holds anything
// but printable characters) that Grafana's variable interpolation, which
// runs over text panels too, leaves alone: a zero-width space after each
// '$' and between '[[' breaks $var, ${var} and [[var]] without changing
// what the reader sees.
func plain(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			s = strconv.Quote(s)
			break
		}
	}
	return noVariables(s)
}

var variableBreaker = strings.NewReplacer("$", "$\u200b", "[[", "[\u200b[")

func noVariables(s string) string { return variableBreaker.Replace(s) }

// width is how many columns s takes in the legend's monospace font.
func width(s string) int { return utf8.RuneCountInString(s) - strings.Count(s, "\u200b") }

// sourceView reports a group read on the client side (reporter="source"):
// its destinations are in any namespace.
func sourceView(g *group) bool {
	return len(g.sets) > 0 && g.sets[0].Reporter == inventory.ReporterSource
}

// reporterMatcher selects the raw series of the view's side.
func (v *view) reporterMatcher() matcher {
	if v.source {
		return eqLit(series.LabelReporter, series.ClientReporter)
	}
	return matcher(series.LabelReporter + "=~" + lit(series.ServerReporters))
}
