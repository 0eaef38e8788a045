// Package inventory is routebundle's model of "which routes exist where": route
// sets read from Istio WasmPlugin and Telemetry objects, whether they came from
// files or from the API server, plus the diagnostics found while reading them.
package inventory

import (
	"slices"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
)

// ScopeKind says which proxies a route set's classification runs in.
type ScopeKind string

// Scope kinds, from narrowest to widest.
const (
	// ScopeWaypoint: targetRefs to a Gateway (class istio-waypoint) or GatewayClass.
	ScopeWaypoint ScopeKind = "waypoint"
	// ScopeService: targetRefs to a Service or ServiceEntry (served by a waypoint).
	ScopeService ScopeKind = "service"
	// ScopeGateway: targetRefs to a Gateway that is not a waypoint (an
	// ingress gateway). Only route sets reading xds.route_name have it.
	ScopeGateway ScopeKind = "gateway"
	// ScopeWorkload: a workload selector (sidecars).
	ScopeWorkload ScopeKind = "workload"
	// ScopeNamespace: neither selector nor targetRefs, outside the root namespace.
	ScopeNamespace ScopeKind = "namespace"
	// ScopeMesh: every namespace. A WasmPlugin and a Telemetry in the root
	// namespace without selector or targetRefs apply to every workload of
	// the mesh; a root-namespace WasmPlugin with a selector applies to the
	// workloads so labelled in every namespace (Selector is then set).
	ScopeMesh ScopeKind = "mesh"
)

// RootNamespace is Istio's default root namespace (meshConfig.rootNamespace):
// policies there apply mesh-wide. WithRootNamespace changes it.
const RootNamespace = "istio-system"

// TargetRef is one entry of spec.targetRefs.
type TargetRef struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// Scope is where a route set applies.
type Scope struct {
	Kind      ScopeKind `json:"kind"`
	Namespace string    `json:"namespace"`
	// TargetRefs is set for ScopeWaypoint and ScopeService.
	TargetRefs []TargetRef `json:"targetRefs,omitempty"`
	// Selector is set for ScopeWorkload, and for ScopeMesh when the
	// classification runs only on workloads so labelled: the labels a
	// workload must carry (the union of the plugin's and the Telemetry's
	// spec.selector.matchLabels).
	Selector map[string]string `json:"selector,omitempty"`
}

// Metric is an Istio standard metric as named in Telemetry overrides.
type Metric string

// Istio's metric selectors (istio.telemetry.v1.MetricSelector.IstioMetric).
const (
	AllMetrics       Metric = "ALL_METRICS"
	RequestCount     Metric = "REQUEST_COUNT"
	RequestDuration  Metric = "REQUEST_DURATION"
	RequestSize      Metric = "REQUEST_SIZE"
	ResponseSize     Metric = "RESPONSE_SIZE"
	TCPOpened        Metric = "TCP_OPENED_CONNECTIONS"
	TCPClosed        Metric = "TCP_CLOSED_CONNECTIONS"
	TCPSentBytes     Metric = "TCP_SENT_BYTES"
	TCPReceivedBytes Metric = "TCP_RECEIVED_BYTES"
	GRPCRequestMsgs  Metric = "GRPC_REQUEST_MESSAGES"
	GRPCResponseMsgs Metric = "GRPC_RESPONSE_MESSAGES"
)

// Route is one classification entry: requests for which Condition is the
// first to hold get the tag value Value.
type Route struct {
	Value string `json:"value"`
	// Condition is a CEL expression over Envoy attributes; empty means always
	// true. Routes of a route set reading xds.route_name have none: Envoy's
	// route match decides (see RouteSet.Routing).
	Condition string `json:"condition,omitempty"`
	// Summary says in words what a route of a route object matches
	// ("GET /healthz"); empty for attributegen and CEL routes, whose
	// condition says it.
	Summary string `json:"summary,omitempty"`
	// RouteName is the name istiod gives the route object's route, which
	// xds.route_name reads; Value is what the tag makes of it (the same
	// unless the tag value is a larger expression).
	RouteName string `json:"routeName,omitempty"`
	// Object is the route object (HTTPRoute, GRPCRoute, VirtualService)
	// the route comes from; zero for other routes and for istiod's default
	// route.
	Object diag.ObjectRef `json:"object,omitzero"`
	// Field is the path of this entry in its object, for diagnostics.
	Field  string      `json:"field,omitempty"`
	Source diag.Source `json:"source"`
}

