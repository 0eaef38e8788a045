package attrgen

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// lintSeeds are the expressions of TestCompile and shapes that exercise
// each way plansCleanly may vouch for an expression or refuse to: regex
// literals in both forms of matches, valid, invalid, too large or only
// constant after folding; indexes; folded conversions and lists.
func lintSeeds() []string {
	big := "'^/" + strings.Repeat("segment/", 13) + "[^/]+$'"
	var seeds []string
	for _, c := range compileCases() {
		seeds = append(seeds, c.expr)
	}
	return append(seeds,
		"request.method == 'GET' && request.url_path.matches('^/v1/svc-01/items-12/[^/]+$')",
		"request.url_path.matches('[')",
		"request.url_path.matches('a') && request.url_path.matches('(')",
		"matches(request.url_path, '[')",
		"matches(request.url_path, "+big+")",
		"matches("+big+", request.url_path)",
		"matches('(', request.url_path)",
		"matches('^/x$', request.url_path)",
		"request.url_path.matches('^/items/[0-9]{3}$')",
		"request.url_path.matches('^/items/[0-9]{1,1000}$')",
		"matches(request.url_path, '(ab){2}c{3,}')",
		"request.url_path.matches('a{1001}')",
		"request.url_path.matches(request.path)",
		"request.url_path.matches(dyn('['))",
		"request.url_path.matches(dyn("+big+"))",
		"request.url_path.matches(request.method == 'GET' ? '[' : 'a')",
		"'abc'.matches('b')",
		"request.headers[1] == 'x'",
		"request.headers[request.method] == 'x'",
		"response.headers['a'].size() > 2 && !connection.mtls",
		"int('x') == response.code",
		"duration('bad') > request.duration",
		"request.method in ['GET', 'PUT']",
		"request.method in []",
		"'GET' in [request.method, request.url_path.matches('[')]",
		"request.url_path.matches('^/a$') in [true, request.url_path.matches('b')]",
		"[request.method, 'x'] == ['GET', 'x']",
		"request.headers['a'] in ['b'] || response.code in [200, 201u, 2.5]",
		"request.url_path",
		"response.code",
		"dyn(request.method)",
		"request.url_path.matches('^/a$') ? true : false",
		"1 == 1",
		"bool",
		"type(request.method) == string",
	)
}

// TestLintAgreesWithCompile checks that the lint path returns what the
// full path (parse, check, plan) returns, and that it skips planning for
// the generated condition shape.
func TestLintAgreesWithCompile(t *testing.T) {
	e := newTestEnv(t)
	for _, expr := range lintSeeds() {
		assertLintAgrees(t, e, expr)
	}
	fast := "request.method == 'GET' && request.url_path.matches('^/v1/svc-01/items-12/[^/]+$')"
	if l := e.lintParsed(fast); l.err != nil || !l.vouched {
		t.Errorf("lintParsed(%q): vouched %v, error %v; want the fast path", fast, l.vouched, l.err)
	}
}

// FuzzLintCondition checks that the lint path and the full path agree on
// every expression.
func FuzzLintCondition(f *testing.F) {
	addExpressionSeeds(f)
	for _, s := range lintSeeds() {
		f.Add(s)
	}
	e := newTestEnv(f)
	f.Fuzz(func(t *testing.T, expr string) {
		assertLintAgrees(t, e, expr)
	})
}

// assertLintAgrees compares CompileConditionParsed with compileChecked on
// the tree, error-ness, message, position and kind.
func assertLintAgrees(t *testing.T, e *Env, expr string) {
	t.Helper()
	gotAST, gotErr := e.CompileConditionParsed(expr)
	_, wantAST, wantErr := e.compileChecked(expr)
	if !reflect.DeepEqual(gotAST, wantAST) {
		t.Errorf("%q: lint tree differs from the full path's", expr)
	}
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: lint error %v, full path error %v", expr, gotErr, wantErr)
	}
	if wantErr == nil {
		return
	}
	var got, want *CompileError
	if !errors.As(gotErr, &got) || !errors.As(wantErr, &want) {
		t.Fatalf("%q: errors %T %v and %T %v are not both *CompileError", expr, gotErr, gotErr, wantErr, wantErr)
	}
	if *got != *want {
		t.Errorf("%q: lint error %+v, full path error %+v", expr, *got, *want)
	}
}
