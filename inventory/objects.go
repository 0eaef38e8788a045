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
}

func (p *policy) hasTargetRefs() bool { return len(p.targetRefs) > 0 }
func (p *policy) hasSelector() bool   { return len(p.selector) > 0 }

// meshWide reports a policy in the root namespace that Istio applies to
// every namespace: one without targetRefs, and for a Telemetry also without
// selector (a root Telemetry with a selector only selects workloads of the
// root namespace, while a root WasmPlugin's selector picks workloads
// mesh-wide).
func (p *policy) meshWide() bool {
	if p.namespace != RootNamespace || p.hasTargetRefs() {
		return false
	}
	return p.obj.Kind == "WasmPlugin" || !p.hasSelector()
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
	case p.namespace == RootNamespace:
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
	// evalPhase is attributegen's own phase: ON_LOG (default) or ON_REQUEST.
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
	metric   Metric
	custom   bool
	mode     string
	disabled bool
	tags     []tagOverride
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
