package attrgen

import (
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
)

// attribute is one Envoy attribute as CEL sees it.
type attribute struct {
	name string
	typ  *cel.Type
}

// attributes lists Envoy's attributes (Envoy's "Attributes" reference) plus
// the top-level ones the Wasm host adds. Declaring each as a dotted variable
// makes request.method type-check while request.methd does not.
func attributes() []attribute {
	s, i, u, b := cel.StringType, cel.IntType, cel.UintType, cel.BoolType
	ts, dur, dyn := cel.TimestampType, cel.DurationType, cel.DynType
	stringMap, dynMap := cel.MapType(s, s), cel.MapType(s, dyn)
	return []attribute{
		// Request attributes. path keeps the query string, url_path does not.
		{"request.path", s}, {"request.url_path", s}, {"request.host", s},
		{"request.scheme", s}, {"request.method", s}, {"request.headers", stringMap},
		{"request.referer", s}, {"request.useragent", s}, {"request.time", ts},
		{"request.id", s}, {"request.protocol", s}, {"request.query", s},
		{"request.duration", dur}, {"request.size", i}, {"request.total_size", i},
		// Response attributes (attributegen's default phase runs after the response).
		{"response.code", i}, {"response.code_details", s}, {"response.flags", i},
		{"response.grpc_status", i}, {"response.headers", stringMap},
		{"response.trailers", stringMap}, {"response.size", i}, {"response.total_size", i},
		{"response.backend_latency", dur},
		// Connection attributes.
		{"source.address", s}, {"source.port", i},
		{"destination.address", s}, {"destination.port", i},
		{"connection.id", u}, {"connection.mtls", b}, {"connection.requested_server_name", s},
		{"connection.tls_version", s}, {"connection.subject_local_certificate", s},
		{"connection.subject_peer_certificate", s}, {"connection.dns_san_local_certificate", s},
		{"connection.dns_san_peer_certificate", s}, {"connection.uri_san_local_certificate", s},
		{"connection.uri_san_peer_certificate", s}, {"connection.sha256_peer_certificate_digest", s},
		{"connection.transport_failure_reason", s}, {"connection.termination_details", s},
		// Upstream attributes.
		{"upstream.address", s}, {"upstream.port", i}, {"upstream.tls_version", s},
		{"upstream.subject_local_certificate", s}, {"upstream.subject_peer_certificate", s},
		{"upstream.dns_san_local_certificate", s}, {"upstream.dns_san_peer_certificate", s},
		{"upstream.uri_san_local_certificate", s}, {"upstream.uri_san_peer_certificate", s},
		{"upstream.sha256_peer_certificate_digest", s}, {"upstream.local_address", s},
		{"upstream.transport_failure_reason", s}, {"upstream.request_attempt_count", u},
		{"upstream.cx_pool_ready_duration", dur}, {"upstream.locality", dyn},
		// Configuration attributes.
		{"xds.node", dyn}, {"xds.cluster_name", s}, {"xds.cluster_metadata", dyn},
		{"xds.listener_direction", i}, {"xds.listener_metadata", dyn}, {"xds.route_name", s},
		{"xds.route_metadata", dyn}, {"xds.virtual_host_name", s},
		{"xds.virtual_host_metadata", dyn}, {"xds.upstream_host_metadata", dyn},
		{"xds.filter_chain_name", s},
		// Dynamic metadata and filter state (Wasm attributes live in filter_state['wasm.X']).
		{"metadata", dyn}, {"filter_state", dynMap}, {"upstream_filter_state", dynMap},
		// Attributes the Wasm host adds at the top level (see wasmHostAttribute).
		{"node", dyn}, {"cluster_name", s}, {"cluster_metadata", dyn},
		{"listener_direction", i}, {"listener_metadata", dyn}, {"route_name", s},
		{"route_metadata", dyn}, {"upstream_host_metadata", dyn},
		{"plugin_name", s}, {"plugin_root_id", s}, {"plugin_vm_id", s},
	}
}

// wasmHostAttribute reports the attributes only the Wasm host has. Istio's
// stats filter evaluates tag values in Envoy's own activation, where they
// do not exist: since Istio 1.24 its tag values must use the xds.* forms
// (istio/istio releasenotes/notes/telemetry-cel.yaml: "Node metadata is
// stored in xds.node instead of node").
func wasmHostAttribute(name string) bool {
	switch name {
	case "node", "cluster_name", "cluster_metadata", "listener_direction", "listener_metadata",
		"route_name", "route_metadata", "upstream_host_metadata",
		"plugin_name", "plugin_root_id", "plugin_vm_id":
		return true
	}
	return false
}

// attributeGroups are the first parts of the dotted attribute names
// (request, response, source, ...).
func attributeGroups() []string {
	var out []string
	for _, a := range attributes() {
		if g, _, dotted := strings.Cut(a.name, "."); dotted && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}
