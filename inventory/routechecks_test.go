package inventory

import (
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/diag"
)

// TestRouteObjectRegexes: regexes in route objects as Istio's docs write
// them (VirtualService uri.regex and header regexes, HTTPRoute
// RegularExpression paths and headers, GRPCRoute method regexes) pass;
// patterns RE2 rejects are RB112 at the field that holds them, with the
// consequence for the object's kind, and the object's routes are still
// read.
func TestRouteObjectRegexes(t *testing.T) {
	telemetry := routeNameTelemetry("bookinfo", targetRefs("Gateway", "gateway.networking.k8s.io", "waypoint"), "SERVER", "xds.route_name")
	httpRoute := func(path, header string) string {
		return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
  - name: versioned
    matches:
    - path: {type: RegularExpression, value: '` + path + `'}
      headers: [{type: RegularExpression, name: end-user, value: '` + header + `'}]
    backendRefs: [{name: reviews-v2, port: 9080}]
`
	}
	grpcRoute := func(service string) string {
		return `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 7070}]
  rules:
  - name: echo
    matches:
    - method: {type: RegularExpression, service: '` + service + `', method: 'Echo.*'}
`
	}
	virtualService := func(uri string) string {
		return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: bookinfo}
spec:
  hosts: [ratings]
  http:
  - name: api
    match:
    - uri: {regex: '` + uri + `'}
      headers: {end-user: {regex: '*'}}
    route: [{destination: {host: ratings}}]
`
	}
	for _, tc := range []struct {
		name, input string
		fields      []string
		says        string
	}{
		{"valid", docs(httpRoute(`/reviews/[0-9]+`, `j.*`), grpcRoute(`grpc\.examples\.echo\.Echo`), virtualService(`^/api/v[0-9]+/.*`)), nil, ""},
		{"HTTPRoute path", httpRoute(`/reviews/[0-9+`, `j.*`), []string{"spec.rules[0].matches[0].path.value"}, "Envoy rejects the route configuration"},
		{"HTTPRoute header", httpRoute(`/reviews`, `j**`), []string{"spec.rules[0].matches[0].headers[0].value"}, "Envoy rejects"},
		{"GRPCRoute method", grpcRoute(`grpc.(echo`), []string{"spec.rules[0].matches[0].method"}, "Envoy rejects"},
		{"VirtualService uri", virtualService(`/api/v{2,1}`), []string{"spec.http[0].match[0].uri.regex"}, "istiod's validation rejects the VirtualService"},
		{"VirtualService too long", virtualService(strings.Repeat("a", 1025)), []string{"spec.http[0].match[0].uri.regex"}, "longer than 1024 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := build(t, docs(bookinfoAmbient, tc.input, telemetry))
			var fields []string
			for _, d := range inv.Diagnostics {
				if d.Code != diag.CodeInvalidRegex {
					continue
				}
				fields = append(fields, d.Field)
				if d.Severity != diag.Error || !strings.Contains(d.Message, tc.says) || d.Source.Line == 0 {
					t.Errorf("%s %s line %d: %s", d.Severity, d.Field, d.Source.Line, d.Message)
				}
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("RB112 at %q, want %q (all: %v)", fields, tc.fields, briefs(inv.Diagnostics))
			}
			if tc.fields != nil && !strings.HasPrefix(tc.name, "VirtualService") && len(inv.RouteSets) != 1 {
				t.Errorf("%d route sets: the object's routes must still be read", len(inv.RouteSets))
			}
		})
	}
}

// TestParentRefNames: the HTTPRoute CRD takes any parentRef name, but no
// Gateway or Service can have one that is not a DNS-1123 subdomain: RB105
// at the name, and the route attaches to nothing there. A namespace the
// CRD's pattern refuses is an invalid field (RB002).
func TestParentRefNames(t *testing.T) {
	route := func(ref string) string {
		return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: reviews, namespace: bookinfo}\nspec:\n  parentRefs: [" + ref + "]\n  rules: [{name: all}]\n"
	}
	telemetry := routeNameTelemetry("bookinfo", targetRefs("Gateway", "gateway.networking.k8s.io", "waypoint"), "SERVER", "xds.route_name")
	// With its only route object dropped, the waypoint has no routes.
	noRoutes := "RB110 Telemetry/bookinfo/route-names spec.metrics[0].overrides[0].tagOverrides.route_name.value"
	for _, tc := range []struct {
		ref  string
		want []string
	}{
		{`{group: "", kind: Service, name: reviews}`, nil},
		{`{group: "", kind: Service, name: "re\nviews"}`, []string{"RB105 HTTPRoute/bookinfo/reviews spec.parentRefs[0].name", "RB105 HTTPRoute/bookinfo/reviews spec.parentRefs", noRoutes}},
		{`{group: "", kind: Service, name: reviews, namespace: "Book Info"}`, []string{"RB002 HTTPRoute/bookinfo/reviews spec.parentRefs[0].namespace", "RB105 HTTPRoute/bookinfo/reviews spec.parentRefs", noRoutes}},
	} {
		inv := build(t, docs(bookinfoAmbient, route(tc.ref), telemetry))
		var got []string
		for _, d := range inv.Diagnostics {
			if d.Code != diag.CodeUnnamedRule {
				got = append(got, brief(d))
			}
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.ref, got, tc.want)
		}
	}
}

// TestTargetRefNamespace: Istio's CRDs refuse a namespace in a policy's
// targetRef (the CEL rule self.size() == 0, the policy's own namespace
// included): RB002 at the field, and the policy stays targeted, at its own
// namespace's waypoint.
func TestTargetRefNamespace(t *testing.T) {
	for _, ns := range []string{"bookinfo", "other"} {
		tel := routeNameTelemetry("bookinfo", "  targetRefs:\n  - kind: Gateway\n    group: gateway.networking.k8s.io\n    name: waypoint\n    namespace: "+ns+"\n", "SERVER", "xds.route_name")
		inv := build(t, docs(bookinfoAmbient, reviewsRoute, tel))
		if got := briefs(inv.Diagnostics); !slices.Equal(got, []string{"RB002 Telemetry/bookinfo/route-names spec.targetRefs[0].namespace"}) {
			t.Errorf("namespace %s: %q", ns, got)
		}
		if len(inv.RouteSets) != 1 || inv.RouteSets[0].Scope.Kind != ScopeWaypoint || inv.RouteSets[0].Namespace != "bookinfo" {
			t.Errorf("namespace %s: %d route sets %+v", ns, len(inv.RouteSets), inv.RouteSets)
		}
	}
}
