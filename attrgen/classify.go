package attrgen

import (
	"errors"
	"fmt"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/routebundle/routebundle/series"
)

// Route is one attributegen match entry: Value is written when Condition is
// the first to hold. An empty Condition is always true.
type Route struct {
	Value     string `json:"value"`
	Condition string `json:"condition,omitempty"`
}

// Result is the outcome of classifying one request.
type Result struct {
	// Value is the attribute value, or series.UnknownRoute when no match fired
	// (the attribute stays unset and the metric tag reads "unknown").
	Value string `json:"value"`
	// Index is the index of the match that fired, -1 when none did.
	Index int `json:"index"`
	// Reason says in one sentence why Value is what it is.
	Reason string `json:"reason"`
	// Evaluated is how many matches were tried: routes[:Evaluated].
	Evaluated int `json:"evaluated"`
	// Errors has one entry per route: nil, the condition's compile error, or
	// the error that stopped classification at that route.
	Errors []error `json:"-"`
}

// compiled is a cached compilation of one condition.
type compiled struct {
	prog *Program // nil when Envoy would reject the condition
	err  error    // compile error, if any; prog may still be set (dynamic evaluation)
}

// compileCached compiles a condition once per Env. A condition that only
// fails type-checking is planned unchecked, because Envoy creates it anyway
// and evaluates it dynamically.
func (e *Env) compileCached(cond string) compiled {
	e.mu.Lock()
	c, ok := e.cache[cond]
	e.mu.Unlock()
	if ok {
		return c
	}
	c = e.compileCondition(cond)
	e.mu.Lock()
	if len(e.cache) >= maxCached {
		clear(e.cache)
	}
	e.cache[cond] = c
	e.mu.Unlock()
	return c
}

func (e *Env) compileCondition(cond string) compiled {
	p, err := e.CompileCondition(cond)
	if err == nil {
		return compiled{prog: p}
	}
	var ce *CompileError
	if !errors.As(err, &ce) || ce.RejectedByEnvoy() {
		return compiled{err: err}
	}
	dyn, derr := e.compileDynamic(cond)
	if derr != nil {
		return compiled{err: err}
	}
	return compiled{prog: dyn, err: err}
}

// Classify evaluates routes for req as attributegen does: in order, the
// first condition that is true wins and an empty condition is always true.
// A condition that fails to evaluate (a missing attribute such as an absent
// header, or a non-bool result) ends the evaluation with the attribute
// unset; attributegen does not go on to the next match. A condition that
// Envoy cannot create makes attributegen reject its whole configuration.
func (e *Env) Classify(routes []Route, req Request) Result {
	res := Result{Value: series.UnknownRoute, Index: -1, Errors: make([]error, len(routes))}
	progs := make([]*Program, len(routes))
	rejected := -1
	for i, r := range routes {
		if r.Condition == "" {
			continue
		}
		c := e.compileCached(r.Condition)
		progs[i], res.Errors[i] = c.prog, c.err
		if c.prog == nil && rejected < 0 {
			rejected = i
		}
	}
	if rejected >= 0 {
		res.Reason = fmt.Sprintf("attributegen rejects its whole configuration: the condition of match %d cannot be created: %v",
			rejected, res.Errors[rejected])
		return res
	}
	return e.evaluate(routes, progs, newActivation(req), res)
}

func (e *Env) evaluate(routes []Route, progs []*Program, act *activation, res Result) Result {
	for i, r := range routes {
		res.Evaluated = i + 1
		if r.Condition == "" {
			res.Value, res.Index = r.Value, i
			res.Reason = fmt.Sprintf("match %d has no condition, which is always true", i)
			return res
		}
		ok, err := progs[i].match(act)
		if err != nil {
			if res.Errors[i] != nil {
				err = fmt.Errorf("%w; the condition does not type-check either: %v", err, res.Errors[i])
			}
			res.Errors[i] = err
			res.Reason = fmt.Sprintf("the condition of match %d failed to evaluate (%v); attributegen stops at the first failing condition and leaves the attribute unset", i, err)
			return res
		}
		if ok {
			res.Value, res.Index = r.Value, i
			res.Reason = fmt.Sprintf("match %d is the first whose condition is true", i)
			return res
		}
	}
	switch len(routes) {
	case 0:
		res.Reason = "no matches are configured, so the attribute is never set"
	default:
		res.Reason = fmt.Sprintf("none of the %d conditions is true, so the attribute stays unset", len(routes))
	}
	return res
}

// Match evaluates a condition for req.
func (p *Program) Match(req Request) (bool, error) { return p.match(newActivation(req)) }

func (p *Program) match(act *activation) (bool, error) {
	v, err := p.eval(act)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition evaluated to %s, not bool", v.Type().TypeName())
	}
	return bool(b), nil
}

// EvalString evaluates a tag value expression for req; the value must be a string.
func (p *Program) EvalString(req Request) (string, error) {
	v, err := p.eval(newActivation(req))
	if err != nil {
		return "", err
	}
	s, ok := v.(types.String)
	if !ok {
		return "", fmt.Errorf("expression evaluated to %s, not string", v.Type().TypeName())
	}
	return string(s), nil
}

func (p *Program) eval(act *activation) (ref.Val, error) {
	v, _, err := p.prog.Eval(act)
	if err != nil {
		return nil, err
	}
	if types.IsError(v) {
		return nil, fmt.Errorf("%v", v)
	}
	return v, nil
}
