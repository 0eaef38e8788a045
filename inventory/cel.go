package inventory

import (
	"strings"

	"github.com/google/cel-go/common"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/parser"

	"github.com/routebundle/routebundle/attrgen"
)

// condInfo is what the lint checks need to know about a CEL expression. It
// comes from parsing only; compiling is attrgen's job.
type condInfo struct {
	parsed bool
	// canonical is the expression re-rendered from its syntax tree, so that
	// conditions differing only in spacing or parentheses compare equal.
	canonical  string
	alwaysTrue bool
	literal    bool
	// patterns are the literal regexes passed to matches().
	patterns []string
	// readsResponse: the expression reads response.* attributes.
	readsResponse bool
	// unbounded lists the request attributes with unbounded values (raw
	// path, query, headers) that flow into the expression's result rather
	// than into a test.
	unbounded []string
	// conditional: the expression contains a ?: somewhere.
	conditional bool
	// found holds the accesses that fail for ordinary requests and the
	// attributes Istio 1.24 moved; nil when there are none, which keeps
	// condInfo small enough for the cache map to hold it inline.
	found *attrgen.Analysis
}

// fallible are the accesses that fail for ordinary requests, unguarded.
func (ci *condInfo) fallible() []attrgen.Fallible {
	if ci.found == nil {
		return nil
	}
	return ci.found.Fallible
}

// moved are the attributes Istio 1.24 moved, as an attributegen condition
// reads them.
func (ci *condInfo) moved() []attrgen.Move {
	if ci.found == nil {
		return nil
	}
	return ci.found.Moved
}

// movedTag are the attributes Istio 1.24 moved, as a tag value reads them.
func (ci *condInfo) movedTag() []attrgen.Move {
	if ci.found == nil {
		return nil
	}
	return ci.found.MovedTag
}

// analyze parses expr and caches the result for the Build.
func (st *state) analyze(expr string) condInfo {
	if ci, ok := st.cond[expr]; ok {
		return ci
	}
	ci := analyzeExpr(st.b.parser, expr)
	st.cond[expr] = ci
	return ci
}

// analyzeExpr parses expr and analyzes it. Match conditions come here only
// when empty (precompile analyzes the others); tag values and the conditions
// of CEL classification chains are parsed here.
func analyzeExpr(p *parser.Parser, expr string) condInfo {
	if strings.TrimSpace(expr) == "" {
		return analyzeAST(expr, nil)
	}
	a, errs := p.Parse(common.NewTextSource(expr))
	if len(errs.GetErrors()) > 0 {
		a = nil
	}
	return analyzeAST(expr, a)
}

// analyzeAST analyzes an expression already parsed (nil: it did not parse).
func analyzeAST(expr string, a *celast.AST) condInfo {
	var ci condInfo
	if strings.TrimSpace(expr) == "" {
		ci.alwaysTrue = true
		return ci
	}
	if a == nil {
		return ci
	}
	ci.parsed = true
	root := a.Expr()
	if s, err := parser.Unparse(root, a.SourceInfo()); err == nil {
		ci.canonical = s
	}
	if root.Kind() == celast.LiteralKind {
		ci.literal = true
		ci.alwaysTrue = root.AsLiteral() == types.True
	}
	celast.PreOrderVisit(root, celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.CallKind:
			call := e.AsCall()
			if call.FunctionName() == operators.Conditional {
				ci.conditional = true
			}
			if pat, ok := matchesPattern(call); ok {
				ci.patterns = append(ci.patterns, pat)
			}
		case celast.SelectKind:
			if attr, ok := selectPath(e); ok && strings.HasPrefix(attr, "response.") {
				ci.readsResponse = true
			}
		}
	}))
	ci.unbounded = unboundedInputs(root, nil)
	if an := attrgen.Analyze(expr, a); len(an.Fallible)+len(an.Moved)+len(an.MovedTag) > 0 {
		ci.found = &an
	}
	return ci
}

// matchesPattern returns the literal pattern of a matches() call, in either
// its member (s.matches(re)) or global (matches(s, re)) form.
func matchesPattern(call celast.CallExpr) (string, bool) {
	if call.FunctionName() != "matches" {
		return "", false
	}
	args := call.Args()
	if len(args) == 0 {
		return "", false
	}
	last := args[len(args)-1]
	if last.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := last.AsLiteral().(types.String)
	return string(s), ok
}

// selectPath renders a chain of field selections on an identifier
// (request.url_path) and reports whether e is one.
func selectPath(e celast.Expr) (string, bool) {
	var parts []string
	for e.Kind() == celast.SelectKind {
		parts = append(parts, e.AsSelect().FieldName())
		e = e.AsSelect().Operand()
	}
	if e.Kind() != celast.IdentKind || len(parts) == 0 {
		return "", false
	}
	parts = append(parts, e.AsIdent())
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "."), true
}

// unboundedAttribute reports attributes whose values are chosen by clients
// without limit: turned into a tag value they create a series per request.
func unboundedAttribute(attr string) bool {
	switch attr {
	case "request.path", "request.url_path", "request.query", "request.headers",
		"request.referer", "request.useragent", "request.id",
		"response.headers", "response.trailers":
		return true
	}
	return false
}

// testFunction reports calls whose result is a bool or a number: an
// unbounded input passed to them is tested, not copied into the value.
func testFunction(name string) bool {
	switch name {
	case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals,
		operators.Greater, operators.GreaterEquals, operators.LogicalAnd, operators.LogicalOr,
		operators.LogicalNot, operators.In, operators.NotStrictlyFalse,
		"matches", "startsWith", "endsWith", "contains", "size":
		return true
	}
	return false
}

// unboundedInputs walks the parts of e that can end up in its value,
// skipping conditions and tests, and collects unbounded attributes.
func unboundedInputs(e celast.Expr, found []string) []string {
	if attr, ok := selectPath(e); ok {
		for a := attr; a != ""; a = parentAttr(a) {
			if unboundedAttribute(a) {
				return appendUnique(found, a)
			}
		}
		return found
	}
	switch e.Kind() {
	case celast.CallKind:
		call := e.AsCall()
		name := call.FunctionName()
		if testFunction(name) {
			return found
		}
		args := call.Args()
		if name == operators.Conditional && len(args) == 3 {
			args = args[1:]
		}
		if call.IsMemberFunction() {
			found = unboundedInputs(call.Target(), found)
		}
		for _, a := range args {
			found = unboundedInputs(a, found)
		}
	case celast.SelectKind:
		if !e.AsSelect().IsTestOnly() {
			found = unboundedInputs(e.AsSelect().Operand(), found)
		}
	case celast.ListKind:
		for _, el := range e.AsList().Elements() {
			found = unboundedInputs(el, found)
		}
	}
	return found
}

func parentAttr(a string) string {
	i := strings.LastIndexByte(a, '.')
	if i < 0 {
		return ""
	}
	return a[:i]
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// anchoring says what a matches() pattern lacks, or "" when it is anchored
// at both ends (a trailing .* counts as an intended prefix match).
func anchoring(pattern string) string {
	start := strings.HasPrefix(pattern, "^") || strings.HasPrefix(pattern, `\A`)
	end := strings.HasSuffix(pattern, "$") || strings.HasSuffix(pattern, `\z`) || strings.HasSuffix(pattern, ".*")
	switch {
	case !start && !end:
		return "is not anchored (add ^ and $): RE2 finds it anywhere in the string"
	case !start:
		return "is not anchored at the start (add ^): RE2 finds it anywhere in the string"
	case !end:
		return "is not anchored at the end (add $): it also matches every longer string"
	}
	return ""
}
