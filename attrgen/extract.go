package attrgen

import (
	"github.com/google/cel-go/common"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/parser"
)

// ExtractedRoute is one route read from a CEL classification chain.
type ExtractedRoute = Route

// ExtractRoutes reads a Telemetry tag value written as a pure CEL
// classification,
//
//	cond1 ? 'A' : (cond2 ? 'B' : 'other')
//
// walking the conditional chain through its else branches (parentheses are
// optional). Each route's Condition is rendered back to CEL source; every
// value and the final fallback must be string literals. ok is false for any
// other shape, including a chain with no conditional at all.
//
// The conditions are parsed, not type-checked: compile them with
// Env.CompileCondition. Evaluating the chain is equivalent to Classify over
// routes followed by Route{Value: fallback}: in both, a failing condition
// leaves the tag unknown.
func ExtractRoutes(expr string) (routes []ExtractedRoute, fallback string, ok bool) {
	p, err := parser.NewParser(parser.Macros(parser.AllMacros...), parser.PopulateMacroCalls(true))
	if err != nil {
		return nil, "", false
	}
	parsed, errs := p.Parse(common.NewTextSource(expr))
	if len(errs.GetErrors()) > 0 {
		return nil, "", false
	}
	info := parsed.SourceInfo()
	node := parsed.Expr()
	for {
		if s, isString := stringLiteral(node); isString {
			if len(routes) == 0 {
				return nil, "", false
			}
			return routes, s, true
		}
		if node.Kind() != celast.CallKind || node.AsCall().FunctionName() != operators.Conditional {
			return nil, "", false
		}
		args := node.AsCall().Args()
		value, isString := stringLiteral(args[1])
		if !isString {
			return nil, "", false
		}
		cond, err := parser.Unparse(args[0], info)
		if err != nil {
			return nil, "", false
		}
		routes = append(routes, ExtractedRoute{Value: value, Condition: cond})
		node = args[2]
	}
}

func stringLiteral(e celast.Expr) (string, bool) {
	if e.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}
