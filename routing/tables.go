package routing

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Table is the routes one proxy tries, in order, for requests to one host
// (an Envoy virtual host): the first route whose match holds wins. A request
// no route matches gets a 404 and no route name (the tag reads "unknown").
type Table struct {
	// Host is the virtual host: a service hostname, a Gateway hostname, or "*".
	Host   string  `json:"host"`
	Routes []Route `json:"routes"`
}

// Match returns the route a request gets.
func (t Table) Match(req Request) (Route, bool) {
	for _, r := range t.Routes {
		if r.Matches == nil || r.Matches.Matches(req) {
			return r, true
		}
	}
	return Route{}, false
}

// Names returns the distinct route names in order.
func (t Table) Names() []string {
	var out []string
	for _, r := range t.Routes {
		if !slices.Contains(out, r.Name) {
			out = append(out, r.Name)
		}
	}
	return out
}

// ProxyKind is the kind of proxy evaluating mesh routes.
type ProxyKind string

// Proxies that evaluate a Service's routes.
const (
	// Waypoint is the waypoint serving the service (reporter="waypoint").
	Waypoint ProxyKind = "waypoint"
	// ClientSidecar is the sidecar of a client calling the service
	// (reporter="source").
	ClientSidecar ProxyKind = "sidecar"
)

// Service is the destination of mesh traffic.
type Service struct {
	Namespace string
	Name      string
	// ServiceEntry marks an Istio ServiceEntry, whose hostnames are Hosts;
	// a Kubernetes Service's hostname is name.namespace.svc.<domain>.
	ServiceEntry bool
	Hosts        []string
	// Port is the service port requests go to; 0 means all.
	Port uint32
}

// candidate is one VirtualService as istiod sees it at a proxy: a real one,
// or the one istiod builds from the Gateway API routes of one namespace
// attached to one parent and port (route_collections.go
// HTTPRouteCollection keys mesh routes by namespace, port and host).
type candidate struct {
	namespace  string
	created    time.Time
	name       string
	gatewayAPI bool
	// visibility is 0 private to the proxy's namespace, 1 exported to it,
	// 2 public (push_context.go initVirtualServices).
	visibility int
	hosts      []string
	routes     []Route
}

// ServiceRoutes is the table a proxy uses for requests to svc. proxyNamespace
// is the waypoint's namespace or the client's.
//
// istiod's sidecar scope lists the VirtualServices visible from the proxy's
// namespace: Gateway API routes of that namespace first (consumer routes),
// then the others, private before exported before public, oldest first
// (model/virtualservice.go SelectVirtualServices, push_context.go
// initVirtualServices). A waypoint takes those of the waypoint's and the
// service's namespace whose hosts cover the service and concatenates their
// routes (listener_waypoint.go getVirtualServiceForWaypoint,
// buildWaypointInboundHTTPRouteConfig); a client sidecar uses the first
// VirtualService for the service's host, an exact host before a wildcard
// (route.go BuildSidecarVirtualHostWrapper, httproute.go dedupeDomains). A
// service no route applies to gets the default route.
func (ix *Index) ServiceRoutes(kind ProxyKind, proxyNamespace string, svc Service) Table {
	hosts := svc.Hosts
	if !svc.ServiceEntry {
		hosts = []string{ix.ServiceHost(svc.Namespace, svc.Name)}
	}
	t := Table{Host: strings.ToLower(cmp.Or(strings.Join(hosts, ","), "*"))}
	cands := ix.meshCandidates(proxyNamespace, svc, hosts)
	switch kind {
	case Waypoint:
		for _, c := range cands {
			if c.namespace == proxyNamespace || c.namespace == svc.Namespace {
				t.Routes = append(t.Routes, c.routes...)
			}
		}
	default:
		// A Gateway API route of a third namespace does not reach the
		// client (route.go buildSidecarVirtualHostsForVirtualService).
		cands = slices.DeleteFunc(cands, func(c candidate) bool {
			return c.gatewayAPI && c.namespace != proxyNamespace && c.namespace != svc.Namespace
		})
		if c, ok := firstForHost(cands, hosts); ok {
			t.Routes = c.routes
		}
	}
	if len(t.Routes) == 0 {
		t.Routes = []Route{defaultRoute()}
	}
	return t
}

// meshCandidates lists, in istiod's order, the VirtualServices (real or
// built from Gateway API routes) bound to the mesh, visible from
// proxyNamespace and covering one of hosts, with their routes for the port.
func (ix *Index) meshCandidates(proxyNamespace string, svc Service, hosts []string) []candidate {
	var cands []candidate
	cands = append(cands, ix.gatewayAPIMeshCandidates(svc, hosts)...)
	for _, o := range ix.objects {
		if o.Kind != VirtualService || o.IsDelegate() || !slices.Contains(ix.gatewayNames(o), MeshGateway) {
			continue
		}
		vis, ok := visibility(o, proxyNamespace)
		if !ok {
			continue
		}
		c := candidate{namespace: o.Namespace, created: o.CreationTimestamp, name: o.Name, visibility: vis, hosts: ix.vsHosts(o)}
		if !coversAny(c.hosts, hosts) {
			continue
		}
		c.routes = routesAt(ix.routes[o], MeshGateway, svc.Port)
		if len(c.routes) > 0 {
			cands = append(cands, c)
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Or(
			-cmp.Compare(boolRank(a.gatewayAPI && a.namespace == proxyNamespace), boolRank(b.gatewayAPI && b.namespace == proxyNamespace)),
			cmp.Compare(a.visibility, b.visibility),
			a.created.Compare(b.created),
			cmp.Compare(a.name, b.name), cmp.Compare(a.namespace, b.namespace))
	})
	return cands
}

