package inventory

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/routing"
	"github.com/routebundle/routebundle/series"
)

// routePlace is one proxy (or class of proxies) a Telemetry tag reading
// xds.route_name applies to, with the destinations whose routes it
// matches.
type routePlace struct {
	names RouteNames
	// scope is where the route set applies; a waypoint's namespace is set
	// per destination namespace.
	scope Scope
	// services are the destinations of a waypoint or client sidecars.
	services []ServiceRef
}

// describe says where the place is, for messages.
func (p *routePlace) describe() string {
	rn := p.names
	rn.Services = p.services
	return rn.Describe()
}

// reaches reports whether the route object o's routes apply at p.
func (p *routePlace) reaches(ix *routing.Index, o *routing.Object) bool {
	for _, par := range ix.Parents(o) {
		switch {
		case p.names.Proxy == ProxyGateway:
			if par.Kind == routing.ParentGateway && par.Namespace == p.names.Namespace && par.Name == p.names.Gateway {
				return true
			}
		case par.Kind == routing.ParentService:
			if p.names.Proxy == ProxyClientSidecar || slices.Contains(p.services, ServiceRef{Namespace: par.Namespace, Name: par.Name}) {
				return true
			}
		case par.Kind == routing.ParentMesh && p.names.Proxy == ProxyClientSidecar:
			// Client sidecars apply the routes of every host they call.
			return true
		case par.Kind == routing.ParentMesh:
			for _, s := range p.services {
				if slices.ContainsFunc(par.Hosts, func(h string) bool { return h == ix.ServiceHost(s.Namespace, s.Name) || h == s.Host }) {
					return true
				}
			}
		}
	}
	return false
}

// evaluable reports whether routebundle can tell where o's routes apply:
// at Services and Gateway API Gateways. Istio Gateways, ListenerSets and
// ServiceEntries are not read, so a route object attached only to them is
// never reported as unreached.
func evaluable(ix *routing.Index, o *routing.Object) bool {
	parents := ix.Parents(o)
	for _, p := range parents {
		switch p.Kind {
		case routing.ParentIstioGateway, routing.ParentListenerSet, routing.ParentServiceEntry:
			return false
		}
	}
	return len(parents) > 0
}

// placesOf lists the proxies a Telemetry applies to that match route
// objects, and the targets routebundle cannot place. A Telemetry with
// targetRefs reaches the waypoints and gateways it names, and the waypoint
// of a Service it names; one without reaches the sidecars of its namespace
// (every namespace from the root) and, without a selector, the waypoints
// deployed there too.
func (st *state) placesOf(t *telemetry) (places []routePlace, unknown []string) {
	if t.hasTargetRefs() {
		for _, tg := range t.targets() {
			switch tg.kind {
			case "Gateway":
				switch role, _ := st.gatewayRole(tg.namespace, tg.name); role {
				case ProxyWaypoint:
					places = append(places, st.waypointPlace(waypointRef{tg.namespace, tg.name}))
				case ProxyGateway:
					places = append(places, routePlace{
						names: RouteNames{Proxy: ProxyGateway, Namespace: tg.namespace, Gateway: tg.name},
						scope: Scope{Kind: ScopeGateway, Namespace: tg.namespace,
							TargetRefs: []TargetRef{gatewayTargetRef(tg.namespace, tg.name, tg.namespace)}},
					})
				default:
					unknown = append(unknown, fmt.Sprintf("Gateway %s/%s, whose class the input does not say (no Gateway object, no Namespace using it as waypoint, no route attached to it)", tg.namespace, tg.name))
				}
			case "GatewayClass":
				for _, w := range st.waypoints() {
					places = append(places, st.waypointPlace(w))
				}
			case "Service":
				svc := ServiceRef{Namespace: tg.namespace, Name: tg.name}
				w, _ := st.waypointOf(svc)
				names := RouteNames{Proxy: ProxyWaypoint, Namespace: w.namespace, Gateway: w.name}
				places = append(places, routePlace{names: names, services: []ServiceRef{svc},
					scope: Scope{Kind: ScopeService, Namespace: svc.Namespace,
						TargetRefs: []TargetRef{{Kind: "Service", Name: svc.Name}}}})
			default:
				unknown = append(unknown, fmt.Sprintf("%s %s/%s, whose routes routebundle does not read", tg.kind, tg.namespace, tg.name))
			}
		}
		return places, unknown
	}
	if !t.hasSelector() {
		for _, w := range st.waypoints() {
			if t.meshWide() || w.namespace == t.namespace {
				places = append(places, st.waypointPlace(w))
			}
		}
	}
	if st.mayHaveSidecars(t) {
		ns := t.namespace
		if t.meshWide() {
			ns = ""
		}
		places = append(places, routePlace{
			names: RouteNames{Proxy: ProxyClientSidecar, Namespace: ns}, scope: t.scope(),
			services: st.routedServices(),
		})
	}
	return places, unknown
}

