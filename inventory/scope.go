package inventory

import (
	"maps"
	"slices"
)

// reaches reports whether a WasmPlugin and a Telemetry apply to at least one
// common proxy, following Istio's attachment rules: a proxy of a Gateway
// (waypoints included) takes only policies whose targetRefs name it, a
// sidecar only those without targetRefs; a Telemetry without selector or
// targetRefs applies to every proxy of its namespace, waypoints included,
// and one in the root namespace to the whole mesh.
func (st *state) reaches(w *wasmPlugin, t *telemetry) bool {
	if !sameNamespaces(&w.policy, &t.policy) {
		return false
	}
	switch {
	case w.hasTargetRefs():
		if t.hasTargetRefs() {
			return st.sharedTarget(&w.policy, &t.policy)
		}
		return !t.hasSelector()
	case t.hasTargetRefs():
		// The plugin runs on sidecars, the Telemetry on waypoints.
		return false
	case w.hasSelector() && t.hasSelector():
		return compatibleSelectors(w.selector, t.selector)
	}
	return true
}

// sameNamespaces reports whether two policies can meet at all: in the same
// namespace, or one of them applying mesh-wide.
func sameNamespaces(a, b *policy) bool {
	return a.namespace == b.namespace || a.meshWide() || b.meshWide()
}

// compatibleSelectors reports whether some workload could carry both label
// sets: a selector matches a workload whose labels include all of it
// (pilot's isSelected: SubsetOf), so only the same key with different
// values keeps two selectors apart.
func compatibleSelectors(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; ok && w != v {
			return false
		}
	}
	return true
}

// subsetOf reports whether every label of a is in b: a workload selected by
// b is then also selected by a.
func subsetOf(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// union is the labels of both selectors (which are compatible).
func union(a, b map[string]string) map[string]string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make(map[string]string, len(a)+len(b))
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}

// target is a normalised targetRef.
type target struct {
	kind, namespace, name string
}

func (p *policy) targets() []target {
	out := make([]target, 0, len(p.targetRefs))
	for _, r := range p.targetRefs {
		ns := r.Namespace
		if ns == "" {
			ns = p.namespace
		}
		if r.Kind == "GatewayClass" {
			// GatewayClass istio-waypoint attaches only from the root
			// namespace (policyattachment.go, ShouldAttachPolicy).
			if !p.root || r.Name != WaypointClass {
				continue
			}
			ns = ""
		}
		out = append(out, target{kind: r.Kind, namespace: ns, name: r.Name})
	}
	return out
}

// sharedTarget reports whether two policies with targetRefs name a common
// proxy: the same object, or a Gateway (or GatewayClass) and something that
// proxy serves: a Gateway of that class, a Service in a namespace that uses
// that waypoint. Two different Services are different traffic even on one
// waypoint.
func (st *state) sharedTarget(a, b *policy) bool {
	theirs := b.targets()
	for _, x := range a.targets() {
		for _, y := range theirs {
			if x == y || st.proxyServes(x, y) || st.proxyServes(y, x) {
				return true
			}
		}
	}
	return false
}

// proxyServes reports whether target gw names whole proxies (Gateway,
// GatewayClass) one of which also serves other.
func (st *state) proxyServes(gw, other target) bool {
	if gw.kind != "Gateway" && gw.kind != "GatewayClass" {
		return false
	}
	mine := st.proxiesOf(gw)
	for _, p := range st.proxiesOf(other) {
		if slices.Contains(mine, p) {
			return true
		}
	}
	return false
}

// proxiesOf lists the Gateways (namespace/name) that run the policies of t,
// as far as the input tells.
func (st *state) proxiesOf(t target) []string {
	switch t.kind {
	case "Gateway":
		return []string{t.namespace + "/" + t.name}
	case "GatewayClass":
		var out []string
		for key, g := range st.gateways {
			if g.Class == t.name {
				out = append(out, key)
			}
		}
		return out
	case "Service", "ServiceEntry":
		if ns, ok := st.namespaces[t.namespace]; ok && ns.UseWaypoint != "" && ns.UseWaypoint != "none" {
			return []string{t.namespace + "/" + ns.UseWaypoint}
		}
	}
	return nil
}

// waypointScope is where a route set of plugins with targetRefs applies
// in namespace ns: the plugin's targets, or the Telemetry's when they are
// narrower (a Service of the waypoint).
func waypointScope(w *wasmPlugin, t *telemetry, ns string) Scope {
	s := w.scope()
	if ts := t.scope(); ts.Kind == ScopeService || (ts.Kind == ScopeWaypoint && s.Kind != ScopeService) {
		s = ts
	}
	s.TargetRefs = slices.Clone(s.TargetRefs)
	s.Selector = nil
	s.Namespace = ns
	return s
}
