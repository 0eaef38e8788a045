// Package attrgen emulates Istio's attributegen Wasm plugin: it compiles the
// CEL conditions of a WasmPlugin's `match` list against Envoy's attributes and
// classifies requests exactly as the plugin does: in order, first true wins,
// an empty condition is always true, and a condition that fails to evaluate
// ends the evaluation with the attribute unset.
//
// It also reads the two shapes a Telemetry tag value takes: a reference to a
// Wasm attribute (ParseAttributeRef) and a pure CEL classification written as
// a chain of conditionals (ExtractRoutes).
//
// A mesh speaks two CEL dialects (see Dialect): attributegen's conditions
// go through the Wasm host to Envoy's expression builder, which disables
// comprehensions, string conversion and string/list concatenation; the
// Telemetry tag values go to Istio's stats filter, which builds its
// evaluator with cel-cpp's defaults and has no Wasm attributes. Envoy only
// parses expressions; this package also type-checks them so that a typo such
// as request.methd is caught before it silently yields `unknown`.
package attrgen

import (
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/env"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
)

// Dialect is one of the two CEL dialects of an Istio mesh.
type Dialect int

const (
	// Attributegen is the dialect of attributegen's match conditions. The
	// plugin (istio/proxy extensions/attributegen/plugin.cc at 359dcd3a,
	// the build Istio ships) creates them through the Wasm host's
	// expr_create, i.e. with Envoy's expression builder and its
	// security-oriented defaults: no comprehensions, no string conversion,
	// no string or list concatenation, regexes of at most 100 instructions.
	// The Wasm host adds its own attributes (node, plugin_name, ...).
	Attributegen Dialect = iota
	// TagValue is the dialect of Telemetry tag values. Istio's stats filter
	// (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc,
	// getOrCreateExpression) builds its evaluator with cel-cpp's default
	// InterpreterOptions, which enable string conversion, concatenation and
	// comprehensions and set no regex size limit, over Envoy's standard
	// attributes only (its activation is Envoy's StreamActivation: no Wasm
	// attributes). A value of any type is printed into the tag; one that
	// fails to evaluate is written as "unknown".
	TagValue
)

func (d Dialect) String() string {
	if d == TagValue {
		return "Telemetry tag value"
	}
	return "attributegen condition"
}

// Env is a CEL environment declaring Envoy's attributes as one dialect sees
// them. It is safe for concurrent use. Compiled conditions are cached per
// Env, so Classify compiles each distinct condition once.
type Env struct {
	cel     *cel.Env
	dialect Dialect
	// vars holds the declared attribute names; see plansCleanly.
	vars map[string]bool
	// groups are the attribute groups (request, response, ...), see unknownAttribute.
	groups map[string]bool

	mu    sync.Mutex
	cache map[string]compiled
}

// maxCached bounds the condition cache; a controller that sees many
// generations of WasmPlugins must not grow without limit.
const maxCached = 4096

// NewEnv returns the Attributegen environment: Envoy's attributes, the Wasm
// host's, and Envoy's subset of the CEL standard library.
func NewEnv() (*Env, error) { return newEnv(Attributegen) }

// NewTagEnv returns the TagValue environment: Envoy's standard attributes
// and the whole CEL standard library.
func NewTagEnv() (*Env, error) { return newEnv(TagValue) }

func newEnv(d Dialect) (*Env, error) {
	stdlib := cel.StdLib()
	if d == Attributegen {
		stdlib = cel.StdLib(cel.StdLibSubset(envoySubset()))
	}
	opts := []cel.EnvOption{
		stdlib,
		// Envoy's evaluator (cel-cpp) compares numbers across types.
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
	}
	vars := make(map[string]bool)
	for _, a := range attributes() {
		if d == TagValue && wasmHostAttribute(a.name) {
			continue
		}
		opts = append(opts, cel.Variable(a.name, a.typ))
		vars[a.name] = true
	}
	// The groups (request, response, ...) are maps too, so that
	// has(request.referer) type-checks as Envoy evaluates it: a presence
	// test. The dotted declarations above win for the attributes they name;
	// unknownAttribute catches request.methd, which the group would accept.
	groups := make(map[string]bool)
	for _, g := range attributeGroups() {
		opts = append(opts, cel.Variable(g, cel.MapType(cel.StringType, cel.DynType)))
		vars[g], groups[g] = true, true
	}
	// Envoy's regex size limit is checked by regexSizeError, not by
	// cel.RegexProgramSizeLimit: cel-go v0.31 measures patterns without
	// simplifying them first and panics on any counted repetition ({3}).
	ce, err := cel.NewCustomEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("attrgen: building the CEL environment: %w", err)
	}
	return &Env{cel: ce, dialect: d, vars: vars, groups: groups, cache: make(map[string]compiled)}, nil
}

