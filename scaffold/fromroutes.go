package scaffold

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/routing"
	"github.com/routebundle/routebundle/series"
)

// Side is where a Telemetry reading xds.route_name applies.
type Side string

// Sides init --from-routes writes Telemetries for.
const (
	// SideWaypoint tags the waypoint serving the routes' Services
	// (reporter="waypoint").
	SideWaypoint Side = "waypoint"
	// SideGateway tags the Gateways the routes attach to (reporter="source").
	SideGateway Side = "gateway"
	// SideClient tags the client sidecars of one namespace, which apply the
	// routes of the Services they call (reporter="source").
	SideClient Side = "client"
)

// ParseSide reads a --side value.
func ParseSide(s string) (Side, error) {
	switch Side(s) {
	case SideWaypoint, SideGateway, SideClient:
		return Side(s), nil
	}
	return "", fmt.Errorf("side %q: want waypoint, gateway or client", s)
}

// RouteNamesOptions say where the Telemetry of route names applies.
type RouteNamesOptions struct {
	Side Side
	// Name of the Telemetries; empty means "route-names".
	Name string
	// Namespace is the client sidecars' (SideClient); empty means
	// DefaultNamespace.
	Namespace string
	// Selector narrows SideClient to the workloads with these labels.
	Selector map[string]string
	// Waypoint, for SideWaypoint, is the waypoint Gateway to target in
	// every namespace; empty targets the waypoint the input's Namespace
	// labels name, else the Services themselves.
	Waypoint string
	// Tag is the metric tag; empty means DefaultTag.
	Tag string
	// Source names the input in the header comment.
	Source string
}

// Suggestion is a name to give a rule whose routes istiod names after
// their position (Gateway API) or not at all (VirtualService).
type Suggestion struct {
	Object  string // Kind/namespace/name
	Field   string // spec.rules[i] or spec.http[i]
	Summary string
	// Now is the route name istiod gives it now; "" for a VirtualService
	// entry, whose routes it leaves unnamed.
	Now  string
	Name string
}

func (s Suggestion) String() string {
	now := fmt.Sprintf("istiod names its routes %q after its position, which changes when rules are added or reordered", s.Now)
	if s.Now == "" {
		now = "istiod names its routes \"\", which Prometheus stores as no label at all"
	}
	return fmt.Sprintf("%s %s (%s) has no name: %s; add name: %s", s.Object, s.Field, s.Summary, now, s.Name)
}

// RouteNamesOutput is the Telemetries init --from-routes writes.
type RouteNamesOutput struct {
	Telemetries []*Telemetry
	// Routes are the route names each Telemetry's proxies read, by
	// Telemetry (namespace/name), with what they match.
	Routes map[string][]string
	// Suggestions name the rules that have no name.
	Suggestions []Suggestion
	// Notes are route objects left out (bound to Istio Gateways, which
	// routebundle does not read).
	Notes   []string
	options RouteNamesOptions
}

// FromRoutes writes the Telemetries that tag request counts and durations
// with xds.route_name where the route objects of inv apply, on the chosen
// side, and suggests names for their unnamed rules.
func FromRoutes(inv *inventory.Inventory, opts RouteNamesOptions) (*RouteNamesOutput, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ix := inv.Routes.Index
	if ix == nil || len(ix.Objects()) == 0 {
		return nil, errors.New("no HTTPRoute, GRPCRoute or VirtualService in the input")
	}
	out := &RouteNamesOutput{Routes: map[string][]string{}, options: opts}
	targets, notes := routeTargets(inv, opts)
	out.Notes = notes
	if len(targets) == 0 {
		return nil, fmt.Errorf("no route object of the input applies on the %s side", opts.Side)
	}
	for _, tg := range targets {
		if why := tg.invalidName(); why != "" {
			// Names read from hosts and labels the API server never
			// checked; a Telemetry naming them could not be applied.
			out.Notes = append(out.Notes, "left out: "+why)
			continue
		}
		tel := routeNamesTelemetry(tg, opts)
		out.Telemetries = append(out.Telemetries, tel)
		out.Routes[tel.Metadata.Namespace+"/"+tel.Metadata.Name] = tg.routes(ix)
	}
	if len(out.Telemetries) == 0 {
		return nil, fmt.Errorf("no route object of the input applies on the %s side to a proxy a Telemetry can name: %s", opts.Side, strings.Join(out.Notes, "; "))
	}
	out.Suggestions = suggestions(ix)
	return out, nil
}

