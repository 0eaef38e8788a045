package inventory

import (
	"strings"

	"github.com/routebundle/routebundle/manifest"
)

// API groups of the kinds the inventory reads; other kinds are ignored.
const (
	groupExtensions = "extensions.istio.io"
	groupTelemetry  = "telemetry.istio.io"
	groupGateway    = "gateway.networking.k8s.io"
)

// defaultNamespace is where kubectl puts namespaced objects that name none.
const defaultNamespace = "default"

// policy is what WasmPlugin and Telemetry share: where they apply.
type policy struct {
	obj         *manifest.Object
	namespace   string
	annotations map[string]string
	targetRefs  []TargetRef
	// targetRefsField is the path of the targetRefs (or legacy targetRef).
	targetRefsField manifest.Path
	selector        map[string]string
	// root: the policy is in the root namespace.
	root bool
}

func (p *policy) hasTargetRefs() bool { return len(p.targetRefs) > 0 }
func (p *policy) hasSelector() bool   { return len(p.selector) > 0 }
func (p *policy) isPlugin() bool      { return p.obj.Kind == "WasmPlugin" }

// meshWide reports a policy that Istio applies in every namespace. Pilot
// looks WasmPlugins up in the proxy's namespace and the root namespace
// (istio/istio pilot/pkg/model/push_context.go, WasmPluginsByListenerInfo),
// and matches a selector against the workload's labels alone
// (policyattachment.go, isSelected): a root WasmPlugin applies mesh-wide,
// with or without selector. Telemetries are looked up in the proxy's
// namespace, plus the root namespace's one without selector or targetRefs
// (telemetry.go, applicableTelemetries): a root Telemetry with a selector
// only selects workloads of the root namespace. A root WasmPlugin whose
// targetRefs name GatewayClass istio-waypoint reaches every waypoint
// (policyattachment.go, ShouldAttachPolicy).
func (p *policy) meshWide() bool {
	if !p.root {
		return false
	}
	if p.hasTargetRefs() {
		return p.isPlugin() && p.waypointClassRef()
	}
	return p.isPlugin() || !p.hasSelector()
}

// waypointClassRef reports a targetRef to GatewayClass istio-waypoint,
// which attaches only from the root namespace.
func (p *policy) waypointClassRef() bool {
	for _, r := range p.targetRefs {
		if r.Kind == "GatewayClass" && r.Name == WaypointClass {
			return true
		}
	}
	return false
}

// scope is where the policy alone applies.
func (p *policy) scope() Scope {
	s := Scope{Namespace: p.namespace}
	switch {
	case p.hasTargetRefs():
		s.Kind = ScopeService
		for _, r := range p.targetRefs {
			if r.Kind == "Gateway" || r.Kind == "GatewayClass" {
				s.Kind = ScopeWaypoint
			}
		}
		s.TargetRefs = p.targetRefs
	case p.hasSelector():
		s.Kind = ScopeWorkload
		s.Selector = p.selector
		if p.root && p.isPlugin() {
			s.Kind = ScopeMesh
		}
	case p.root:
		s.Kind = ScopeMesh
	default:
		s.Kind = ScopeNamespace
	}
	return s
}

// Wasm plugin phases. Current Istio inserts all of them before its stats
// filter; STATS means "right before stats", not after it.
const (
	phaseUnspecified = "UNSPECIFIED_PHASE"
	phaseAuthn       = "AUTHN"
	phaseAuthz       = "AUTHZ"
	phaseStats       = "STATS"
)

// attributegen's own phases (istio/proxy extensions/attributegen/config.proto
// at 359dcd3a, the build Istio ships): AFTER_RESPONSE (= 0, the default,
// alias PHASE_UNSPECIFIED) and ON_REQUEST.
const (
	evalAfterResponse = "AFTER_RESPONSE"
	evalOnRequest     = "ON_REQUEST"
	evalUnspecified   = "PHASE_UNSPECIFIED"
)

// phaseRank orders phases as the filter chain runs them.
func phaseRank(phase string) int {
	switch phase {
	case phaseAuthn:
		return 0
	case phaseAuthz:
		return 1
	case phaseStats:
		return 2
	}
	return 3
}

type wasmPlugin struct {
	policy
	phase    string // "" when unset
	priority int64
	// attributes are the attributegen configs, in order.
	attributes []attrConfig
}

// attrConfig is one entry of pluginConfig.attributes.
type attrConfig struct {
	plugin *wasmPlugin
	index  int
	field  manifest.Path
	output string
	// evalPhase is attributegen's own phase: AFTER_RESPONSE (default) or ON_REQUEST.
	evalPhase string
	matches   []Route
}

type telemetry struct {
	policy
	metrics []metricsEntry
}

type metricsEntry struct {
	field     manifest.Path
	providers []string
	overrides []override
}

type override struct {
	field manifest.Path
	// metric is the standard metric matched; "" for customMetric, which no
	// route set uses.
	metric Metric
	custom bool
	mode   string
	// disabled is the value of disabled when disabledSet; an override
	// without the field leaves the metric as it was.
	disabled    bool
	disabledSet bool
	tags        []tagOverride
}

type tagOverride struct {
	name   string
	field  manifest.Path // ...tagOverrides.<name>
	remove bool
	value  string
}

func objectNamespace(o *manifest.Object) string {
	if o.Namespace == "" {
		return defaultNamespace
	}
	return o.Namespace
}

func isWasmPlugin(o *manifest.Object) bool {
	return o.Kind == "WasmPlugin" && o.Group() == groupExtensions
}

func isTelemetry(o *manifest.Object) bool {
	return o.Kind == "Telemetry" && o.Group() == groupTelemetry
}

func isGateway(o *manifest.Object) bool {
	return o.Kind == "Gateway" && o.Group() == groupGateway
}

func isNamespace(o *manifest.Object) bool {
	return o.Kind == "Namespace" && o.APIVersion == "v1"
}

// looksLikeAttributegen says whether a WasmPlugin is attributegen: its url
// names it, or its pluginConfig.attributes has attributegen's shape. Other
// Wasm plugins are ignored without a word.
func looksLikeAttributegen(spec map[string]any) bool {
	url, _ := spec["url"].(string)
	if strings.Contains(strings.ToLower(url), "attributegen") {
		return true
	}
	pc, _ := spec["pluginConfig"].(map[string]any)
	attrs, present := pc["attributes"]
	switch t := attrs.(type) {
	case []any:
		for _, it := range t {
			m, _ := it.(map[string]any)
			if _, ok := m["output_attribute"]; ok {
				return true
			}
			if _, ok := m["match"]; ok {
				return true
			}
		}
		return false
	case map[string]any:
		// Some other plugin's configuration.
		return false
	}
	// A scalar attributes: only attributegen has that key, with a list.
	return present && attrs != nil
}
