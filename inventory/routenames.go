package inventory

import (
	"cmp"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/routing"
	"github.com/routebundle/routebundle/series"
)

// ReporterSource is RouteSet.Reporter for tags read on the client side:
// gateways and client sidecars report their requests with
// reporter="source" (pilot's telemetry.go: a gateway's listeners and a
// sidecar's outbound ones take the client metrics; only waypoints report
// as SERVER_GATEWAY, "waypoint").
const ReporterSource = series.ClientReporter

// ProxyKind is where the names of a route set reading xds.route_name are
// read.
type ProxyKind string

// Proxies that match the mesh's route objects.
const (
	// ProxyWaypoint is a waypoint: the routes of the Services it serves
	// (reporter="waypoint").
	ProxyWaypoint ProxyKind = "waypoint"
	// ProxyGateway is a Gateway API gateway that is not a waypoint: the
	// routes attached to it (reporter="source").
	ProxyGateway ProxyKind = "gateway"
	// ProxyClientSidecar is the sidecar of a client: the routes of the
	// Services it calls (reporter="source").
	ProxyClientSidecar ProxyKind = "sidecar"
)

// ServiceRef is a destination whose routes a waypoint or client sidecar
// applies.
type ServiceRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Host is set for a VirtualService host that is no Kubernetes Service
	// (a ServiceEntry's); Name is the host then.
	Host string `json:"host,omitempty"`
}

func (s ServiceRef) String() string {
	if s.Host != "" {
		return s.Host
	}
	return s.Namespace + "/" + s.Name
}

func (s ServiceRef) routing() routing.Service {
	if s.Host != "" {
		return routing.Service{Namespace: s.Namespace, Name: s.Name, ServiceEntry: true, Hosts: []string{s.Host}}
	}
	return routing.Service{Namespace: s.Namespace, Name: s.Name}
}

func compareServices(a, b ServiceRef) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Host, b.Host))
}

// RouteNames says where the values of a route set reading xds.route_name
// come from: the proxy that matches requests against the route objects,
// and what it matches them for.
type RouteNames struct {
	Proxy ProxyKind `json:"proxy"`
	// Namespace is the proxy's: the waypoint's, the gateway's or the client
	// sidecars'; "" for the client sidecars of every namespace.
	Namespace string `json:"namespace,omitempty"`
	// Gateway names the waypoint or the gateway; "" for sidecars, and for
	// the waypoint of a Service whose waypoint the input does not name.
	Gateway string `json:"gateway,omitempty"`
	// Services are the destinations whose routes a waypoint or the client
	// sidecars apply, sorted; a gateway has its routes per host instead.
	Services []ServiceRef `json:"services,omitempty"`
	// Expression is the tag value when it is more than xds.route_name: the
	// routes' values are what it yields for each route name.
	Expression string `json:"expression,omitempty"`
	// Unmatched is what the tag reads for a request no route matches
	// (Envoy answers 404 and xds.route_name is absent): "unknown", unless
	// Expression yields a value without a route name.
	Unmatched string `json:"unmatched"`
}

// PlaceTable is the routes one proxy of a route set tries for one
// destination (a Service) and port or, at a gateway, for one host.
type PlaceTable struct {
	// Service is nil at a gateway.
	Service *ServiceRef
	// Port is the destination port the table is for: one a route names
	// (parentRef port, VirtualService match port), or OtherPorts.
	Port  uint32
	Table routing.Table
}

// OtherPorts is PlaceTable.Port for the ports no route names: only routes
// without a port apply there.
const OtherPorts uint32 = 1 << 16

// RouteTables returns the route tables of a route set reading
// xds.route_name, in the order its routes are listed; nil for other route
// sets.
func (inv *Inventory) RouteTables(rs *RouteSet) []PlaceTable {
	if rs.Routing == nil || inv.Routes.Index == nil {
		return nil
	}
	return rs.Routing.tables(inv.Routes.Index)
}

