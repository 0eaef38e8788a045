// Package routing holds the semantics of the mesh's own route objects
// (Gateway API HTTPRoute and GRPCRoute, Istio VirtualService) as istiod
// applies them: the name istiod gives each Envoy route, which is what a
// Telemetry tag `xds.route_name` reads; the order in which Envoy tries the
// routes of one place (Gateway API precedence, VirtualService first match);
// which route a request gets; and where routes apply (the waypoint of a
// parent Service, a Gateway, client sidecars).
//
// The package is pure: the inventory turns Kubernetes objects into these
// types and reports what is wrong with them; nothing here reads files.
// Every rule is checked against istiod's sources at the Istio version
// routebundle pins (1.32); the comments name the functions.
package routing

import (
	"time"

	"github.com/routebundle/routebundle/diag"
)

// Kind is the kind of a route object.
type Kind string

// Route object kinds.
const (
	HTTPRoute      Kind = "HTTPRoute"
	GRPCRoute      Kind = "GRPCRoute"
	VirtualService Kind = "VirtualService"
)

// API groups of the route objects and of what they attach to.
const (
	GatewayGroup    = "gateway.networking.k8s.io"
	NetworkingGroup = "networking.istio.io"
)

// MeshGateway is the gateway name a VirtualService uses for sidecars (and
// waypoints); a VirtualService without gateways is bound to it.
const MeshGateway = "mesh"

// DefaultDomainSuffix is the cluster domain of Kubernetes service hostnames.
const DefaultDomainSuffix = "cluster.local"

