package attrgen

import (
	"fmt"
	"strings"

	celast "github.com/google/cel-go/common/ast"

	"github.com/routebundle/routebundle/internal/suggest"
)

// explainUndeclared rewrites the checker's "undeclared reference to
// 'request'" for a misspelt attribute into "unknown attribute
// 'request.methd'; did you mean 'request.method'?", and for an attribute
// Istio 1.24 moved into where it went.
func (e *Env) explainUndeclared(ce *CompileError, expr string, parsed *celast.AST) {
	if !strings.HasPrefix(ce.Message, "undeclared reference to '") {
		return
	}
	if moves := MovedAttributes(parsed, e.dialect); len(moves) > 0 {
		ce.Message = moves[0].String() + ": use " + moves[0].New
		if e.dialect == TagValue && moves[0].New == "xds."+moves[0].Old {
			ce.Message += " (Telemetry tag values are evaluated by the stats filter, which has no Wasm attributes)"
		}
		return
	}
	name := dottedNameAt(expr, ce.Line, ce.Column)
	root, _, dotted := strings.Cut(name, ".")
	if !dotted || !envoyRoot(root) {
		return
	}
	ce.Message = fmt.Sprintf("unknown attribute '%s'", name)
	if s := closestAttribute(name); s != "" {
		ce.Message += fmt.Sprintf("; did you mean '%s'?", s)
	}
}

// dottedNameAt returns the a.b.c identifier chain starting at the 1-based
// line and column of expr.
func dottedNameAt(expr string, line, column int) string {
	lines := strings.Split(expr, "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	runes := []rune(lines[line-1])
	if column < 1 || column > len(runes) {
		return ""
	}
	end := column - 1
	for end < len(runes) && (isIdentChar(runes[end]) || runes[end] == '.') {
		end++
	}
	return strings.TrimRight(string(runes[column-1:end]), ".")
}

// closestAttribute returns the declared attribute nearest to name, if any
// is within a small edit distance.
func closestAttribute(name string) string {
	root := name[:strings.IndexByte(name, '.')+1] // "request."
	best, bestDist := "", 4
	for _, a := range attributes() {
		if !strings.HasPrefix(a.name, root) {
			continue
		}
		if d := suggest.Distance(name, a.name, bestDist); d < bestDist {
			best, bestDist = a.name, d
		}
	}
	return best
}

// unknownAttribute reports the first selection of an attribute group that
// names no attribute (request.methd), in source order: the group is a map,
// so the checker accepts it, and Envoy evaluates it to an error.
func (e *Env) unknownAttribute(a *celast.AST) *CompileError {
	first, name := firstInSource(a, func(x celast.Expr) (celast.Expr, string, bool) {
		if x.Kind() != celast.SelectKind {
			return nil, "", false
		}
		sel := x.AsSelect()
		op := sel.Operand()
		if op.Kind() != celast.IdentKind || !e.groups[op.AsIdent()] || e.vars[op.AsIdent()+"."+sel.FieldName()] {
			return nil, "", false
		}
		return op, op.AsIdent() + "." + sel.FieldName(), true
	})
	if first == nil {
		return nil
	}
	loc := a.SourceInfo().GetStartLocation(first.ID())
	ce := &CompileError{Line: max(loc.Line(), 1), Column: max(loc.Column(), 0) + 1, kind: kindChecked,
		Message: fmt.Sprintf("unknown attribute '%s'", name)}
	if s := closestAttribute(name); s != "" {
		ce.Message += fmt.Sprintf("; did you mean '%s'?", s)
	}
	return ce
}