// waypointPlace is waypoint w with the destinations it serves.
func (st *state) waypointPlace(w waypointRef) routePlace {
	p := routePlace{names: RouteNames{Proxy: ProxyWaypoint, Namespace: w.namespace, Gateway: w.name},
		scope: Scope{Kind: ScopeWaypoint}}
	for _, svc := range st.routedServices() {
		got, known := st.waypointOf(svc)
		// Without the labels, assume the waypoint of a Service's own
		// namespace serves it, as a namespace's own waypoint usually does.
		if got == w || !known && svc.Namespace == w.namespace {
			p.services = append(p.services, svc)
		}
	}
	return p
}

// mayHaveSidecars reports whether a Telemetry without targetRefs reaches
// sidecars: not in a namespace that is known to be ambient.
func (st *state) mayHaveSidecars(t *telemetry) bool {
	if t.meshWide() {
		return true
	}
	n, ok := st.namespaces[t.namespace]
	return !ok || n.DataplaneMode != "ambient"
}

// routeNameTag builds the route sets of a tag whose value reads
// xds.route_name: one per waypoint and namespace of the Services it
// serves, per gateway, and for the client sidecars, each with the names
// istiod gives the routes there. It reports what keeps the names from a
// series.
func (st *state) routeNameTag(u *tagUse) {
	t := u.tel
	tag := st.newTag(u, "")
	tag.RouteNames = true
	eval, unmatched, ok := st.routeNameValue(u)
	if !ok {
		return
	}
	places, unknown := st.placesOf(t)
	for _, what := range unknown {
		st.c.add(diag.CodeNoRouteObjects, t.obj, u.field,
			"tag %s reads %s at %s: routebundle cannot tell which route objects apply there, and builds no route set for it",
			u.name, routing.RouteNameAttribute, what)
	}
	if len(places) == 0 && len(unknown) == 0 {
		st.c.add(diag.CodeNoRouteObjects, t.obj, u.field,
			"tag %s reads %s, but this Telemetry reaches no waypoint, gateway or sidecar (an ambient namespace without a waypoint): it never reads a route name",
			u.name, routing.RouteNameAttribute)
	}
	st.checkLatency(u)
	serverSidecars := false
	for i := range places {
		p := &places[i]
		st.routePlaces = append(st.routePlaces, *p)
		metrics, reporter := u.server, ""
		if p.names.Proxy != ProxyWaypoint {
			metrics, reporter = u.client, ReporterSource
		}
		serverSidecars = serverSidecars || p.names.Proxy == ProxyClientSidecar && len(u.server) > 0
		if len(metrics) == 0 {
			st.reportWrongSide(u, p)
			continue
		}
		for _, g := range st.placeGroups(p) {
			st.routeNameSet(u, tag, g, metrics, reporter, eval, unmatched)
		}
	}
	if serverSidecars {
		st.c.add(diag.CodeRouteNameOnServerSidecar, t.obj, u.field,
			"tag %s reads %s on sidecars, server side included (mode %s): a sidecar receiving a request matches it against istiod's inbound route %q, so every reporter=\"destination\" series reads %q; use mode: CLIENT, or target the waypoint",
			u.name, routing.RouteNameAttribute, u.mode(), routing.DefaultRouteName, routing.DefaultRouteName)
	}
}

