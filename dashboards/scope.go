package dashboards

import (
	"cmp"
	"encoding/json"
	"fmt"
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
	// target names the waypoints or services (targetRefs) or the selector,
	// for people; empty for namespace and mesh scopes.
	target string
	// targetID is target encoded without ambiguity, for the key.
	targetID string
	tag      string
	// reporter is "source" for route names read on the client side.
	reporter string
}

func scopeOf(rs *inventory.RouteSet) scope {
	s := scope{kind: rs.Scope.Kind, namespace: cmp.Or(rs.Scope.Namespace, rs.Namespace), tag: rs.Tag, reporter: rs.Reporter}
	switch s.kind {
	case inventory.ScopeWaypoint, inventory.ScopeService, inventory.ScopeGateway:
		s.target = targetNames(rs.Scope.TargetRefs)
		refs := slices.Clone(rs.Scope.TargetRefs)
		slices.SortFunc(refs, func(a, b inventory.TargetRef) int {
			return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Kind, b.Kind),
				cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		s.targetID = jsonText(slices.Compact(refs))
	case inventory.ScopeWorkload:
		s.target = selectorText(rs.Scope.Selector)
		s.targetID = jsonText(rs.Scope.Selector)
	}
	return s
}

// jsonText encodes v unambiguously (maps with sorted keys); the values are
// strings, which always encode.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
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

// key identifies the scope completely: JSON keeps selectors and target
// references apart that render alike, and NUL occurs in none of the parts.
func (s scope) key() string {
	parts := []string{string(s.kind), s.namespace, s.targetID, s.tag}
	if s.reporter != "" {
		parts = append(parts, s.reporter)
	}
	return strings.Join(parts, "\x00")
}

func (s scope) uid() string {
	name := s.namespace
	switch s.kind {
	case inventory.ScopeMesh:
		name = "mesh"
	case inventory.ScopeWaypoint, inventory.ScopeService, inventory.ScopeWorkload, inventory.ScopeGateway:
		name += "-" + s.target
	}
	return makeUID(name, s.key())
}

// where says in words which proxies the scope covers, for titles.
func (s scope) where() string {
	switch s.kind {
	case inventory.ScopeMesh:
		return "mesh-wide" + s.side()
	case inventory.ScopeWaypoint:
		return s.namespace + " / waypoint " + s.target
	case inventory.ScopeService:
		return s.namespace + " / service " + s.target
	case inventory.ScopeWorkload:
		return s.namespace + " / workload " + s.target + s.side()
	case inventory.ScopeGateway:
		return s.namespace + " / gateway " + s.target
	}
	return s.namespace + s.side()
}

// side marks the scopes of client sidecars, which share kinds with
// server-side ones.
func (s scope) side() string {
	if s.reporter != "" {
		return " (client sidecars)"
	}
	return ""
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
	// name is the group's title without the prefix: where it applies, plus
	// the tag when another group applies there too, plus the UID when even
	// that is not unique (Grafana wants titles unique within a folder).
	name string
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
	for _, g := range groups {
		g.name = g.scope.where()
		g.routes = routeValues(g.sets)
	}
	disambiguate(groups, func(g *group) string { return " (" + g.scope.tag + ")" })
	disambiguate(groups, func(g *group) string { return " [" + g.scope.uid() + "]" })
	return groups
}

// disambiguate appends suffix to the names that more than one group has.
func disambiguate(groups []*group, suffix func(*group) string) {
	count := make(map[string]int, len(groups))
	for _, g := range groups {
		count[g.name]++
	}
	for _, g := range groups {
		if count[g.name] > 1 {
			g.name += suffix(g)
		}
	}
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