// Producer is one attributegen config whose matches are part of a route
// set. A config that fails to evaluate a condition leaves the attribute as
// the configs that ran before it set it, so a route set with several is
// evaluated config by config.
type Producer struct {
	Plugin diag.ObjectRef `json:"plugin"`
	// Field is the path of the config's entry in spec.pluginConfig.attributes.
	Field string `json:"field"`
	// OnRequest: the config is evaluated ON_REQUEST, before any response.
	OnRequest bool `json:"onRequest,omitempty"`
	// Routes is how many of the route set's routes are this config's,
	// following those of the producers before it in the list.
	Routes int `json:"routes"`
}

// RouteSet is one route classification that reaches a metric tag: the
// ordered routes, the tag they land on, which metrics carry it and where it
// applies. Routes of one set share every recording rule and dashboard panel.
type RouteSet struct {
	// ID is deterministic and unique within an inventory; it is built from
	// the namespace and object names, never from route values.
	ID        string `json:"id"`
	Namespace string `json:"namespace"`
	Scope     Scope  `json:"scope"`
	// Tag is the metric label the Telemetry writes (route_name, request_operation, ...).
	Tag string `json:"tag"`
	// Attribute is the attributegen output attribute (istio_operationId); empty
	// when the Telemetry classifies with a pure CEL expression.
	Attribute string  `json:"attribute,omitempty"`
	Routes    []Route `json:"routes"`
	// Producers are the attributegen configs the routes come from, in the
	// order of Routes: the config that runs last first. Empty for CEL.
	Producers []Producer `json:"producers,omitempty"`
	// Metrics are the Istio request metrics that carry Tag on the server
	// side (reporter=destination or waypoint), which the bundle reads:
	// expanded (never ALL_METRICS), sorted. A tag only on the client side
	// gets no route set (diag.CodeClientOnlyTag).
	Metrics []Metric `json:"metrics"`
	// Mode is the sides whose metrics carry Tag, as Telemetry's match.mode
	// spells it: CLIENT_AND_SERVER or SERVER.
	Mode string `json:"mode"`
	// Plugin is the WasmPlugin that computes the attribute; zero for CEL-only sets.
	Plugin diag.ObjectRef `json:"plugin,omitzero"`
	// Telemetry is the Telemetry that copies the attribute onto Tag.
	Telemetry diag.ObjectRef `json:"telemetry"`
	// Reporter is the side whose reports carry Tag: "" for the server side
	// (reporter=~"waypoint|destination"), which every attributegen and CEL
	// route set and route sets read at waypoints have; ReporterSource for
	// route sets read at a gateway or at client sidecars.
	Reporter string `json:"reporter,omitempty"`
	// Routing is set when the values are the names istiod gives the mesh's
	// routes (a tag reading xds.route_name): where Envoy matches them.
	Routing *RouteNames `json:"routing,omitempty"`
	// Annotations of the WasmPlugin (or of the Telemetry for CEL-only sets):
	// per-set and per-route alerting overrides live there.
	Annotations map[string]string `json:"annotations,omitempty"`
	Source      diag.Source       `json:"source"`

	// annotationLayout is where each annotation was written, for
	// AnnotationSource; nil for sets built in memory.
	annotationLayout map[string]manifest.TextLayout
}

// HasMetric reports whether the route tag is on metric m.
func (rs *RouteSet) HasMetric(m Metric) bool { return slices.Contains(rs.Metrics, m) }