func (st *state) reportWrongSide(u *tagUse, p *routePlace) {
	side, want := "server", "CLIENT or CLIENT_AND_SERVER"
	if p.names.Proxy == ProxyWaypoint {
		side, want = "client", "SERVER or CLIENT_AND_SERVER"
	}
	st.c.add(diag.CodeRouteNameWrongSide, u.tel.obj, u.field,
		"tag %s reads %s at %s, but only on %s-side metrics (mode %s), which that proxy does not report: use mode %s",
		u.name, routing.RouteNameAttribute, p.describe(), side, u.mode(), want)
}

// placeGroup is one route set's worth of a place: a waypoint's Services
// of one namespace, or the whole place.
type placeGroup struct {
	place    *routePlace
	scope    Scope
	services []ServiceRef
}

// placeGroups splits a waypoint's Services by namespace: the rules and
// dashboards select the destination namespace. Other places are one group.
func (st *state) placeGroups(p *routePlace) []placeGroup {
	if p.names.Proxy != ProxyWaypoint || p.scope.Kind == ScopeService {
		return []placeGroup{{place: p, scope: p.scope, services: p.services}}
	}
	byNS := make(map[string][]ServiceRef)
	for _, s := range p.services {
		byNS[s.Namespace] = append(byNS[s.Namespace], s)
	}
	if len(byNS) == 0 {
		byNS[p.names.Namespace] = nil
	}
	var out []placeGroup
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		sc := Scope{Kind: ScopeWaypoint, Namespace: ns,
			TargetRefs: []TargetRef{gatewayTargetRef(p.names.Namespace, p.names.Gateway, ns)}}
		out = append(out, placeGroup{place: p, scope: sc, services: byNS[ns]})
	}
	return out
}

// routeNameSet builds the route set of one place group, or reports that no
// route object applies there.
func (st *state) routeNameSet(u *tagUse, tag *Tag, g placeGroup, metrics []Metric, reporter string,
	eval func(string) (string, error), unmatched string) {
	t := u.tel
	names := g.place.names
	names.Services = g.services
	names.Unmatched = unmatched
	if strings.TrimSpace(u.value) != routing.RouteNameAttribute {
		names.Expression = u.value
	}
	routes, err := st.routesAt(&names, eval)
	if err != nil {
		st.c.add(diag.CodeOpaqueTagExpression, t.obj, u.field,
			"tag %s reads %s inside an expression whose value depends on more than the route name (%v): its values cannot be listed and no route set is built from it",
			u.name, routing.RouteNameAttribute, err)
		return
	}
	if len(routes) == 0 {
		st.c.add(diag.CodeNoRouteObjects, t.obj, u.field,
			"tag %s reads %s at %s, where no route object applies: every request reads %q (istiod's default route), and no route set is built",
			u.name, routing.RouteNameAttribute, names.Describe(), routing.DefaultRouteName)
		return
	}
	src := t.obj.FieldSource(u.field)
	rs := RouteSet{
		Namespace:   g.scope.Namespace,
		Scope:       g.scope,
		Tag:         u.name,
		Routes:      routes,
		Metrics:     slices.Clone(metrics),
		Mode:        u.mode(),
		Telemetry:   refOf(t.obj),
		Reporter:    reporter,
		Routing:     &names,
		Annotations: maps.Clone(t.annotations),
		Source:      src,
	}
	objs := []diag.ObjectRef{rs.Telemetry}
	switch {
	case names.Gateway != "":
		objs = []diag.ObjectRef{{Kind: "Gateway", Namespace: names.Namespace, Name: names.Gateway}, rs.Telemetry}
	case names.Proxy == ProxyWaypoint && len(g.services) == 1:
		objs = []diag.ObjectRef{serviceObject(g.services[0]), rs.Telemetry}
	}
	rs.ID = st.uniqueID(routeSetID(rs.Namespace, objs, u.name))
	tag.RouteSets = append(tag.RouteSets, rs.ID)
	st.sets = append(st.sets, rs)
}

