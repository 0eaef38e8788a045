package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

func routeSet(annotations map[string]string, values ...string) *inventory.RouteSet {
	rs := &inventory.RouteSet{
		ID: "shop/classify", Namespace: "shop", Tag: "route_name",
		Plugin:      diag.ObjectRef{Kind: "WasmPlugin", Namespace: "shop", Name: "classify"},
		Telemetry:   diag.ObjectRef{Kind: "Telemetry", Namespace: "shop", Name: "routes"},
		Annotations: annotations,
		Source:      diag.Source{File: "shop.yaml", Line: 3},
	}
	for _, v := range values {
		rs.Routes = append(rs.Routes, inventory.Route{Value: v})
	}
	return rs
}

func minutes(n int) model.Duration { return model.Duration(time.Duration(n) * time.Minute) }

func TestResolveSet(t *testing.T) {
	def := DefaultPolicy()
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		want        func(p *Policy)
		wantDiags   []string // "code field" pairs
	}{
		{name: "no annotations", want: func(*Policy) {}},
		{
			name: "unrelated annotations are ignored",
			annotations: map[string]string{
				"kubectl.kubernetes.io/last-applied-configuration": "{}", "routebundle.example/x": "y",
			},
			want: func(*Policy) {},
		},
		{
			name: "every key",
			annotations: map[string]string{
				Prefix + "objective":        "99.9%",
				Prefix + "error-ratio":      "0.02",
				Prefix + "error-for":        "10m",
				Prefix + "latency-p99":      "1.5s",
				Prefix + "latency-for":      "1h",
				Prefix + "min-request-rate": "2",
				Prefix + "unknown-ratio":    "25%",
				Prefix + "unknown-for":      "30m",
				Prefix + "disable-alerts":   "latency, burn-rate",
			},
			want: func(p *Policy) {
				p.Objective, p.ErrorRatio, p.ErrorFor = 0.999, 0.02, minutes(10)
				p.LatencyP99Ms, p.LatencyFor, p.MinRequestRate = 1500, minutes(60), 2
				p.UnknownRatio, p.UnknownFor = 0.25, minutes(30)
				p.Alerts.Latency, p.Alerts.BurnRatePage, p.Alerts.BurnRateTicket = false, false, false
			},
		},
		{
			name:        "latency in bare milliseconds, objective none",
			annotations: map[string]string{Prefix + "latency-p99": "250", Prefix + "objective": "none"},
			want:        func(p *Policy) { p.LatencyP99Ms = 250 },
		},
		{
			name:        "disable all",
			annotations: map[string]string{Prefix + "disable-alerts": "all"},
			want:        func(p *Policy) { p.Alerts = Alerts{} },
		},
		{
			name: "malformed values keep the defaults",
			annotations: map[string]string{
				Prefix + "objective":        "1.5",
				Prefix + "error-ratio":      "lots",
				Prefix + "error-for":        "5 minutes",
				Prefix + "latency-p99":      "-3",
				Prefix + "min-request-rate": "NaN",
				Prefix + "unknown-ratio":    "0",
			},
			want: func(*Policy) {},
			wantDiags: []string{
				"RB301 metadata.annotations[routebundle.io/error-for]",
				"RB301 metadata.annotations[routebundle.io/error-ratio]",
				"RB301 metadata.annotations[routebundle.io/latency-p99]",
				"RB301 metadata.annotations[routebundle.io/min-request-rate]",
				"RB301 metadata.annotations[routebundle.io/objective]",
				"RB301 metadata.annotations[routebundle.io/unknown-ratio]",
			},
		},
		{
			// All or nothing: a list with a bad item switches nothing off.
			name:        "bad alert kind disables nothing",
			annotations: map[string]string{Prefix + "disable-alerts": "latency,bogus"},
			want:        func(*Policy) {},
			wantDiags:   []string{"RB301 metadata.annotations[routebundle.io/disable-alerts]"},
		},
		{
			name:        "typo in a key",
			annotations: map[string]string{Prefix + "objectve": "0.99"},
			want:        func(*Policy) {},
			wantDiags:   []string{"RB302 metadata.annotations[routebundle.io/objectve]"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, diags := Resolve(routeSet(tc.annotations, "GET /a"), def)
			want := def
			tc.want(&want)
			if got.Set != want {
				t.Errorf("set policy:\n got %+v\nwant %+v", got.Set, want)
			}
			checkDiags(t, diags, tc.wantDiags)
		})
	}
}