func (o RouteNamesOptions) withDefaults() (RouteNamesOptions, error) {
	o.Name = cmp.Or(o.Name, "route-names")
	o.Namespace = cmp.Or(o.Namespace, DefaultNamespace)
	o.Tag = cmp.Or(o.Tag, DefaultTag)
	if _, err := ParseSide(string(o.Side)); err != nil {
		return o, err
	}
	// The checks of Generate's options, on the fields that apply here.
	check := Options{Name: o.Name, Namespace: o.Namespace, Tag: o.Tag, Attribute: DefaultAttribute, Waypoint: cmp.Or(o.Waypoint, "x")}
	if o.Side == SideClient {
		check.Waypoint, check.Selector = "", o.Selector
		if len(o.Selector) == 0 {
			check.Waypoint = "x"
		}
	}
	if err := check.validate(); err != nil {
		return o, err
	}
	if o.Side != SideClient && len(o.Selector) > 0 {
		return o, fmt.Errorf("a selector applies to client sidecars only (--side client); waypoints and gateways ignore selectors")
	}
	if o.Side != SideWaypoint && o.Waypoint != "" {
		return o, fmt.Errorf("a waypoint applies to --side waypoint only")
	}
	return o, nil
}

// routeTarget is one Telemetry's worth of proxies.
type routeTarget struct {
	namespace string
	refs      []TargetRef
	selector  map[string]string
	mode      string
	// services and gateway say whose routes its proxies read; client marks
	// client sidecars.
	services []routing.Service
	gateway  *routing.Gateway
	client   bool
}

// routes lists "name: summary" of the routes the target's proxies read.
func (tg *routeTarget) routes(ix *routing.Index) []string {
	var tables []routing.Table
	switch {
	case tg.gateway != nil:
		tables = ix.GatewayTables(*tg.gateway)
	default:
		kind := routing.Waypoint
		if tg.client {
			kind = routing.ClientSidecar
		}
		for _, s := range tg.services {
			tables = append(tables, ix.ServiceRoutes(kind, tg.namespace, s))
		}
	}
	var out []string
	for _, t := range tables {
		for _, r := range t.Routes {
			line := r.Name + ": " + r.WrittenSummary()
			if r.IsDefault() || r.Name == "" || slices.Contains(out, line) {
				continue
			}
			out = append(out, line)
		}
	}
	return out
}

// routeTargets groups the route objects' places into Telemetries.
func routeTargets(inv *inventory.Inventory, opts RouteNamesOptions) ([]routeTarget, []string) {
	ix := inv.Routes.Index
	services := map[string][]routing.Service{} // by namespace
	gateways := map[routing.Gateway]bool{}
	var notes []string
	for _, o := range ix.Objects() {
		for _, p := range ix.Parents(o) {
			switch p.Kind {
			case routing.ParentService:
				services[p.Namespace] = appendService(services[p.Namespace], routing.Service{Namespace: p.Namespace, Name: p.Name})
			case routing.ParentMesh:
				for _, h := range p.Hosts {
					if name, ns, ok := serviceHost(h); ok {
						services[ns] = appendService(services[ns], routing.Service{Namespace: ns, Name: name})
					}
				}
			case routing.ParentGateway:
				gateways[routing.Gateway{Namespace: p.Namespace, Name: p.Name}] = true
			case routing.ParentIstioGateway:
				if opts.Side == SideGateway {
					notes = append(notes, fmt.Sprintf("%s is bound to Istio Gateway %s/%s, whose proxies only a selector reaches: write that Telemetry yourself (mode: CLIENT)", o.Ref(), p.Namespace, p.Name))
				}
			}
		}
	}
	switch opts.Side {
	case SideGateway:
		var out []routeTarget
		for _, gw := range slices.SortedFunc(maps.Keys(gateways), func(a, b routing.Gateway) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		}) {
			g := gw
			out = append(out, routeTarget{namespace: gw.Namespace, mode: "CLIENT", gateway: &g,
				refs: []TargetRef{{Kind: gatewayKind, Group: gatewayGroup, Name: gw.Name}}})
		}
		return out, notes
	case SideClient:
		var all []routing.Service
		for _, ns := range slices.Sorted(maps.Keys(services)) {
			all = append(all, services[ns]...)
		}
		if len(all) == 0 {
			return nil, notes
		}
		return []routeTarget{{namespace: opts.Namespace, mode: "CLIENT", selector: opts.Selector, services: all, client: true}}, notes
	}
	var out []routeTarget
	for _, ns := range slices.Sorted(maps.Keys(services)) {
		tg := routeTarget{namespace: ns, mode: metricsMode, services: services[ns]}
		if w := cmp.Or(opts.Waypoint, namespaceWaypoint(inv, ns)); w != "" {
			tg.refs = []TargetRef{{Kind: gatewayKind, Group: gatewayGroup, Name: w}}
		} else {
			for _, s := range services[ns] {
				tg.refs = append(tg.refs, TargetRef{Kind: "Service", Group: "", Name: s.Name})
			}
		}
		out = append(out, tg)
	}
	return out, notes
}

// invalidName says which of the target's namespace and object names no
// Kubernetes object can have; "" when all are valid.
func (tg *routeTarget) invalidName() string {
	if len(validation.IsDNS1123Label(tg.namespace)) > 0 {
		return fmt.Sprintf("namespace %q is not a namespace name", tg.namespace)
	}
	for _, r := range tg.refs {
		if len(validation.IsDNS1123Subdomain(r.Name)) > 0 {
			return fmt.Sprintf("%s %q in namespace %s is not an object name", r.Kind, r.Name, tg.namespace)
		}
	}
	return ""
}