// gatewayAPIMeshCandidates groups the Gateway API routes attached to svc by
// namespace and parentRef port, each group one VirtualService as old as
// its oldest route, with its routes in Gateway API order.
func (ix *Index) gatewayAPIMeshCandidates(svc Service, hosts []string) []candidate {
	type key struct {
		ns   string
		port int32
	}
	groups := make(map[key][]Route)
	var keys []key
	for _, o := range ix.objects {
		if !o.GatewayAPI() {
			continue
		}
		for _, ref := range o.ParentRefs {
			ref = ref.Resolved(o.Namespace)
			kind, ok := ref.ParentKind()
			if !ok || kind != ParentService && kind != ParentServiceEntry || (kind == ParentServiceEntry) != svc.ServiceEntry ||
				ref.Namespace != svc.Namespace || ref.Name != svc.Name {
				continue
			}
			if ref.Port != 0 && svc.Port != 0 && uint32(ref.Port) != svc.Port {
				continue
			}
			k := key{o.Namespace, ref.Port}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], withPort(ix.routes[o], ref.Port)...)
		}
	}
	out := make([]candidate, 0, len(keys))
	for _, k := range keys {
		routes := groups[k]
		if len(routes) == 0 {
			continue // a route without rules makes no VirtualService
		}
		OrderGatewayAPI(routes)
		oldest := slices.MinFunc(routes, func(a, b Route) int { return compareObjects(a.Object, b.Object) }).Object
		// mergeHTTPRoutes names the VirtualService after its key,
		// namespace[/port]/host with "/" turned into "~".
		name := k.ns
		if k.port != 0 {
			name += "~" + strconv.Itoa(int(k.port))
		}
		name += "~" + hosts[0]
		out = append(out, candidate{
			namespace: k.ns, created: oldest.CreationTimestamp, name: name, gatewayAPI: true,
			visibility: 2, routes: untilCatchAll(routes, svc.Port),
		})
	}
	return out
}

// withPort copies routes with their matches restricted to a parentRef's
// port, as route_collections.go augmentPortMatch does (a rule without
// matches gets a match on the port alone).
func withPort(routes []Route, port int32) []Route {
	out := slices.Clone(routes)
	if port == 0 {
		return out
	}
	for i := range out {
		m := &Match{}
		if out[i].Matches != nil {
			m = cloneMatch(out[i].Matches)
		}
		m.Port = uint32(port)
		out[i].Matches = m
	}
	return out
}

// routesAt keeps the routes of a VirtualService that a proxy of gateway
// (MeshGateway or "ns/name") builds for port (0: any), up to the first
// catch-all (route.go BuildHTTPRoutesForVirtualService, TranslateRoute,
// sourceMatchHTTP): a match naming gateways applies only at those, and
// there regardless of its sourceLabels.
func routesAt(routes []Route, gateway string, port uint32) []Route {
	var out []Route
	for _, r := range routes {
		if m := r.Matches; m != nil {
			if len(m.Gateways) > 0 {
				if !matchBindsTo(m, r.origin.obj.Namespace, gateway) {
					continue
				}
				if len(m.SourceLabels) > 0 || m.SourceNamespace != "" {
					c := cloneMatch(m)
					c.SourceLabels, c.SourceNamespace = nil, ""
					r.Matches = c
				}
			}
			if port != 0 && m.Port != 0 && m.Port != port {
				continue
			}
		}
		out = append(out, r)
	}
	return untilCatchAll(out, port)
}

// matchBindsTo reports whether a match's gateways, resolved in namespace,
// include gateway.
func matchBindsTo(m *Match, namespace, gateway string) bool {
	for _, g := range m.Gateways {
		if resolveGatewayName(g, namespace) == gateway {
			return true
		}
	}
	return false
}

// visibility places a VirtualService in push_context.go
// initVirtualServices' lists for proxies of namespace ns: public ("*" or no
// exportTo), private (exported to its own namespace) or exported to ns.
func visibility(o *Object, ns string) (int, bool) {
	if len(o.ExportTo) == 0 || slices.Contains(o.ExportTo, "*") {
		return 2, true
	}
	if slices.Contains(o.ExportTo, "~") {
		return 0, false
	}
	for _, e := range o.ExportTo {
		if e == "." {
			e = o.Namespace
		}
		if e == ns {
			if ns == o.Namespace {
				return 0, true
			}
			return 1, true
		}
	}
	return 0, false
}

