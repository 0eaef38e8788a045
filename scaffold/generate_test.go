package scaffold

import (
	"fmt"
	"strings"
	"testing"
)

func TestGenerateOptionErrors(t *testing.T) {
	routes := routesOf("GET /a")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no scope", Options{}, "no scope: name a waypoint or a sidecar selector"},
		{"both scopes", Options{Waypoint: "w", Selector: map[string]string{"app": "a"}}, "a waypoint and a selector are exclusive"},
		{"bad namespace", Options{Waypoint: "w", Namespace: "Shop"}, `namespace "Shop": a lowercase RFC 1123 label`},
		{"bad waypoint", Options{Waypoint: "w_1"}, `waypoint "w_1": a lowercase RFC 1123 subdomain`},
		{"bad name", Options{Waypoint: "w", Name: "-x"}, `name "-x"`},
		{"long derived name", Options{Waypoint: strings.Repeat("w", 250)}, "must be no more than 253 characters"},
		{"bad selector key", Options{Selector: map[string]string{"a b": "c"}}, `selector key "a b"`},
		{"bad selector value", Options{Selector: map[string]string{"app": "a b"}}, `selector value "a b"`},
		{"bad tag", Options{Waypoint: "w", Tag: "route-name"}, `tag "route-name": want a metric label name`},
		{"reserved tag", Options{Waypoint: "w", Tag: "__name__"}, `tag "__name__"`},
		{"bad attribute", Options{Waypoint: "w", Attribute: "wasm.x"}, `attribute "wasm.x"`},
		{"bad url", Options{Waypoint: "w", PluginURL: "oci://x y"}, `plugin URL "oci://x y"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(routes, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestGenerateNoRoutes(t *testing.T) {
	if _, err := Generate(nil, Options{Waypoint: "w"}); err == nil {
		t.Error("no error for an empty route list")
	}
}

func TestGenerateNoWasmLimit(t *testing.T) {
	routes := make([]Route, MaxCELRoutes+1)
	for i := range routes {
		routes[i] = Route{Method: "GET", Template: fmt.Sprintf("/r%d/{id}", i), Value: fmt.Sprint(i)}
	}
	if _, err := Generate(routes[:MaxCELRoutes], Options{Waypoint: "w", NoWasm: true}); err != nil {
		t.Fatalf("%d routes: %v", MaxCELRoutes, err)
	}
	_, err := Generate(routes, Options{Waypoint: "w", NoWasm: true})
	if err == nil || !strings.Contains(err.Error(), "drop --no-wasm") {
		t.Errorf("error = %v, want a hint to use the WasmPlugin", err)
	}
	if _, err := Generate(routes, Options{Waypoint: "w"}); err != nil {
		t.Errorf("WasmPlugin with %d routes: %v", len(routes), err)
	}
}

func TestGenerateObjects(t *testing.T) {
	routes := routesOf("GET /users/{id}", "GET /users/me")
	out, err := Generate(routes, Options{Namespace: "ns", Waypoint: "wp"})
	if err != nil {
		t.Fatal(err)
	}
	wp := out.WasmPlugin
	if wp == nil || wp.Metadata != (ObjectMeta{Name: "wp-routes", Namespace: "ns"}) || wp.Spec.Phase != "AUTHN" || wp.Spec.URL != DefaultPluginURL {
		t.Fatalf("WasmPlugin = %+v", wp)
	}
	if got := wp.Spec.PluginConfig.Attributes[0].Match[0].Value; got != "GET /users/me" {
		t.Errorf("first match %q, want the literal path first", got)
	}
	for _, o := range out.Telemetry.Spec.Metrics[0].Overrides {
		if got := o.TagOverrides[DefaultTag].Value; got != "filter_state['wasm.istio_operationId']" {
			t.Errorf("%s tag value %q", o.Match.Metric, got)
		}
	}

	sidecar, err := Generate(routes, Options{Selector: map[string]string{"app": "users"}, NoWasm: true})
	if err != nil {
		t.Fatal(err)
	}
	if sidecar.WasmPlugin != nil || sidecar.Telemetry.Metadata.Namespace != DefaultNamespace ||
		sidecar.Telemetry.Spec.TargetRefs != nil || sidecar.Telemetry.Spec.Selector.MatchLabels["app"] != "users" {
		t.Fatalf("no-wasm output = %+v", sidecar)
	}
	want := ChainExpression(sidecar.Matches, "unknown")
	if got := sidecar.Telemetry.Spec.Metrics[0].Overrides[1].TagOverrides[DefaultTag].Value; got != want {
		t.Errorf("tag value %q, want %q", got, want)
	}
}
