package attrgen

import (
	"fmt"
	"regexp/syntax"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/overloads"
)

// envoyMaxRegexProgramSize is Envoy's regex_max_program_size for CEL.
const envoyMaxRegexProgramSize = 100

// regexProgramSize counts the instructions of pattern's program as Go's
// regexp.Compile builds it: parsed with Perl flags, simplified (counted
// repetitions expanded), compiled. Envoy caps RE2's program, which is no
// smaller, so this catches the clear cases only.
func regexProgramSize(pattern string) (int, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, err
	}
	// The fail and match instructions frame every program.
	return 2 + countInsts(re.Simplify()).n, nil
}

// fragment is what counting a regexp's program needs of the compiler's
// fragments: the instructions emitted, whether the fragment can match the
// empty string, and whether it is the failure fragment (of OpNoMatch, and
// of any concatenation holding one).
type fragment struct {
	n        int
	nullable bool
	fails    bool
}

// countInsts counts the instructions regexp/syntax.Compile emits for the
// simplified re, without building them: compiling ten thousand route
// patterns only to count was a tenth of generate's time, most of it
// allocation. It follows compile.go case by case; FuzzRegexProgramSize
// checks it against Compile.
func countInsts(re *syntax.Regexp) fragment {
	switch re.Op {
	case syntax.OpNoMatch:
		return fragment{fails: true}
	case syntax.OpEmptyMatch:
		return fragment{n: 1, nullable: true}
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return fragment{n: 1, nullable: true}
		}
		return fragment{n: len(re.Rune)}
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return fragment{n: 1}
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return fragment{n: 1, nullable: true}
	case syntax.OpCapture:
		sub := countInsts(re.Sub[0])
		return fragment{n: sub.n + 2, nullable: sub.nullable && !sub.fails, fails: sub.fails}
	case syntax.OpStar:
		sub := countInsts(re.Sub[0])
		if sub.nullable {
			return fragment{n: sub.n + 2, nullable: true} // (x+)?
		}
		return fragment{n: sub.n + 1, nullable: true}
	case syntax.OpPlus:
		sub := countInsts(re.Sub[0])
		return fragment{n: sub.n + 1, nullable: sub.nullable, fails: sub.fails}
	case syntax.OpQuest:
		sub := countInsts(re.Sub[0])
		return fragment{n: sub.n + 1, nullable: true}
	case syntax.OpConcat:
		return countConcat(re.Sub)
	case syntax.OpAlternate:
		return countAlternate(re.Sub)
	}
	return fragment{} // Compile panics on anything else (OpRepeat: not simplified)
}

func countConcat(subs []*syntax.Regexp) fragment {
	if len(subs) == 0 {
		return fragment{n: 1, nullable: true}
	}
	f := fragment{nullable: true}
	for _, sub := range subs {
		s := countInsts(sub)
		f.n += s.n
		f.fails = f.fails || s.fails
		f.nullable = f.nullable && s.nullable
	}
	if f.fails {
		f.nullable = false
	}
	return f
}

func countAlternate(subs []*syntax.Regexp) fragment {
	f := fragment{fails: true}
	for _, sub := range subs {
		s := countInsts(sub)
		f.n += s.n
		switch {
		case s.fails:
		case f.fails:
			f.nullable, f.fails = s.nullable, false
		default:
			f.n++ // InstAlt
			f.nullable = f.nullable || s.nullable
		}
	}
	return f
}

// validRegex reports whether pattern compiles.
func validRegex(pattern string) bool {
	_, err := syntax.Parse(pattern, syntax.Perl)
	return err == nil
}

// CheckRegex reports why Envoy's CEL would reject pattern in a matches()
// call: it does not compile, or its program is larger than Envoy allows.
// Generators of conditions call it; the limit is easy to pass with a long
// path, since every literal character is an instruction.
func CheckRegex(pattern string) error {
	n, err := regexProgramSize(pattern)
	if err != nil {
		return err
	}
	if n > envoyMaxRegexProgramSize {
		return fmt.Errorf("regex program size %d exceeds Envoy's limit of %d", n, envoyMaxRegexProgramSize)
	}
	return nil
}

// smallRegex reports whether pattern compiles and fits Envoy's size limit.
func smallRegex(pattern string) bool { return CheckRegex(pattern) == nil }

// matchesPattern returns the pattern argument of a matches() call: the
// only argument of s.matches(p), the second of matches(s, p).
func matchesPattern(c celast.CallExpr) (celast.Expr, bool) {
	if c.FunctionName() != overloads.Matches {
		return nil, false
	}
	args := c.Args()
	switch {
	case c.IsMemberFunction() && len(args) == 1:
		return args[0], true
	case !c.IsMemberFunction() && len(args) == 2:
		return args[1], true
	}
	return nil, false
}

// regexSizeError reports the first constant matches() pattern, in source
// order, whose program exceeds Envoy's limit: Envoy then refuses the whole
// expression. Invalid patterns are left to the planner, which rejects them.
func regexSizeError(a *celast.AST) *CompileError {
	first, size := firstInSource(a, func(x celast.Expr) (celast.Expr, int, bool) {
		if x.Kind() != celast.CallKind {
			return nil, 0, false
		}
		arg, ok := matchesPattern(x.AsCall())
		if !ok {
			return nil, 0, false
		}
		p, isString := literalString(arg)
		if !isString {
			return nil, 0, false
		}
		n, err := regexProgramSize(p)
		return arg, n, err == nil && n > envoyMaxRegexProgramSize
	})
	if first == nil {
		return nil
	}
	return rejectedAt(a, first.ID(), fmt.Sprintf(
		"regex program size %d exceeds limit of %d (Envoy's CEL rejects regular expressions larger than this)",
		size, envoyMaxRegexProgramSize))
}

// firstInSource returns, of the nodes of a that pick accepts, the one pick
// points at that starts first in the source, and what pick said of it.
func firstInSource[T any](a *celast.AST, pick func(celast.Expr) (celast.Expr, T, bool)) (celast.Expr, T) {
	var (
		first  celast.Expr
		what   T
		offset int32
	)
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		at, v, ok := pick(x)
		if !ok {
			return
		}
		r, _ := a.SourceInfo().GetOffsetRange(at.ID())
		if first == nil || r.Start < offset {
			first, what, offset = at, v, r.Start
		}
	}))
	return first, what
}
