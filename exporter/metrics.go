package exporter

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/routebundle/routebundle/series"
)

// Label names of the exported series. Traffic is labelled as Istio and the
// recorded series label it, so the exporter's series join with theirs;
// configuration objects by namespace and name. The namespace label is the
// object's: scrape routebundle with honorLabels (as kube-state-metrics is)
// to keep it from becoming exported_namespace.
const (
	lRouteSet  = "route_set"
	lRoute     = "route"
	lMetric    = "metric"
	lNamespace = "namespace"
	lScope     = "scope"
	lTag       = series.LabelRouteTag
	lMode      = "mode"
	lSeverity  = "severity"
	lCode      = "code"
	lKind      = "kind"
	lName      = "name"
	lGroup     = "rule_group"
	lRule      = "rule"
	lHealth    = "health"
	lError     = "error"
	lResult    = "result"
	lPass      = "pass"
	// lSide is the side a traffic's requests are read on: server
	// (reporter=~"waypoint|destination") or client (reporter="source").
	lSide = "side"
)

// descs are the exporter's descriptors, built once per Exporter.
type descs struct {
	// Configuration, from the inventory.
	routeSets, routes, setInfo, setRoutes, diagnostics, inventoryUpdated *prometheus.Desc
	// Observed cardinality.
	routeSeries, setSeries, setUnconfiguredSeries, setUnconfiguredRoutes *prometheus.Desc
	headSeries, istioSeries, istioShare                                  *prometheus.Desc
	// Predicted cardinality.
	setPredicted, setObservedRatio *prometheus.Desc
	// Health.
	unknownShare, unseenRoute, setUnseenRoutes, prefixed           *prometheus.Desc
	groupRules, groupHealthy, groupLastEvaluation, ruleLastErrInfo *prometheus.Desc
	// The query loop.
	up, lastSuccess, cycles, cycleDuration, cycleQueries, dataTimestamp *prometheus.Desc
}

func newDescs() *descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("routebundle_"+name, help, labels, nil)
	}
	return &descs{
		routeSets:        d("route_sets", "Route sets configured, by namespace and scope.", lNamespace, lScope),
		routes:           d("routes", "Distinct route values configured, by namespace and scope.", lNamespace, lScope),
		setInfo:          d("route_set_info", "One series per route set: its namespace, scope, route tag and mode.", lRouteSet, lNamespace, lScope, lTag, lMode),
		setRoutes:        d("route_set_routes", "Distinct route values of a route set.", lRouteSet),
		diagnostics:      d("diagnostics", "Diagnostics of the configuration, by severity and code, per object.", lSeverity, lCode, lKind, lNamespace, lName),
		inventoryUpdated: d("inventory_last_update_timestamp_seconds", "When the configuration was last read."),

		routeSeries:           d("route_series", "Series in Prometheus of one configured route (and of unknown) of a route set.", lRouteSet, lRoute, lMetric),
		setSeries:             d("route_set_series", "Series in Prometheus carrying a route set's tag in its traffic (its side, destination namespaces and apps).", lRouteSet, lMetric),
		setUnconfiguredSeries: d("route_set_unconfigured_series", "Series of a route set's tag whose value is neither configured nor unknown.", lRouteSet, lMetric),
		setUnconfiguredRoutes: d("route_set_unconfigured_routes", "Distinct values of a route set's tag that are neither configured nor unknown.", lRouteSet),
		headSeries:            d("prometheus_head_series", "Series in Prometheus' head block (TSDB status)."),
		istioSeries:           d("prometheus_istio_head_series", "Head series of istio_* metrics (TSDB status, largest metrics)."),
		istioShare:            d("prometheus_istio_head_series_ratio", "Share of the head series that istio_* metrics take, 0..1."),

		setPredicted:     d("route_set_predicted_series", "Series a route set should cost: (routes + unknown) x response codes x (reporter, source workload, proxy) seen, per destination workload; x buckets for the duration histogram.", lRouteSet, lMetric),
		setObservedRatio: d("route_set_observed_predicted_ratio", "Observed series of a route set divided by its predicted series.", lRouteSet, lMetric),

		unknownShare:        d("workload_unknown_route_ratio", "Share of the requests to a workload some route set classifies (5m rate) whose route tag is unknown, 0..1, on the side (server, client) the route sets read.", series.LabelWorkloadNamespace, series.LabelWorkload, lTag, lSide),
		unseenRoute:         d("route_unseen", "1 for a configured route with no request over the seen window.", lRouteSet, lRoute),
		setUnseenRoutes:     d("route_set_unseen_routes", "Configured routes of a route set with no request over the seen window.", lRouteSet),
		prefixed:            d("route_tag_prefixed_series", "Series whose metric name carries a route tag (envoy_<tag>___<value>___istio_...): the tag is not declared to Envoy.", series.LabelWorkloadNamespace, lTag),
		groupRules:          d("rule_group_rules", "Rules of a generated rule group, by health (ok, err, unknown).", lGroup, lHealth),
		groupHealthy:        d("rule_group_healthy", "1 when no rule of a generated rule group failed its last evaluation.", lGroup),
		groupLastEvaluation: d("rule_group_last_evaluation_timestamp_seconds", "Latest evaluation of a rule of a generated rule group.", lGroup),
		ruleLastErrInfo:     d("rule_last_error_info", "A failing rule of a generated rule group and its last error (truncated).", lGroup, lRule, lError),

		up:            d("prometheus_up", "1 when the last query cycle against Prometheus succeeded; the observed series keep the last good cycle's data."),
		lastSuccess:   d("prometheus_last_success_timestamp_seconds", "End of the last successful query cycle."),
		dataTimestamp: d("prometheus_data_timestamp_seconds", "Evaluation time of the data the observed series show."),
		cycles:        d("prometheus_cycles_total", "Query cycles run, by result (success, failure).", lResult),
		cycleDuration: d("prometheus_cycle_duration_seconds", "Wall time of the last query cycle."),
		cycleQueries:  d("prometheus_cycle_queries", "API calls of the last query cycle; bounded by the number of route tags, not routes."),
	}
}

func (d *descs) config() []*prometheus.Desc {
	return []*prometheus.Desc{d.routeSets, d.routes, d.setInfo, d.setRoutes, d.diagnostics, d.inventoryUpdated}
}

func (d *descs) observed() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.routeSeries, d.setSeries, d.setUnconfiguredSeries, d.setUnconfiguredRoutes,
		d.headSeries, d.istioSeries, d.istioShare, d.setPredicted, d.setObservedRatio,
		d.unknownShare, d.unseenRoute, d.setUnseenRoutes, d.prefixed,
		d.groupRules, d.groupHealthy, d.groupLastEvaluation, d.ruleLastErrInfo,
	}
}

func (d *descs) status() []*prometheus.Desc {
	return []*prometheus.Desc{d.up, d.lastSuccess, d.dataTimestamp, d.cycles, d.cycleDuration, d.cycleQueries}
}

// gauge makes a const gauge. The descriptors and label counts are the
// package's own, so an error is a bug caught by the tests.
func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}
