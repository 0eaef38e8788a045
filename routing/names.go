package routing

import "strconv"

// RouteNameAttribute is the Envoy attribute a Telemetry tag reads to label
// metrics with the name of the route that matched.
const RouteNameAttribute = "xds.route_name"

// DefaultRouteName is the name of the route istiod generates where no route
// object applies (route.go DefaultRouteName, used by
// BuildDefaultHTTPInboundRoute and BuildDefaultHTTPOutboundRoute): every
// request to a service without routes, and every request a server-side
// sidecar receives, reads it.
const DefaultRouteName = "default"

// GatewayAPIRouteName is the name istiod gives the routes of one HTTPRoute
// or GRPCRoute rule: the rule's name (Gateway API ≥ 1.2 named rules) as
// written, else "<namespace>.<route>.<ruleIndex>" (conversion.go
// convertHTTPRoute and convertGRPCRoute). Every match of the rule gets the
// same name.
func GatewayAPIRouteName(namespace, route string, ruleIndex int, ruleName string) string {
	if ruleName != "" {
		return ruleName
	}
	return namespace + "." + route + "." + strconv.Itoa(ruleIndex)
}

// VirtualServiceRouteName is the name istiod gives the route of one match
// of a VirtualService http entry: the entry's name, plus "." and the
// match's name when the match has one (route.go TranslateRoute). An
// unnamed entry with an unnamed match gives "", and an unnamed entry with a
// named match ".<match>".
func VirtualServiceRouteName(httpName, matchName string) string {
	if matchName != "" {
		return httpName + "." + matchName
	}
	return httpName
}

// delegatedName joins a root's name with its delegate's, as
// virtualservice.go mergeHTTPRoute does for http entries and
// mergeHTTPMatchRequest for matches: the delegate's own name when the root
// has none, the root's when the delegate has none, else "root-delegate".
func delegatedName(root, delegate string) string {
	switch {
	case delegate == "":
		return root
	case root == "":
		return delegate
	}
	return root + "-" + delegate
}

// Route is one Envoy route istiod generates: one match of a rule, or a
// rule without matches.
type Route struct {
	// Name is the route's name: what xds.route_name reads for requests it
	// matches.
	Name string `json:"name"`
	// Object is where the rule is written: for a delegated VirtualService
	// route, the delegate. nil only for the default route.
	Object *Object `json:"-"`
	// Root is the root VirtualService of a delegated route.
	Root *Object `json:"-"`
	// Rule indexes Object.Rules; Match indexes the rule's matches, -1
	// when it has none.
	Rule  int `json:"rule"`
	Match int `json:"match"`
	// Matches is the effective match (for delegated routes, merged with the
	// root's); nil matches every request.
	Matches *Match `json:"matches,omitempty"`
	// Field is where the match (or the rule) is written in Object.
	Field string `json:"field,omitempty"`
	// origin identifies the rule (or match) whose name the route carries,
	// so that routes sharing a name by design (several matches of one rule,
	// delegates inheriting their root's name) are not reported as colliding.
	origin origin
}

type origin struct {
	obj   *Object
	rule  int
	match int
}

// IsDefault reports the default route of a place no route object applies to.
func (r *Route) IsDefault() bool { return r.Object == nil }

// Summary is a readable account of what the route matches ("GET /healthz").
func (r *Route) Summary() string {
	if r.Matches == nil {
		return anySummary
	}
	return r.Matches.Summary()
}

// WrittenSummary describes the route as its rule is written: a Gateway
// API match without the parentRef port istiod adds to it (a table is for
// one port anyway), a delegated VirtualService route as merged with its
// root's match.
func (r *Route) WrittenSummary() string {
	if r.Object != nil && r.Object.GatewayAPI() && r.Rule >= 0 && r.Rule < len(r.Object.Rules) {
		if rule := &r.Object.Rules[r.Rule]; r.Match >= 0 && r.Match < len(rule.Matches) {
			return rule.Matches[r.Match].Summary()
		}
	}
	return r.Summary()
}

// defaultRoute is the route of a place no route object applies to.
func defaultRoute() Route {
	return Route{Name: DefaultRouteName, Rule: -1, Match: -1}
}

// ownRoutes lists the routes of a Gateway API route or of a VirtualService
// that delegates nothing, in the order written: each rule split into one
// route per match, as route_collections.go HTTPRouteCollection and
// GRPCRouteCollection do before converting (and as route.go
// BuildHTTPRoutesForVirtualService walks http[].match[]).
func ownRoutes(o *Object) []Route {
	var out []Route
	for i := range o.Rules {
		out = append(out, ruleRoutes(o, i)...)
	}
	return out
}

// ruleRoutes lists the routes of rule i of o.
func ruleRoutes(o *Object, i int) []Route {
	rule := &o.Rules[i]
	if len(rule.Matches) == 0 {
		return []Route{{
			Name: ruleRouteName(o, rule, ""), Object: o, Rule: i, Match: -1, Field: rule.Field,
			origin: origin{o, i, -1},
		}}
	}
	out := make([]Route, 0, len(rule.Matches))
	for j := range rule.Matches {
		m := &rule.Matches[j]
		org := origin{o, i, -1}
		if o.Kind == VirtualService && m.Name != "" {
			org.match = j
		}
		out = append(out, Route{
			Name: ruleRouteName(o, rule, m.Name), Object: o, Rule: i, Match: j,
			Matches: m, Field: m.Field, origin: org,
		})
	}
	return out
}

func ruleRouteName(o *Object, rule *Rule, matchName string) string {
	if o.GatewayAPI() {
		return GatewayAPIRouteName(o.Namespace, o.Name, rule.Index, rule.Name)
	}
	return VirtualServiceRouteName(rule.Name, matchName)
}
