package inventory

import (
	"strings"
	"testing"

	"github.com/routebundle/routebundle/diag"
)

const (
	objW = "WasmPlugin/shop/shop-routes"
	objT = "Telemetry/shop/shop-telemetry"
	// attr0 is the path of the first attributegen attribute.
	attr0 = "spec.pluginConfig.attributes[0]"
	// tagCount is the value of route_name on the first override.
	tagCount = "spec.metrics[0].overrides[0].tagOverrides.route_name.value"
)

// plugin returns a WasmPlugin with the given match list.
func plugin(matches string) string { return pluginHead + matches }

// telemetryWith returns the Telemetry with the given overrides.
func telemetryWith(overrides string) string { return telemetryHead + overrides }

// tagOn returns an override putting route_name = value on metric.
func tagOn(metric, value string) string {
	return "    - match:\n        metric: " + metric + "\n      tagOverrides:\n        route_name:\n          value: " + value + "\n"
}

// celTag returns overrides putting a CEL expression on count and duration.
func celTag(expr string) string {
	return tagOn("REQUEST_COUNT", expr) + tagOn("REQUEST_DURATION", expr)
}

func TestDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		input string
		// want lists "code object field" of every diagnostic, in output order.
		want []string
		// message is a substring the first diagnostic's message must contain.
		message string
	}{
		{
			name:  "clean podinfo-like setup",
			input: valid(),
		},
		{
			name:    "RB001 malformed document, the others still read",
			input:   docs(valid(), "kind: Telemetry\nmetadata: {name: [x\n"),
			want:    []string{"RB001 - "},
			message: "malformed YAML",
		},
		{
			name: "RB002 attributes is not a list",
			input: docs(nsWaypoint, gatewayWaypoint, strings.Replace(pluginHead, "    attributes:\n    - output_attribute: istio_operationId\n      match:\n", "    attributes: \"oops\"\n", 1),
				telemetryHead+overridesOK),
			want:    []string{"RB002 " + objW + " spec.pluginConfig.attributes", "RB004 " + objT + " " + tagCount},
			message: `want a list, got string "oops"`,
		},
		{
			name:    "RB002 missing spec",
			input:   "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: shop}\n",
			want:    []string{"RB002 Telemetry/shop/t spec"},
			message: "required field is missing",
		},
		{
			name:  "RB002 missing name",
			input: "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {namespace: shop}\nspec: {}\n",
			want:  []string{"RB002 Telemetry/shop/ metadata.name"},
		},
		{
			name:  "RB002 wrong types inside matches and overrides",
			input: docs(plugin("      - value: 200\n        condition: response.code == 200\n      - condition: 'true'\n      - just a string\n"), telemetryWith(tagOn("REQUEST_BYTES", "filter_state['wasm.istio_operationId']")+"    - tagOverrides:\n        route_name: {}\n")),
			want: []string{
				"RB021 " + objW + " " + attr0 + ".match",
				"RB002 " + objW + " " + attr0 + ".match[0].value",
				"RB002 " + objW + " " + attr0 + ".match[1].value",
				"RB002 " + objW + " " + attr0 + ".match[2]",
				"RB002 " + objT + " spec.metrics[0].overrides[0].match.metric",
				"RB002 " + objT + " spec.metrics[0].overrides[1].tagOverrides.route_name.value",
			},
		},
		{
			name:    "RB002 unknown phase, selector with targetRefs",
			input:   docs(strings.Replace(strings.Replace(pluginHead, "phase: STATS", "phase: LATE", 1), "  url:", "  selector:\n    matchLabels: {app: shop}\n  url:", 1)+matchesOK, telemetryHead+overridesOK),
			want:    []string{"RB002 " + objW + " spec.selector", "RB002 " + objW + " spec.phase", "RB013 " + objW + " spec.phase"},
			message: "mutually exclusive",
		},
		{
			name:    "RB003 bare attribute reference",
			input:   docs(pluginHead+matchesOK, telemetryWith(celTag("istio_operationId"))),
			want:    []string{"RB003 " + objT + " " + tagCount},
			message: "use filter_state['wasm.istio_operationId']",
		},
		{
			name:    "RB004 attribute produced nowhere",
			input:   docs(pluginHead+matchesOK, telemetryWith(celTag("filter_state['wasm.istio_operationID']"))),
			want:    []string{"RB005 " + objW + " " + attr0 + ".output_attribute", "RB004 " + objT + " " + tagCount},
			message: "attribute istio_operationId is read by no Telemetry",
		},
		{
			name: "RB004 attribute produced on other proxies",
			input: docs(strings.Replace(pluginHead, waypointRefs, "  selector:\n    matchLabels: {app: shop}\n", 1)+matchesOK,
				telemetryHead+overridesOK),
			want:    []string{"RB005 " + objW + " " + attr0 + ".output_attribute", "RB004 " + objT + " " + tagCount},
			message: "attribute istio_operationId is read by no Telemetry",
		},
		{
			name: "RB004 a root Telemetry with a selector is not mesh-wide",
			input: docs(strings.Replace(pluginHead, waypointRefs, "  selector:\n    matchLabels: {app: shop}\n", 1)+matchesOK,
				strings.Replace(strings.Replace(telemetryHead, waypointRefs, "  selector:\n    matchLabels: {app: shop}\n", 1), "namespace: shop", "namespace: istio-system", 1)+overridesOK),
			want: []string{"RB005 " + objW + " " + attr0 + ".output_attribute", "RB004 Telemetry/istio-system/shop-telemetry " + tagCount},
		},
		{
			name:  "RB005 attribute read by no Telemetry",
			input: pluginHead + matchesOK,
			want:  []string{"RB005 " + objW + " " + attr0 + ".output_attribute"},
		},
		{
			name: "RB006 selector and missing targetRefs in a waypoint namespace",
			input: docs(nsWaypoint,
				strings.Replace(pluginHead, waypointRefs, "", 1)+matchesOK,
				strings.Replace(telemetryHead, waypointRefs, "  selector:\n    matchLabels: {app: shop}\n", 1)+overridesOK),
			want:    []string{"RB006 " + objW + " spec", "RB006 " + objT + " spec.selector"},
			message: "add targetRefs to Gateway shop/shop-waypoint",
		},
		{
			name: "RB006 not reported when the namespace opts out",
			input: docs(strings.Replace(nsWaypoint, "use-waypoint: shop-waypoint", "use-waypoint: none", 1),
				strings.Replace(pluginHead, waypointRefs, "", 1)+matchesOK,
				strings.Replace(telemetryHead, waypointRefs, "  selector:\n    matchLabels: {app: shop}\n", 1)+overridesOK),
		},
		{
			name:    "RB007 route tag without latency",
			input:   docs(pluginHead+matchesOK, telemetryWith(tagOn("REQUEST_COUNT", "filter_state['wasm.istio_operationId']"))),
			want:    []string{"RB007 " + objT + " " + tagCount},
			message: "no per-route latency",
		},
		{
			name:    "RB008 condition does not compile",
			input:   docs(plugin("      - value: a\n        condition: request.methd == 'GET'\n      - value: b\n        condition: request.method == \n"), telemetryHead+overridesOK),
			want:    []string{"RB008 " + objW + " " + attr0 + ".match[0].condition", "RB008 " + objW + " " + attr0 + ".match[1].condition"},
			message: "column",
		},
		{
			name:    "RB008 CEL tag expression does not compile",
			input:   telemetryWith(celTag("\"request.url_path == '/a' ? 'A' : 1\"")),
			want:    []string{"RB008 " + objT + " " + tagCount},
			message: "does not compile",
		},
		{
			name:    "RB009 duplicate value",
			input:   docs(plugin(matchesOK+"      - value: GET /items\n        condition: request.url_path == '/items/'\n"), telemetryHead+overridesOK),
			want:    []string{"RB009 " + objW + " " + attr0 + ".match[2].value"},
			message: "also produced by match 0",
		},
		{
			name:    "RB010 identical condition",
			input:   docs(plugin(matchesOK+"      - value: GET /items again\n        condition: (request.method=='GET')&&(request.url_path=='/items')\n"), telemetryHead+overridesOK),
			want:    []string{"RB010 " + objW + " " + attr0 + ".match[2].condition"},
			message: "same condition as match 0",
		},
		{
			name:    "RB011 match after an empty condition",
			input:   docs(plugin("      - value: other\n"+matchesOK), telemetryHead+overridesOK),
			want:    []string{"RB011 " + objW + " " + attr0 + ".match[1]", "RB011 " + objW + " " + attr0 + ".match[2]"},
			message: "match 0 before it is always true (empty condition)",
		},
		{
			name:    "RB011 match after literal true",
			input:   docs(plugin("      - value: all\n        condition: ( true )\n"+matchesOK), telemetryHead+overridesOK),
			want:    []string{"RB011 " + objW + " " + attr0 + ".match[1]", "RB011 " + objW + " " + attr0 + ".match[2]"},
			message: "condition ( true )",
		},
		{
			name: "RB012 unanchored regex",
			input: docs(plugin("      - value: GET /items/{id}\n        condition: request.url_path.matches('/items/[0-9]+')\n"+
				"      - value: prefix\n        condition: matches(request.url_path, '^/api/.*')\n"+
				"      - value: end\n        condition: request.url_path.matches('^/x/[a-z]+')\n"), telemetryHead+overridesOK),
			want:    []string{"RB012 " + objW + " " + attr0 + ".match[0].condition", "RB012 " + objW + " " + attr0 + ".match[2].condition"},
			message: "is not anchored (add ^ and $)",
		},
		{
			name:    "RB013 phase not set",
			input:   docs(strings.Replace(pluginHead, "  phase: STATS\n", "", 1)+matchesOK, telemetryHead+overridesOK),
			want:    []string{"RB013 " + objW + " spec.phase"},
			message: "set phase: STATS",
		},
		{
			name:    "RB014 tag value copies the raw path",
			input:   telemetryWith(celTag("request.url_path")),
			want:    []string{"RB014 " + objT + " " + tagCount},
			message: "copies request.url_path",
		},
		{
			name:  "RB014 tag value copies a header in a conditional branch",
			input: telemetryWith(celTag("\"request.url_path == '/a' ? 'A' : request.headers['x-route']\"")),
			want:  []string{"RB014 " + objT + " " + tagCount},
		},
		{
			name:    "RB015 provider is not prometheus",
			input:   docs(pluginHead+matchesOK, strings.Replace(telemetryHead, "name: prometheus", "name: stackdriver", 1)+overridesOK),
			want:    []string{"RB005 " + objW + " " + attr0 + ".output_attribute", "RB015 " + objT + " spec.metrics[0].providers"},
			message: "read by no Telemetry",
		},
		{
			name:    "RB016 reserved values",
			input:   docs(plugin("      - value: unknown\n        condition: request.url_path == '/u'\n      - value: ''\n        condition: request.url_path == '/e'\n"), telemetryHead+overridesOK),
			want:    []string{"RB016 " + objW + " " + attr0 + ".match[0].value", "RB016 " + objW + " " + attr0 + ".match[1].value"},
			message: `route value "unknown"`,
		},
		{
			name:    "RB017 response attribute read on request",
			input:   docs(strings.Replace(pluginHead, "      match:\n", "      phase: ON_REQUEST\n      match:\n", 1)+"      - value: errors\n        condition: response.code >= 500\n", telemetryHead+overridesOK),
			want:    []string{"RB017 " + objW + " " + attr0 + ".match[0].condition"},
			message: "evaluated ON_REQUEST",
		},
		{
			name:    "RB018 conditional tag expression that cannot be listed",
			input:   telemetryWith(celTag("\"request.method == 'GET' ? request.method : 'other'\"")),
			want:    []string{"RB018 " + objT + " " + tagCount},
			message: "cannot be listed",
		},
		{
			name: "RB019 two plugins produce the same attribute",
			input: docs(gatewayWaypoint, pluginHead+matchesOK,
				strings.Replace(strings.Replace(pluginHead, "name: shop-routes", "name: shop-routes-2", 1), "phase: STATS", "phase: AUTHN", 1)+"      - value: all\n",
				telemetryHead+overridesOK),
			want:    []string{"RB019 WasmPlugin/shop/shop-routes-2 " + attr0 + ".output_attribute"},
			message: "also produced by WasmPlugin/shop/shop-routes",
		},
		{
			name:    "RB020 duplicate object",
			input:   docs(valid(), telemetryHead+overridesOK),
			want:    []string{"RB020 " + objT + " "},
			message: "already read at test.yaml:",
		},
		{
			// kubectl puts an object without namespace in default; every
			// message names it so.
			name: "RB020 duplicate object in the implied default namespace",
			input: docs(strings.Replace(telemetryHead, "  namespace: shop\n", "", 1)+overridesOK,
				strings.Replace(telemetryHead, "  namespace: shop\n", "", 1)+overridesOK),
			want:    []string{"RB020 Telemetry/default/shop-telemetry ", "RB004 Telemetry/default/shop-telemetry spec.metrics[0].overrides[0].tagOverrides.route_name.value"},
			message: "Telemetry/default/shop-telemetry was already read at test.yaml:1",
		},
		{
			// attributegen's phase enum at 359dcd3a (istio/proxy
			// extensions/attributegen/config.proto): AFTER_RESPONSE = 0 (the
			// default), ON_REQUEST; ON_LOG is no value of it.
			name: "attributegen phase AFTER_RESPONSE is valid",
			input: docs(nsWaypoint, gatewayWaypoint, strings.Replace(pluginHead, "      match:\n", "      phase: AFTER_RESPONSE\n      match:\n", 1)+matchesOK,
				telemetryHead+overridesOK),
		},
		{
			name:    "RB002 attributegen phase ON_LOG",
			input:   docs(nsWaypoint, gatewayWaypoint, strings.Replace(pluginHead, "      match:\n", "      phase: ON_LOG\n      match:\n", 1)+matchesOK, telemetryHead+overridesOK),
			want:    []string{"RB002 " + objW + " " + attr0 + ".phase"},
			message: `"ON_LOG" is not one of [AFTER_RESPONSE ON_REQUEST PHASE_UNSPECIFIED]`,
		},
		{
			name:    "RB021 attribute without matches",
			input:   docs(strings.TrimSuffix(pluginHead, "      match:\n")+"      match: []\n", telemetryHead+overridesOK),
			want:    []string{"RB021 " + objW + " " + attr0 + ".match"},
			message: "never set",
		},
		{
			name:  "other Wasm plugins are ignored without noise",
			input: "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: auth, namespace: shop}\nspec:\n  url: oci://example/auth:1\n  pluginConfig:\n    attributes: {claims: [sub]}\n",
		},
		{
			name:  "unrelated kinds are ignored",
			input: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: 3\n---\napiVersion: v1\nkind: ConfigMap\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := build(t, tt.input)
			got := briefs(inv.Diagnostics)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("diagnostics:\n%s\nwant:\n%s\nfull:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), fullText(inv.Diagnostics))
			}
			if tt.message != "" && len(inv.Diagnostics) > 0 && !strings.Contains(inv.Diagnostics[0].Message, tt.message) {
				t.Errorf("message %q does not contain %q", inv.Diagnostics[0].Message, tt.message)
			}
			for _, d := range inv.Diagnostics {
				if d.Source.File != "test.yaml" || d.Source.Line == 0 {
					t.Errorf("diagnostic without position: %v", d)
				}
				if want := severityOf(d.Code); d.Severity != want {
					t.Errorf("%s has severity %v, want %v", d.Code, d.Severity, want)
				}
			}
		})
	}
}

