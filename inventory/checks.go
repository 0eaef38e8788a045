package inventory

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/series"
)

// checkPlugins reports what is wrong inside each attributegen plugin, on its
// own: phase, placement and every match list.
func (st *state) checkPlugins() {
	for _, w := range st.plugins {
		if w.phase == "" {
			st.c.add(diag.CodeUnspecifiedPhase, w.obj, pathSpec.Key("phase"),
				"phase is not set, so the control plane places the plugin; releases that put it after the stats filter report every route as %q: set phase: STATS (AUTHN and AUTHZ also run before stats)",
				series.UnknownRoute)
		}
		st.checkWaypointReach(&w.policy, true)
		for i := range w.attributes {
			st.checkAttrConfig(&w.attributes[i])
		}
	}
	for _, t := range st.telemetry {
		if t.hasTagOverrides() {
			st.checkWaypointReach(&t.policy, false)
		}
	}
}

func (t *telemetry) hasTagOverrides() bool {
	return slices.ContainsFunc(t.metrics, func(me metricsEntry) bool { return me.hasTags() })
}

func (me *metricsEntry) hasTags() bool {
	return slices.ContainsFunc(me.overrides, func(ov override) bool { return len(ov.tags) > 0 })
}

// checkWaypointReach reports policies a namespace's waypoint ignores:
// waypoints only take policies that name them in targetRefs. A Telemetry
// without selector or targetRefs does reach the waypoint; a WasmPlugin does
// not.
func (st *state) checkWaypointReach(p *policy, isPlugin bool) {
	ns, ok := st.namespaces[p.namespace]
	if !ok || ns.UseWaypoint == "" || ns.UseWaypoint == "none" || p.hasTargetRefs() {
		return
	}
	switch {
	case p.hasSelector():
		st.c.add(diag.CodeWaypointUnreached, p.obj, pathSpec.Key("selector"),
			"namespace %s is served by waypoint %s (label %s), which ignores selector: use targetRefs to Gateway %s/%s",
			p.namespace, ns.UseWaypoint, labelUseWaypoint, p.namespace, ns.UseWaypoint)
	case isPlugin:
		st.c.add(diag.CodeWaypointUnreached, p.obj, pathSpec,
			"namespace %s is served by waypoint %s (label %s), which runs only WasmPlugins whose targetRefs name it: add targetRefs to Gateway %s/%s",
			p.namespace, ns.UseWaypoint, labelUseWaypoint, p.namespace, ns.UseWaypoint)
	}
}

// checkAttrConfig checks one attributegen attribute and its matches.
func (st *state) checkAttrConfig(ac *attrConfig) {
	if len(ac.matches) == 0 {
		st.c.add(diag.CodeEmptyMatch, ac.plugin.obj, ac.field.Key("match"),
			"attribute %s has no match entries and is never set: its tag is always %q", ac.output, series.UnknownRoute)
		return
	}
	obj := ac.plugin.obj
	st.checkRoutes(obj, ac.matches, func(i int, key string) manifest.Path {
		p := ac.field.Key("match").Index(i)
		if key != "" {
			p = p.Key(key)
		}
		return p
	})
	for i, r := range ac.matches {
		condPath := ac.field.Key("match").Index(i).Key("condition")
		if r.Condition != "" {
			ci := st.analyze(r.Condition)
			if moved := ci.moved(); len(moved) > 0 {
				st.c.add(diag.CodeMovedAttribute, obj, condPath, "the condition reads %s, which Istio 1.24 moved to %s: it fails to evaluate, and attributegen stops there and leaves %s unset: use %s",
					moved[0].Old, moved[0].New, ac.output, moved[0].New)
			} else if err := st.compileCondition(r.Condition); err != nil {
				st.reportCompileError(obj, condPath, err, "Envoy rejects it, and with it the plugin's whole configuration")
			}
			if len(ci.fallible()) > 0 {
				consequence := fmt.Sprintf("attributegen stops there and leaves %s unset, skipping the matches after it", ac.output)
				if i == len(ac.matches)-1 {
					consequence = fmt.Sprintf("attributegen then leaves %s unset and the tag reads %q for those requests", ac.output, series.UnknownRoute)
				}
				st.reportFallible(obj, condPath, ci.fallible(), consequence)
			}
		}
		if ac.evalPhase == evalOnRequest && st.analyze(r.Condition).readsResponse {
			st.c.add(diag.CodeResponseOnRequest, obj, condPath,
				"attribute %s is evaluated ON_REQUEST, before any response exists, but this condition reads response attributes: it never holds (drop phase: ON_REQUEST)",
				ac.output)
		}
	}
}

