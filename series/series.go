// Package series is the one place where the names of Istio's metrics, their
// labels and routebundle's recorded series are spelled. Rules, dashboards and
// the exporter all import it, so a rename cannot leave one of them behind.
//
// Recorded series follow Prometheus' level:metric:operations convention. The
// request rate, error rate and error ratio at 5m are a public contract: users
// build their own queries on them.
package series

// Istio standard metrics as Envoy exports them.
const (
	IstioRequestsTotal         = "istio_requests_total"
	IstioRequestDurationBucket = "istio_request_duration_milliseconds_bucket"
	IstioRequestDurationCount  = "istio_request_duration_milliseconds_count"
	IstioRequestDurationSum    = "istio_request_duration_milliseconds_sum"
)

// Labels on Istio metrics (and kept on recorded series).
const (
	LabelReporter          = "reporter"
	LabelResponseCode      = "response_code"
	LabelWorkloadNamespace = "destination_workload_namespace"
	LabelWorkload          = "destination_workload"
	// LabelApp is the destination workload's app label, as Istio copies it.
	LabelApp = "destination_app"
	LabelLE  = "le"
	// LabelQuantile is added by the latency recording rules.
	LabelQuantile = "quantile"
)

// ServerReporters selects the server-side view of a request: waypoints and
// the destination sidecar, never the client's own report (which would double count).
const ServerReporters = "waypoint|destination"

// ClientReporter is the reporter of the client side: a client sidecar or a
// gateway reporting the request it sent. Route names read there
// (xds.route_name at a gateway or at client sidecars) are on it.
const ClientReporter = "source"

// UnknownRoute is the tag value Istio writes when no match fired.
const UnknownRoute = "unknown"

// Window is a rate window in Prometheus duration syntax.
type Window string

// Windows used by the recording rules and the multi-window multi-burn-rate alerts.
const (
	Window5m  Window = "5m"
	Window30m Window = "30m"
	Window1h  Window = "1h"
	Window2h  Window = "2h"
	Window6h  Window = "6h"
	Window1d  Window = "1d"
	Window3d  Window = "3d"
	// Window30d is the SLO period over which the error budget is counted.
	Window30d Window = "30d"
)

// SLOWindows returns the windows the burn-rate alerts read, shortest first.
func SLOWindows() []Window {
	return []Window{Window5m, Window30m, Window1h, Window2h, Window6h, Window1d, Window3d}
}

// RequestsRate is the per-route request rate (requests/s) over w.
func RequestsRate(w Window) string { return "route:istio_requests:rate" + string(w) }

// ErrorsRate is the per-route error rate (errors/s) over w.
func ErrorsRate(w Window) string { return "route:istio_request_errors:rate" + string(w) }

// ErrorRatio is the per-route share of requests that are errors, 0..1, over w.
func ErrorRatio(w Window) string { return "route:istio_request_error_ratio:rate" + string(w) }

// Public contract names (see package doc); equal to the functions above at 5m.
const (
	RequestsRate5m = "route:istio_requests:rate5m"
	ErrorsRate5m   = "route:istio_request_errors:rate5m"
	ErrorRatio5m   = "route:istio_request_error_ratio:rate5m"
)

// Latency series, recorded only where the route tag is on REQUEST_DURATION.
const (
	// DurationBucketRate5m is the per-route, per-le bucket rate.
	DurationBucketRate5m = "route:istio_request_duration_milliseconds_bucket:rate5m"
	// DurationQuantile5m carries a quantile label ("0.5", "0.9", "0.99"), in milliseconds.
	DurationQuantile5m = "route:istio_request_duration_milliseconds:histogram_quantile5m"
)

// Quantiles returns the latency quantiles recorded, as values of LabelQuantile.
func Quantiles() []string { return []string{"0.5", "0.9", "0.99"} }

// UnknownRatio5m is, per workload, the share of requests whose route tag is
// "unknown": traffic the classification does not cover.
const UnknownRatio5m = "workload:istio_requests_route_unknown:ratio_rate5m"

// ResponsesRate5m is the per-route request rate split by response code.
const ResponsesRate5m = "route_code:istio_requests:rate5m"

// Blocks is the series that sums a run of older blocks of the chained
// window that name is recorded over (route:istio_requests:rate30d_blocks
// sums 3d rates of 12 to 21 days ago). Internal to the rules: only the rule
// of name reads it, at the time it was written.
func Blocks(name string) string { return name + "_blocks" }

// LabelBlock tells apart the blocks of a chained window, and the runs of
// Blocks: the index of a run's first block, 0 the newest.
const LabelBlock = "routebundle_block"

// LabelRouteTag is on every recorded series: it names the route tag
// (route_name, request_operation, ...) the series is split by, so that two
// classifications of one workload stay apart, and so that rules select their
// own series by equality rather than with the costly tag!="".
const LabelRouteTag = "route_tag"

// Labels that every routebundle alert carries, for Alertmanager routing.
const (
	AlertLabelSeverity  = "severity"
	AlertLabelNamespace = "namespace"
	AlertLabelWorkload  = "workload"
	AlertLabelRoute     = "route"
)

// Alert names.
const (
	AlertRouteErrorRatioHigh    = "RouteErrorRatioHigh"
	AlertRouteLatencyP99High    = "RouteLatencyP99High"
	AlertRouteErrorBudgetBurn   = "RouteErrorBudgetBurn"
	AlertRouteErrorBudgetTicket = "RouteErrorBudgetSlowBurn"
	AlertWorkloadUnknownRoutes  = "WorkloadUnknownRouteShareHigh"
)