func coversAny(patterns, hosts []string) bool {
	for _, h := range hosts {
		for _, p := range patterns {
			if hostMatches(p, h) {
				return true
			}
		}
	}
	return false
}

// firstForHost picks the sidecar's VirtualService for hosts: an exact host
// wins over a wildcard, the longest wildcard over shorter ones, then list
// order (Gateway API candidates have the service's own host).
func firstForHost(cands []candidate, hosts []string) (candidate, bool) {
	best, bestRank := -1, -1
	for i, c := range cands {
		rank := 0
		if c.gatewayAPI {
			rank = hostSpecificity(hosts[0])
		} else {
			for _, p := range c.hosts {
				for _, h := range hosts {
					if hostMatches(p, h) {
						rank = max(rank, hostSpecificity(p))
					}
				}
			}
		}
		if rank > bestRank {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return candidate{}, false
	}
	return cands[best], true
}

// hostSpecificity ranks virtual host domains as Envoy selects them: exact
// first, then longer wildcard suffixes, "*" last.
func hostSpecificity(p string) int {
	switch {
	case p == "*":
		return 0
	case strings.HasPrefix(p, "*"):
		return len(p)
	}
	return 1 << 19
}

// Gateway is a proxy that serves requests from outside the mesh.
type Gateway struct {
	Namespace string
	Name      string
	// Istio marks a networking.istio.io Gateway, which VirtualServices bind
	// to by their gateways field; otherwise it is a Gateway API Gateway,
	// which HTTPRoutes and GRPCRoutes attach to by parentRefs.
	Istio bool
}

// GatewayTables returns the tables of a gateway, one per host, sorted by
// host. For a Gateway API Gateway the routes of all HTTPRoutes and
// GRPCRoutes attached to it for one hostname are merged in Gateway API
// order (route_collections.go mergeHTTPRoutes keys them by gateway and
// host; a route without hostnames has host "*"); for an Istio Gateway the
// routes of the VirtualServices bound to it are concatenated per host,
// oldest VirtualService first (gateway.go buildGatewayHTTPRouteConfig).
// Listener hostnames and sectionNames are not modelled: every route of the
// gateway counts.
func (ix *Index) GatewayTables(gw Gateway) []Table {
	byHost := make(map[string][]Route)
	if gw.Istio {
		ix.istioGatewayRoutes(gw, byHost)
	} else {
		ix.gatewayAPIRoutes(gw, byHost)
	}
	out := make([]Table, 0, len(byHost))
	for h, routes := range byHost {
		if !gw.Istio {
			OrderGatewayAPI(routes)
			routes = untilCatchAll(routes, 0)
		}
		out = append(out, Table{Host: h, Routes: routes})
	}
	slices.SortFunc(out, func(a, b Table) int { return cmp.Compare(a.Host, b.Host) })
	return out
}

func (ix *Index) gatewayAPIRoutes(gw Gateway, byHost map[string][]Route) {
	for _, o := range ix.objects {
		if !o.GatewayAPI() || !attachesTo(o, gw) {
			continue
		}
		hosts := o.Hostnames
		if len(hosts) == 0 {
			hosts = []string{"*"}
		}
		for _, h := range hosts {
			h = strings.ToLower(h)
			byHost[h] = append(byHost[h], ix.routes[o]...)
		}
	}
}

func attachesTo(o *Object, gw Gateway) bool {
	for _, ref := range o.ParentRefs {
		ref = ref.Resolved(o.Namespace)
		if kind, ok := ref.ParentKind(); ok && kind == ParentGateway && ref.Namespace == gw.Namespace && ref.Name == gw.Name {
			return true
		}
	}
	return false
}

func (ix *Index) istioGatewayRoutes(gw Gateway, byHost map[string][]Route) {
	name := gw.Namespace + "/" + gw.Name
	var vss []*Object
	for _, o := range ix.objects {
		if o.Kind != VirtualService || o.IsDelegate() || !slices.Contains(ix.gatewayNames(o), name) {
			continue
		}
		if _, ok := visibility(o, gw.Namespace); ok {
			vss = append(vss, o)
		}
	}
	slices.SortStableFunc(vss, compareObjects)
	for _, o := range vss {
		routes := routesAt(ix.routes[o], name, 0)
		for _, h := range o.Hosts {
			h = strings.ToLower(h)
			byHost[h] = append(byHost[h], routes...)
		}
	}
}

// GatewayRoutes returns the table a gateway uses for a request's host, as
// Envoy picks the virtual host: the exact hostname, else the longest
// wildcard covering it, else "*". ok is false when no table covers it.
func (ix *Index) GatewayRoutes(gw Gateway, host string) (Table, bool) {
	host, _, _ = strings.Cut(strings.ToLower(host), ":")
	var best *Table
	bestRank := -1
	tables := ix.GatewayTables(gw)
	for i := range tables {
		t := &tables[i]
		if !hostMatches(t.Host, host) {
			continue
		}
		if r := hostSpecificity(t.Host); r > bestRank {
			best, bestRank = t, r
		}
	}
	if best == nil {
		return Table{}, false
	}
	return *best, true
}
