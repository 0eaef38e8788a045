package dashboards

// House defaults: every panel, query and variable starts here, so that the
// dashboards look and behave alike. The SDK leaves legend, tooltip and stat
// orientation empty; they are always set explicitly.

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// Panel sizes on Grafana's 24-column grid.
const (
	gridWidth   = 24
	statHeight  = 4
	graphHeight = 8
	tableHeight = 10
)

// Colours of threshold steps.
const (
	colorOK   = "green"
	colorWarn = "orange"
	colorBad  = "red"
)

const promType = "prometheus"

func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(promType), Uid: cog.ToPtr("${" + VarDatasource + "}")}
}

// rangeQuery is a range query drawn as one series per label set.
func rangeQuery(refID, expr, legendFormat string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(datasource()).
		RefId(refID).
		Expr(expr).
		LegendFormat(legendFormat).
		Range()
}

// instantQuery is an instant query for stat panels.
func instantQuery(refID, expr, legendFormat string) *prometheus.DataqueryBuilder {
	return rangeQuery(refID, expr, legendFormat).Instant()
}

// tableQuery is an instant query in table format; tables merge several.
func tableQuery(refID, expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(datasource()).
		RefId(refID).
		Expr(expr).
		Format(prometheus.PromQueryFormatTable).
		Instant()
}

// graph is the default time series panel: one line per route, a table
// legend with the numbers people compare, a tooltip listing all series.
func graph(title, description, unit string) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasource()).
		Unit(unit).
		Min(0).
		Span(gridWidth / 2).
		Height(graphHeight).
		DrawStyle(common.GraphDrawStyleLine).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(false)}).
		Legend(common.NewVizLegendOptionsBuilder().
			ShowLegend(true).
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).
			Calcs([]string{"mean", "max", "lastNotNull"}).
			SortBy("Mean").
			SortDesc(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
}

// withLimits draws thresholds as dashed lines: alert thresholds and burn
// rates are easier to judge against a line.
func withLimits(p *timeseries.PanelBuilder, steps ...dashboard.Threshold) *timeseries.PanelBuilder {
	return p.
		Thresholds(thresholds(steps...)).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// single is the default stat panel: the last value, horizontal, coloured by
// thresholds, with a sparkline.
func single(title, description, unit string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasource()).
		Unit(unit).
		Span(gridWidth / 4).
		Height(statHeight).
		Orientation(common.VizOrientationHorizontal).
		TextMode(common.BigValueTextModeAuto).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeArea).
		JustifyMode(common.BigValueJustifyModeAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
		Thresholds(thresholds(step(nil, colorOK)))
}

// grid is the default table panel; columns override the unit.
func grid(title, description string) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasource()).
		Unit(units.Short).
		Span(gridWidth).
		Height(tableHeight).
		ShowHeader(true).
		CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		Filterable(true)
}

func thresholds(steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

// step is one threshold step; a nil value is the base step (-Infinity).
func step(value *float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: value, Color: color}
}

func unitOverride(unit string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "unit", Value: unit}}
}

// Template variables.

// datasourceVariable selects the Prometheus datasource.
func datasourceVariable(current string) *dashboard.DatasourceVariableBuilder {
	v := dashboard.NewDatasourceVariableBuilder(VarDatasource).
		Label("Data source").
		Type(promType).
		Multi(false).
		IncludeAll(false)
	if current != "" {
		v = v.Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr(current)},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(current)},
		})
	}
	return v
}

// multiVariable is a label_values query variable, multi-select with All.
// allValue keeps "All" a short regex instead of an alternation of every value.
func multiVariable(name, label, query, allValue string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Datasource(datasource()).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(allValue).
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
		})
}

// constantVariable is hidden (Grafana never shows constants) and fixes a
// value the dashboard is about.
func constantVariable(name, value string) *dashboard.ConstantVariableBuilder {
	return dashboard.NewConstantVariableBuilder(name).Value(dashboard.StringOrMap{String: cog.ToPtr(value)})
}

// labelValues renders Grafana's label_values(selector, label) variable query.
func labelValues(selector, label string) string {
	return "label_values(" + selector + ", " + label + ")"
}