func (rn *RouteNames) tables(ix *routing.Index) []PlaceTable {
	if rn.Proxy == ProxyGateway {
		var out []PlaceTable
		for _, t := range ix.GatewayTables(routing.Gateway{Namespace: rn.Namespace, Name: rn.Gateway}) {
			out = append(out, PlaceTable{Table: t})
		}
		return out
	}
	out := make([]PlaceTable, 0, len(rn.Services))
	for i := range rn.Services {
		s := &rn.Services[i]
		ports := servicePorts(ix, s)
		for _, port := range ports {
			out = append(out, PlaceTable{Service: s, Port: port, Table: rn.ServiceTable(ix, s, port)})
		}
		// The other ports matter when a route applies to them, or when no
		// route names a port; otherwise they only have istiod's default
		// route, and a Service seldom has ports its routes do not name.
		other := PlaceTable{Service: s, Port: OtherPorts, Table: rn.ServiceTable(ix, s, OtherPorts)}
		if len(ports) == 0 || slices.ContainsFunc(other.Table.Routes, func(r routing.Route) bool { return !r.IsDefault() }) {
			out = append(out, other)
		}
	}
	return out
}

// ServiceTable is the table the route set's waypoint or client sidecars
// use for requests to s on port (0: any port, OtherPorts: a port no route
// names).
func (rn *RouteNames) ServiceTable(ix *routing.Index, s *ServiceRef, port uint32) routing.Table {
	kind, ns := routing.Waypoint, rn.Namespace
	switch {
	case rn.Proxy == ProxyClientSidecar:
		kind = routing.ClientSidecar
	case rn.Gateway == "":
		ns = s.Namespace
	}
	svc := s.routing()
	svc.Port = port
	return ix.ServiceRoutes(kind, ns, svc)
}

