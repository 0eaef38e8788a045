package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/conformance"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/manifest"
)

// TestExplainHTTPRouteExample explains requests of the embedded httproute
// example: the route name each gets at podinfo's waypoint.
func TestExplainHTTPRouteExample(t *testing.T) {
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"httproute-get-healthz.txt", []string{"--example", "httproute", "--namespace", "podinfo", "GET", "/healthz"}},
		{"httproute-post-echo.json", []string{"--example=httproute", "--namespace", "podinfo", "-o", "json", "POST", "http://podinfo-svc.podinfo:9898/echo?x=1"}},
		{"httproute-delete.txt", []string{"--namespace", "podinfo", "--example", "httproute", "DELETE", "/echo"}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append([]string{"explain"}, tt.args...)...)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			checkGolden(t, filepath.Join("explain", tt.golden), stdout)
		})
	}
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--example", "nope", "--namespace", "podinfo", "GET", "/"}, `no example "nope" (the examples are httproute, podinfo)`},
		{[]string{"--example", "httproute", "x.yaml", "--namespace", "podinfo", "GET", "/"}, "give one or the other"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"explain"}, tt.args...)...)
		if code != ExitUsage || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%q: exit %d, stderr %q", tt.args, code, stderr)
		}
	}
}

// explained is the part of explain's JSON these tests read.
type explained struct {
	RouteSets []struct {
		ID, Value, Reason, Table string
		Index                    int
		Matches                  []struct{ Rule, Outcome string }
	}
	OutOfScope []struct{ ID, Reason string }
}

func explainJSON(t *testing.T, stdin string, args ...string) explained {
	t.Helper()
	code, stdout, stderr := runCLI(t, stdin, append([]string{"explain", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("explain %q: exit %d, stderr %q", args, code, stderr)
	}
	var x explained
	if err := json.Unmarshal([]byte(stdout), &x); err != nil {
		t.Fatalf("explain %q: %v\n%s", args, err, stdout)
	}
	return x
}

// ruleField reads "Kind/ns/name spec.rules[i]..." of a match.
var ruleField = regexp.MustCompile(`^(\w+)/([^/]+)/(\S+) spec\.rules\[(\d+)\]`)

// TestExplainConformance: explain gives each request of the Gateway API's
// conformance tests the route of the rule whose backend the test expects,
// at the conformance Gateway, with a Telemetry reading xds.route_name on it.
func TestExplainConformance(t *testing.T) {
	dir, err := k8stest.ModuleDir(t.Context(), conformance.Module)
	if err != nil {
		t.Fatal(err)
	}
	telemetry := fmt.Sprintf(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: route-names, namespace: %s}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: %s}]
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT}
      tagOverrides:
        route_name: {value: xds.route_name}
