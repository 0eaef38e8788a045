package routing_test

import (
	"testing"

	"github.com/routebundle/routebundle/routing"
)

func sm(t routing.MatchType, v string) *routing.StringMatch {
	return &routing.StringMatch{Type: t, Value: v}
}

func key(name string, t routing.MatchType, v string) routing.KeyMatch {
	return routing.KeyMatch{Name: name, StringMatch: routing.StringMatch{Type: t, Value: v}}
}

// TestMatches checks single matches as Envoy evaluates the route match
// istiod generates (route.go TranslateRouteMatch).
func TestMatches(t *testing.T) {
	get := func(path string, headers ...string) routing.Request {
		h := make(map[string]string)
		for i := 0; i+1 < len(headers); i += 2 {
			h[headers[i]] = headers[i+1]
		}
		return routing.Request{Method: "GET", Path: path, Host: "shop.example.com", Headers: h}
	}
	tests := []struct {
		name  string
		match routing.Match
		req   routing.Request
		want  bool
	}{
		// Gateway API PathPrefix is Envoy's path_separated_prefix.
		{"segment prefix, same path", routing.Match{Path: sm(routing.PathPrefix, "/api")}, get("/api"), true},
		{"segment prefix, below", routing.Match{Path: sm(routing.PathPrefix, "/api")}, get("/api/v1?x=1"), true},
		{"segment prefix, not a segment", routing.Match{Path: sm(routing.PathPrefix, "/api")}, get("/apis"), false},
		{"segment prefix /", routing.Match{Path: sm(routing.PathPrefix, "/")}, get("/anything"), true},
		// VirtualService uri.prefix is a plain string prefix.
		{"string prefix", routing.Match{Path: sm(routing.Prefix, "/api")}, get("/apis"), true},
		{"exact ignores the query", routing.Match{Path: sm(routing.Exact, "/healthz")}, get("/healthz?verbose"), true},
		{"exact is case sensitive", routing.Match{Path: sm(routing.Exact, "/healthz")}, get("/Healthz"), false},
		{"ignoreUriCase", routing.Match{Path: sm(routing.Exact, "/healthz"), IgnoreURICase: true}, get("/HealthZ"), true},
		{"regex matches the whole path", routing.Match{Path: sm(routing.Regex, "/users/[0-9]+")}, get("/users/12/x"), false},
		{"regex", routing.Match{Path: sm(routing.Regex, "/users/[0-9]+")}, get("/users/12?a=b"), true},
		{"invalid regex matches nothing", routing.Match{Path: sm(routing.Regex, "/users/(")}, get("/users/("), false},
		{"method", routing.Match{Method: sm(routing.Exact, "POST")}, get("/"), false},
		{"header names are case-insensitive", routing.Match{Headers: []routing.KeyMatch{key("end-user", routing.Exact, "jason")}}, get("/", "End-User", "jason"), true},
		{"header values are not", routing.Match{Headers: []routing.KeyMatch{key("end-user", routing.Exact, "jason")}}, get("/", "end-user", "Jason"), false},
		{"header prefix", routing.Match{Headers: []routing.KeyMatch{key("ua", routing.Prefix, "curl/")}}, get("/", "ua", "curl/8"), true},
		{"header present", routing.Match{Headers: []routing.KeyMatch{key("x-debug", routing.Present, "")}}, get("/", "x-debug", ""), true},
		{"header absent", routing.Match{Headers: []routing.KeyMatch{key("x-debug", routing.Present, "")}}, get("/"), false},
		// withoutHeaders: a missing header is treated as empty, so it
		// does not have the excluded value and the match holds.
		{"without header, missing", routing.Match{WithoutHeaders: []routing.KeyMatch{key("canary", routing.Exact, "1")}}, get("/"), true},
		{"without header, other value", routing.Match{WithoutHeaders: []routing.KeyMatch{key("canary", routing.Exact, "1")}}, get("/", "canary", "0"), true},
		{"without header, excluded value", routing.Match{WithoutHeaders: []routing.KeyMatch{key("canary", routing.Exact, "1")}}, get("/", "canary", "1"), false},
		{"without header present", routing.Match{WithoutHeaders: []routing.KeyMatch{key("canary", routing.Present, "")}}, get("/", "canary", "1"), false},
		{"authority", routing.Match{Authority: sm(routing.Exact, "shop.example.com")}, get("/"), true},
		{"scheme defaults to http", routing.Match{Scheme: sm(routing.Exact, "https")}, get("/"), false},
		{"query first value, decoded", routing.Match{QueryParams: []routing.KeyMatch{key("q", routing.Exact, "a b")}}, get("/?q=a%20b&q=c"), true},
		{"query names are case-sensitive", routing.Match{QueryParams: []routing.KeyMatch{key("animal", routing.Exact, "whale")}}, get("/?ANIMAL=whale"), false},
		{"query present without value", routing.Match{QueryParams: []routing.KeyMatch{key("debug", routing.Present, "")}}, get("/?debug"), true},
		{"JWT claims are unknown", routing.Match{Headers: []routing.KeyMatch{key("@request.auth.claims.group", routing.Exact, "admin")}}, get("/", "@request.auth.claims.group", "admin"), false},
		{"port, request port unknown", routing.Match{Port: 8080}, get("/"), true},
		{"port, other port", routing.Match{Port: 8080}, routing.Request{Path: "/", Port: 9090}, false},
		{"source labels", routing.Match{SourceLabels: map[string]string{"app": "web"}}, routing.Request{Path: "/", ProxyLabels: map[string]string{"app": "web", "v": "1"}}, true},
		{"source labels, not the proxy's", routing.Match{SourceLabels: map[string]string{"app": "web"}}, get("/"), false},
		{"source namespace", routing.Match{SourceNamespace: "web"}, routing.Request{Path: "/", ProxyNamespace: "shop"}, false},
	}
	for _, tt := range tests {
		if got := tt.match.Matches(tt.req); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		match routing.Match
		want  string
	}{
		{routing.Match{Path: sm(routing.Exact, "/healthz"), Method: sm(routing.Exact, "GET")}, "GET /healthz"},
		{routing.Match{Path: sm(routing.Exact, "/echo"), Method: sm(routing.Exact, "POST")}, "POST /echo"},
		{routing.Match{Path: sm(routing.PathPrefix, "/"), Headers: []routing.KeyMatch{key("user", routing.Exact, "new")}}, "header user=new"},
		{routing.Match{Path: sm(routing.PathPrefix, "/")}, "any"},
		{routing.Match{}, "any"},
		{routing.Match{Path: sm(routing.PathPrefix, "/"), Method: sm(routing.Exact, "PATCH")}, "PATCH /*"},
		{routing.Match{Path: sm(routing.PathPrefix, "/api")}, "/api/*"},
		{routing.Match{Path: sm(routing.Prefix, "/api")}, "/api*"},
		{routing.Match{Path: sm(routing.Regex, "/u/[0-9]+"), IgnoreURICase: false}, "path~/u/[0-9]+"},
		{routing.Match{Path: sm(routing.Exact, "/a"), IgnoreURICase: true}, "/a (any case)"},
		{routing.Match{Method: sm(routing.Regex, "GET|HEAD")}, "method~GET|HEAD"},
		{routing.Match{Headers: []routing.KeyMatch{key("x", routing.Present, ""), key("y", routing.Prefix, "a b")}}, `header x header y^="a b"`},
		{routing.Match{WithoutHeaders: []routing.KeyMatch{key("canary", routing.Exact, "1")}}, "!header canary=1"},
		{routing.Match{QueryParams: []routing.KeyMatch{key("page", routing.Regex, "[0-9]+")}}, "query page~[0-9]+"},
		{routing.Match{Headers: []routing.KeyMatch{key("@request.auth.claims[group]", routing.Exact, "admin")}}, "claim group=admin"},
		{routing.Match{GRPC: &routing.GRPCMethod{Service: "shop.Cart", Method: "Get"}, Path: sm(routing.Exact, "/shop.Cart/Get")}, "grpc shop.Cart/Get"},
		{routing.Match{GRPC: &routing.GRPCMethod{Method: "Get", Regex: true}, Path: sm(routing.Regex, "/[^/]+/Get")}, "grpc ~*/Get"},
		{routing.Match{Authority: sm(routing.Exact, "a.example.com"), Port: 8080, SourceLabels: map[string]string{"app": "web"}, SourceNamespace: "web"},
			"host=a.example.com port 8080 from app=web from namespace web"},
	}
	for _, tt := range tests {
		if got := tt.match.Summary(); got != tt.want {
			t.Errorf("Summary() = %q, want %q", got, tt.want)
		}
	}
	rule := routing.Rule{Matches: []routing.Match{
		{Path: sm(routing.Exact, "/echo"), Method: sm(routing.Exact, "POST")},
		{Path: sm(routing.Exact, "/echo"), Method: sm(routing.Exact, "PUT")},
	}}
	if got := rule.Summary(); got != "POST /echo or PUT /echo" {
		t.Errorf("rule summary %q", got)
	}
}

func TestSuggestRuleNames(t *testing.T) {
	o := &routing.Object{Kind: routing.HTTPRoute, Namespace: "shop", Name: "cart", Rules: []routing.Rule{
		{Index: 0, Matches: []routing.Match{{Path: sm(routing.Exact, "/healthz"), Method: sm(routing.Exact, "GET")}}},
		{Index: 1, Name: "get-healthz"},
		{Index: 2, Matches: []routing.Match{{Path: sm(routing.Exact, "/healthz"), Method: sm(routing.Exact, "GET")}}},
		{Index: 3, Matches: []routing.Match{{Path: sm(routing.PathPrefix, "/")}}},
		{Index: 4, Matches: []routing.Match{{Path: sm(routing.PathPrefix, "/Items/"), Headers: []routing.KeyMatch{key("X-Tenant", routing.Exact, "a")}}}},
		{Index: 5},
	}}
	got := routing.SuggestRuleNames(o)
	// Catch-alls are named so, with or without a PathPrefix "/" match.
	want := map[int]string{0: "get-healthz-2", 2: "get-healthz-3", 3: "catch-all", 4: "items-header-x-tenant-a", 5: "catch-all-2"}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("rule %d: %q, want %q", i, got[i], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("suggestions %v", got)
	}
}
