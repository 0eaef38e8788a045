package inventory

import "github.com/routebundle/routebundle/internal/parallel"

// condResult is the compile outcome and the analysis of one condition.
type condResult struct {
	info condInfo
	err  error
}

// precompile compiles and analyzes every distinct match condition once, on
// all cores, before the sequential checks look them up. CEL parsing and
// type-checking are most of a large Build's time (10,000 conditions take
// seconds on one core); each condition is independent, and attrgen.Env and
// the CEL parser are safe for concurrent use. Generated route tables repeat
// one condition shape with other literals; attrgen.Conditions compiles each
// shape once.
func (st *state) precompile() {
	var exprs []string
	seen := make(map[string]bool)
	for _, w := range st.plugins {
		for _, ac := range w.attributes {
			for _, r := range ac.matches {
				if r.Condition != "" && !seen[r.Condition] {
					seen[r.Condition] = true
					exprs = append(exprs, r.Condition)
				}
			}
		}
	}
	results := make([]condResult, len(exprs))
	conds := st.b.env.NewConditions()
	parallel.For(len(exprs), func(i int) {
		parsed, err := conds.CompileParsed(exprs[i])
		results[i] = condResult{info: analyzeAST(exprs[i], parsed), err: err}
	})
	st.compiled = make(map[string]error, len(exprs))
	for i, e := range exprs {
		st.cond[e] = results[i].info
		st.compiled[e] = results[i].err
	}
}

// compileCondition returns the precompiled outcome of a condition, compiling
// it now if precompile did not see it.
func (st *state) compileCondition(expr string) error {
	if err, ok := st.compiled[expr]; ok {
		return err
	}
	_, err := st.b.env.CompileCondition(expr)
	return err
}
