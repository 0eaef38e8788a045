package inventory

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// class is a set of workloads that run the same attributegen configs for
// one Telemetry tag: one route set each.
type class struct {
	// configs run on every workload of the class, in execution order.
	configs []*attrConfig
	scope   Scope
	key     string
}

// domain is where the configs that may run on one workload come from: the
// workload's namespace and the root namespace (pilot looks WasmPlugins up
// in exactly those two, push_context.go WasmPluginsByListenerInfo).
// namespace is "" for workloads of any namespace, which only root configs
// reach.
type domain struct {
	namespace   string
	local, root []*attrConfig
}

func (d *domain) all() []*attrConfig {
	out := slices.Concat(d.local, d.root)
	slices.SortStableFunc(out, compareExecution)
	return out
}

// domains splits the configs that reach Telemetry t by the namespaces
// whose workloads they run on. A mesh-wide Telemetry reaches the workloads
// of every namespace: each namespace with configs of its own is a domain,
// and "" stands for all the others, which run the root configs only.
func (st *state) domains(acs []*attrConfig, t *telemetry) []*domain {
	if !t.meshWide() {
		// Only the Telemetry's namespace: acs are its configs and the root's.
		d := &domain{namespace: t.namespace}
		for _, ac := range acs {
			if ac.plugin.root && !t.root {
				d.root = append(d.root, ac)
			} else {
				d.local = append(d.local, ac)
			}
		}
		return []*domain{d}
	}
	var root []*attrConfig
	local := make(map[string][]*attrConfig)
	for _, ac := range acs {
		if ac.plugin.root {
			root = append(root, ac)
		} else {
			local[ac.plugin.namespace] = append(local[ac.plugin.namespace], ac)
		}
	}
	var out []*domain
	for _, ns := range slices.Sorted(maps.Keys(local)) {
		out = append(out, &domain{namespace: ns, local: local[ns], root: root})
	}
	if len(root) > 0 {
		out = append(out, &domain{root: root})
	}
	return out
}

// classes returns the classes of workloads the configs of domains (which
// all reach t) classify, sorted. Waypoints run the configs with targetRefs,
// sidecars the others: they never share a class. Among sidecars, a config
// runs on the workloads its selector matches, so two configs meet only
// where some workload matches both. Each distinct selector S (the empty one
// included) makes the class of workloads labelled S: they run every config
// whose selector is a subset of S, and their Telemetry's selector too. A
// workload that two incomparable selectors both match (app=a and
// version=v1) runs both configs; that overlap is reported (RB019) but gets
// no class of its own.
func classes(domains []*domain, t *telemetry) []class {
	var out []class
	for _, d := range domains {
		all := d.all()
		var waypoint, sidecar []*attrConfig
		for _, ac := range all {
			if ac.plugin.hasTargetRefs() {
				waypoint = append(waypoint, ac)
			} else {
				sidecar = append(sidecar, ac)
			}
		}
		if len(waypoint) > 0 && (d.namespace == "" || !t.meshWide() || slices.ContainsFunc(waypoint, isLocal)) {
			last := waypoint[len(waypoint)-1].plugin
			ns := cmp.Or(d.namespace, last.namespace)
			out = append(out, class{configs: waypoint, scope: waypointScope(last, t, ns), key: "waypoint\x00" + ns})
		}
		out = append(out, sidecarClasses(d, sidecar, t)...)
	}
	slices.SortFunc(out, func(a, b class) int { return cmp.Compare(a.key, b.key) })
	return out
}

func isLocal(ac *attrConfig) bool { return !ac.plugin.root }

// sidecarClasses returns the classes of the sidecar configs of domain d.
func sidecarClasses(d *domain, configs []*attrConfig, t *telemetry) []class {
	seen := make(map[string]bool)
	var out []class
	for _, ac := range configs {
		if !compatibleSelectors(ac.plugin.selector, t.selector) {
			continue
		}
		sel := union(ac.plugin.selector, t.selector)
		key := selectorKey(sel)
		if seen[key] {
			continue
		}
		seen[key] = true
		var members []*attrConfig
		hasLocal := false
		for _, m := range configs {
			if subsetOf(m.plugin.selector, sel) {
				members = append(members, m)
				hasLocal = hasLocal || isLocal(m)
			}
		}
		// Root-only classes of a mesh-wide Telemetry belong to the domain
		// of all namespaces.
		if d.namespace != "" && t.meshWide() && !hasLocal {
			continue
		}
		out = append(out, class{configs: members, scope: sidecarScope(d, t, sel), key: d.namespace + "\x00" + key})
	}
	return out
}

// sidecarScope is the scope of the sidecars labelled sel in domain d.
func sidecarScope(d *domain, t *telemetry, sel map[string]string) Scope {
	switch {
	case d.namespace == "":
		return Scope{Kind: ScopeMesh, Namespace: t.namespace, Selector: sel}
	case len(sel) == 0:
		return Scope{Kind: ScopeNamespace, Namespace: d.namespace}
	}
	return Scope{Kind: ScopeWorkload, Namespace: d.namespace, Selector: sel}
}

// selectorKey encodes a selector unambiguously (sorted keys).
func selectorKey(sel map[string]string) string {
	if len(sel) == 0 {
		return "{}"
	}
	b, err := json.Marshal(sel)
	if err != nil {
		return formatSelector(sel)
	}
	return string(b)
}

// formatSelector renders labels as k=v,k2=v2, sorted.
func formatSelector(sel map[string]string) string {
	parts := make([]string, 0, len(sel))
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ",")
}

// overlaps returns, for each config of the domains of t that another one
// overrides on some proxy, the config that runs last there and the labels of
// the workloads where they meet (nil for a whole namespace or a waypoint).
func (st *state) overlaps(domains []*domain, t *telemetry) []overlap {
	var out []overlap
	for _, d := range domains {
		if len(d.local)+len(d.root) < 2 {
			continue
		}
		all := d.all()
		for i, a := range all {
			var last *attrConfig
			var where map[string]string
			for _, b := range all[i+1:] {
				if meet, labels := st.meets(a, b, t); meet {
					last, where = b, labels
				}
			}
			if last != nil {
				out = append(out, overlap{shadowed: a, by: last, labels: where})
			}
		}
	}
	return out
}

type overlap struct {
	shadowed, by *attrConfig
	labels       map[string]string
}

// meets reports whether configs a and b run on a common proxy that t
// covers, and the labels of the sidecars where they do.
func (st *state) meets(a, b *attrConfig, t *telemetry) (bool, map[string]string) {
	pa, pb := &a.plugin.policy, &b.plugin.policy
	if pa.hasTargetRefs() != pb.hasTargetRefs() {
		return false, nil
	}
	if pa.hasTargetRefs() {
		return st.sharedTarget(pa, pb), nil
	}
	if !compatibleSelectors(pa.selector, pb.selector) || !compatibleSelectors(union(pa.selector, pb.selector), t.selector) {
		return false, nil
	}
	return true, union(union(pa.selector, pb.selector), t.selector)
}
