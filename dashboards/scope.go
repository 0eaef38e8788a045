package dashboards

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/inventory"
)

// scope is what one workload dashboard covers: the proxies a route
// classification runs in (a waypoint, a service, a workload selector, a
// namespace or the whole mesh) and the route tag it writes. Route sets that
// agree on both share a dashboard.
type scope struct {
	kind      inventory.ScopeKind
	namespace string
	// target names the waypoints or services (targetRefs) or the selector;
	// empty for namespace and mesh scopes.
	target string
	tag    string
}

func scopeOf(rs *inventory.RouteSet) scope {
	s := scope{kind: rs.Scope.Kind, namespace: cmp.Or(rs.Scope.Namespace, rs.Namespace), tag: rs.Tag}
	switch s.kind {
	case inventory.ScopeWaypoint, inventory.ScopeService:
		s.target = targetNames(rs.Scope.TargetRefs)
	case inventory.ScopeWorkload:
		s.target = selectorText(rs.Scope.Selector)
	}
	return s
}

// targetNames renders targetRefs as sorted, de-duplicated names; the kind
// is shown only where it is not the usual one (Gateway, Service).
func targetNames(refs []inventory.TargetRef) string {
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		n := r.Name
		if r.Namespace != "" {
			n = r.Namespace + "/" + n
		}
		if r.Kind != "Gateway" && r.Kind != "Service" {
			n = r.Kind + " " + n
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ", ")
}

func selectorText(sel map[string]string) string {
	parts := make([]string, 0, len(sel))
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ",")
}

// key identifies the scope completely; NUL cannot occur in Kubernetes names.
func (s scope) key() string {
	return strings.Join([]string{string(s.kind), s.namespace, s.target, s.tag}, "\x00")
}

func (s scope) uid() string {
	name := s.namespace
	switch s.kind {
	case inventory.ScopeMesh:
		name = "mesh"
	case inventory.ScopeWaypoint, inventory.ScopeService, inventory.ScopeWorkload:
		name += "-" + s.target
	}
	return makeUID(name, s.key())
}

// where says in words which proxies the scope covers, for titles.
func (s scope) where() string {
	switch s.kind {
	case inventory.ScopeMesh:
		return "mesh-wide"
	case inventory.ScopeWaypoint:
		return s.namespace + " / waypoint " + s.target
	case inventory.ScopeService:
		return s.namespace + " / service " + s.target
	case inventory.ScopeWorkload:
		return s.namespace + " / workload " + s.target
	}
	return s.namespace
}

// group is the route sets one workload dashboard shows.
type group struct {
	scope scope
	sets  []*inventory.RouteSet
	// routes are the route values of all sets, in classification order,
	// de-duplicated.
	routes []string
	// latency is true when any set carries the tag on REQUEST_DURATION:
	// the latency series then exist for (some of) the workloads.
	latency bool
	// titleTag is set when another group has the same scope with another
	// tag: the title must tell them apart (Grafana wants unique titles).
	titleTag bool
}

// groupSets groups route sets by scope, sorted by UID so that output order
// does not depend on input order.
func groupSets(sets []*inventory.RouteSet) []*group {
	byKey := make(map[string]*group, len(sets))
	for _, rs := range sets {
		s := scopeOf(rs)
		g := byKey[s.key()]
		if g == nil {
			g = &group{scope: s}
			byKey[s.key()] = g
		}
		g.sets = append(g.sets, rs)
		g.latency = g.latency || rs.HasLatency()
	}
	groups := slices.Collect(maps.Values(byKey))
	slices.SortFunc(groups, func(a, b *group) int { return cmp.Compare(a.scope.key(), b.scope.key()) })
	sameWhere := make(map[string]int, len(groups))
	for _, g := range groups {
		sameWhere[g.scope.where()]++
	}
	for _, g := range groups {
		g.titleTag = sameWhere[g.scope.where()] > 1
		g.routes = routeValues(g.sets)
	}
	return groups
}

func routeValues(sets []*inventory.RouteSet) []string {
	var out []string
	seen := map[string]bool{}
	for _, rs := range sets {
		for _, v := range rs.RouteValues() {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}
