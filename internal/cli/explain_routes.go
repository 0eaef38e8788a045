package cli

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/routing"
	"github.com/routebundle/routebundle/series"
)

// Route sets reading xds.route_name (the names istiod gives the mesh's
// route objects) are explained by matching the request against the route
// table of the proxy that reads them, as Envoy does: Gateway API
// precedence, VirtualService first match, the first route that matches
// wins (routing.Table.Match).

// routeFlags registers the flags that say where a request goes for route
// names: the Service at a waypoint or a client sidecar, and the client's
// namespace.
func routeFlags(fs *flag.FlagSet, q *explainQuery) {
	fs.StringVar(&q.Service, "service", "", "the destination `Service` in --namespace, for route names read from route objects (default: from the URL's host, or the only Service with routes)")
	fs.StringVar(&q.From, "from", "", "the `namespace` of the client sending the request, for route names read at client sidecars")
}

// routeSetScope says why a route set reading route names does not apply
// to the request ("" when it does), or false for other route sets.
func routeSetScope(rs *inventory.RouteSet, q explainQuery) (string, bool) {
	rn := rs.Routing
	if rn == nil || rn.Proxy != inventory.ProxyClientSidecar {
		return "", false
	}
	switch {
	case q.From == "":
		return fmt.Sprintf("read at %s: give the client's namespace with --from", rn.Describe()), true
	case rn.Namespace != "" && rn.Namespace != q.From:
		return fmt.Sprintf("read at %s, not at the client sidecars of namespace %s", rn.Describe(), q.From), true
	}
	return "", true
}

// explainRouteNames matches the request against the route set's table.
func explainRouteNames(inv *inventory.Inventory, rs *inventory.RouteSet, q explainQuery, se *setExplanation) {
	rn := rs.Routing
	se.Proxy = rn.Describe() + " (reporter=" + reporterOf(rs) + ")"
	se.Value, se.Index = rn.Unmatched, -1
	table, where, why := routeTable(inv, rs, q)
	if why != "" {
		se.Reason = why
		se.Matches = []matchOutcome{}
		return
	}
	se.Table = where
	req := routingRequest(q, rn)
	r, ok := table.Match(req)
	se.Matches = make([]matchOutcome, 0, len(table.Routes))
	won := -1
	for i := range table.Routes {
		tr := &table.Routes[i]
		m := matchOutcome{Index: i, Value: routeValue(rs, tr.Name), Condition: routeSummary(tr), Rule: ruleOf(tr), Outcome: "false"}
		switch {
		case won >= 0:
			m.Outcome = "skipped"
		case ok && tr.Name == r.Name && tr.Field == r.Field && tr.Object == r.Object:
			m.Outcome, won = "true", i
		}
		se.Matches = append(se.Matches, m)
	}
	switch {
	case !ok:
		se.Reason = fmt.Sprintf("no route of %s matches, so Envoy answers 404 and xds.route_name is absent: the tag reads %q", where, rn.Unmatched)
	case r.IsDefault():
		se.Value, se.Index = routeValue(rs, r.Name), won
		se.Reason = fmt.Sprintf("no route object applies to %s, so istiod's default route %q takes the request", where, routing.DefaultRouteName)
	default:
		se.Value, se.Index = routeValue(rs, r.Name), won
		se.Reason = fmt.Sprintf("route %d of %s is the first that matches (%s), and istiod names it %q", won, where, orderRule(r.Object), r.Name)
		if rn.Expression != "" {
			se.Reason += fmt.Sprintf("; the tag value %s makes that %q", rn.Expression, se.Value)
		}
	}
}

func reporterOf(rs *inventory.RouteSet) string {
	if rs.Reporter != "" {
		return rs.Reporter
	}
	if rs.Routing != nil && rs.Routing.Proxy == inventory.ProxyWaypoint {
		return "waypoint"
	}
	return series.ServerReporters
}

// orderRule names the precedence Envoy's order comes from.
func orderRule(o *routing.Object) string {
	if o != nil && o.GatewayAPI() {
		return "Gateway API precedence: exact path before prefix, longer first, then method, headers, query parameters, age"
	}
	return "VirtualService routes are tried in the order written"
}

// routeValue is what the tag reads for a route name: the route's value in
// the route set (which differs from the name when the tag value is a
// larger expression).
func routeValue(rs *inventory.RouteSet, name string) string {
	for _, r := range rs.Routes {
		if r.RouteName == name {
			return r.Value
		}
	}
	return name
}

// routeSummary is what the route matches, and the port a Service
// parentRef restricts it to.
func routeSummary(r *routing.Route) string {
	if r.IsDefault() {
		return "(istiod's default route: any request)"
	}
	s := r.WrittenSummary()
	if r.Object.GatewayAPI() && r.Matches != nil && r.Matches.Port != 0 {
		s += " (port " + strconv.FormatUint(uint64(r.Matches.Port), 10) + ")"
	}
	return s
}

func ruleOf(r *routing.Route) string {
	if r.IsDefault() {
		return ""
	}
	s := r.Object.Ref().String() + " " + r.Field
	if r.Root != nil {
		s += ", delegated by " + r.Root.Ref().String()
	}
	return s
}