// Dialect returns the dialect e compiles.
func (e *Env) Dialect() Dialect { return e.dialect }

// envoySubset removes what Envoy's "security-oriented defaults" leave out of
// its CEL runtime: string conversion (string(x)) and string, bytes and list
// concatenation. Comprehension macros are rejected separately, with a
// clearer message than "undeclared reference".
func envoySubset() *env.LibrarySubset {
	return &env.LibrarySubset{
		ExcludeFunctions: []*env.Function{
			{Name: operators.Add, Overloads: []*env.Overload{
				{ID: overloads.AddString}, {ID: overloads.AddBytes}, {ID: overloads.AddList},
			}},
			{Name: overloads.TypeConvertString},
		},
	}
}

// CompileError is a condition or tag expression that does not compile. Line
// and Column are 1-based positions within the expression.
type CompileError struct {
	Line    int
	Column  int
	Message string

	// kind says how Envoy itself would treat the expression; see errorKind.
	kind errorKind
}

// errorKind separates errors Envoy also hits when it creates the expression
// (the whole attributegen configuration is then rejected) from errors only
// this package's type checker finds (Envoy evaluates such expressions
// dynamically and usually fails at run time).
type errorKind int

const (
	kindRejected errorKind = iota // parse error or a feature Envoy disables
	kindChecked                   // type-check error; Envoy still creates the expression
)

func (e *CompileError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
}

// RejectedByEnvoy reports whether Envoy itself refuses to create the
// expression. attributegen then rejects its whole configuration, so no
// attribute of that WasmPlugin is ever set.
func (e *CompileError) RejectedByEnvoy() bool { return e.kind == kindRejected }

// Program is a compiled expression; evaluate it with Match or EvalString.
type Program struct {
	expr    string
	prog    cel.Program
	outType *cel.Type
}

// Expr returns the source expression.
func (p *Program) Expr() string { return p.expr }

// OutputType returns the CEL type the expression evaluates to ("bool",
// "string", ...), or "dyn" when it is only known at run time.
func (p *Program) OutputType() string {
	if p.outType == nil {
		return "dyn"
	}
	return p.outType.String()
}

// Compile parses and type-checks expr. The error, if any, is a *CompileError.
func (e *Env) Compile(expr string) (*Program, error) {
	checked, err := e.check(expr)
	if err != nil {
		return nil, err
	}
	return e.program(expr, checked)
}

// CompileCondition is Compile for a match condition: the expression must
// evaluate to a bool (attributegen counts anything else as a failed
// evaluation and stops classifying).
func (e *Env) CompileCondition(expr string) (*Program, error) {
	p, _, err := e.compileChecked(expr)
	return p, err
}

// CompileConditionParsed is CompileCondition that also returns the parsed
// syntax tree (nil when expr does not parse), so that callers analysing the
// condition's shape need not parse it again: parsing is most of the cost.
// It returns the same error as CompileCondition, but builds no program when
// the condition provably plans without error (see lintParsed).
func (e *Env) CompileConditionParsed(expr string) (*celast.AST, error) {
	l := e.lintParsed(expr)
	return l.native, l.err
}

func (e *Env) compileChecked(expr string) (*Program, *celast.AST, error) {
	parsed, iss := e.cel.Parse(expr)
	if iss.Err() != nil {
		return nil, nil, e.issueError(iss, kindRejected)
	}
	// The checker rewrites qualified names (request.method) in place: keep
	// the tree as written for the caller.
	native := celast.Copy(parsed.NativeRep())
	checked, err := e.checkParsed(expr, parsed)
	if err != nil {
		return nil, native, err
	}
	p, err := e.program(expr, checked)
	if err != nil {
		return nil, native, err
	}
	if err := conditionTypeError(p.OutputType()); err != nil {
		return nil, native, err
	}
	return p, native, nil
}

// conditionTypeError rejects a condition whose type t is neither bool nor
// dyn; it returns nil (an untyped nil error) otherwise.
func conditionTypeError(t string) error {
	if t != "bool" && t != "dyn" {
		return &CompileError{Line: 1, Column: 1, kind: kindChecked,
			Message: fmt.Sprintf("condition must evaluate to bool, not %s", t)}
	}
	return nil
}

