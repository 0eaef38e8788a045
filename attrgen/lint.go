package attrgen

import (
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
)

// linted is the outcome of lintParsed.
type linted struct {
	native  *celast.AST // as parsed; nil when expr does not parse
	checked *celast.AST // nil unless the check passed
	vouched bool        // plansCleanly(checked): no program was built
	err     error
}

// lintParsed is compileChecked without planning when planning provably
// succeeds: linting needs the verdict, not the evaluator, and planning
// compiles every regex again. plansCleanly stands in for the planner;
// whenever it cannot vouch for the expression, compileChecked decides, so
// the outcome is always compileChecked's. It also returns the trees and the
// path it took, for Conditions to reuse.
func (e *Env) lintParsed(expr string) linted {
	parsed, iss := e.cel.Parse(expr)
	if iss.Err() != nil {
		return linted{err: e.issueError(iss, kindRejected)}
	}
	// The checker rewrites qualified names (request.method) in place: keep
	// the tree as written for the caller.
	l := linted{native: celast.Copy(parsed.NativeRep())}
	checked, err := e.checkParsed(expr, parsed)
	if err != nil {
		l.err = err
		return l
	}
	l.checked = checked.NativeRep()
	if !e.plansCleanly(l.checked) {
		_, _, l.err = e.compileChecked(expr)
		return l
	}
	l.vouched = true
	l.err = conditionTypeError(checked.OutputType().String())
	return l
}

// plansCleanly reports whether the planner of e.cel would not reject the
// checked expression a (checkParsed has applied the regex size limit). It vouches only
// for what match conditions usually hold: attributes, literals, field
// selections, comparisons, logic, list literals and membership, string
// predicates, string-keyed indexes and matches() with small valid or
// non-constant patterns. For anything else it returns false.
func (e *Env) plansCleanly(a *celast.AST) bool {
	ok := true
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if ok {
			ok = e.plainNode(a, x)
		}
	}))
	return ok
}

// plainNode reports whether x, looked at alone, validates and plans
// without error.
func (e *Env) plainNode(a *celast.AST, x celast.Expr) bool {
	switch x.Kind() {
	case celast.LiteralKind, celast.SelectKind, celast.ListKind:
		// Folding a list literal or a membership test cannot fail.
		return true
	case celast.IdentKind:
		ref, found := a.ReferenceMap()[x.ID()]
		return found && ref.Value == nil && e.vars[ref.Name]
	case celast.CallKind:
		return plainCall(x.AsCall())
	}
	return false
}

// plainFunction reports whether planning a call of fn cannot fail once the
// expression type-checks: cel-go's planner errs on folding constant type
// conversions, on constant regexes and on qualifiers it cannot build, none
// of which these calls involve. Index and matches are handled in plainCall.
func plainFunction(fn string) bool {
	switch fn {
	case operators.LogicalAnd, operators.LogicalOr, operators.LogicalNot,
		operators.Equals, operators.NotEquals, operators.In,
		operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals,
		operators.Conditional,
		overloads.StartsWith, overloads.EndsWith, overloads.Contains, overloads.Size:
		return true
	}
	return false
}

// plainCall reports whether a call validates and plans without error.
func plainCall(c celast.CallExpr) bool {
	fn, args := c.FunctionName(), c.Args()
	switch {
	case plainFunction(fn):
		return true
	case fn == operators.Index && len(args) == 2:
		// A string key makes a string qualifier; other constant keys may
		// not make a qualifier at all.
		_, isString := literalString(args[1])
		return isString
	case fn == overloads.Matches:
		return plainMatches(c)
	}
	return false
}

// plainMatches reports whether a matches() call plans without error. The
// planner compiles a constant pattern with regexp.Compile, which fails
// exactly when syntax.Parse(p, syntax.Perl) does.
func plainMatches(c celast.CallExpr) bool {
	arg, ok := matchesPattern(c)
	if !ok {
		return false
	}
	if arg.Kind() != celast.LiteralKind {
		return true // a non-constant pattern is compiled at run time
	}
	p, isString := literalString(arg)
	return isString && validRegex(p)
}

// literalString returns the value of a string literal.
func literalString(x celast.Expr) (string, bool) {
	if x.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := x.AsLiteral().Value().(string)
	return s, ok
}