// routeTable picks the table the request is matched against: at a
// gateway, the one of the request's host; elsewhere the one of the
// destination Service and port. why says what is missing when none can be
// picked.
func routeTable(inv *inventory.Inventory, rs *inventory.RouteSet, q explainQuery) (routing.Table, string, string) {
	rn := rs.Routing
	ix := inv.Routes.Index
	host, port := requestHost(q.Request)
	if rn.Proxy == inventory.ProxyGateway {
		gw := routing.Gateway{Namespace: rn.Namespace, Name: rn.Gateway}
		if host == "" {
			tables := ix.GatewayTables(gw)
			if len(tables) != 1 {
				return routing.Table{}, "", fmt.Sprintf("gateway %s/%s has routes for %d hosts: give the request's host (a full URL, or --header host=...)", rn.Namespace, rn.Gateway, len(tables))
			}
			return tables[0], "gateway " + rn.Namespace + "/" + rn.Gateway + " host " + tables[0].Host, ""
		}
		t, ok := ix.GatewayRoutes(gw, host)
		if !ok {
			return routing.Table{}, "", fmt.Sprintf("no route attached to gateway %s/%s is for host %s: Envoy answers 404 and the tag reads %q", rn.Namespace, rn.Gateway, host, rn.Unmatched)
		}
		return t, "gateway " + rn.Namespace + "/" + rn.Gateway + " host " + t.Host, ""
	}
	svc, why := destination(ix, rn, q, host)
	if why != "" {
		return routing.Table{}, "", why
	}
	where := "Service " + svc.String()
	if port != 0 {
		where += " port " + strconv.FormatUint(uint64(port), 10)
	}
	return rn.ServiceTable(ix, svc, port), where, ""
}

// destination finds the Service the request goes to among the route set's:
// --service, else the URL's host, else the only one in --namespace.
func destination(ix *routing.Index, rn *inventory.RouteNames, q explainQuery, host string) (*inventory.ServiceRef, string) {
	var inNS []*inventory.ServiceRef
	for i := range rn.Services {
		s := &rn.Services[i]
		switch {
		case q.Service != "" && s.Namespace == q.Namespace && s.Name == q.Service:
			return s, ""
		case q.Service == "" && host != "" && hostNames(ix, s, host):
			return s, ""
		case s.Namespace == q.Namespace:
			inNS = append(inNS, s)
		}
	}
	if q.Service != "" {
		return nil, fmt.Sprintf("no route object of %s applies to Service %s/%s", rn.Describe(), q.Namespace, q.Service)
	}
	if len(inNS) == 1 {
		return inNS[0], ""
	}
	var names []string
	for _, s := range inNS {
		names = append(names, s.Name)
	}
	return nil, fmt.Sprintf("%s applies route objects to %d Services of namespace %s (%s): say which with --service or the URL's host",
		rn.Describe(), len(inNS), q.Namespace, strings.Join(names, ", "))
}

// hostNames reports whether a request host (name, name.ns,
// name.ns.svc[.domain]) names s.
func hostNames(ix *routing.Index, s *inventory.ServiceRef, host string) bool {
	host = strings.ToLower(host)
	if s.Host != "" {
		return host == strings.ToLower(s.Host)
	}
	full := ix.ServiceHost(s.Namespace, s.Name)
	return host == full || strings.HasPrefix(full, host+".") && strings.Count(host, ".") <= 2 && strings.HasPrefix(host, strings.ToLower(s.Name))
}

// requestHost is the request's host without port, and the port.
func requestHost(req attrgen.Request) (string, uint32) {
	h := req.Host
	if h == "" {
		h = req.Headers["host"]
	}
	if h == "" {
		return "", 0
	}
	name, p, err := net.SplitHostPort(h)
	if err != nil {
		return h, 0
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return name, 0
	}
	return name, uint32(port)
}

// routingRequest is the request as the route match sees it, at the proxy
// of the route set.
func routingRequest(q explainQuery, rn *inventory.RouteNames) routing.Request {
	host, port := requestHost(q.Request)
	r := routing.Request{Method: q.Request.Method, Path: q.Request.Target, Host: host, Scheme: q.Request.Scheme,
		Port: port, Headers: q.Request.Headers, ProxyNamespace: rn.Namespace}
	if rn.Proxy == inventory.ProxyClientSidecar && q.From != "" {
		r.ProxyNamespace = q.From
	}
	return r
}

// sameView reports route sets whose tag is written on the same side of
// the request: only those compete for it.
func sameView(a, b *inventory.RouteSet) bool { return a.Reporter == b.Reporter }

// routeNamesUnclassified explains a tag reading route names that no route
// set covers here.
func routeNamesUnclassified(tag *inventory.Tag) (string, string) {
	return routing.DefaultRouteName, fmt.Sprintf("the tag reads the name of the route Envoy matched, but no route object applies where %s applies (bundlegen lint reports it), so every request gets istiod's default route, %q",
		tag.Telemetry, routing.DefaultRouteName)
}
