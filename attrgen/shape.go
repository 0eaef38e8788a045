package attrgen

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
)

// Conditions compiles match conditions for linting, once per shape. Route
// tables are generated: a thousand WasmPlugins hold ten thousand conditions
// that differ only in their string literals, and parsing with cel-go's
// ANTLR parser was most of `generate`'s time. Parsing and type-checking do
// not depend on the value of a plain string literal, so Conditions compiles
// the first condition of each shape in full and, for the others, substitutes
// their literals into a copy of its trees. Only the checks that read literal
// values (the regexes of matches) run again per condition; whenever they
// cannot vouch for it, or a condition is not of a shape this can reuse, it
// is compiled on its own. The outcome is always CompileConditionParsed's.
//
// A Conditions is safe for concurrent use. It grows with the number of
// distinct shapes: make one per batch of conditions.
type Conditions struct {
	env *Env

	mu     sync.Mutex
	shapes map[string]*shape
}

// shape is a condition that compiled cleanly on the lint fast path, with
// the IDs of its string literal nodes in source order.
type shape struct {
	native *celast.AST
	slots  []int64
	// patterns indexes the slots that are matches() patterns: the only
	// literals whose value the size limit and the planner look at.
	patterns []int
}

// NewConditions returns an empty per-shape cache over e.
func (e *Env) NewConditions() *Conditions {
	return &Conditions{env: e, shapes: make(map[string]*shape)}
}

// CompileParsed returns what e.CompileConditionParsed(expr) returns. A tree
// built from a cached shape has no source positions: callers get the tree,
// not the offsets of its nodes.
func (c *Conditions) CompileParsed(expr string) (*celast.AST, error) {
	key, lits, ok := splitLiterals(expr)
	if !ok {
		return c.env.CompileConditionParsed(expr)
	}
	c.mu.Lock()
	s := c.shapes[key]
	c.mu.Unlock()
	if s == nil {
		return c.learn(key, expr, lits)
	}
	for _, i := range s.patterns {
		if !smallRegex(lits[i].value) {
			// The regex is invalid or too large: the full path finds and
			// words the error.
			return c.env.CompileConditionParsed(expr)
		}
	}
	return s.instance(lits), nil
}

// learn compiles expr in full and keeps it as the template of its shape
// when the fast path vouched for it and its literal nodes are exactly the
// literals splitLiterals found.
func (c *Conditions) learn(key, expr string, lits []literal) (*celast.AST, error) {
	l := c.env.lintParsed(expr)
	if l.err != nil || !l.vouched {
		return l.native, l.err
	}
	if slots, ok := literalSlots(l.native, lits); ok {
		// A copy: the caller owns the tree it is given.
		s := &shape{native: celast.Copy(l.native), slots: slots, patterns: patternSlots(l.checked, slots)}
		c.mu.Lock()
		c.shapes[key] = s
		c.mu.Unlock()
	}
	return l.native, nil
}

// patternSlots returns the indexes of the slots that hold the constant
// pattern of a matches() call in the checked tree (which keeps the parsed
// tree's IDs). The template passed the regex size limit and plansCleanly;
// another condition of the shape passes both exactly when smallRegex
// accepts its patterns.
func patternSlots(checked *celast.AST, slots []int64) []int {
	isPattern := make(map[int64]bool)
	celast.PreOrderVisit(checked.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if x.Kind() != celast.CallKind {
			return
		}
		if arg, ok := matchesPattern(x.AsCall()); ok && arg.Kind() == celast.LiteralKind {
			isPattern[arg.ID()] = true
		}
	}))
	var out []int
	for i, id := range slots {
		if isPattern[id] {
			out = append(out, i)
		}
	}
	return out
}

