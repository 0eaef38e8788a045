package diag

// Stable diagnostic codes. A code never changes meaning or severity; new
// findings get new codes. docs/diagnostics.md is generated from Codes (run
// `go test ./diag -update`).
const (
	// CodeMalformedDocument: a YAML or JSON document does not parse.
	CodeMalformedDocument = "RB001"
	// CodeInvalidField: a field has the wrong type or value, or a required
	// field (spec, metadata.name, output_attribute, ...) is missing.
	CodeInvalidField = "RB002"
	// CodeBareAttribute: a tag reads a Wasm attribute by its bare name, which
	// Istio 1.24 and later resolve to nothing: the tag is always "unknown".
	CodeBareAttribute = "RB003"
	// CodeUnproducedAttribute: a tag reads filter_state['wasm.X'] but no
	// attributegen WasmPlugin that runs where the Telemetry applies produces X.
	CodeUnproducedAttribute = "RB004"
	// CodeUnconsumedAttribute: an attributegen output attribute is read by no
	// Telemetry tag in its scope, so it never reaches a metric.
	CodeUnconsumedAttribute = "RB005"
	// CodeWaypointUnreached: a policy uses selector (or a WasmPlugin has no
	// targetRefs) in a namespace served by a waypoint, which ignores it.
	CodeWaypointUnreached = "RB006"
	// CodeNoRouteLatency: the route tag is on REQUEST_COUNT but not on
	// REQUEST_DURATION, so there is no per-route latency.
	CodeNoRouteLatency = "RB007"
	// CodeInvalidCondition: a condition or CEL tag value does not compile
	// against Envoy's attributes: Envoy rejects it (syntax) or it fails when
	// evaluated (unknown attribute, wrong type). Either way: "unknown".
	CodeInvalidCondition = "RB008"
	// CodeDuplicateValue: a match repeats the value of an earlier match of
	// the same attribute (legitimate, but often a copy-paste slip).
	CodeDuplicateValue = "RB009"
	// CodeDuplicateCondition: a match repeats the condition of an earlier
	// match; the first one always wins, so it never fires.
	CodeDuplicateCondition = "RB010"
	// CodeUnreachableMatch: a match follows an always-true one (empty
	// condition or literal true) and never fires.
	CodeUnreachableMatch = "RB011"
	// CodeUnanchoredRegex: matches() uses a pattern without ^ or $; RE2
	// matches it anywhere in the string.
	CodeUnanchoredRegex = "RB012"
	// CodeUnspecifiedPhase: the WasmPlugin sets no phase, so the control
	// plane places it; Istio releases that put such plugins after the stats
	// filter report the tag as "unknown". Set phase: STATS (or AUTHN/AUTHZ).
	CodeUnspecifiedPhase = "RB013"
	// CodeUnboundedTagValue: a tag value is built from the raw path, query or
	// headers: every distinct request makes a new time series.
	CodeUnboundedTagValue = "RB014"
	// CodeNonPrometheusProvider: a Telemetry metrics entry names providers
	// none of which is prometheus; its tags never reach Prometheus.
	CodeNonPrometheusProvider = "RB015"
	// CodeReservedValue: a route value is empty or "unknown", which cannot be
	// told apart from requests that no match classified.
	CodeReservedValue = "RB016"
	// CodeResponseOnRequest: an attribute evaluated ON_REQUEST has a
	// condition that reads response attributes, which do not exist yet.
	CodeResponseOnRequest = "RB017"
	// CodeOpaqueTagExpression: a tag value is a CEL expression whose values
	// cannot be listed, so no route set is built from it.
	CodeOpaqueTagExpression = "RB018"
	// CodeShadowedProducer: several attributegen configs in one scope produce
	// the same attribute; the one that runs last wins whenever it matches.
	CodeShadowedProducer = "RB019"
	// CodeDuplicateObject: the same object (kind, namespace, name) was read
	// twice; the later one is used.
	CodeDuplicateObject = "RB020"
	// CodeEmptyMatch: an attributegen attribute has no match entries and is
	// never set.
	CodeEmptyMatch = "RB021"
	// CodeClientOnlyTag: a route tag is on no server-side request metric
	// (only mode: CLIENT, or only on metrics the Telemetry disables), which
	// is what the bundle reads: no route set, rules or dashboards.
	CodeClientOnlyTag = "RB022"
	// CodeLabelOverride: the Telemetry that writes a route tag also
	// overrides a label the bundle's rules select or group on
	// (response_code, reporter, destination_workload...), changing what they
	// count.
	CodeLabelOverride = "RB023"
	// CodeFallibleCondition: a condition or tag value fails to evaluate for
	// ordinary requests (a header that may be absent, an attribute Envoy sets
	// only sometimes); attributegen then stops and leaves the attribute unset.
	CodeFallibleCondition = "RB024"
	// CodeMovedAttribute: an expression reads an attribute Istio 1.24 moved
	// (node, filter_state['wasm.upstream_peer'], ...): it fails to evaluate.
	CodeMovedAttribute = "RB025"
)