`, conformance.GatewayNamespace, conformance.GatewayName)
	cases := conformance.Cases()
	checked := 0
	for _, name := range conformance.Tests() {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "tests", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			objs, _ := manifest.Decode(name+".yaml", data)
			stdin := string(data) + "\n---\n" + telemetry
			for _, c := range cases[name] {
				target := c.Path
				if c.Host != "" {
					target = "http://" + c.Host + c.Path
				}
				args := []string{"-", "--namespace", conformance.GatewayNamespace}
				for k, v := range c.Headers {
					args = append(args, "--header", k+"="+v)
				}
				x := explainJSON(t, stdin, append(args, c.Method, target)...)
				if len(x.RouteSets) != 1 {
					t.Fatalf("%d route sets explained", len(x.RouteSets))
				}
				se := x.RouteSets[0]
				got := ""
				if se.Index >= 0 {
					m := ruleField.FindStringSubmatch(se.Matches[se.Index].Rule)
					if m == nil {
						t.Fatalf("match %d: rule %q", se.Index, se.Matches[se.Index].Rule)
					}
					i, _ := strconv.Atoi(m[4])
					if got, err = conformance.Backend(objs, m[1], m[2], m[3], i); err != nil {
						t.Fatal(err)
					}
				} else if se.Value != "unknown" {
					t.Errorf("%s %s: no route, value %q", c.Method, target, se.Value)
				}
				if got != c.Backend {
					t.Errorf("%s %s %v: route %q (%s), backend %q, want %q", c.Method, target, c.Headers, se.Value, se.Reason, got, c.Backend)
				}
				checked++
			}
		})
	}
	if checked < 80 {
		t.Errorf("%d requests checked", checked)
	}
}

// TestExplainClientAndGateway: route names read at a gateway need the
// request's host; at client sidecars the client's namespace (--from), and
// the destination Service from the host or --service.
func TestExplainClientAndGateway(t *testing.T) {
	input := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: ingress}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: public, namespace: ingress}]
  hostnames: [shop.example.com]
  rules:
  - name: cart
    matches: [{path: {type: PathPrefix, value: /cart}}]
    backendRefs: [{name: cart, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart}]
  rules:
  - name: cart-v2
    matches: [{headers: [{name: x-version, value: "2"}]}]
    backendRefs: [{name: cart-v2, port: 8080}]
  - name: cart-v1
    backendRefs: [{name: cart-v1, port: 8080}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: gateway-routes, namespace: ingress}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: public}]
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT}
      tagOverrides: {gateway_route: {value: xds.route_name}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: client-routes, namespace: web}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT}
      tagOverrides: {client_route: {value: xds.route_name}}
`
	x := explainJSON(t, input, "-", "--namespace", "ingress", "GET", "http://shop.example.com/cart/1")
	if len(x.RouteSets) != 1 || x.RouteSets[0].Value != "cart" || x.RouteSets[0].Table != "gateway ingress/public host shop.example.com" {
		t.Errorf("gateway: %+v", x.RouteSets)
	}
	x = explainJSON(t, input, "-", "--namespace", "ingress", "GET", "http://other.example.com/cart/1")
	if len(x.RouteSets) != 1 || x.RouteSets[0].Value != "unknown" || !strings.Contains(x.RouteSets[0].Reason, "no route attached to gateway ingress/public is for host other.example.com") {
		t.Errorf("gateway, other host: %+v", x.RouteSets)
	}
	// The client-side set needs the client's namespace.
	x = explainJSON(t, input, "-", "--namespace", "shop", "GET", "/cart")
	if len(x.RouteSets) != 0 || len(x.OutOfScope) != 2 || !strings.Contains(x.OutOfScope[1].Reason, "--from") {
		t.Errorf("no --from: %+v", x)
	}
	for _, args := range [][]string{
		{"--from", "web", "--header", "x-version=2", "GET", "http://cart.shop:8080/cart"},
		{"--from", "web", "--service", "cart", "--header", "x-version=2", "GET", "/cart"},
		{"--from", "web", "--header", "x-version=2", "GET", "/cart"}, // the only Service of shop with routes
	} {
		x = explainJSON(t, input, append([]string{"-", "--namespace", "shop"}, args...)...)
		if len(x.RouteSets) != 1 || x.RouteSets[0].Value != "cart-v2" || x.RouteSets[0].Table != "Service shop/cart" && x.RouteSets[0].Table != "Service shop/cart port 8080" {
			t.Errorf("%q: %+v", args, x.RouteSets)
		}
	}
	x = explainJSON(t, input, "-", "--namespace", "shop", "--from", "web", "--service", "nope", "GET", "/cart")
	if len(x.RouteSets) != 1 || !strings.Contains(x.RouteSets[0].Reason, "no route object of the client sidecars of namespace web applies to Service shop/nope") {
		t.Errorf("unknown service: %+v", x.RouteSets)
	}
}

// TestExplainRouteNamesWithoutRoutes: a tag reading route names where no
// route object applies reads istiod's default route.
func TestExplainRouteNamesWithoutRoutes(t *testing.T) {
	input := `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: route-names, namespace: shop}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - tagOverrides: {route_name: {value: xds.route_name}}
`
	code, stdout, stderr := runCLI(t, input, "explain", "-", "--namespace", "shop", "GET", "/")
	if code != ExitOK || !strings.Contains(stdout, `value:   "default"`) || !strings.Contains(stdout, "no route object applies where Telemetry/shop/route-names applies") {
		t.Errorf("exit %d, stderr %q:\n%s", code, stderr, stdout)
	}
}
