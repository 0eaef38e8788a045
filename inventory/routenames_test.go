package inventory

import (
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/routing"
)

// Manifests shaped like Istio's ambient docs (istio.io "Configure waypoint
// proxies", "Request routing" with Gateway API) and the Gateway API's
// "getting started" HTTPRoutes.
const (
	// bookinfoAmbient: an ambient namespace whose waypoint serves every
	// Service, as `istioctl waypoint apply --enroll-namespace` leaves it.
	bookinfoAmbient = `apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels:
    istio.io/dataplane-mode: ambient
    istio.io/use-waypoint: waypoint
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: bookinfo
  labels:
    istio.io/waypoint-for: service
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
`
	reviewsRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: reviews
  namespace: bookinfo
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: reviews
    port: 9080
  rules:
  - name: jason
    matches:
    - headers:
      - name: end-user
        value: jason
    backendRefs:
    - name: reviews-v2
      port: 9080
  - name: everyone
    backendRefs:
    - name: reviews-v1
      port: 9080
`
	// ingress: a Gateway of class istio with a route for two hosts, as the
	// Gateway API's getting-started guide writes them.
	ingress = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: bookinfo-gateway
  namespace: bookinfo
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Same
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: bookinfo
  namespace: bookinfo
spec:
  parentRefs:
  - name: bookinfo-gateway
  hostnames:
  - bookinfo.example.com
  rules:
  - name: productpage
    matches:
    - path:
        type: Exact
        value: /productpage
    - path:
        type: PathPrefix
        value: /static
    backendRefs:
    - name: productpage
      port: 9080
  - name: login
    matches:
    - method: POST
      path:
        type: Exact
        value: /login
    backendRefs:
    - name: productpage
      port: 9080
`
)