// checkRoutes runs the checks that apply to any ordered route list: reserved
// and repeated values, repeated and unreachable conditions, regexes. path
// returns the field of route i, or of its key ("value", "condition").
func (st *state) checkRoutes(obj *manifest.Object, routes []Route, path func(i int, key string) manifest.Path) {
	firstValue := make(map[string]int, len(routes))
	firstCond := make(map[string]int, len(routes))
	alwaysTrue := -1
	for i, r := range routes {
		if r.Value == "" || r.Value == series.UnknownRoute {
			st.c.add(diag.CodeReservedValue, obj, path(i, "value"),
				"route value %q cannot be told apart from requests no match classified; pick another name", r.Value)
		}
		if j, dup := firstValue[r.Value]; dup {
			st.c.add(diag.CodeDuplicateValue, obj, path(i, "value"),
				"value %q is also produced by match %d; if that is not intended, one of them is a copy-paste slip", r.Value, j)
		} else {
			firstValue[r.Value] = i
		}
		ci := st.analyze(r.Condition)
		switch {
		case alwaysTrue >= 0:
			st.c.add(diag.CodeUnreachableMatch, obj, path(i, ""),
				"match %d never fires: match %d before it is always true (%s)", i, alwaysTrue, describeAlwaysTrue(routes[alwaysTrue].Condition))
		case ci.canonical != "":
			if j, dup := firstCond[ci.canonical]; dup {
				st.c.add(diag.CodeDuplicateCondition, obj, path(i, "condition"),
					"match %d has the same condition as match %d, which always wins: value %q never appears", i, j, r.Value)
			} else {
				firstCond[ci.canonical] = i
			}
		}
		if ci.alwaysTrue && alwaysTrue < 0 {
			alwaysTrue = i
		}
		for _, pat := range ci.patterns {
			if why := anchoring(pat); why != "" {
				st.c.add(diag.CodeUnanchoredRegex, obj, path(i, "condition"), "regex %q %s", pat, why)
			}
		}
	}
}

func describeAlwaysTrue(cond string) string {
	if strings.TrimSpace(cond) == "" {
		return "empty condition"
	}
	return "condition " + strings.TrimSpace(cond)
}

// reportCompileError reports an expression that does not compile, at the
// line of the expression where CEL found the problem, and returns the
// problem in words. rejected is what happens when Envoy cannot even create
// the expression; an expression that only fails type-checking fails when
// evaluated.
func (st *state) reportCompileError(obj *manifest.Object, path manifest.Path, err error, rejected string) string {
	var ce *attrgen.CompileError
	if !errors.As(err, &ce) {
		st.c.add(diag.CodeInvalidCondition, obj, path, "expression does not compile: %v", err)
		return err.Error()
	}
	consequence := fmt.Sprintf("it fails when evaluated and the tag reads %q", series.UnknownRoute)
	if ce.RejectedByEnvoy() {
		consequence = rejected
	}
	st.c.addAt(diag.CodeInvalidCondition, obj, path, obj.TextSource(path, ce.Line),
		"expression does not compile at line %d, column %d: %s (%s)", ce.Line, ce.Column, ce.Message, consequence)
	return fmt.Sprintf("%s (%s)", ce.Message, consequence)
}

// reportFallible reports the accesses of an expression that fail to
// evaluate for ordinary requests; consequence says what that does.
func (st *state) reportFallible(obj *manifest.Object, path manifest.Path, found []attrgen.Fallible, consequence string) {
	for _, f := range found {
		st.c.add(diag.CodeFallibleCondition, obj, path,
			"%s fails to evaluate for %s, and %s: guard it, e.g. %s && ...",
			f.Access, f.When, consequence, f.Guard)
	}
}
