package attrgen

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSplitLiterals(t *testing.T) {
	for _, tc := range []struct {
		expr string
		key  string
		lits []literal
		ok   bool
	}{
		{expr: "request.method == 'GET'", key: "request.method == ''", lits: []literal{{"GET", 18}}, ok: true},
		{expr: `a == "x'y" && b.matches('é+$')`, key: `a == "" && b.matches('')`, lits: []literal{{"x'y", 5}, {"é+$", 24}}, ok: true},
		{expr: "'' == x", key: "'' == x", lits: []literal{{"", 0}}, ok: true},
		{expr: "x == 1", key: "x == 1", ok: true},
		{expr: `x == 'a\'b'`},
		{expr: "x == r'a'"},
		{expr: "x == b'a'"},
		{expr: "x == '''a'''"},
		{expr: "x == 'a"},
		{expr: "x == 'a\nb'"},
		{expr: "x == 'a' // it's"},
		{expr: "x.`a-b` == 'c'"},
		{expr: "x == '\xff'"},
		{expr: strings.Repeat("x", maxShapeLen+1)},
	} {
		key, lits, ok := splitLiterals(tc.expr)
		if ok != tc.ok || key != tc.key || !slices.Equal(lits, tc.lits) {
			t.Errorf("splitLiterals(%q) = %q, %v, %v; want %q, %v, %v", tc.expr, key, lits, ok, tc.key, tc.lits, tc.ok)
		}
	}
}

// TestConditionsAgree compiles each seed and then variants of it that share
// its shape, and checks every outcome against the full compile.
func TestConditionsAgree(t *testing.T) {
	e := newTestEnv(t)
	c := e.NewConditions()
	for _, seed := range lintSeeds() {
		assertConditionsAgree(t, e, c, seed)
		for _, values := range [][]string{{"POST", "^/v2/x/[^/]+$"}, {"[", "a"}, {"", "(?i)é"}, {"^/" + strings.Repeat("segment/", 13) + "[^/]+$"}} {
			assertConditionsAgree(t, e, c, withLiterals(seed, values))
		}
	}
}

// TestConditionsReuseShapes checks that the generated condition shape is
// compiled once and that its variants are built from the cached trees.
func TestConditionsReuseShapes(t *testing.T) {
	e := newTestEnv(t)
	c := e.NewConditions()
	first := "request.method == 'GET' && request.url_path.matches('^/v1/a/[^/]+$')"
	second := "request.method == 'PUT' && request.url_path.matches('^/v2/b$')"
	for _, expr := range []string{first, second} {
		if _, err := c.CompileParsed(expr); err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
	}
	if len(c.shapes) != 1 {
		t.Fatalf("%d shapes cached, want 1", len(c.shapes))
	}
	got, err := c.CompileParsed(second)
	if err != nil || len(got.SourceInfo().OffsetRanges()) != 0 {
		t.Errorf("second condition: err %v, offsets %v; want a tree from the cached shape, without positions", err, got.SourceInfo().OffsetRanges())
	}
}

// FuzzConditions checks that a condition compiled from a cached shape is
// what the full compile makes of it, whatever the literals.
func FuzzConditions(f *testing.F) {
	for _, s := range append(expressionSeeds(), lintSeeds()...) {
		f.Add(s, "GET", "^/x/[^/]+$")
	}
	e := newTestEnv(f)
	f.Fuzz(func(t *testing.T, expr, a, b string) {
		c := e.NewConditions()
		assertConditionsAgree(t, e, c, expr)
		assertConditionsAgree(t, e, c, withLiterals(expr, []string{a, b}))
	})
}

// withLiterals replaces the string literals of expr, as splitLiterals finds
// them, with values in turn; it returns expr when there are none.
func withLiterals(expr string, values []string) string {
	_, lits, ok := splitLiterals(expr)
	if !ok || len(lits) == 0 {
		return expr
	}
	var b strings.Builder
	rest := expr
	for i, lit := range lits {
		open := strings.IndexAny(rest, `'"`)
		q := string(rest[open])
		b.WriteString(rest[:open+1])
		b.WriteString(strings.ReplaceAll(values[i%len(values)], q, ""))
		b.WriteString(q)
		rest = rest[open+len(lit.value)+2:]
	}
	b.WriteString(rest)
	return b.String()
}

// assertConditionsAgree compares c.CompileParsed with CompileConditionParsed
// on the tree and the error.
func assertConditionsAgree(t *testing.T, e *Env, c *Conditions, expr string) {
	t.Helper()
	gotAST, gotErr := c.CompileParsed(expr)
	wantAST, wantErr := e.CompileConditionParsed(expr)
	if (gotAST == nil) != (wantAST == nil) || gotAST != nil && !reflect.DeepEqual(gotAST.Expr(), wantAST.Expr()) {
		t.Errorf("%q: tree from Conditions differs from CompileConditionParsed's", expr)
	}
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: Conditions error %v, CompileConditionParsed error %v", expr, gotErr, wantErr)
	}
	var got, want *CompileError
	if gotErr != nil && (!errors.As(gotErr, &got) || !errors.As(wantErr, &want) || *got != *want) {
		t.Errorf("%q: Conditions error %v, CompileConditionParsed error %v", expr, gotErr, wantErr)
	}
}