func appendService(list []routing.Service, s routing.Service) []routing.Service {
	if slices.ContainsFunc(list, func(x routing.Service) bool { return x.Namespace == s.Namespace && x.Name == s.Name }) {
		return list
	}
	list = append(list, s)
	slices.SortFunc(list, func(a, b routing.Service) int { return cmp.Compare(a.Name, b.Name) })
	return list
}

// serviceHost splits name.ns.svc.cluster.local.
func serviceHost(h string) (name, ns string, ok bool) {
	rest, ok := strings.CutSuffix(h, ".svc."+routing.DefaultDomainSuffix)
	if !ok || strings.Count(rest, ".") != 1 {
		return "", "", false
	}
	name, ns, _ = strings.Cut(rest, ".")
	return name, ns, true
}

// namespaceWaypoint is the waypoint the input's Namespace object names,
// when it lives in the namespace itself (a Telemetry's targetRefs cannot
// name another namespace's Gateway).
func namespaceWaypoint(inv *inventory.Inventory, ns string) string {
	for _, n := range inv.Namespaces {
		if n.Name == ns && n.UseWaypoint != "none" && (n.UseWaypointNamespace == "" || n.UseWaypointNamespace == ns) {
			return n.UseWaypoint
		}
	}
	return ""
}

func routeNamesTelemetry(tg routeTarget, opts RouteNamesOptions) *Telemetry {
	var overrides []MetricsOverride
	for _, m := range []inventory.Metric{inventory.RequestCount, inventory.RequestDuration} {
		overrides = append(overrides, MetricsOverride{
			Match:        MetricSelector{Metric: string(m), Mode: tg.mode},
			TagOverrides: map[string]TagOverride{opts.Tag: {Value: routing.RouteNameAttribute}},
		})
	}
	spec := TelemetrySpec{TargetRefs: tg.refs, Metrics: []Metrics{{Providers: []Provider{{Name: metricsProvider}}, Overrides: overrides}}}
	if len(tg.selector) > 0 {
		spec.Selector = &Selector{MatchLabels: tg.selector}
	}
	return &Telemetry{APIVersion: TelemetryAPIVersion, Kind: TelemetryKind,
		Metadata: ObjectMeta{Name: opts.Name, Namespace: tg.namespace}, Spec: spec}
}

// suggestions names the unnamed rules of every route object.
func suggestions(ix *routing.Index) []Suggestion {
	var out []Suggestion
	for _, o := range ix.Objects() {
		names := routing.SuggestRuleNames(o)
		for i := range o.Rules {
			r := &o.Rules[i]
			if r.Name != "" || r.Delegate != nil {
				continue
			}
			s := Suggestion{Object: o.Ref().String(), Field: r.Field, Summary: r.Summary(), Name: names[i]}
			if o.GatewayAPI() {
				s.Now = routing.GatewayAPIRouteName(o.Namespace, o.Name, r.Index, "")
			}
			out = append(out, s)
		}
	}
	return out
}

// YAML renders the Telemetries, each with a comment listing the route
// names its proxies read, and the names to give unnamed rules.
func (o *RouteNamesOutput) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for i, tel := range o.Telemetries {
		var n yaml.Node
		if err := n.Encode(tel); err != nil {
			return nil, fmt.Errorf("encoding Telemetry: %w", err)
		}
		n.HeadComment = o.comment(tel)
		if i == 0 {
			n.HeadComment = o.header() + "\n\n" + n.HeadComment
		}
		if err := enc.Encode(&n); err != nil {
			return nil, fmt.Errorf("encoding Telemetry: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

func (o *RouteNamesOutput) header() string {
	from := ""
	if o.options.Source != "" {
		from = " from " + oneLine(o.options.Source)
	}
	h := fmt.Sprintf(`Generated by bundlegen init --from-routes%s (%s side).
Tags request counts and durations with %s: the name istiod gives the
route that matched (xds.route_name), so the route objects' rules are the
routes. A request no route matches gets a 404 and the tag %q.`,
		from, o.options.Side, o.options.Tag, series.UnknownRoute)
	if len(o.Suggestions) > 0 {
		h += "\n\nName these rules, so that their series keep their names:"
		for _, s := range o.Suggestions {
			h += "\n  " + oneLine(s.Object+" "+s.Field) + ": name: " + s.Name
		}
	}
	return h
}

func (o *RouteNamesOutput) comment(tel *Telemetry) string {
	routes := o.Routes[tel.Metadata.Namespace+"/"+tel.Metadata.Name]
	c := "Route names on this side:"
	for _, r := range routes {
		c += "\n  " + oneLine(r)
	}
	return c
}

// oneLine keeps user text a single, printable comment line: a line break
// would end the comment, and YAML refuses control characters even there
// (route matches and object names in files can hold both). Such text is
// written Go-quoted, escapes visible.
func oneLine(s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
