package dashboards

import (
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
)

// Test inventories, built as Go values: the reader that fills inventories
// from Istio objects has tests of its own.

func routes(values ...string) []inventory.Route {
	out := make([]inventory.Route, len(values))
	for i, v := range values {
		out[i] = inventory.Route{Value: v, Condition: "true", Field: "spec.pluginConfig.attributes[0].match[" + string(rune('0'+i%10)) + "]"}
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

// podinfoInventory is the blog's setup (examples/podinfo): a waypoint-scoped
// attributegen classification on route_name, count and duration.
func podinfoInventory() *inventory.Inventory {
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{{
		ID:        "podinfo/podinfo-wasmplugin",
		Namespace: "podinfo",
		Scope:     inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: "podinfo", TargetRefs: gatewayRef("podinfo-waypoint")},
		Tag:       "route_name",
		Attribute: "istio_operationId",
		Routes:    routes("GET /healthz", "POST /echo"),
		Metrics:   countAndDuration,
		Plugin:    diag.ObjectRef{Kind: "WasmPlugin", Namespace: "podinfo", Name: "podinfo-wasmplugin"},
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "podinfo", Name: "podinfo-telemetry"},
		Source:    diag.Source{File: "examples/podinfo/wasmplugin.yaml", Line: 3},
	}}}
}

// mixedInventory has every scope kind, a CEL-only set without latency, two
// tags on one scope and SLO objectives set per set and per route.
func mixedInventory() *inventory.Inventory {
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{
		{
			ID: "shop/cart", Namespace: "shop",
			Scope:     inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "shop", Selector: map[string]string{"app": "cart", "tier": "api"}},
			Tag:       "request_operation",
			Routes:    routes("GET /cart", "POST /cart/items", "other"),
			Metrics:   countOnly,
			Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "shop", Name: "cart"},
			Annotations: map[string]string{
				"routebundle.io/objective": "99.5%",
				"routebundle.io/routes":    `{"POST /cart/items": {objective: "99.9%"}, "other": {objective: none}}`,
			},
		},
		{
			ID: "shop/checkout", Namespace: "shop",
			Scope:     inventory.Scope{Kind: inventory.ScopeService, Namespace: "shop", TargetRefs: []inventory.TargetRef{{Kind: "Service", Name: "checkout"}}},
			Tag:       "route_name",
			Attribute: "istio_operationId",
			Routes:    routes("POST /checkout", "GET /checkout/{id}"),
			Metrics:   countAndDuration,
			Plugin:    diag.ObjectRef{Kind: "WasmPlugin", Namespace: "shop", Name: "checkout"},
			Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "shop", Name: "checkout"},
		},
		{
			ID: "shop/checkout-ops", Namespace: "shop",
			Scope:     inventory.Scope{Kind: inventory.ScopeService, Namespace: "shop", TargetRefs: []inventory.TargetRef{{Kind: "Service", Name: "checkout"}}},
			Tag:       "operation",
			Routes:    routes("read", "write"),
			Metrics:   countOnly,
			Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "shop", Name: "checkout-ops"},
		},
		{
			ID: "istio-system/mesh", Namespace: "istio-system",
			Scope:     inventory.Scope{Kind: inventory.ScopeMesh, Namespace: "istio-system"},
			Tag:       "route_name",
			Attribute: "istio_operationId",
			Routes:    routes("GET /healthz", "GET /readyz"),
			Metrics:   countAndDuration,
			Plugin:    diag.ObjectRef{Kind: "WasmPlugin", Namespace: "istio-system", Name: "mesh"},
			Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "istio-system", Name: "mesh"},
		},
		{
			ID: "web/web", Namespace: "web",
			Scope:     inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: "web"},
			Tag:       "route_name",
			Attribute: "istio_operationId",
			Routes:    routes("GET /", "GET /static/*"),
			Metrics:   countAndDuration,
			Plugin:    diag.ObjectRef{Kind: "WasmPlugin", Namespace: "web", Name: "web"},
			Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "web", Name: "web"},
		},
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
	backtick := append([]string{"GET /`tick`"}, hostileRoutes...)
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{
		{
			ID: "evil/raw", Namespace: "evil",
			Scope:       inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: "evil", TargetRefs: gatewayRef(`wp"}{\`)},
			Tag:         "route_name",
			Attribute:   "istio_operationId",
			Routes:      routes(hostileRoutes...),
			Metrics:     countAndDuration,
			Plugin:      diag.ObjectRef{Kind: "WasmPlugin", Namespace: "evil", Name: "raw"},
			Telemetry:   diag.ObjectRef{Kind: "Telemetry", Namespace: "evil", Name: "raw"},
			Annotations: map[string]string{"routebundle.io/objective": "99.9%"},
		},
		{
			ID: "evil/tick", Namespace: "evil",
			Scope:       inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "evil", Selector: map[string]string{"app": `x"y{z}\`}},
			Tag:         "route_name",
			Attribute:   "istio_operationId",
			Routes:      routes(backtick...),
			Metrics:     countAndDuration,
			Plugin:      diag.ObjectRef{Kind: "WasmPlugin", Namespace: "evil", Name: "tick"},
			Telemetry:   diag.ObjectRef{Kind: "Telemetry", Namespace: "evil", Name: "tick"},
			Annotations: map[string]string{"routebundle.io/objective": "99%"},
		},
	}}
}
