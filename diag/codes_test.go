package diag

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite docs/diagnostics.md")

func TestCodes(t *testing.T) {
	prev := 0
	for i, ci := range Codes() {
		var n int
		if _, err := fmt.Sscanf(ci.Code, "RB%03d", &n); err != nil || fmt.Sprintf("RB%03d", n) != ci.Code {
			t.Errorf("code %d is %q, want RBnnn", i, ci.Code)
		}
		// Input findings count up without gaps from the start of their
		// block: RB001 for WasmPlugin and Telemetry, RB101 for route
		// objects, RB201 for the schema checks. Each generator package has
		// its own block (RB3xx alerts and rules, RB4xx dashboards), in order.
		block, prevBlock := n/100, prev/100
		switch {
		case n < 300 && block == prevBlock && n != prev+1,
			n < 300 && block != prevBlock && n != block*100+1,
			n >= 300 && n <= prev:
			t.Errorf("code %d is %s: out of order after RB%03d", i, ci.Code, prev)
		}
		prev = n
		if ci.Summary == "" || strings.Contains(ci.Summary, "\n") {
			t.Errorf("%s: summary must be one line", ci.Code)
		}
		if ci.Severity < Info || ci.Severity > Error {
			t.Errorf("%s: severity %v", ci.Code, ci.Severity)
		}
	}
}

