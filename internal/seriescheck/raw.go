package seriescheck

import (
	"slices"

	"github.com/routebundle/routebundle/series"
)

// istioLabels are the labels Istio's stats filter puts on every HTTP
// metric (Istio's "Istio Standard Metrics" reference; istio/proxy's
// istio_stats filter).
var istioLabels = []string{
	series.LabelReporter,
	"source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
	"source_canonical_service", "source_canonical_revision", "source_cluster",
	series.LabelWorkload, series.LabelWorkloadNamespace, "destination_principal", "destination_app",
	"destination_version", "destination_service", "destination_service_name", "destination_service_namespace",
	"destination_canonical_service", "destination_canonical_revision", "destination_cluster",
	"request_protocol", series.LabelResponseCode, "grpc_response_status", "response_flags",
	"connection_security_policy",
}

// IstioRaw returns the raw HTTP request series Envoy exports: the standard
// labels on every series, and the custom tags (route tags) a Telemetry puts
// on some: tags["istio_requests_total"] for REQUEST_COUNT,
// tags["istio_request_duration_milliseconds"] for REQUEST_DURATION.
func IstioRaw(tags map[string][]string) map[string]Series {
	const duration = "istio_request_duration_milliseconds"
	with := func(metric string, extra ...string) Series {
		return Series{Labels: append(slices.Clone(istioLabels), extra...), Optional: tags[metric]}
	}
	return map[string]Series{
		series.IstioRequestsTotal:         with(series.IstioRequestsTotal),
		series.IstioRequestDurationBucket: with(duration, series.LabelLE),
		series.IstioRequestDurationCount:  with(duration),
		series.IstioRequestDurationSum:    with(duration),
	}
}
