package attrgen

import (
	"reflect"
	"testing"
)

func TestExtractRoutes(t *testing.T) {
	tests := []struct {
		name     string
		expr     string
		routes   []ExtractedRoute
		fallback string
		ok       bool
	}{
		{
			name: "nested with parentheses",
			expr: "request.url_path == '/healthz' ? 'GET /healthz' : (request.method == 'POST' && request.url_path == '/echo' ? 'POST /echo' : 'other')",
			routes: []ExtractedRoute{
				{Value: "GET /healthz", Condition: `request.url_path == "/healthz"`},
				{Value: "POST /echo", Condition: `request.method == "POST" && request.url_path == "/echo"`},
			},
			fallback: "other", ok: true,
		},
		{
			name: "without parentheses",
			expr: `request.url_path.matches("^/a$") ? "A" : request.url_path.startsWith("/b") ? "B" : "unknown"`,
			routes: []ExtractedRoute{
				{Value: "A", Condition: `request.url_path.matches("^/a$")`},
				{Value: "B", Condition: `request.url_path.startsWith("/b")`},
			},
			fallback: "unknown", ok: true,
		},
		{
			name:     "macro in condition",
			expr:     `has(request.headers.x_debug) ? 'debug' : 'other'`,
			routes:   []ExtractedRoute{{Value: "debug", Condition: "has(request.headers.x_debug)"}},
			fallback: "other", ok: true,
		},
		{
			name:     "escaped value",
			expr:     `request.method == 'GET' ? 'it\'s "quoted"' : ''`,
			routes:   []ExtractedRoute{{Value: `it's "quoted"`, Condition: `request.method == "GET"`}},
			fallback: "", ok: true,
		},
		{name: "attribute reference", expr: "filter_state['wasm.istio_operationId']"},
		{name: "string literal only", expr: "'constant'"},
		{name: "raw path fallback", expr: "request.method == 'GET' ? 'GET' : request.url_path"},
		{name: "non-literal value", expr: "request.method == 'GET' ? request.url_path : 'other'"},
		{name: "nesting in then branch", expr: "request.method == 'GET' ? (request.url_path == '/' ? 'root' : 'get') : 'other'"},
		{name: "int value", expr: "request.method == 'GET' ? 1 : 'other'"},
		{name: "syntax error", expr: "request.method == ? 'a' : 'b'"},
		{name: "empty", expr: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, fallback, ok := ExtractRoutes(tt.expr)
			if ok != tt.ok || fallback != tt.fallback || !reflect.DeepEqual(routes, tt.routes) {
				t.Errorf("ExtractRoutes = %q, %q, %v; want %q, %q, %v", routes, fallback, ok, tt.routes, tt.fallback, tt.ok)
			}
		})
	}
}

func TestParseAttributeRef(t *testing.T) {
	tests := []struct {
		value string
		attr  string
		form  RefForm
		ok    bool
	}{
		{"filter_state['wasm.istio_operationId']", "istio_operationId", FilterStateSingle, true},
		{`filter_state["wasm.istio_operationId"]`, "istio_operationId", FilterStateDouble, true},
		{"  filter_state [ 'wasm.istio.operationId' ]  ", "istio.operationId", FilterStateSingle, true},
		{"istio_operationId", "istio_operationId", Bare, true},
		{" istio_operationId\n", "istio_operationId", Bare, true},
		{"filter_state['istio_operationId']", "", RefNone, false},
		{"filter_state['wasm.']", "", RefNone, false},
		{`filter_state['wasm.x"]`, "", RefNone, false},
		{"filter_state['wasm.a b']", "", RefNone, false},
		{"filter_state['wasm.x'] == 'y'", "", RefNone, false},
		{"filter_state", "", RefNone, false},
		{"request", "", RefNone, false},
		{"route_name", "", RefNone, false},
		{"true", "", RefNone, false},
		{"request.method", "", RefNone, false},
		{"1abc", "", RefNone, false},
		{"", "", RefNone, false},
	}
	for _, tt := range tests {
		attr, form, ok := ParseAttributeRef(tt.value)
		if attr != tt.attr || form != tt.form || ok != tt.ok {
			t.Errorf("ParseAttributeRef(%q) = %q, %v, %v; want %q, %v, %v", tt.value, attr, form, ok, tt.attr, tt.form, tt.ok)
		}
	}
}

func TestRefFormString(t *testing.T) {
	for form, want := range map[RefForm]string{
		RefNone: "none", FilterStateSingle: "filter_state['wasm.X']",
		FilterStateDouble: `filter_state["wasm.X"]`, Bare: "bare",
	} {
		if got := form.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", form, got, want)
		}
	}
}