// HasLatency reports whether per-route latency exists (the tag is on REQUEST_DURATION).
func (rs *RouteSet) HasLatency() bool { return rs.HasMetric(RequestDuration) }

// RouteValues returns the distinct route values in classification order.
func (rs *RouteSet) RouteValues() []string {
	seen := make(map[string]bool, len(rs.Routes))
	out := make([]string, 0, len(rs.Routes))
	for _, r := range rs.Routes {
		if !seen[r.Value] {
			seen[r.Value] = true
			out = append(out, r.Value)
		}
	}
	return out
}

// Namespace records the labels that matter for routing of one namespace.
type Namespace struct {
	Name string `json:"name"`
	// UseWaypoint is the istio.io/use-waypoint label.
	UseWaypoint string `json:"useWaypoint,omitempty"`
	// UseWaypointNamespace is the istio.io/use-waypoint-namespace label:
	// the waypoint's namespace when it is not this one.
	UseWaypointNamespace string `json:"useWaypointNamespace,omitempty"`
	// DataplaneMode is the istio.io/dataplane-mode label (ambient).
	DataplaneMode string      `json:"dataplaneMode,omitempty"`
	Source        diag.Source `json:"source"`
}

// Gateway is a Gateway API gateway; waypoints have class istio-waypoint.
type Gateway struct {
	Namespace string      `json:"namespace"`
	Name      string      `json:"name"`
	Class     string      `json:"class"`
	Source    diag.Source `json:"source"`
}

// WaypointClass is the GatewayClass of Istio waypoints.
const WaypointClass = "istio-waypoint"

// Tag is a route tag a Telemetry writes: a tag override that reads a Wasm
// attribute or classifies with CEL, on a request metric. Route sets are
// built from tags; a tag that no classification reaches, or that reads
// "unknown" for every request, is still here, so that explain can say what
// the metric shows.
type Tag struct {
	// Name is the metric label (route_name, request_operation, ...).
	Name      string         `json:"name"`
	Telemetry diag.ObjectRef `json:"telemetry"`
	// Value is the tag value expression as written.
	Value string `json:"value"`
	// Attribute is the Wasm attribute Value reads; empty for CEL.
	Attribute string `json:"attribute,omitempty"`
	// Scope is where the Telemetry applies.
	Scope Scope `json:"scope"`
	// Metrics and Mode are as in RouteSet, except that a tag only on the
	// client side lists the client's metrics and has Mode CLIENT.
	Metrics []Metric `json:"metrics"`
	Mode    string   `json:"mode"`
	// RouteNames: the value reads xds.route_name, the name of the route
	// Envoy matched (see RouteSet.Routing).
	RouteNames bool `json:"routeNames,omitempty"`
	// Unknown, when set, says why the tag reads "unknown" for every request
	// (a bare attribute, an attribute nothing produces where the Telemetry
	// applies, an attribute Istio moved); no route set is built then.
	Unknown string `json:"unknown,omitempty"`
	// RouteSets are the IDs of the route sets that classify the tag, each
	// for its own workloads (see RouteSet.Scope); sorted.
	RouteSets []string    `json:"routeSets,omitempty"`
	Field     string      `json:"field"`
	Source    diag.Source `json:"source"`
}

// ClientOnly reports a tag only on client-side metrics (reporter=source).
func (t *Tag) ClientOnly() bool { return t.Mode == "CLIENT" }

// Inventory is everything routebundle knows about the mesh's route classification.
type Inventory struct {
	// RouteSets are sorted by ID.
	RouteSets []RouteSet `json:"routeSets"`
	// Tags are sorted by Telemetry, name and field.
	Tags        []Tag       `json:"tags"`
	Namespaces  []Namespace `json:"namespaces,omitempty"`
	Gateways    []Gateway   `json:"gateways,omitempty"`
	Diagnostics diag.List   `json:"-"`

	// Routes are the HTTPRoutes, GRPCRoutes and VirtualServices read.
	Routes RouteObjects `json:"-"`
}