// TestDiagnosticsDoc keeps docs/diagnostics.md in step with Codes.
func TestDiagnosticsDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString(`# Diagnostics

<!-- Generated from diag.Codes(); run ` + "`go test ./diag -update`" + ` after changing a code. -->

` + "`bundlegen lint`" + ` reports these findings about WasmPlugin (attributegen), Telemetry,
Gateway and Namespace objects and their ` + "`routebundle.io/`" + ` annotations, and (RB1xx) about
HTTPRoute, GRPCRoute and VirtualService objects when a Telemetry tag reads ` + "`xds.route_name`" + `
(about one object only where a route set of such a tag reaches it);
` + "`bundlegen generate`" + ` adds those of the rule and dashboard generators
(RB31x, RB4xx). A code never changes meaning or severity. Only error-severity
findings make ` + "`bundlegen lint`" + ` and ` + "`bundlegen generate`" + ` exit 1.

| Code | Severity | Finding |
|------|----------|---------|
`)
	for _, ci := range Codes() {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", ci.Code, ci.Severity, strings.ReplaceAll(ci.Summary, "|", `\|`))
	}
	b.WriteString(`
## Facts the checks rely on

Each is checked in Istio's own sources (istio/istio pilot, istio/proxy's attributegen at
the commit Istio ships and its stats filter); the tests that rely on one cite where.

- Since Istio 1.24 a Wasm attribute must be read as ` + "`filter_state['wasm.X']`" + `; the bare
  ` + "`X`" + ` resolves to nothing and the tag reads ` + "`unknown`" + ` (RB003). The same release moved
  the peer metadata to ` + "`filter_state.upstream_peer`" + ` / ` + "`filter_state.downstream_peer`" + ` and,
  in tag values, the Wasm host's ` + "`node`" + `, ` + "`cluster_name`" + `, ... to ` + "`xds.node`" + `, ` + "`xds.cluster_name`" + `, ...
  (RB025).
- attributegen tries matches in order and the first true condition wins; an empty
  condition is always true (RB010, RB011). When none fires the attribute is unset and
  the tag reads ` + "`unknown`" + ` (RB016). A condition that fails to evaluate (a missing header,
  an attribute Envoy did not set) stops it: the attribute stays unset and the later
  matches are skipped (RB024).
- attributegen evaluates after the response (` + "`AFTER_RESPONSE`" + `, the default) unless an
  attribute sets ` + "`phase: ON_REQUEST`" + `, when no response exists yet (RB017).
- Two CEL dialects: attributegen conditions go through Envoy's expression builder with
  string conversion, concatenation and comprehensions off and regexes of at most 100
  instructions (RB008); Telemetry tag values go to the stats filter, which has them on,
  knows no Wasm attributes, and prints a value of any type into the tag.
- The WasmPlugin phases AUTHN, AUTHZ and STATS are all inserted *before* Istio's stats
  filter (STATS means "right before stats"). Without a phase the control plane places
  the plugin; some Istio releases appended such plugins after the stats filter (RB013).
- Waypoints take only policies whose ` + "`targetRefs`" + ` name them (Gateway, Service, ServiceEntry,
  or GatewayClass ` + "`istio-waypoint`" + ` from the root namespace); they ignore ` + "`selector`" + `, and a
  WasmPlugin without ` + "`targetRefs`" + ` only reaches sidecars. A Telemetry without selector or
  targetRefs applies to every proxy of its namespace (RB004, RB006).
- The root namespace (` + "`istio-system`" + ` unless ` + "`--root-namespace`" + ` says otherwise): a
  WasmPlugin there applies in every namespace, with a ` + "`selector`" + ` to the workloads so
  labelled; a Telemetry there without selector applies mesh-wide, with a selector only to
  workloads of the root namespace.
- A selector matches a workload whose labels include it: two selectors with the same key
  and different values never meet (no RB019); of several attributegen configs producing
  one attribute on a proxy, the one that runs last (phase, then higher priority first,
  then the workload's namespace before the root) overwrites the others when it matches
  (RB019).
- Telemetry overrides apply in order: ` + "`ALL_METRICS`" + ` with ` + "`disabled: true`" + ` is undone by any
  later override of the same mode, ` + "`disabled`" + ` of one metric only by a later ` + "`disabled`" + ` of it;
  an entry without ` + "`providers`" + ` inherits the previous entry's, and only the last providers
  named are configured (RB015, RB022).
- ` + "`matches()`" + ` uses RE2 partial matching: an unanchored pattern matches anywhere (RB012).
- A tag value ` + "`xds.route_name`" + ` reads the name istiod gave the Envoy route that matched, or
  ` + "`unknown`" + ` when none did (a 404). istiod names a VirtualService route after its ` + "`http`" + `
  entry's ` + "`name`" + `, plus ` + "`.`" + ` and the match's ` + "`name`" + ` when set (an unnamed entry gives ` + "`\"\"`" + `,
  RB101); delegated entries join root and delegate names with ` + "`-`" + `. An HTTPRoute or GRPCRoute
  rule's routes are named after the rule's ` + "`name`" + `, else ` + "`<namespace>.<route>.<index>`" + ` (RB103).
  Where no route object applies the route is ` + "`default`" + `, which is also what every request reads
  at a server-side sidecar (RB104).
- istiod accepts parentRefs to a Gateway, a ListenerSet, a Service (group ` + "`\"\"`" + `) and a
  ServiceEntry; an omitted group means ` + "`gateway.networking.k8s.io`" + `, so ` + "`kind: Service`" + ` alone is
  ignored (RB105).
- Route object regexes are RE2. istiod's validation checks a VirtualService's with Go's RE2 (and
  refuses one longer than 1,024 characters); a Gateway API route's reaches Envoy unchecked
  (` + "`conversion.go`" + ` passes it through), and Envoy rejects the whole route configuration holding it,
  keeping its previous routes (RB112).
- Route names are read where Envoy matches the routes: at a waypoint (the routes of the Services
  it serves, reported ` + "`reporter=\"waypoint\"`" + ` on the server side), at a gateway (the routes
  attached to it, per host) and at client sidecars (the routes of the Services they call); the
  last two report on the client side, ` + "`reporter=\"source\"`" + ` (pilot's ` + "`telemetry.go`" + `: gateways and
  sidecar outbound listeners take the client metrics, only waypoints report as SERVER_GATEWAY).
  A server-side sidecar matches every request against its inbound route ` + "`default`" + ` (RB108). A
  tag only on the side the proxy does not report never reaches a series (RB111).
- A Telemetry reading ` + "`xds.route_name`" + ` applies where its ` + "`targetRefs`" + ` say (a waypoint or gateway
  Gateway, the waypoint of a Service); without them to the sidecars of its namespace (none in an
  ambient one) and, without a selector, to the waypoints deployed there. A Service is served by the
  waypoint its own ` + "`istio.io/use-waypoint`" + ` label names, else its namespace's
  (` + "`istio.io/use-waypoint-namespace`" + ` for one elsewhere, ` + "`none`" + ` for no waypoint). Where no route object
  applies every request reads ` + "`default`" + ` (RB110); a route object no such proxy applies lands in
  no metric (RB109). Istio Gateways (networking.istio.io), ListenerSets and ServiceEntries are not
  read: route objects attached only to them are never reported unreached.
- The rules record the client side (` + "`reporter=\"source\"`" + `) of a tag read at gateways and client
  sidecars over every destination namespace, leaving to a server-side route set of the same tag its
  namespace; a mesh-wide server-side set of the tag leaves none (RB314).
`)
	got := b.String()
	testutil.Golden(t, filepath.Join("..", "docs", "diagnostics.md"), got, *update)
}