// servicePorts lists, sorted, the ports the route objects of s name: the
// port of a parentRef to it, or of a VirtualService match for its host.
func servicePorts(ix *routing.Index, s *ServiceRef) []uint32 {
	host := s.Host
	if host == "" {
		host = ix.ServiceHost(s.Namespace, s.Name)
	}
	var out []uint32
	for _, o := range ix.Objects() {
		if o.GatewayAPI() {
			for _, ref := range o.ParentRefs {
				ref = ref.Resolved(o.Namespace)
				if ref.Port != 0 && ref.Namespace == s.Namespace && ref.Name == s.Name {
					out = append(out, uint32(ref.Port))
				}
			}
			continue
		}
		for _, p := range ix.Parents(o) {
			if p.Kind != routing.ParentMesh || !slices.Contains(p.Hosts, host) {
				continue
			}
			for _, r := range ix.Routes(o) {
				if r.Matches != nil && r.Matches.Port != 0 {
					out = append(out, r.Matches.Port)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Describe says in words which proxy reads the names ("waypoint
// podinfo/podinfo-waypoint").
func (rn *RouteNames) Describe() string {
	switch rn.Proxy {
	case ProxyWaypoint:
		if rn.Gateway == "" {
			names := make([]string, len(rn.Services))
			for i, s := range rn.Services {
				names[i] = s.String()
			}
			return "the waypoint of Service " + strings.Join(names, ", ")
		}
		return "waypoint " + rn.Namespace + "/" + rn.Gateway
	case ProxyGateway:
		return "gateway " + rn.Namespace + "/" + rn.Gateway
	}
	if rn.Namespace == "" {
		return "the client sidecars of every namespace"
	}
	return "the client sidecars of namespace " + rn.Namespace
}

// Labels of Services and Namespaces that say which waypoint serves them.
const labelUseWaypointNamespace = "istio.io/use-waypoint-namespace"

// service is what the inventory knows of a Kubernetes Service: only the
// labels that send it through a waypoint.
type service struct {
	namespace, name string
	useWaypoint     string
	useWaypointNS   string
}

func isService(o *manifest.Object) bool { return o.Kind == "Service" && o.APIVersion == "v1" }

func parseService(f *fields, o *manifest.Object) service {
	s := service{namespace: objectNamespace(o), name: o.Name}
	if md, ok := f.mapping(o.Content, "metadata", pathMetadata); ok {
		labels := f.stringMap(md, "labels", pathMetadata.Key("labels"))
		s.useWaypoint = labels[labelUseWaypoint]
		s.useWaypointNS = labels[labelUseWaypointNamespace]
	}
	return s
}

// waypointRef names a waypoint.
type waypointRef struct{ namespace, name string }

// waypointOf returns the waypoint serving svc, as Istio resolves the
// istio.io/use-waypoint label (the Service's, else its namespace's; "none"
// opts out), and whether the input says: without the Service's and the
// Namespace's labels routebundle cannot tell.
func (st *state) waypointOf(svc ServiceRef) (waypointRef, bool) {
	if s, ok := st.services[svc.Namespace+"/"+svc.Name]; ok && svc.Host == "" && s.useWaypoint != "" {
		if s.useWaypoint == "none" {
			return waypointRef{}, true
		}
		return waypointRef{cmp.Or(s.useWaypointNS, svc.Namespace), s.useWaypoint}, true
	}
	n, ok := st.namespaces[svc.Namespace]
	if !ok {
		return waypointRef{}, false
	}
	if n.UseWaypoint == "" || n.UseWaypoint == "none" {
		return waypointRef{}, true
	}
	return waypointRef{cmp.Or(n.UseWaypointNamespace, svc.Namespace), n.UseWaypoint}, true
}

// waypoints lists the waypoints the input knows of: Gateways of class
// istio-waypoint and the waypoints Namespaces and Services name.
func (st *state) waypoints() []waypointRef {
	var out []waypointRef
	for _, g := range st.gateways {
		if g.Class == WaypointClass {
			out = append(out, waypointRef{g.Namespace, g.Name})
		}
	}
	for _, svc := range st.routedServices() {
		if w, ok := st.waypointOf(svc); ok && w.name != "" {
			out = append(out, w)
		}
	}
	for _, n := range st.namespaces {
		if n.UseWaypoint != "" && n.UseWaypoint != "none" {
			out = append(out, waypointRef{cmp.Or(n.UseWaypointNamespace, n.Name), n.UseWaypoint})
		}
	}
	slices.SortFunc(out, func(a, b waypointRef) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	return slices.Compact(out)
}

// gatewayRole says what a Gateway a Telemetry targets is: a waypoint (its
// class, or a Namespace or Service using it as one), an ingress gateway
// (another class, or route objects attached to it), or unknown.
func (st *state) gatewayRole(ns, name string) (ProxyKind, bool) {
	if g, ok := st.gateways[ns+"/"+name]; ok {
		if g.Class == WaypointClass {
			return ProxyWaypoint, true
		}
		return ProxyGateway, true
	}
	if slices.Contains(st.waypoints(), waypointRef{ns, name}) {
		return ProxyWaypoint, true
	}
	for _, o := range st.routeIndex().Objects() {
		for _, p := range st.routeIndex().Parents(o) {
			if p.Kind == routing.ParentGateway && p.Namespace == ns && p.Name == name {
				return ProxyGateway, true
			}
		}
	}
	return "", false
}

// routedServices lists, sorted, the destinations the input knows: the
// Services route objects attach to (parentRefs, the hosts of mesh
// VirtualServices) and the Service objects read.
func (st *state) routedServices() []ServiceRef {
	if st.servicesCache != nil {
		return st.servicesCache
	}
	out := []ServiceRef{}
	ix := st.routeIndex()
	suffix := ".svc." + routing.DefaultDomainSuffix
	for _, o := range ix.Objects() {
		for _, p := range ix.Parents(o) {
			switch p.Kind {
			case routing.ParentService:
				out = append(out, ServiceRef{Namespace: p.Namespace, Name: p.Name})
			case routing.ParentMesh:
				for _, h := range p.Hosts {
					if strings.HasPrefix(h, "*") {
						continue // a wildcard is no destination of its own
					}
					if rest, ok := strings.CutSuffix(h, suffix); ok && strings.Count(rest, ".") == 1 {
						name, ns, _ := strings.Cut(rest, ".")
						out = append(out, ServiceRef{Namespace: ns, Name: name})
						continue
					}
					out = append(out, ServiceRef{Namespace: o.Namespace, Name: h, Host: h})
				}
			}
		}
	}
	for _, s := range st.services {
		out = append(out, ServiceRef{Namespace: s.namespace, Name: s.name})
	}
	slices.SortFunc(out, compareServices)
	st.servicesCache = slices.Compact(out)
	return st.servicesCache
}

// routeIndex is the index of the route objects, empty before they are read.
func (st *state) routeIndex() *routing.Index {
	if st.routeObjs.Index == nil {
		st.routeObjs.Index = routing.NewIndex(nil, routing.Options{})
	}
	return st.routeObjs.Index
}

// gatewayTargetRef is a targetRef to a Gateway, its namespace written only
// when it is not ns.
func gatewayTargetRef(gwNamespace, name, ns string) TargetRef {
	r := TargetRef{Group: groupGateway, Kind: "Gateway", Name: name}
	if gwNamespace != ns {
		r.Namespace = gwNamespace
	}
	return r
}

func serviceObject(s ServiceRef) diag.ObjectRef {
	return diag.ObjectRef{Kind: "Service", Namespace: s.Namespace, Name: s.Name}
}
