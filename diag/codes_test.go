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
		// Input findings count up from RB001 without gaps; the schema checks
		// (RB2xx) and each generator package have a block of their own
		// (RB3xx alerts and rules, RB4xx dashboards).
		if n < 200 && n != i+1 || n >= 200 && n <= prev {
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
Gateway and Namespace objects and their ` + "`routebundle.io/`" + ` annotations;
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

- Since Istio 1.24 a Wasm attribute must be read as ` + "`filter_state['wasm.X']`" + `; the bare
  ` + "`X`" + ` resolves to nothing and the tag reads ` + "`unknown`" + ` (RB003).
- attributegen tries matches in order and the first true condition wins; an empty
  condition is always true (RB010, RB011). When none fires the attribute is unset and
  the tag reads ` + "`unknown`" + ` (RB016).
- attributegen evaluates at the end of the request (ON_LOG) unless an attribute sets
  ` + "`phase: ON_REQUEST`" + `, when no response exists yet (RB017).
- The WasmPlugin phases AUTHN, AUTHZ and STATS are all inserted *before* Istio's stats
  filter (STATS means "right before stats"). Without a phase the control plane places
  the plugin; some Istio releases appended such plugins after the stats filter (RB013).
- Waypoints take only policies whose ` + "`targetRefs`" + ` name them (Gateway, GatewayClass,
  Service, ServiceEntry); they ignore ` + "`selector`" + `, and a WasmPlugin without ` + "`targetRefs`" + `
  only reaches sidecars. A Telemetry without selector or targetRefs applies to every
  proxy of its namespace, one in ` + "`istio-system`" + ` to the whole mesh (RB004, RB006).
- Of several attributegen configs producing one attribute on a proxy, the one that
  runs last (phase, then higher priority first) overwrites the others when it
  matches (RB019).
- ` + "`matches()`" + ` uses RE2 partial matching: an unanchored pattern matches anywhere (RB012).
`)
	got := b.String()
	testutil.Golden(t, filepath.Join("..", "docs", "diagnostics.md"), got, *update)
}
