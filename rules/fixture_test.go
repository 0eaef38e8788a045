package rules

import (
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
)

// Route values that PromQL, YAML and templates must all keep apart.
const (
	routeQuote     = `say "hi"`
	routeBackslash = `C:\path`
	routeBrace     = `GET /users/{id}}`
	routeNewline   = "two\nlines"
	routeTemplate  = "{{ .Evil }}"
)

func routes(values ...string) []inventory.Route {
	out := make([]inventory.Route, 0, len(values))
	for i, v := range values {
		out = append(out, inventory.Route{Value: v, Condition: "true", Field: "spec.pluginConfig.attributes[0].match[" + string(rune('0'+i)) + "]"})
	}
	return out
}

// podinfoSet is the blog's setup: a waypoint classifying two routes, with
// latency, an objective and a per-route override.
func podinfoSet() inventory.RouteSet {
	return inventory.RouteSet{
		ID: "podinfo/podinfo-wasmplugin", Namespace: "podinfo", Tag: "route_name", Attribute: "istio_operationId",
		Scope: inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: "podinfo",
			TargetRefs: []inventory.TargetRef{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "podinfo-waypoint"}}},
		Routes:    routes("GET /healthz", "POST /echo"),
		Metrics:   []inventory.Metric{inventory.RequestCount, inventory.RequestDuration},
		Plugin:    diag.ObjectRef{Kind: "WasmPlugin", Namespace: "podinfo", Name: "podinfo-wasmplugin"},
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "podinfo", Name: "podinfo-telemetry"},
		Annotations: map[string]string{
			policy.Prefix + "objective": "99.9%",
			policy.RoutesAnnotation:     `{"GET /healthz": {disable-alerts: all}}`,
		},
		Source: diag.Source{File: "examples/podinfo/wasmplugin.yaml", Line: 3},
	}
}

// awkwardSet has route values with every character that needs escaping
// somewhere, no latency, and an override on one of them.
func awkwardSet() inventory.RouteSet {
	return inventory.RouteSet{
		ID: "shop/classify", Namespace: "shop", Tag: "request_operation",
		Scope:     inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: "shop", Selector: map[string]string{"app": "shop"}},
		Routes:    routes(routeQuote, routeBackslash, routeBrace, routeNewline, routeTemplate),
		Metrics:   []inventory.Metric{inventory.RequestCount},
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "shop", Name: "classify"},
		Annotations: map[string]string{
			policy.Prefix + "error-ratio": "10%",
			// The second override makes its alert rules spell "{{ .Evil }}" as a literal label.
			policy.RoutesAnnotation: `{"say \"hi\"": {error-ratio: 1%, objective: 0.99}, "{{ .Evil }}": {error-ratio: 15%}}`,
		},
		Source: diag.Source{File: "shop.yaml", Line: 1},
	}
}

// meshSet classifies every namespace from the root namespace.
func meshSet() inventory.RouteSet {
	return inventory.RouteSet{
		ID: "istio-system/mesh-routes", Namespace: "istio-system", Tag: "route_name",
		Scope:     inventory.Scope{Kind: inventory.ScopeMesh, Namespace: "istio-system"},
		Routes:    routes("GET /"),
		Metrics:   []inventory.Metric{inventory.RequestCount, inventory.RequestDuration},
		Telemetry: diag.ObjectRef{Kind: "Telemetry", Namespace: "istio-system", Name: "mesh-routes"},
		Source:    diag.Source{File: "mesh.yaml", Line: 1},
	}
}

func fixture() *inventory.Inventory {
	return &inventory.Inventory{RouteSets: []inventory.RouteSet{meshSet(), podinfoSet(), awkwardSet()}}
}
