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
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, err
	}
	return len(prog.Inst), nil
}

// smallRegex reports whether pattern compiles and fits Envoy's size limit.
func smallRegex(pattern string) bool {
	n, err := regexProgramSize(pattern)
	return err == nil && n <= envoyMaxRegexProgramSize
}

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
	var (
		first  celast.Expr
		size   int
		offset int32
	)
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if x.Kind() != celast.CallKind {
			return
		}
		arg, ok := matchesPattern(x.AsCall())
		if !ok {
			return
		}
		p, isString := literalString(arg)
		if !isString {
			return
		}
		n, err := regexProgramSize(p)
		if err != nil || n <= envoyMaxRegexProgramSize {
			return
		}
		at, _ := a.SourceInfo().GetOffsetRange(arg.ID())
		if first == nil || at.Start < offset {
			first, size, offset = arg, n, at.Start
		}
	}))
	if first == nil {
		return nil
	}
	loc := a.SourceInfo().GetStartLocation(first.ID())
	return &CompileError{
		Line:   max(loc.Line(), 1),
		Column: max(loc.Column(), 0) + 1,
		Message: fmt.Sprintf("regex program size %d exceeds limit of %d (Envoy's CEL rejects regular expressions larger than this)",
			size, envoyMaxRegexProgramSize),
		kind: kindRejected,
	}
}