// Codes about the mesh's route objects (HTTPRoute, GRPCRoute,
// VirtualService) and the route names istiod gives them, which a Telemetry
// tag reads as xds.route_name. They count up from RB101 in a block of
// their own; the inventory reports them when a Telemetry reads
// xds.route_name, those about one object only when a route set of such a
// Telemetry reaches it.
const (
	// CodeUnnamedVirtualServiceRoute: a VirtualService http entry without a
	// name: istiod names its routes "", so the tag is empty.
	CodeUnnamedVirtualServiceRoute = "RB101"
	// CodeRouteNameCollision: two rules attached to the same place give
	// their routes one name: their requests land in one series.
	CodeRouteNameCollision = "RB102"
	// CodeUnnamedRule: an HTTPRoute or GRPCRoute rule without a name is
	// named after its position, which shifts when rules are reordered.
	CodeUnnamedRule = "RB103"
	// CodeReservedRouteName: a route named "default" or "unknown", the
	// values the tag takes when no route object's route applies or matches.
	CodeReservedRouteName = "RB104"
	// CodeIgnoredParentRef: a parentRef istiod does not accept (a Service
	// without group: ""), or a route with none it accepts.
	CodeIgnoredParentRef = "RB105"
	// CodeUnusableDelegate: a VirtualService entry delegates to a
	// VirtualService that does not exist, is not a delegate or is not
	// exported to the root's namespace; istiod ignores the entry.
	CodeUnusableDelegate = "RB106"
	// CodeDelegateConflict: a delegate's entry matches outside the root
	// entry that delegates to it; istiod drops it.
	CodeDelegateConflict = "RB107"
	// CodeRouteNameOnServerSidecar: a tag reading xds.route_name is on the
	// server-side reports of sidecars, where every request reads "default"
	// (istiod gives inbound sidecar routes its default name).
	CodeRouteNameOnServerSidecar = "RB108"
	// CodeUnreachedRouteObject: a route object attaches only to places
	// (Services, Gateways) that no Telemetry reading xds.route_name
	// reaches: its route names land in no metric.
	CodeUnreachedRouteObject = "RB109"
	// CodeNoRouteObjects: a tag reads xds.route_name where no route object
	// applies (or where routebundle cannot tell which proxy it is): every
	// request reads "default", and no route set is built.
	CodeNoRouteObjects = "RB110"
	// CodeRouteNameWrongSide: a tag reading xds.route_name is only on the
	// metrics of the side the proxy does not report: gateways and client
	// sidecars report mode CLIENT metrics, waypoints mode SERVER ones.
	CodeRouteNameWrongSide = "RB111"
	// CodeInvalidRegex: a route object's regex that Istio's RE2 rejects:
	// istiod's validation refuses a VirtualService holding one, and Envoy
	// the route configuration a Gateway API route's lands in.
	CodeInvalidRegex = "RB112"
)

// Schema findings (RB2xx): the object as the API server's strict field
// validation sees it.
const (
	// CodeUnknownField: a WasmPlugin or Telemetry has a field its CRD does
	// not declare (selctor:, tagOverride:); the API server rejects or drops it.
	CodeUnknownField = "RB201"
	// CodeUnservedKind: an object's kind or apiVersion differs from one of
	// Istio's only in case, by a typo or in an unserved version.
	CodeUnservedKind = "RB202"
)

// CodeInfo documents one diagnostic code.
type CodeInfo struct {
	Code     string
	Severity Severity
	Summary  string
}