// check parses expr, rejects what Envoy rejects and type-checks the rest.
func (e *Env) check(expr string) (*cel.Ast, error) {
	parsed, iss := e.cel.Parse(expr)
	if iss.Err() != nil {
		return nil, e.issueError(iss, kindRejected)
	}
	return e.checkParsed(expr, parsed)
}

// checkParsed is check after parsing. Envoy's regex size limit applies
// once the types are right, as a validator would.
func (e *Env) checkParsed(expr string, parsed *cel.Ast) (*cel.Ast, error) {
	if e.dialect == Attributegen {
		if err := rejectComprehensions(parsed); err != nil {
			return nil, err
		}
	}
	if err := e.unknownAttribute(parsed.NativeRep()); err != nil {
		return nil, err
	}
	checked, iss := e.cel.Check(parsed)
	if iss.Err() != nil {
		ce := e.issueError(iss, kindChecked)
		e.explainUndeclared(ce, expr, parsed.NativeRep())
		return nil, ce
	}
	if e.dialect == Attributegen {
		if err := regexSizeError(checked.NativeRep()); err != nil {
			return nil, err
		}
	}
	return checked, nil
}

func (e *Env) program(expr string, a *cel.Ast) (*Program, error) {
	prog, err := e.cel.Program(a, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, &CompileError{Line: 1, Column: 1, Message: err.Error(), kind: kindRejected}
	}
	p := &Program{expr: expr, prog: prog}
	if a.IsChecked() {
		p.outType = a.OutputType()
	}
	return p, nil
}

// compileDynamic plans expr without type-checking, the way Envoy does, so
// that an expression with a type error still evaluates (and fails or not)
// as it would in the proxy.
func (e *Env) compileDynamic(expr string) (*Program, error) {
	parsed, iss := e.cel.Parse(expr)
	if iss.Err() != nil {
		return nil, e.issueError(iss, kindRejected)
	}
	if e.dialect == Attributegen {
		if err := regexSizeError(parsed.NativeRep()); err != nil {
			return nil, err
		}
	}
	return e.program(expr, parsed)
}

// issueError turns the first CEL issue into a CompileError, explaining
// what e's dialect leaves out.
func (e *Env) issueError(iss *cel.Issues, kind errorKind) *CompileError {
	errs := iss.Errors()
	if len(errs) == 0 {
		return &CompileError{Line: 1, Column: 1, Message: iss.Err().Error(), kind: kind}
	}
	first := errs[0]
	ce := &CompileError{
		Line:    max(first.Location.Line(), 1),
		Column:  max(first.Location.Column(), 0) + 1,
		Message: first.Message,
		kind:    kind,
	}
	if e.dialect != Attributegen {
		return ce
	}
	if _, args, ok := strings.Cut(ce.Message, "'_+_' applied to '("); ok &&
		(strings.Contains(args, "string") || strings.Contains(args, "bytes") || strings.Contains(args, "list(")) {
		ce.Message += " (Envoy's CEL disables string and list concatenation in attributegen conditions; Telemetry tag values allow it)"
	}
	if strings.Contains(ce.Message, "reference to 'string'") {
		ce.Message += " (Envoy's CEL disables string conversion in attributegen conditions; Telemetry tag values allow it)"
	}
	return ce
}

// msgComprehension explains why all/exists/exists_one/map/filter fail.
const msgComprehension = "comprehensions (all, exists, exists_one, map, filter) are disabled in Envoy's CEL"

// rejectComprehensions reports the first comprehension macro in a parsed
// expression: Envoy refuses to create such an expression.
func rejectComprehensions(a *cel.Ast) error {
	native := a.NativeRep()
	var found celast.Expr
	celast.PreOrderVisit(native.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if found == nil && x.Kind() == celast.ComprehensionKind {
			found = x
		}
	}))
	if found == nil {
		return nil
	}
	return rejectedAt(native, found.ID(), msgComprehension)
}

// rejectedAt is an error, positioned at node id of a, that Envoy rejects.
func rejectedAt(a *celast.AST, id int64, msg string) *CompileError {
	loc := a.SourceInfo().GetStartLocation(id)
	return &CompileError{
		Line:    max(loc.Line(), 1),
		Column:  max(loc.Column(), 0) + 1,
		Message: msg,
		kind:    kindRejected,
	}
}
