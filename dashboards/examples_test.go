package dashboards

import (
	"fmt"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
)

// Test inventories, built as Go values: the reader that fills inventories
// from Istio objects has tests of its own.

func routes(values ...string) []inventory.Route {
	out := make([]inventory.Route, len(values))
	for i, v := range values {
		out[i] = inventory.Route{Value: v, Condition: "true", Field: fmt.Sprintf("spec.pluginConfig.attributes[0].match[%d]", i)}
	}
	return out
}

var (
	countAndDuration = []inventory.Metric{inventory.RequestCount, inventory.RequestDuration}
	countOnly        = []inventory.Metric{inventory.RequestCount}
)

func gatewayRef(name string) []inventory.TargetRef {
	return []inventory.TargetRef{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: name}}
}

// attrgenSet is a route set of an attributegen WasmPlugin and a Telemetry
// both named name, writing route_name on count and duration.
func attrgenSet(scope inventory.Scope, name string, values ...string) inventory.RouteSet {
	return inventory.RouteSet{
		ID: scope.Namespace + "/" + name, Namespace: scope.Namespace, Scope: scope,
		Tag: "route_name", Attribute: "istio_operationId",
		Routes: routes(values...), Metrics: countAndDuration,
		Plugin:    diag.ObjectRef{Kind: "WasmPlugin", Namespace: scope.Namespace, Name: name},
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: scope.Namespace, Name: name},
	}
}

// celSet is a route set classified by a CEL tag expression alone, on count only.
func celSet(scope inventory.Scope, name, tag string, values ...string) inventory.RouteSet {
	return inventory.RouteSet{
		ID: scope.Namespace + "/" + name, Namespace: scope.Namespace, Scope: scope,
		Tag: tag, Routes: routes(values...), Metrics: countOnly,
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: scope.Namespace, Name: name},
	}
}

// podinfoInventory is the blog's setup (examples/podinfo): a waypoint-scoped
// attributegen classification on route_name, count and duration.
func podinfoInventory() *inventory.Inventory {
	rs := attrgenSet(inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: "podinfo", TargetRefs: gatewayRef("podinfo-waypoint")},
		"podinfo-wasmplugin", "GET /healthz", "POST /echo")
	rs.Telemetry.Name = "podinfo-telemetry"
	rs.Source = diag.Source{File: "examples/podinfo/wasmplugin.yaml", Line: 3}
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{rs}}
}

// mixedInventory has every scope kind, a CEL-only set without latency, two
// tags on one scope and SLO objectives set per set and per route.
func mixedInventory() *inventory.Inventory {
	checkout := inventory.Scope{Kind: inventory.ScopeService, Namespace: "shop", TargetRefs: []inventory.TargetRef{{Kind: "Service", Name: "checkout"}}}
	cart := celSet(inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "shop", Selector: map[string]string{"app": "cart", "tier": "api"}},
		"cart", "request_operation", "GET /cart", "POST /cart/items", "other")
	cart.Annotations = map[string]string{
		"routebundle.io/objective": "99.5%",
		"routebundle.io/routes":    `{"POST /cart/items": {objective: "99.9%"}, "other": {objective: none}}`,
	}
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{
		cart,
		attrgenSet(checkout, "checkout", "POST /checkout", "GET /checkout/{id}"),
		celSet(checkout, "checkout-ops", "operation", "read", "write"),
		attrgenSet(inventory.Scope{Kind: inventory.ScopeMesh, Namespace: "istio-system"}, "mesh", "GET /healthz", "GET /readyz"),
		attrgenSet(inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "web"}, "web", "GET /", "GET /static/*"),
	}}
}

// hostileRoutes are route values that break naive quoting: PromQL and JSON
// quotes and escapes, regex metacharacters, Grafana variable syntax.
var hostileRoutes = []string{
	`GET /say "hi"`,
	`GET /path\with\backslash`,
	`GET /users/{id}`,
	`POST /a}b{c`,
	`GET /$route/${namespace}`,
	`GET /[[workload]]`,
	`GET /.*|(x)+?^`,
	"GET /multi\nline",
	`GET /'single'`,
	`GET /ünïcödé ✓`,
}

// hostileInventory puts the hostile values on two scopes: one where the
// route variable can use a raw string, one with a backtick where it cannot,
// and gives them objectives so that they appear as literals in SLO queries.
func hostileInventory() *inventory.Inventory {
	raw := attrgenSet(inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: "evil", TargetRefs: gatewayRef(`wp"}{\`)},
		"raw", hostileRoutes...)
	raw.Annotations = map[string]string{"routebundle.io/objective": "99.9%"}
	tick := attrgenSet(inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "evil", Selector: map[string]string{"app": `x"y{z}\`}},
		"tick", append([]string{"GET /`tick`"}, hostileRoutes...)...)
	tick.Annotations = map[string]string{"routebundle.io/objective": "99%"}
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{raw, tick}}
}

// routeNameSet is a route set reading xds.route_name: values are route
// names, each with what its route matches (pairs of name and summary).
func routeNameSet(scope inventory.Scope, id string, proxy inventory.ProxyKind, nameSummary ...string) inventory.RouteSet {
	rs := inventory.RouteSet{
		ID: id, Namespace: scope.Namespace, Scope: scope, Tag: "route_name", Metrics: countAndDuration,
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: scope.Namespace, Name: "route-names"},
		Routing:   &inventory.RouteNames{Proxy: proxy, Namespace: scope.Namespace, Unmatched: "unknown"},
	}
	for i := 0; i+1 < len(nameSummary); i += 2 {
		rs.Routes = append(rs.Routes, inventory.Route{Value: nameSummary[i], RouteName: nameSummary[i], Summary: nameSummary[i+1],
			Object: diag.ObjectRef{Kind: "HTTPRoute", Namespace: scope.Namespace, Name: "routes"}, Field: fmt.Sprintf("spec.rules[%d]", i/2)})
	}
	if proxy != inventory.ProxyWaypoint {
		rs.Reporter = inventory.ReporterSource
	}
	return rs
}

// httprouteInventory is the httproute example's route names at the
// waypoint, a gateway's on another tag (client side), and hostile names
// and summaries.
func httprouteInventory() *inventory.Inventory {
	waypoint := routeNameSet(inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: "podinfo", TargetRefs: gatewayRef("podinfo-waypoint")},
		"podinfo/podinfo-waypoint/route-names/route_name", inventory.ProxyWaypoint,
		"get-healthz", "GET /healthz", "post-echo", "POST /echo", "other", "any",
		`say "hi" {{x}}`, "header x=`$route` | ${namespace}", "two\nlines", "/a\nb")
	gw := routeNameSet(inventory.Scope{Kind: inventory.ScopeGateway, Namespace: "ingress", TargetRefs: gatewayRef("public")},
		"ingress/public/route-names/gateway_route", inventory.ProxyGateway,
		"productpage", "/productpage (host bookinfo.example.com)", "login", "POST /login (host bookinfo.example.com)")
	gw.Tag = "gateway_route"
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{waypoint, gw}}
}