// Codes lists every diagnostic code in order, with the severity it is always
// reported at.
func Codes() []CodeInfo {
	return []CodeInfo{
		{CodeMalformedDocument, Error, "a YAML or JSON document does not parse; the other documents are still read"},
		{CodeInvalidField, Error, "a field has the wrong type or value, or a required field is missing (`attributes: \"oops\"`, no `spec`)"},
		{CodeBareAttribute, Error, "a tag reads a Wasm attribute by its bare name (`istio_operationId`); Istio ≥ 1.24 reports `unknown`: use `filter_state['wasm.istio_operationId']`"},
		{CodeUnproducedAttribute, Error, "a tag reads an attribute that no attributegen WasmPlugin running where the Telemetry applies produces: always `unknown`"},
		{CodeUnconsumedAttribute, Warning, "an attributegen output attribute is read by no Telemetry tag in its scope, so it never reaches a metric"},
		{CodeWaypointUnreached, Error, "a WasmPlugin or Telemetry uses `selector` (or a WasmPlugin has no `targetRefs`) in a namespace served by a waypoint, which ignores it: use `targetRefs`"},
		{CodeNoRouteLatency, Warning, "the route tag is on REQUEST_COUNT but not on REQUEST_DURATION: no per-route latency"},
		{CodeInvalidCondition, Error, "a match condition or CEL tag value does not compile (with its position): Envoy rejects it (syntax: the plugin's whole config fails) or it fails when evaluated (unknown attribute, wrong type); the tag reads `unknown`"},
		{CodeDuplicateValue, Info, "a match repeats the value of an earlier match of the same attribute"},
		{CodeDuplicateCondition, Warning, "a match repeats the condition of an earlier match and never fires"},
		{CodeUnreachableMatch, Warning, "a match follows an always-true one (empty condition or `true`) and never fires"},
		{CodeUnanchoredRegex, Warning, "`matches()` uses a pattern without `^` or `$`; RE2 finds it anywhere in the string"},
		{CodeUnspecifiedPhase, Warning, "the WasmPlugin sets no `phase`; Istio releases that place such plugins after the stats filter report `unknown`: set `phase: STATS` (or AUTHN/AUTHZ), all of which run before stats"},
		{CodeUnboundedTagValue, Warning, "a tag value is built from the raw path, query or headers: unbounded metric cardinality"},
		{CodeNonPrometheusProvider, Warning, "a Telemetry metrics entry names providers, none of them `prometheus`: its tags never reach Prometheus"},
		{CodeReservedValue, Warning, "a route value is empty or `unknown`, indistinguishable from unclassified requests"},
		{CodeResponseOnRequest, Warning, "an attribute evaluated `ON_REQUEST` has a condition reading `response.*`, which does not exist yet"},
		{CodeOpaqueTagExpression, Info, "a tag value is a CEL expression whose values cannot be listed; no route set is built from it"},
		{CodeShadowedProducer, Warning, "several attributegen configs in one scope produce the same attribute; the one that runs last wins when it matches"},
		{CodeDuplicateObject, Warning, "the same kind/namespace/name was read twice; the later object is used"},
		{CodeEmptyMatch, Warning, "an attributegen attribute has no match entries and is never set"},
		{CodeClientOnlyTag, Warning, "a route tag is on no server-side request metric (only `mode: CLIENT`, or only on metrics the Telemetry disables): the bundle reads the server side (`reporter=~\"waypoint|destination\"`), so no route set, rules or dashboards are built for it"},
		{CodeLabelOverride, Warning, "the Telemetry writing a route tag also overrides a label the rules select or group on (`response_code`, `reporter`, `destination_workload`, `destination_workload_namespace`): what the error ratio counts changes"},
		{CodeFallibleCondition, Warning, "a condition or CEL tag value fails to evaluate for ordinary requests (`request.headers['x-beta']` without the header): attributegen stops at the first failing condition, so later matches are skipped and the tag reads `unknown`; guard it with `'x-beta' in request.headers` or `has(...)`"},
		{CodeMovedAttribute, Error, "an expression reads an attribute Istio 1.24 moved (`node` → `xds.node` in tag values, `filter_state['wasm.upstream_peer']` → `filter_state.upstream_peer`): it fails to evaluate, and the diagnostic names the replacement"},

		// Route objects and the names istiod gives their routes (xds.route_name).
		{CodeUnnamedVirtualServiceRoute, Warning, "a VirtualService `http` entry has no `name`: istiod names its routes `\"\"`, so `xds.route_name` is empty and Prometheus stores no label"},
		{CodeRouteNameCollision, Warning, "two rules attached to the same Service or Gateway give their routes the same name: their requests land in one series"},
		{CodeUnnamedRule, Warning, "an HTTPRoute or GRPCRoute rule has no `name`, so istiod names it `<namespace>.<route>.<index>`, which changes when rules are added or reordered; name it (Gateway API ≥ 1.2)"},
		{CodeReservedRouteName, Warning, "a route is named `default` (istiod's name for the route where no route object applies) or `unknown` (the tag when no route matched)"},
		{CodeIgnoredParentRef, Warning, "istiod ignores a parentRef (a Service needs `group: \"\"`), or a route has no parentRef it accepts and applies nowhere"},
		{CodeUnusableDelegate, Warning, "a VirtualService entry delegates to a VirtualService that is missing, has hosts, or is not exported to the root's namespace: istiod ignores the entry"},
		{CodeDelegateConflict, Warning, "a delegate VirtualService's entry matches outside the root entry that delegates to it: istiod drops it"},
		{CodeRouteNameOnServerSidecar, Warning, "a tag reading `xds.route_name` is on server-side sidecar metrics (`mode: SERVER` or `CLIENT_AND_SERVER` on sidecars): there every request reads `default`; use `mode: CLIENT`, or target the waypoint"},
		{CodeUnreachedRouteObject, Warning, "a route object attaches only to Services or Gateways that no Telemetry reading `xds.route_name` reaches: its route names land in no metric"},
		{CodeNoRouteObjects, Warning, "a tag reads `xds.route_name` where no route object applies (or at a Gateway routebundle cannot identify): every request reads `default` and no route set is built"},
		{CodeRouteNameWrongSide, Warning, "a tag reading `xds.route_name` is only on metrics of the side the proxy does not report (gateways and client sidecars report `mode: CLIENT` metrics, waypoints `mode: SERVER` ones): it never reaches a series"},
		{CodeInvalidRegex, Error, "a route object's regex is not valid RE2 (or, in a VirtualService, longer than 1,024 characters): istiod's validation rejects a VirtualService holding it; Envoy rejects the route configuration an HTTPRoute's or GRPCRoute's lands in and keeps its previous routes"},

		// Schema checks, as the API server's strict field validation makes them.
		{CodeUnknownField, Error, "a WasmPlugin or Telemetry has a field its CRD does not declare (`selctor:`, `tagOverride:`), with a \"did you mean\" when a declared one is one edit away; the API server rejects it under strict field validation (kubectl's default) or drops it"},
		{CodeUnservedKind, Error, "a kind or apiVersion that Istio does not serve but nearly does: `WASMPlugin` (kinds are case-sensitive), `extension.istio.io`, `extensions.istio.io/v1`; the object is ignored or rejected"},

		// Alerting annotations (package policy), reported by lint and generate.
		{"RB301", Error, "a `routebundle.io/` annotation value does not parse or is out of range; a value is applied whole or not at all, so the inherited value is used (`disable-alerts: latency,bogus` disables nothing)"},
		{"RB302", Warning, "an unknown `routebundle.io/` annotation or per-route key is ignored"},
		{"RB303", Warning, "`routebundle.io/routes` names a route value the route set does not produce"},

		// Recording rules (package rules), reported by generate.
		{"RB310", Error, "the `rules` section of the bundle config is invalid; no rules are generated"},
		{"RB311", Error, "the route tag cannot be a Prometheus label name; no rules for this route set"},
		{"RB312", Warning, "the route tag is not on REQUEST_COUNT, so there is nothing to record"},
		{"RB313", Warning, "two route sets classify the same namespace under the same tag and share one set of rules"},
		{"RB314", Warning, "a route set read on the client side (a gateway's or client sidecars' `xds.route_name`) uses a tag that server-side route sets use too: their recorded series would mix, so it gets no rules; give it a tag of its own"},

		// Dashboards (package dashboards), reported by generate.
		{"RB400", Error, "the `dashboards` section of the bundle config is invalid; no dashboards are built"},
		{"RB401", Error, "the route tag is not a label name PromQL can select; no dashboard for this route set"},
		{"RB402", Error, "the route tag is a label the dashboards already group by"},
		{"RB403", Error, "the route set's namespace is not a valid namespace name"},
		{"RB404", Warning, "a route value the dashboard's route variable cannot select (a backtick elsewhere forces Grafana's own escaping); the panels still show it under All"},
		{"RB405", Error, "the Grafana SDK refused a dashboard (a bug: please report it)"},
	}
}