// literalSlots returns the IDs of a's string literal nodes in source order,
// if they are the literals lits at the same offsets with the same values.
// Anything else (a macro, whose expansion copies nodes, or a literal the
// lexer of splitLiterals misread) makes the shape unusable.
func literalSlots(a *celast.AST, lits []literal) ([]int64, bool) {
	info := a.SourceInfo()
	if len(info.MacroCalls()) > 0 {
		return nil, false
	}
	type node struct {
		id     int64
		offset int32
		value  string
	}
	var nodes []node
	positioned := true
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if s, isString := literalString(x); isString {
			r, found := info.GetOffsetRange(x.ID())
			nodes = append(nodes, node{x.ID(), r.Start, s})
			positioned = positioned && found
		}
	}))
	if !positioned || len(nodes) != len(lits) {
		return nil, false
	}
	slices.SortFunc(nodes, func(a, b node) int { return cmp.Compare(a.offset, b.offset) })
	slots := make([]int64, len(nodes))
	for i, n := range nodes {
		if n.offset != lits[i].offset || n.value != lits[i].value {
			return nil, false
		}
		slots[i] = n.id
	}
	return slots, true
}

// instance returns a copy of the shape's parsed tree holding lits in place
// of the template's literals.
func (s *shape) instance(lits []literal) *celast.AST {
	values := make(map[int64]string, len(s.slots))
	for i, id := range s.slots {
		values[id] = lits[i].value
	}
	// No source: the tree's nodes have no positions to point into it.
	return celast.NewAST(substitute(s.native.Expr(), values), celast.NewSourceInfo(nil))
}

// substitute returns a copy of x with the string literals whose IDs are in
// values replaced.
func substitute(x celast.Expr, values map[int64]string) celast.Expr {
	fac := celast.NewExprFactory()
	out := fac.CopyExpr(x)
	celast.PreOrderVisit(out, celast.NewExprVisitor(func(n celast.Expr) {
		if v, ok := values[n.ID()]; ok {
			n.SetKindCase(fac.NewLiteral(n.ID(), types.String(v)))
		}
	}))
	return out
}

// literal is a string literal of a condition: its value and the code point
// offset of its opening quote, as CEL counts offsets.
type literal struct {
	value  string
	offset int32
}

// maxShapeLen keeps conditions far below cel-go's parser limit of 100,000
// code points, which a long literal could otherwise cross in one condition
// of a shape and not in another.
const maxShapeLen = 10_000

// splitLiterals returns expr with the contents of its string literals
// removed, and the literals. It accepts only literals whose value is their
// source text: quoted with ' or ", on one line, without escapes or a raw or
// bytes prefix. Two conditions with the same key then lex into the same
// tokens apart from the literals' values, so they parse into the same tree.
// ok is false for anything else, and for comments, which may hold quotes.
func splitLiterals(expr string) (key string, lits []literal, ok bool) {
	if len(expr) > maxShapeLen || !utf8.ValidString(expr) {
		return "", nil, false
	}
	var b strings.Builder
	b.Grow(len(expr))
	var offset int32 // code points before i
	start := 0       // of the text not yet copied to b
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\'' || c == '"':
			end, ok := literalEnd(expr, i)
			if !ok {
				return "", nil, false
			}
			value := expr[i+1 : end]
			lits = append(lits, literal{value: value, offset: offset})
			b.WriteString(expr[start : i+1])
			start = end // the closing quote stays in the key
			offset += int32(utf8.RuneCountInString(expr[i : end+1]))
			i = end
			continue
		case c == '`', c == '\\':
			return "", nil, false
		case c == '/' && i+1 < len(expr) && expr[i+1] == '/':
			return "", nil, false
		}
		if !utf8.RuneStart(c) {
			continue
		}
		offset++
	}
	b.WriteString(expr[start:])
	return b.String(), lits, true
}

// literalEnd returns the index of the quote closing the literal opened at
// expr[i], if the literal is one splitLiterals accepts.
func literalEnd(expr string, i int) (int, bool) {
	q := expr[i]
	if i > 0 && isIdentChar(rune(expr[i-1])) {
		return 0, false // r'…', b'…' or worse
	}
	if strings.HasPrefix(expr[i:], string([]byte{q, q, q})) {
		return 0, false // triple-quoted
	}
	for j := i + 1; j < len(expr); j++ {
		switch expr[j] {
		case q:
			return j, true
		case '\\', '\n', '\r':
			return 0, false
		}
	}
	return 0, false
}
