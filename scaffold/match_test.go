package scaffold

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
)

func routesOf(lines ...string) []Route {
	rs := make([]Route, len(lines))
	for i, l := range lines {
		method, path, _ := strings.Cut(l, " ")
		rs[i] = Route{Method: method, Template: path, Value: l}
	}
	return rs
}

func values(ms []Match) []string {
	vs := make([]string, len(ms))
	for i, m := range ms {
		vs[i] = m.Value
	}
	return vs
}

func TestMatchesOrder(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"literal before template", []string{"GET /users/{id}", "GET /users/me"}, []string{"GET /users/me", "GET /users/{id}"}},
		{"first differing position decides",
			[]string{"GET /users/{id}/posts/{postId}", "GET /users/{id}/posts/latest", "GET /users/me/posts/{postId}"},
			[]string{"GET /users/me/posts/{postId}", "GET /users/{id}/posts/latest", "GET /users/{id}/posts/{postId}"}},
		{"mixed segment between literal and template",
			[]string{"GET /f/{name}", "GET /f/{name}.json", "GET /f/index.json"},
			[]string{"GET /f/index.json", "GET /f/{name}.json", "GET /f/{name}"}},
		{"equal specificity keeps input order",
			[]string{"POST /b", "GET /a", "DELETE /b"},
			[]string{"POST /b", "GET /a", "DELETE /b"}},
		{"earlier literal wins over later literal",
			[]string{"GET /{a}/x", "GET /x/{b}"},
			[]string{"GET /x/{b}", "GET /{a}/x"}},
		{"shorter paths first when kinds agree",
			[]string{"GET /a/b/c", "GET /a", "GET /a/b"},
			[]string{"GET /a", "GET /a/b", "GET /a/b/c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := Matches(routesOf(tc.in...))
			if err != nil {
				t.Fatal(err)
			}
			if got := values(ms); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("order %q, want %q", got, tc.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	tests := []struct{ route, want string }{
		{"GET /healthz", `request.method == 'GET' && request.url_path == '/healthz'`},
		{"GET /", `request.method == 'GET' && request.url_path == '/'`},
		{"GET /users/", `request.method == 'GET' && request.url_path == '/users/'`},
		{"GET /users/{id}", `request.method == 'GET' && request.url_path.matches('^/users/[^/]+$')`},
		{"GET /a.b/{x}.json", `request.method == 'GET' && request.url_path.matches('^/a\\.b/[^/]+\\.json$')`},
		{"GET /it's/{x}", `request.method == 'GET' && request.url_path.matches('^/it\'s/[^/]+$')`},
		{"GET /a\\b", `request.method == 'GET' && request.url_path == '/a\\b'`},
		{"GET /$(x)|[y]*+/{z}", `request.method == 'GET' && request.url_path.matches('^/\\$\\(x\\)\\|\\[y\\]\\*\\+/[^/]+$')`},
	}
	for _, tc := range tests {
		ms, err := Matches(routesOf(tc.route))
		if err != nil {
			t.Fatal(err)
		}
		if ms[0].Condition != tc.want {
			t.Errorf("%s: condition\n %s\nwant\n %s", tc.route, ms[0].Condition, tc.want)
		}
	}
}

// TestTemplateRegex checks the path regexes with Go's RE2, the engine
// attributegen's matches() uses: parameters stay within one segment and
// literals match only themselves.
func TestTemplateRegex(t *testing.T) {
	tests := []struct {
		template string
		match    []string
		noMatch  []string
	}{
		{"/users/{id}", []string{"/users/123", "/users/me", "/users/a%2Fb"}, []string{"/users/", "/users/1/2", "/users", "/xusers/1", "/users/1/"}},
		{"/files/{name}.json", []string{"/files/a.json", "/files/a.b.json"}, []string{"/files/.json", "/files/ajson", "/files/a.json/x"}},
		{"/search+query/{q}", []string{"/search+query/x"}, []string{"/searchhquery/x", "/searchquery/x"}},
		{"/v{major}.{minor}/x", []string{"/v1.2/x"}, []string{"/v1/x", "/v1.2/y"}},
	}
	for _, tc := range tests {
		tmpl, err := parseTemplate(tc.template)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(tmpl.regex())
		for _, p := range tc.match {
			if !re.MatchString(p) {
				t.Errorf("%s (%s) does not match %s", tc.template, re, p)
			}
		}
		for _, p := range tc.noMatch {
			if re.MatchString(p) {
				t.Errorf("%s (%s) matches %s", tc.template, re, p)
			}
		}
	}
}

// TestCELString evaluates each quoted literal with cel-go and expects the
// original string back.
func TestCELString(t *testing.T) {
	env, err := cel.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "plain", "it's", `back\slash`, `"double"`, "new\nline\ttab\r", "nul\x00bell\x07del\x7f", "ünïcødé ✓", `\'`, `'\`, "^/a\\.b$"} {
		q := celString(s)
		ast, iss := env.Compile(q)
		if iss.Err() != nil {
			t.Errorf("celString(%q) = %s does not compile: %v", s, q, iss.Err())
			continue
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := prg.Eval(map[string]any{})
		if err != nil || v.Value() != s {
			t.Errorf("celString(%q) = %s evaluates to %v (%v)", s, q, v, err)
		}
	}
}

func TestChainExpression(t *testing.T) {
	ms := []Match{{Value: "a", Condition: "c1"}, {Value: "b'", Condition: "c2"}, {Value: "c", Condition: "c3"}}
	tests := []struct {
		ms   []Match
		want string
	}{
		{nil, `'unknown'`},
		{ms[:1], `c1 ? 'a' : 'unknown'`},
		{ms[:2], `c1 ? 'a' : (c2 ? 'b\'' : 'unknown')`},
		{ms, `c1 ? 'a' : (c2 ? 'b\'' : (c3 ? 'c' : 'unknown'))`},
	}
	for _, tc := range tests {
		if got := ChainExpression(tc.ms, "unknown"); got != tc.want {
			t.Errorf("ChainExpression(%d matches) = %s, want %s", len(tc.ms), got, tc.want)
		}
	}
}