func fullText(l diag.List) string {
	var b strings.Builder
	_ = l.WriteText(&b)
	return b.String()
}

func severityOf(code string) diag.Severity {
	for _, ci := range diag.Codes() {
		if ci.Code == code {
			return ci.Severity
		}
	}
	return -1
}

// TestDiagnosticPositions checks that findings point at the line of the
// offending field, inside multi-line conditions too.
func TestDiagnosticPositions(t *testing.T) {
	input := docs(plugin(
		"      - value: a\n"+ // line 17
			"        condition: |\n"+
			"          request.method == 'GET' &&\n"+
			"          request.url_path ==\n"+ // line 20
			"      - value: a\n", // line 21
	), telemetryWith(tagOn("REQUEST_COUNT", "filter_state['wasm.istio_operationId']"))) // value: at line 41
	inv := build(t, input)
	want := map[string]int{"RB008": 20, "RB009": 21, "RB007": 41}
	if len(inv.Diagnostics) != len(want) {
		t.Fatalf("diagnostics:\n%s", fullText(inv.Diagnostics))
	}
	for _, d := range inv.Diagnostics {
		if d.Source.Line != want[d.Code] {
			t.Errorf("%s at line %d, want %d: %s", d.Code, d.Source.Line, want[d.Code], d)
		}
	}
}
