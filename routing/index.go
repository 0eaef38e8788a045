package routing

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// Options configure an Index.
type Options struct {
	// DomainSuffix is the cluster domain; "" is DefaultDomainSuffix.
	DomainSuffix string
}

type nsName struct{ ns, name string }

// Index holds a mesh's route objects with their delegation resolved and
// answers which routes apply where.
type Index struct {
	domain string
	// objects are sorted by namespace, name and kind.
	objects []*Object
	// byName holds every VirtualService; delegates only those without hosts.
	byName    map[nsName]*Object
	delegates map[nsName]*Object
	// roots lists the VirtualServices delegating to each delegate.
	roots map[*Object][]*Object
	// routes are each object's routes in written order (delegates merged
	// into their roots; a delegate has none of its own).
	routes   map[*Object][]Route
	findings []Finding
}

// NewIndex indexes objs, which it does not copy or change. Of two objects
// with the same kind, namespace and name the later one counts.
func NewIndex(objs []*Object, opts Options) *Index {
	ix := &Index{
		domain:    cmp.Or(opts.DomainSuffix, DefaultDomainSuffix),
		byName:    make(map[nsName]*Object),
		delegates: make(map[nsName]*Object),
		roots:     make(map[*Object][]*Object),
		routes:    make(map[*Object][]Route),
	}
	seen := make(map[[3]string]int)
	for _, o := range objs {
		key := [3]string{string(o.Kind), o.Namespace, o.Name}
		if i, dup := seen[key]; dup {
			ix.objects[i] = o
			continue
		}
		seen[key] = len(ix.objects)
		ix.objects = append(ix.objects, o)
	}
	slices.SortFunc(ix.objects, func(a, b *Object) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	for _, o := range ix.objects {
		if o.Kind != VirtualService {
			continue
		}
		ix.byName[nsName{o.Namespace, o.Name}] = o
		if o.IsDelegate() {
			ix.delegates[nsName{o.Namespace, o.Name}] = o
		}
	}
	for _, o := range ix.objects {
		switch {
		case o.GatewayAPI():
			ix.routes[o] = ownRoutes(o)
		case !o.IsDelegate():
			ix.routes[o] = ix.resolveVirtualService(o)
		}
	}
	for _, o := range ix.objects {
		for _, r := range ix.routes[o] {
			if r.Root != nil && !slices.Contains(ix.roots[r.Object], o) {
				ix.roots[r.Object] = append(ix.roots[r.Object], o)
			}
		}
	}
	ix.check()
	return ix
}

// Objects returns the indexed objects sorted by namespace, name and kind.
func (ix *Index) Objects() []*Object { return ix.objects }

// Findings returns what is wrong with the route objects' names and
// delegation, in object order.
func (ix *Index) Findings() []Finding { return ix.findings }

// Routes returns o's routes in written order with the names istiod gives
// them. A root VirtualService's routes include its delegates' entries; a
// delegate has none of its own (see Roots).
func (ix *Index) Routes(o *Object) []Route { return ix.routes[o] }

// Roots returns the VirtualServices whose entries delegate to o.
func (ix *Index) Roots(o *Object) []*Object { return ix.roots[o] }

// Parents lists where o's routes apply: for a Gateway API route, the
// parentRefs istiod accepts; for a VirtualService, the mesh (its hosts) or
// the Istio gateways it binds; for a delegate, its roots' parents.
func (ix *Index) Parents(o *Object) []Parent {
	var out []Parent
	switch {
	case o.GatewayAPI():
		for _, ref := range o.ParentRefs {
			ref = ref.Resolved(o.Namespace)
			if kind, ok := ref.ParentKind(); ok {
				out = append(out, Parent{Kind: kind, Namespace: ref.Namespace, Name: ref.Name, Port: ref.Port})
			}
		}
	case o.IsDelegate():
		for _, root := range ix.roots[o] {
			out = append(out, ix.Parents(root)...)
		}
	default:
		for _, g := range ix.gatewayNames(o) {
			if g == MeshGateway {
				out = append(out, Parent{Kind: ParentMesh, Namespace: o.Namespace, Hosts: ix.vsHosts(o)})
				continue
			}
			ns, name, _ := strings.Cut(g, "/")
			out = append(out, Parent{Kind: ParentIstioGateway, Namespace: ns, Name: name})
		}
	}
	return slices.CompactFunc(out, func(a, b Parent) bool {
		return a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name && a.Port == b.Port
	})
}

// gatewayNames are a VirtualService's gateways resolved to "ns/name" (or
// "mesh"), as model/config.go resolveGatewayName does.
func (ix *Index) gatewayNames(o *Object) []string {
	if len(o.Gateways) == 0 {
		return []string{MeshGateway}
	}
	out := make([]string, 0, len(o.Gateways))
	for _, g := range o.Gateways {
		out = append(out, resolveGatewayName(g, o.Namespace))
	}
	return out
}

// resolveGatewayName turns a VirtualService's gateway reference into
// "ns/name": a short name is in the VirtualService's namespace, "./name"
// too, and the legacy "name.ns.svc.cluster.local" means ns/name.
func resolveGatewayName(g, namespace string) string {
	if g == MeshGateway {
		return g
	}
	if before, after, ok := strings.Cut(g, "/"); ok {
		if before == "." {
			return namespace + "/" + after
		}
		return g
	}
	name, rest, ok := strings.Cut(g, ".")
	if !ok {
		return namespace + "/" + g
	}
	ns, _, _ := strings.Cut(rest, ".")
	return ns + "/" + name
}

// vsHosts are a VirtualService's hosts as istiod resolves them
// (model/config.go ResolveShortnameToFQDN): a name without a dot is a
// service of the VirtualService's namespace; wildcards, IPs and names with
// a dot stay as written. Lower case, as Envoy compares domains.
func (ix *Index) vsHosts(o *Object) []string {
	out := make([]string, 0, len(o.Hosts))
	for _, h := range o.Hosts {
		out = append(out, strings.ToLower(ix.resolveHost(h, o.Namespace)))
	}
	return out
}

func (ix *Index) resolveHost(h, namespace string) string {
	if h == "*" || strings.Contains(h, ".") {
		return h
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return h
	}
	return h + "." + namespace + ".svc." + ix.domain
}

// ServiceHost is the hostname of a Kubernetes Service.
func (ix *Index) ServiceHost(namespace, name string) string {
	return strings.ToLower(name + "." + namespace + ".svc." + ix.domain)
}

// hostMatches reports whether pattern (a host or a "*."-prefixed wildcard,
// or "*") covers host, as istio's host.Name.Matches does for a concrete
// host: a wildcard matches one or more leading labels.
func hostMatches(pattern, host string) bool {
	pattern, host = strings.ToLower(pattern), strings.ToLower(host)
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*."):
		return strings.HasSuffix(host, pattern[1:]) && len(host) > len(pattern)-1
	}
	return pattern == host
}

