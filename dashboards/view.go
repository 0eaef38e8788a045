package dashboards

import (
	"strings"

	"github.com/routebundle/routebundle/series"
)

// view is what the panels of one dashboard (or one overview row) query: the
// recorded series of one route tag, filtered by the template variables, and
// the labels the per-route panels keep.
type view struct {
	uid     string
	tag     string
	latency bool
	// attribute is the first attribute the sets' attributegen plugins
	// write, for the unknown hint; empty without a plugin.
	attribute string
	// chooseNamespace is set where the namespace is a variable to choose
	// rather than a constant (mesh-wide sets and the overview).
	chooseNamespace bool
	namespace       matcher
	workload        matcher
	route           matcher
	// by are the labels of one route: the tag alone on a workload
	// dashboard; namespace, workload and tag on the overview.
	by []string
	// shareOn are the labels whose total a route's share is taken of.
	shareOn []string
	// anyTag makes the unknown-share panels show every route tag (the
	// overview) instead of this view's.
	anyTag bool
	policy viewPolicy
	// source: the tag is read on the client side (reporter="source").
	source bool
	// routeRows are the routes of route objects, for the legend.
	routeRows []routeRow
}

// routed selects metric for the selected namespaces, workloads and routes.
func (v *view) routed(metric string, extra ...matcher) string {
	return sel(metric, append([]matcher{v.namespace, v.workload, v.route}, extra...)...)
}

// tagged selects metric for the selected workloads, every route: the
// denominator of traffic shares.
func (v *view) tagged(metric string) string {
	return sel(metric, v.namespace, v.workload, neLit(v.tag, ""))
}

// unknownSel selects the per-workload unknown share of this view's tag.
func (v *view) unknownSel() string {
	if v.anyTag {
		return sel(series.UnknownRatio5m, v.namespace, v.workload)
	}
	return sel(series.UnknownRatio5m, v.namespace, v.workload, eqLit(series.LabelRouteTag, v.tag))
}

// unknownBy are the labels of one unknown-share series.
func (v *view) unknownBy() []string {
	if v.anyTag {
		return []string{series.LabelWorkloadNamespace, series.LabelWorkload, series.LabelRouteTag}
	}
	return []string{series.LabelWorkloadNamespace, series.LabelWorkload}
}

// errorRatioBy divides summed error and request rates rather than averaging
// ratios, so that busy workloads weigh more than idle ones.
func (v *view) errorRatioBy(labels ...string) string {
	return ratioOf(sumBy(v.routed(series.ErrorsRate5m), labels...), sumBy(v.routed(series.RequestsRate5m), labels...))
}

// ratioOf divides where the denominator is positive: no traffic gives no
// value rather than NaN.
func ratioOf(num, den string) string { return num + " / (" + den + " > 0)" }

// quantileBy computes the quantile from the summed bucket rates: correct
// across workloads, where a maximum of per-workload quantiles would not be.
func (v *view) quantileBy(q string, labels ...string) string {
	return "histogram_quantile(" + q + ", " +
		sumBy(v.routed(series.DurationBucketRate5m), append(labels[:len(labels):len(labels)], series.LabelLE)...) + ")"
}

// share divides each route's rate by the rate of all routes of the same
// shareOn labels.
func (v *view) share() string {
	return sumBy(v.routed(series.RequestsRate5m), v.by...) + " / on(" + strings.Join(v.shareOn, ", ") + ") group_left() (" +
		sumBy(v.tagged(series.RequestsRate5m), v.shareOn...) + " > 0)"
}

func (v *view) ifLatency(yes, no string) string {
	if v.latency {
		return yes
	}
	return no
}

func (v *view) unknownHint() string {
	ref := "the attribute the WasmPlugin writes"
	if v.attribute != "" {
		ref = "filter_state['wasm." + v.attribute + "']"
	}
	return "\"" + series.UnknownRoute + "\" means that no match of the classification fired for the request: " +
		"add a match (or a catch-all last match) for that traffic. If all traffic is unknown, the tag " +
		"is not wired: the Telemetry must reference " + ref + " (the bare attribute name yields unknown since " +
		"Istio 1.24) and the WasmPlugin must reach the same proxies. `bundlegen lint` finds both; " +
		"`bundlegen explain METHOD PATH` shows which route a request gets."
}

// focusRouteURL links a table row to a workload dashboard with that route selected.
func (v *view) focusRouteURL() string {
	vars := []string{"${__url_time_range}", "${" + VarDatasource + ":queryparam}"}
	if v.chooseNamespace {
		vars = append(vars, "${"+VarNamespace+":queryparam}")
	}
	vars = append(vars, "${"+VarWorkload+":queryparam}", "var-"+VarRoute+"=${__value.raw:percentencode}")
	return URLPath(v.uid, nil) + "?" + strings.Join(vars, "&")
}