// Object is one route object, as the inventory read it.
type Object struct {
	Kind      Kind   `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// CreationTimestamp breaks precedence ties between objects (older
	// first); zero when unknown, as in files, where namespace and name
	// decide (as istiod does for equal timestamps).
	CreationTimestamp time.Time `json:"creationTimestamp,omitzero"`

	// ParentRefs (Gateway API) are written as in the object; see
	// ParentRef.Resolved for the defaults.
	ParentRefs []ParentRef `json:"parentRefs,omitempty"`
	// Hostnames (Gateway API) filter the Host of requests at a Gateway;
	// empty means any. istiod ignores them for Service parents.
	Hostnames []string `json:"hostnames,omitempty"`

	// Hosts (VirtualService) are the hosts it routes; none makes it a
	// delegate, used only through a root VirtualService.
	Hosts []string `json:"hosts,omitempty"`
	// Gateways (VirtualService) as written; none means MeshGateway.
	Gateways []string `json:"gateways,omitempty"`
	// ExportTo (VirtualService) as written; none means every namespace.
	ExportTo []string `json:"exportTo,omitempty"`

	// Rules are HTTPRoute/GRPCRoute rules or VirtualService http entries.
	Rules  []Rule      `json:"rules"`
	Source diag.Source `json:"source"`
}

// Ref names the object for diagnostics.
func (o *Object) Ref() diag.ObjectRef {
	return diag.ObjectRef{Kind: string(o.Kind), Namespace: o.Namespace, Name: o.Name}
}

// GatewayAPI reports whether o is an HTTPRoute or GRPCRoute.
func (o *Object) GatewayAPI() bool { return o.Kind == HTTPRoute || o.Kind == GRPCRoute }

// IsDelegate reports a VirtualService without hosts: istiod uses it only
// where a root VirtualService delegates to it (virtualservice_controller.go
// mergeVirtualServices skips it otherwise).
func (o *Object) IsDelegate() bool { return o.Kind == VirtualService && len(o.Hosts) == 0 }

// ParentRef is one entry of a Gateway API route's spec.parentRefs.
type ParentRef struct {
	Group       string `json:"group,omitempty"`
	Kind        string `json:"kind,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name"`
	SectionName string `json:"sectionName,omitempty"`
	// Port restricts a Service parent's routes to one service port; 0 is every port.
	Port   int32       `json:"port,omitempty"`
	Field  string      `json:"field,omitempty"`
	Source diag.Source `json:"source"`
}

// Resolved fills in the kind's default (Gateway) and the route's
// namespace. Group is as the reader found it: the CRD defaults a missing
// group to gateway.networking.k8s.io, so the reader sets that; a Service
// needs group "" written out.
func (p ParentRef) Resolved(routeNamespace string) ParentRef {
	if p.Kind == "" {
		p.Kind = "Gateway"
	}
	if p.Namespace == "" {
		p.Namespace = routeNamespace
	}
	return p
}

// ParentKind returns what the reference attaches to, and false for the
// group and kind pairs istiod ignores (conversion.go
// toInternalParentReference accepts only allowedParentReferences: Gateway
// and ListenerSet of gateway.networking.k8s.io, the core Service and
// networking.istio.io ServiceEntry).
func (p ParentRef) ParentKind() (ParentKind, bool) {
	kind := p.Kind
	if kind == "" {
		kind = "Gateway"
	}
	switch {
	case p.Group == GatewayGroup && kind == "Gateway":
		return ParentGateway, true
	case p.Group == GatewayGroup && kind == "ListenerSet":
		return ParentListenerSet, true
	case p.Group == "" && kind == "Service":
		return ParentService, true
	case p.Group == NetworkingGroup && kind == "ServiceEntry":
		return ParentServiceEntry, true
	}
	return "", false
}

// ParentKind is what routes attach to.
type ParentKind string

// Parent kinds. istiod accepts Gateway, ListenerSet, Service and
// ServiceEntry parents and ignores the others (conversion.go
// allowedParentReferences).
const (
	// ParentGateway is a Gateway API Gateway: its proxy (an ingress gateway)
	// evaluates the routes.
	ParentGateway ParentKind = "Gateway"
	// ParentListenerSet is a Gateway API ListenerSet of a Gateway.
	ParentListenerSet ParentKind = "ListenerSet"
	// ParentService is a Service (GAMMA): the waypoint serving it and the
	// client sidecars calling it evaluate the routes.
	ParentService ParentKind = "Service"
	// ParentServiceEntry is an Istio ServiceEntry, like ParentService.
	ParentServiceEntry ParentKind = "ServiceEntry"
	// ParentMesh is a VirtualService bound to the mesh gateway: client
	// sidecars (and waypoints) of its hosts.
	ParentMesh ParentKind = "mesh"
	// ParentIstioGateway is a networking.istio.io Gateway a VirtualService
	// is bound to.
	ParentIstioGateway ParentKind = "IstioGateway"
)

// Parent is one place a route object's routes apply to.
type Parent struct {
	Kind      ParentKind `json:"kind"`
	Namespace string     `json:"namespace,omitempty"`
	Name      string     `json:"name,omitempty"`
	// Port is the service port a Service parentRef names (0: all).
	Port int32 `json:"port,omitempty"`
	// Hosts are the VirtualService hosts of a ParentMesh, resolved to FQDNs.
	Hosts []string `json:"hosts,omitempty"`
}

// Rule is an HTTPRoute or GRPCRoute rule, or a VirtualService http entry.
type Rule struct {
	// Index is the position in the object's rules, which unnamed Gateway
	// API rules are named after.
	Index int `json:"index"`
	// Name is the rule's name field as written; "" when unset.
	Name string `json:"name,omitempty"`
	// Matches are ORed. None means every request: HTTPRoute rules are
	// never empty (the CRD default is a PathPrefix "/" match), GRPCRoute
	// rules and VirtualService entries may be.
	Matches []Match `json:"matches,omitempty"`
	// Delegate is a VirtualService entry's delegate.
	Delegate *Delegate   `json:"delegate,omitempty"`
	Field    string      `json:"field"`
	Source   diag.Source `json:"source"`
}

// Delegate names the VirtualService a root VirtualService entry delegates to.
type Delegate struct {
	Name string `json:"name"`
	// Namespace is "" for the root's own namespace.
	Namespace string `json:"namespace,omitempty"`
}

// MatchType is how a StringMatch compares.
type MatchType string

// Match types, as Envoy evaluates them.
const (
	// Exact: the whole value.
	Exact MatchType = "Exact"
	// Prefix: a string prefix (VirtualService uri.prefix: /api matches /apis).
	Prefix MatchType = "Prefix"
	// PathPrefix: whole path segments (Gateway API PathPrefix: /api matches
	// /api and /api/x, not /apis). istiod turns it into Envoy's
	// path_separated_prefix, except for "/".
	PathPrefix MatchType = "PathPrefix"
	// Regex: an RE2 regular expression matching the whole value.
	Regex MatchType = "Regex"
	// Present: the header or query parameter exists, whatever its value.
	Present MatchType = "Present"
)

// StringMatch is one string matcher.
type StringMatch struct {
	Type  MatchType `json:"type"`
	Value string    `json:"value,omitempty"`
}

// KeyMatch matches a header or query parameter by name.
type KeyMatch struct {
	Name string `json:"name"`
	StringMatch
}

// GRPCMethod is a GRPCRoute method match as written; Match.Path holds the
// path match istiod turns it into.
type GRPCMethod struct {
	// Regex: the service and method are regular expressions.
	Regex   bool   `json:"regex,omitempty"`
	Service string `json:"service,omitempty"`
	Method  string `json:"method,omitempty"`
}

// Match is one match of a rule, in the form istiod gives Envoy: Gateway API
// matches are converted as conversion.go createURIMatch, createHeadersMatch,
// createQueryParamsMatch, createMethodMatch and createGRPCURIMatch do.
type Match struct {
	// Name is a VirtualService match's name (Gateway API matches have none).
	Name string `json:"name,omitempty"`
	// Path matches the path without the query string; nil is any path.
	Path   *StringMatch `json:"path,omitempty"`
	Method *StringMatch `json:"method,omitempty"`
	// Headers, WithoutHeaders and QueryParams are sorted by name; a name
	// written twice keeps its last matcher, as istiod's maps do.
	Headers        []KeyMatch   `json:"headers,omitempty"`
	WithoutHeaders []KeyMatch   `json:"withoutHeaders,omitempty"`
	QueryParams    []KeyMatch   `json:"queryParams,omitempty"`
	Authority      *StringMatch `json:"authority,omitempty"`
	Scheme         *StringMatch `json:"scheme,omitempty"`
	IgnoreURICase  bool         `json:"ignoreUriCase,omitempty"`
	// Port limits the match to one destination port (VirtualService port,
	// or a Service parentRef's port).
	Port uint32 `json:"port,omitempty"`
	// SourceLabels and SourceNamespace select the proxies (VirtualService).
	SourceLabels    map[string]string `json:"sourceLabels,omitempty"`
	SourceNamespace string            `json:"sourceNamespace,omitempty"`
	// Gateways overrides the VirtualService's gateways for this match.
	Gateways []string    `json:"gateways,omitempty"`
	GRPC     *GRPCMethod `json:"grpc,omitempty"`
	Field    string      `json:"field"`
	Source   diag.Source `json:"source"`
}