// Finding is something wrong with route objects' names or delegation.
type Finding struct {
	Kind    FindingKind
	Object  *Object
	Field   string
	Message string
}

// FindingKind says what a Finding is about.
type FindingKind string

// Finding kinds.
const (
	// UnnamedRoute: a VirtualService route whose name istiod leaves empty.
	UnnamedRoute FindingKind = "unnamed-route"
	// UnnamedRule: a Gateway API rule named after its position.
	UnnamedRule FindingKind = "unnamed-rule"
	// NameCollision: rules of one parent give routes the same name.
	NameCollision FindingKind = "name-collision"
	// ReservedName: a route named "default" or "unknown".
	ReservedName FindingKind = "reserved-name"
	// IgnoredParent: a parentRef istiod does not accept, or none at all.
	IgnoredParent FindingKind = "ignored-parent"
	// DelegateMissing: a delegate VirtualService that does not exist.
	DelegateMissing FindingKind = "delegate-missing"
	// DelegateNotExported: a delegate not exported to its root's namespace.
	DelegateNotExported FindingKind = "delegate-not-exported"
	// DelegateConflict: a delegate entry outside its root entry's matches.
	DelegateConflict FindingKind = "delegate-conflict"
	// NestedDelegate: a delegate's entry delegating again.
	NestedDelegate FindingKind = "nested-delegate"
)