func checkDiags(t *testing.T, diags diag.List, want []string) {
	t.Helper()
	var got []string
	for _, d := range diags {
		got = append(got, d.Code+" "+d.Field)
		if d.Object.Name != "classify" || d.Source.File != "shop.yaml" {
			t.Errorf("diagnostic does not name the WasmPlugin and its file: %v", d)
		}
		if d.Message == "" {
			t.Errorf("diagnostic without message: %v", d)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n got %q\nwant %q\n%v", got, want, diags)
	}
}

func TestResolveRoutes(t *testing.T) {
	const routes = `GET /healthz`
	for _, tc := range []struct {
		name      string
		value     string
		setAnn    map[string]string
		want      map[string]func(p *Policy)
		overrides []string
		wantDiags []string
	}{
		{
			name: "yaml with awkward route values",
			value: `
"GET /healthz": {disable-alerts: all}
"GET /users/{id}": {objective: 99.95%, latency-p99: 300ms}
"say \"hi\"\n}": {error-ratio: 0.5, disable-alerts: [latency, burn-rate-ticket]}
`,
			want: map[string]func(p *Policy){
				"GET /healthz":    func(p *Policy) { p.Alerts = Alerts{} },
				"GET /users/{id}": func(p *Policy) { p.Objective, p.LatencyP99Ms = 0.9995, 300 },
				"say \"hi\"\n}": func(p *Policy) {
					p.ErrorRatio, p.Alerts.Latency, p.Alerts.BurnRateTicket = 0.5, false, false
				},
			},
			overrides: []string{"GET /healthz", "GET /users/{id}", "say \"hi\"\n}"},
		},
		{
			name:  "json, and an entry equal to the set is no override",
			value: `{"GET /healthz": {"min-request-rate": 0.1}, "POST /echo": {"error-for": "1m"}}`,
			want: map[string]func(p *Policy){
				"GET /healthz": func(*Policy) {},
				"POST /echo":   func(p *Policy) { p.ErrorFor = minutes(1) },
			},
			overrides: []string{"POST /echo"},
		},
		{
			name:   "routes inherit the set annotations",
			value:  `{"POST /echo": {latency-p99: 20}}`,
			setAnn: map[string]string{Prefix + "objective": "0.99"},
			want: map[string]func(p *Policy){
				"POST /echo": func(p *Policy) { p.Objective, p.LatencyP99Ms = 0.99, 20 },
			},
			overrides: []string{"POST /echo"},
		},
		{
			name:  "unknown route and key are skipped, the rest applies",
			value: `{"GET /nope": {objective: 0.9}, "POST /echo": {colour: red, objective: 0.9}}`,
			want: map[string]func(p *Policy){
				"POST /echo": func(p *Policy) { p.Objective = 0.9 },
			},
			overrides: []string{"POST /echo"},
			wantDiags: []string{
				"RB302 metadata.annotations[routebundle.io/routes]",
				"RB303 metadata.annotations[routebundle.io/routes]",
			},
		},
		{
			// All or nothing: one rejected value and no route gets an override.
			name:  "per-workload key and bad value reject the annotation",
			value: `{"GET /healthz": {disable-alerts: all}, "POST /echo": {colour: red, unknown-ratio: 0.5, error-ratio: 2, objective: 0.9}}`,
			want:  map[string]func(p *Policy){},
			wantDiags: []string{
				"RB301 metadata.annotations[routebundle.io/routes]",
				"RB301 metadata.annotations[routebundle.io/routes]",
				"RB302 metadata.annotations[routebundle.io/routes]",
			},
		},
		{
			name:      "a bad alert kind in a route's list",
			value:     `{"POST /echo": {disable-alerts: [latency, bogus]}}`,
			want:      map[string]func(p *Policy){},
			wantDiags: []string{"RB301 metadata.annotations[routebundle.io/routes]"},
		},
		{name: "not yaml", value: "{: [", wantDiags: []string{"RB301 metadata.annotations[routebundle.io/routes]"}},
		{name: "a list", value: "- GET /healthz", wantDiags: []string{"RB301 metadata.annotations[routebundle.io/routes]"}},
		{name: "settings not a mapping", value: `{"GET /healthz": 3}`, wantDiags: []string{"RB301 metadata.annotations[routebundle.io/routes]"}},
		{name: "duplicate route", value: "GET /healthz: {}\nGET /healthz: {}", wantDiags: []string{"RB301 metadata.annotations[routebundle.io/routes]"}},
		{name: "nested value", value: `{"GET /healthz": {objective: {a: b}}}`, wantDiags: []string{"RB301 metadata.annotations[routebundle.io/routes]"}},
		{name: "empty", value: "", want: map[string]func(p *Policy){}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ann := map[string]string{RoutesAnnotation: tc.value}
			for k, v := range tc.setAnn {
				ann[k] = v
			}
			rs := routeSet(ann, routes, "GET /users/{id}", "POST /echo", "say \"hi\"\n}")
			got, diags := Resolve(rs, DefaultPolicy())
			checkDiags(t, diags, tc.wantDiags)
			if len(got.Routes) != len(tc.want) {
				t.Errorf("got %d route policies, want %d: %+v", len(got.Routes), len(tc.want), got.Routes)
			}
			for route, edit := range tc.want {
				want := got.Set
				edit(&want)
				if got.Route(route) != want {
					t.Errorf("route %q:\n got %+v\nwant %+v", route, got.Route(route), want)
				}
			}
			if o := got.Overrides(); strings.Join(o, "|") != strings.Join(tc.overrides, "|") {
				t.Errorf("overrides %q, want %q", o, tc.overrides)
			}
			if got.Route("not a route") != got.Set {
				t.Error("a route without an entry must get the set policy")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for _, edit := range []func(p *Policy){
		func(p *Policy) { p.Objective = 1 },
		func(p *Policy) { p.ErrorRatio = 0 },
		func(p *Policy) { p.LatencyP99Ms = 0 },
		func(p *Policy) { p.MinRequestRate = -1 },
		func(p *Policy) { p.UnknownRatio = 1.1 },
	} {
		p := DefaultPolicy()
		edit(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
}

func FuzzResolve(f *testing.F) {
	f.Add(`{"GET /a": {objective: 0.99}}`, "5%")
	f.Add("GET /a: {disable-alerts: [all]}\n", "none")
	f.Add("{: [", "1e400")
	f.Fuzz(func(t *testing.T, routes, objective string) {
		rs := routeSet(map[string]string{RoutesAnnotation: routes, Prefix + "objective": objective}, "GET /a")
		sp, _ := Resolve(rs, DefaultPolicy())
		if err := sp.Set.Validate(); err != nil {
			t.Fatalf("resolved set policy out of range: %v", err)
		}
		for v, p := range sp.Routes {
			if err := p.Validate(); err != nil {
				t.Fatalf("route %q policy out of range: %v", v, err)
			}
		}
	})
}

// TestAnnotationDiagnosticsPointAtTheirLine reads a WasmPlugin from YAML:
// each finding must cite the annotation's own line, and a finding inside
// the per-route overrides the line of the key it is about.
func TestAnnotationDiagnosticsPointAtTheirLine(t *testing.T) {
	const in = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: classify
  namespace: shop
  annotations:
    routebundle.io/objective: "2"
    routebundle.io/disable-alerts: latency,bogus
    routebundle.io/colour: red
    routebundle.io/routes: |
      "GET /a": {objective: 0.9}
      "GET /b":
        latency-p99: fast
      "GET /nope": {}
spec:
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match:
      - {value: GET /a, condition: "request.url_path == '/a'"}
      - {value: GET /b, condition: "request.url_path == '/b'"}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: routes, namespace: shop}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS}
      tagOverrides:
        route_name: {value: "filter_state['wasm.istio_operationId']"}
`
	objs, diags := manifest.Decode("shop.yaml", []byte(in))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	inv, err := inventory.Build(objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.RouteSets) != 1 {
		t.Fatalf("%d route sets: %v", len(inv.RouteSets), inv.Diagnostics)
	}
	sp, got := Resolve(&inv.RouteSets[0], DefaultPolicy())
	want := map[string]int{
		"RB301 objective": 7, "RB301 disable-alerts": 8, "RB302 colour": 9,
		"RB301 latency-p99": 13, "RB303 GET /nope": 14,
	}
	seen := map[string]int{}
	for _, d := range got {
		for key, line := range want {
			code, word, _ := strings.Cut(key, " ")
			if d.Code == code && strings.Contains(d.Message+d.Field, word) {
				seen[key] = d.Source.Line
				if d.Source.Line != line || d.Source.File != "shop.yaml" {
					t.Errorf("%s: at %s, want shop.yaml:%d", d, d.Source, line)
				}
			}
		}
	}
	if len(seen) != len(want) || len(got) != len(want) {
		t.Errorf("diagnostics:\n%v", got)
	}
	// Rejected values: the inherited ones apply, and no route override does.
	if sp.Set != DefaultPolicy() || len(sp.Routes) != 0 {
		t.Errorf("rejected annotations were applied: %+v", sp)
	}
}