// routesAt lists the routes of the place's tables in Envoy's order, with
// the value the tag reads for each; none when only istiod's default route
// applies everywhere. A destination without route objects keeps its
// default route, which is a value its requests read.
func (st *state) routesAt(names *RouteNames, eval func(string) (string, error)) ([]Route, error) {
	var out []Route
	var unrouted []string
	for _, pt := range names.tables(st.routeIndex()) {
		for _, r := range pt.Table.Routes {
			if r.IsDefault() {
				unrouted = appendUnique(unrouted, pt.Service.String())
				continue
			}
			if r.Name == "" {
				continue // reported (RB101); Prometheus drops an empty label
			}
			v, err := eval(r.Name)
			if err != nil {
				return nil, err
			}
			route := Route{Value: v, RouteName: r.Name, Summary: r.WrittenSummary(), Object: r.Object.Ref(),
				Field: r.Field, Source: routeSource(&r)}
			if pt.Service == nil && pt.Table.Host != "*" {
				route.Summary += " (host " + pt.Table.Host + ")"
			}
			if !slices.ContainsFunc(out, func(x Route) bool { return x.Value == route.Value && x.Summary == route.Summary }) {
				out = append(out, route)
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	if len(unrouted) > 0 {
		v, err := eval(routing.DefaultRouteName)
		if err != nil {
			return nil, err
		}
		out = append(out, Route{Value: v, RouteName: routing.DefaultRouteName,
			Summary: "no route object applies: " + listSome(unrouted, 3)})
	}
	return out, nil
}

// listSome joins the first n items and counts the rest.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// routeSource is where the route's match (or rule) is written.
func routeSource(r *routing.Route) diag.Source {
	rule := &r.Object.Rules[r.Rule]
	if r.Match >= 0 && r.Match < len(rule.Matches) {
		return rule.Matches[r.Match].Source
	}
	return rule.Source
}

// routeNameValue compiles a tag value reading xds.route_name and returns
// what it yields for a route name, and for a request no route matched
// (the tag then reads "unknown", unless the expression has a value of its
// own without a route name). It reports values that cannot work.
func (st *state) routeNameValue(u *tagUse) (func(string) (string, error), string, bool) {
	identity := func(name string) (string, error) { return name, nil }
	if strings.TrimSpace(u.value) == routing.RouteNameAttribute {
		return identity, series.UnknownRoute, true
	}
	ci := st.analyze(u.value)
	if moved := ci.movedTag(); len(moved) > 0 {
		st.c.add(diag.CodeMovedAttribute, u.tel.obj, u.field, "tag %s reads %s: %s", u.name, moved[0].Old, moveText(moved[0]))
		return nil, "", false
	}
	if len(ci.unbounded) > 0 {
		st.c.add(diag.CodeUnboundedTagValue, u.tel.obj, u.field,
			"tag %s copies %s into its value: every distinct request creates new time series; classify into a fixed set of values instead",
			u.name, strings.Join(ci.unbounded, ", "))
		return nil, "", false
	}
	prog, err := st.b.tags.Compile(u.value)
	if err != nil {
		st.reportCompileError(u.tel.obj, u.field, err, fmt.Sprintf("the stats filter cannot parse it and leaves tag %s off the metrics", u.name))
		return nil, "", false
	}
	eval := func(name string) (string, error) {
		return prog.EvalString(attrgen.Request{Attributes: map[string]any{routing.RouteNameAttribute: name}})
	}
	unmatched := series.UnknownRoute
	// Without a matched route, xds holds no route_name: has() is false.
	if v, err := prog.EvalString(attrgen.Request{Attributes: map[string]any{"xds": map[string]any{}}}); err == nil {
		unmatched = v
	}
	return eval, unmatched, true
}