// routeNameTelemetry is a Telemetry in namespace ns reading xds.route_name
// (or value) into route_name on request counts and durations, scoped by
// scope (targetRefs, selector or nothing) and mode.
func routeNameTelemetry(ns, scope, mode, value string) string {
	return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: route-names
  namespace: ` + ns + `
spec:
` + scope + `  metrics:
  - providers:
    - name: prometheus
    overrides:
    - match:
        metric: REQUEST_COUNT
        mode: ` + mode + `
      tagOverrides:
        route_name:
          value: "` + strings.ReplaceAll(value, `"`, `\"`) + `"
    - match:
        metric: REQUEST_DURATION
        mode: ` + mode + `
      tagOverrides:
        route_name:
          value: "` + strings.ReplaceAll(value, `"`, `\"`) + `"
`
}

func targetRefs(kind, group, name string) string {
	return "  targetRefs:\n  - kind: " + kind + "\n    group: \"" + group + "\"\n    name: " + name + "\n"
}

// setRoutes renders a route set's routes as "value: summary".
func setRoutes(rs *RouteSet) []string {
	out := make([]string, len(rs.Routes))
	for i, r := range rs.Routes {
		out[i] = r.Value + ": " + r.Summary
	}
	return out
}

func codes(l diag.List) []string {
	var out []string
	for _, d := range l {
		out = append(out, d.Code)
	}
	return out
}

// TestRouteNamesAtWaypoint: a Telemetry targeting the waypoint reads the
// names of the routes of every Service it serves (istiod builds the
// waypoint's inbound routes from them, listener_waypoint.go), on the
// server side with reporter="waypoint" (telemetry.go generateStatsConfig
// sets SERVER_GATEWAY for waypoints; MetricsForClass gives their inbound
// listeners the server metrics).
func TestRouteNamesAtWaypoint(t *testing.T) {
	for _, tc := range []struct {
		name, scope string
		kind        ScopeKind
	}{
		{"waypoint", targetRefs("Gateway", "gateway.networking.k8s.io", "waypoint"), ScopeWaypoint},
		{"service", targetRefs("Service", "", "reviews"), ScopeService},
		// Without targetRefs or selector a Telemetry reaches every proxy of
		// its namespace, the waypoint included; an ambient namespace has no
		// sidecars.
		{"namespace", "", ScopeWaypoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := build(t, docs(bookinfoAmbient, reviewsRoute, routeNameTelemetry("bookinfo", tc.scope, "SERVER", "xds.route_name")))
			if len(inv.Diagnostics) > 0 {
				t.Errorf("diagnostics: %v", briefs(inv.Diagnostics))
			}
			if len(inv.RouteSets) != 1 {
				t.Fatalf("%d route sets", len(inv.RouteSets))
			}
			rs := &inv.RouteSets[0]
			if rs.Scope.Kind != tc.kind || rs.Namespace != "bookinfo" || rs.Reporter != "" || rs.Plugin != (diag.ObjectRef{}) {
				t.Errorf("scope %+v namespace %s reporter %q plugin %v", rs.Scope, rs.Namespace, rs.Reporter, rs.Plugin)
			}
			want := []string{"jason: header end-user=jason", "everyone: any"}
			if got := setRoutes(rs); !slices.Equal(got, want) {
				t.Errorf("routes %q, want %q", got, want)
			}
			if rs.Routing == nil || rs.Routing.Proxy != ProxyWaypoint || !rs.HasLatency() || rs.Routes[0].Object.Name != "reviews" || rs.Routes[0].Source.Line == 0 {
				t.Errorf("routing %+v, route %+v", rs.Routing, rs.Routes[0])
			}
			if len(inv.Tags) != 1 || !inv.Tags[0].RouteNames || !slices.Equal(inv.Tags[0].RouteSets, []string{rs.ID}) {
				t.Errorf("tags %+v", inv.Tags)
			}
		})
	}
}

// TestRouteNamesExample is the embedded httproute example: podinfo's two
// named rules and the catch-all, with their summaries, and nothing to
// report.
func TestRouteNamesExample(t *testing.T) {
	res, err := manifest.ReadFS(examples.HTTPRoute())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	inv := b.FromManifests(res)
	if len(inv.Diagnostics) > 0 || len(inv.RouteSets) != 1 {
		t.Fatalf("%d route sets, diagnostics %v", len(inv.RouteSets), briefs(inv.Diagnostics))
	}
	want := []string{"get-healthz: GET /healthz", "post-echo: POST /echo", "other: any"}
	if got := setRoutes(&inv.RouteSets[0]); !slices.Equal(got, want) {
		t.Errorf("routes %q, want %q", got, want)
	}
}

// TestRouteNamesAtGateway: at an ingress gateway the names are read on
// the client side (a gateway's listeners take the client metrics,
// telemetry.go MetricsForClass, reporter "source"), per host.
func TestRouteNamesAtGateway(t *testing.T) {
	tel := routeNameTelemetry("bookinfo", targetRefs("Gateway", "gateway.networking.k8s.io", "bookinfo-gateway"), "CLIENT", "xds.route_name")
	inv := build(t, docs(ingress, tel))
	if len(inv.Diagnostics) > 0 || len(inv.RouteSets) != 1 {
		t.Fatalf("%d route sets, diagnostics %v", len(inv.RouteSets), briefs(inv.Diagnostics))
	}
	rs := &inv.RouteSets[0]
	if rs.Scope.Kind != ScopeGateway || rs.Reporter != ReporterSource || rs.Routing.Proxy != ProxyGateway || rs.Routing.Gateway != "bookinfo-gateway" {
		t.Errorf("scope %+v reporter %q routing %+v", rs.Scope, rs.Reporter, rs.Routing)
	}
	// Gateway API precedence: exact paths first, the longer first.
	want := []string{
		"productpage: /productpage (host bookinfo.example.com)",
		"login: POST /login (host bookinfo.example.com)",
		"productpage: /static/* (host bookinfo.example.com)",
	}
	if got := setRoutes(rs); !slices.Equal(got, want) {
		t.Errorf("routes %q, want %q", got, want)
	}
	if !slices.Equal(rs.RouteValues(), []string{"productpage", "login"}) {
		t.Errorf("values %q", rs.RouteValues())
	}

	// mode: SERVER is what the gateway does not report.
	inv = build(t, docs(ingress, routeNameTelemetry("bookinfo", targetRefs("Gateway", "gateway.networking.k8s.io", "bookinfo-gateway"), "SERVER", "xds.route_name")))
	if len(inv.RouteSets) != 0 || !slices.Equal(codes(inv.Diagnostics), []string{diag.CodeRouteNameWrongSide}) {
		t.Errorf("mode SERVER at a gateway: %d route sets, %v", len(inv.RouteSets), briefs(inv.Diagnostics))
	}
}

// TestRouteNamesAtClientSidecars: a namespace's Telemetry reaches its
// sidecars; as clients they read the names of the routes of the Services
// they call (reporter "source"), as servers istiod's inbound route,
// "default" (route.go BuildDefaultHTTPInboundRoute), which RB108 reports.
func TestRouteNamesAtClientSidecars(t *testing.T) {
	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: frontend, labels: {istio-injection: enabled}}\n"
	inv := build(t, docs(ns, reviewsRoute, routeNameTelemetry("frontend", "", "CLIENT", "xds.route_name")))
	if len(inv.Diagnostics) > 0 || len(inv.RouteSets) != 1 {
		t.Fatalf("%d route sets, diagnostics %v", len(inv.RouteSets), briefs(inv.Diagnostics))
	}
	rs := &inv.RouteSets[0]
	if rs.Scope.Kind != ScopeNamespace || rs.Namespace != "frontend" || rs.Reporter != ReporterSource || rs.Routing.Proxy != ProxyClientSidecar {
		t.Errorf("scope %+v reporter %q routing %+v", rs.Scope, rs.Reporter, rs.Routing)
	}
	if want := []string{"jason: header end-user=jason", "everyone: any"}; !slices.Equal(setRoutes(rs), want) {
		t.Errorf("routes %q, want %q", setRoutes(rs), want)
	}

	inv = build(t, docs(ns, reviewsRoute, routeNameTelemetry("frontend", "", "CLIENT_AND_SERVER", "xds.route_name")))
	if !slices.Equal(codes(inv.Diagnostics), []string{diag.CodeRouteNameOnServerSidecar}) || len(inv.RouteSets) != 1 {
		t.Errorf("CLIENT_AND_SERVER on sidecars: %d route sets, %v", len(inv.RouteSets), briefs(inv.Diagnostics))
	}
	if !strings.Contains(inv.Diagnostics[0].Message, `reads "default"`) {
		t.Errorf("RB108 says: %s", inv.Diagnostics[0].Message)
	}
}

// TestRouteNameExpressions: a tag value may read xds.route_name inside a
// larger expression; its values are what it yields for each name, and
// what it yields without one is the value of unmatched requests.
func TestRouteNameExpressions(t *testing.T) {
	for _, tc := range []struct {
		value     string
		values    []string
		unmatched string
		code      string
	}{
		{value: "has(xds.route_name) ? xds.route_name : 'no-route'", values: []string{"jason", "everyone"}, unmatched: "no-route"},
		{value: "'reviews/' + xds.route_name", values: []string{"reviews/jason", "reviews/everyone"}, unmatched: "unknown"},
		{value: "xds['route_name']", values: []string{"jason", "everyone"}, unmatched: "unknown"},
		{value: "xds.route_name + request.method", code: diag.CodeOpaqueTagExpression},
		{value: "xds.route_name + request.url_path", code: diag.CodeUnboundedTagValue},
		{value: "xds.route_name +", code: diag.CodeInvalidCondition},
	} {
		inv := build(t, docs(bookinfoAmbient, reviewsRoute, routeNameTelemetry("bookinfo", "", "SERVER", tc.value)))
		if tc.code != "" {
			if len(inv.RouteSets) != 0 || !slices.Contains(codes(inv.Diagnostics), tc.code) {
				t.Errorf("%s: %d route sets, %v, want %s", tc.value, len(inv.RouteSets), briefs(inv.Diagnostics), tc.code)
			}
			continue
		}
		if len(inv.RouteSets) != 1 || len(inv.Diagnostics) > 0 {
			t.Errorf("%s: %d route sets, %v", tc.value, len(inv.RouteSets), briefs(inv.Diagnostics))
			continue
		}
		rs := &inv.RouteSets[0]
		if !slices.Equal(rs.RouteValues(), tc.values) || rs.Routing.Unmatched != tc.unmatched || rs.Routing.Expression != tc.value || rs.Routes[0].RouteName != "jason" {
			t.Errorf("%s: values %q, unmatched %q, routing %+v", tc.value, rs.RouteValues(), rs.Routing.Unmatched, rs.Routing)
		}
	}
}

// TestRouteObjectsReached: the route objects' findings count only where a
// route set reaches them; an object attached only to places no such tag
// reaches is reported as unreached instead.
func TestRouteObjectsReached(t *testing.T) {
	// An unnamed rule on a Service of another namespace, which this
	// waypoint does not serve: its RB103 gives way to RB109.
	other := `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio.io/dataplane-mode: ambient
    istio.io/use-waypoint: shop-waypoint
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: cart
  namespace: shop
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: cart
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /cart
`
	tel := routeNameTelemetry("bookinfo", targetRefs("Gateway", "gateway.networking.k8s.io", "waypoint"), "SERVER", "xds.route_name")
	inv := build(t, docs(bookinfoAmbient, reviewsRoute, other, tel))
	if got := briefs(inv.Diagnostics); !slices.Equal(got, []string{"RB109 HTTPRoute/shop/cart spec"}) {
		t.Errorf("diagnostics %q", got)
	}
	if msg := inv.Diagnostics[0].Message; !strings.Contains(msg, "Service shop/cart") || !strings.Contains(msg, "waypoint bookinfo/waypoint") {
		t.Errorf("RB109 says: %s", msg)
	}
	// The RB103 is kept aside with the route objects' own findings.
	if got := routeBriefs(inv.Routes.Diagnostics); !slices.Equal(got, []string{"RB103 HTTPRoute/shop/cart spec.rules[0]"}) {
		t.Errorf("route diagnostics %q", got)
	}
	// Targeting shop's waypoint too reaches it: RB103 instead of RB109.
	tel2 := strings.Replace(routeNameTelemetry("shop", targetRefs("Gateway", "gateway.networking.k8s.io", "shop-waypoint"), "SERVER", "xds.route_name"), "route-names", "shop-names", 1)
	inv = build(t, docs(bookinfoAmbient, reviewsRoute, other, tel, tel2))
	if got := briefs(inv.Diagnostics); !slices.Equal(got, []string{"RB103 HTTPRoute/shop/cart spec.rules[0]"}) {
		t.Errorf("both waypoints: diagnostics %q", got)
	}
	if len(inv.RouteSets) != 2 {
		t.Errorf("%d route sets", len(inv.RouteSets))
	}
}

// TestRouteNamesWithoutRoutes: where no route object applies every request
// reads "default", and a Gateway the input says nothing about cannot be
// placed; both are reported and build no route set.
func TestRouteNamesWithoutRoutes(t *testing.T) {
	for _, tc := range []struct{ name, input, want string }{
		{"waypoint without routes", docs(bookinfoAmbient, routeNameTelemetry("bookinfo", targetRefs("Gateway", "gateway.networking.k8s.io", "waypoint"), "SERVER", "xds.route_name")), "no route object applies"},
		{"unknown gateway", routeNameTelemetry("bookinfo", targetRefs("Gateway", "gateway.networking.k8s.io", "somewhere"), "SERVER", "xds.route_name"), "whose class the input does not say"},
		{"ambient without waypoint", "apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}\n---\n" + routeNameTelemetry("bookinfo", "", "SERVER", "xds.route_name"), "reaches no waypoint"},
	} {
		inv := build(t, tc.input)
		if len(inv.RouteSets) != 0 || len(inv.Diagnostics) != 1 || inv.Diagnostics[0].Code != diag.CodeNoRouteObjects || !strings.Contains(inv.Diagnostics[0].Message, tc.want) {
			t.Errorf("%s: %d route sets, %v", tc.name, len(inv.RouteSets), inv.Diagnostics)
		}
	}
}

// TestRouteNamesServiceLabels: a Service's own istio.io/use-waypoint
// label (with istio.io/use-waypoint-namespace for a waypoint elsewhere)
// decides which waypoint serves it, before its namespace's.
func TestRouteNamesServiceLabels(t *testing.T) {
	svc := `apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
  labels:
    istio.io/use-waypoint: shared
    istio.io/use-waypoint-namespace: infra
spec:
  ports:
  - port: 9080
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: shared
  namespace: infra
spec:
  gatewayClassName: istio-waypoint
`
	shared := routeNameTelemetry("infra", targetRefs("Gateway", "gateway.networking.k8s.io", "shared"), "SERVER", "xds.route_name")
	local := strings.Replace(routeNameTelemetry("bookinfo", targetRefs("Gateway", "gateway.networking.k8s.io", "waypoint"), "SERVER", "xds.route_name"), "route-names", "local", 1)
	inv := build(t, docs(bookinfoAmbient, svc, reviewsRoute, shared, local))
	var ids []string
	for _, rs := range inv.RouteSets {
		ids = append(ids, rs.ID)
	}
	// The shared waypoint serves reviews, whose rules apply there; the
	// namespace's own waypoint serves nothing with routes.
	if !slices.Equal(ids, []string{"bookinfo/infra:shared/infra:route-names/route_name"}) {
		t.Errorf("route sets %q", ids)
	}
	rs := &inv.RouteSets[0]
	if rs.Scope.Kind != ScopeWaypoint || rs.Namespace != "bookinfo" || rs.Scope.TargetRefs[0].Namespace != "infra" {
		t.Errorf("scope %+v", rs.Scope)
	}
	if got := codes(inv.Diagnostics); !slices.Equal(got, []string{diag.CodeNoRouteObjects}) {
		t.Errorf("diagnostics %v", briefs(inv.Diagnostics))
	}
}

// TestRouteTablesOfRouteSet: the tables explain matches requests against
// are those the route set's values came from.
func TestRouteTablesOfRouteSet(t *testing.T) {
	inv := build(t, docs(bookinfoAmbient, reviewsRoute, routeNameTelemetry("bookinfo", "", "SERVER", "xds.route_name")))
	tables := inv.RouteTables(&inv.RouteSets[0])
	if len(tables) != 1 || tables[0].Port != 9080 || tables[0].Service.Name != "reviews" {
		t.Fatalf("tables %+v", tables)
	}
	r, ok := tables[0].Table.Match(routing.Request{Method: "GET", Path: "/reviews/1", Headers: map[string]string{"End-User": "jason"}})
	if !ok || r.Name != "jason" {
		t.Errorf("matched %+v, %v", r, ok)
	}
}
