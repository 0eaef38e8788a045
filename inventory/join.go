package inventory

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/series"
)

// join builds route sets from every Telemetry tag: a tag that reads a Wasm
// attribute joins the attributegen configs in scope that produce it; a tag
// written as a CEL classification chain is a route set on its own.
func (st *state) join() {
	producers := st.indexProducers()
	consumed := make(map[*attrConfig]bool)
	shadowReported := make(map[*attrConfig]bool)
	for _, t := range st.telemetry {
		for _, u := range st.tagUses(t) {
			attr, form, isRef := attrgen.ParseAttributeRef(u.value)
			if !isRef {
				st.celRouteSet(u)
				continue
			}
			if form == attrgen.Bare {
				st.c.add(diag.CodeBareAttribute, t.obj, u.field,
					"tag %s reads the bare attribute %s, which Istio 1.24 and later resolve to nothing (every request reads %q): use filter_state['wasm.%s']",
					u.name, attr, series.UnknownRoute, attr)
			}
			inScope := st.inScope(producers.candidates(attr, t), t)
			if len(inScope) == 0 {
				// No producer reaches t: all of them run elsewhere.
				st.reportUnproduced(u, attr, producers.byAttr[attr], st.similarAttribute(producers, attr, t))
				continue
			}
			groups := byNamespace(inScope)
			st.reportShadowed(groups, attr, shadowReported)
			for _, group := range groups {
				for _, ac := range group {
					consumed[ac] = true
				}
				st.wasmRouteSet(u, attr, group)
			}
		}
	}
	st.reportUnconsumed(consumed)
}

// producerIndex holds the attributegen configs by the attribute they
// produce, and where they are, so that joining a Telemetry looks only at
// the configs that may reach it rather than at every config of the mesh.
type producerIndex struct {
	byAttr map[string][]*attrConfig // in plugin order
	// byNamespace holds the positions in byAttr of the configs of each
	// attribute and namespace.
	byNamespace map[attrNamespace][]int
}

type attrNamespace struct{ attr, namespace string }

func (st *state) indexProducers() *producerIndex {
	p := &producerIndex{byAttr: make(map[string][]*attrConfig), byNamespace: make(map[attrNamespace][]int)}
	for _, w := range st.plugins {
		for i := range w.attributes {
			ac := &w.attributes[i]
			k := attrNamespace{ac.output, w.namespace}
			p.byNamespace[k] = append(p.byNamespace[k], len(p.byAttr[ac.output]))
			p.byAttr[ac.output] = append(p.byAttr[ac.output], ac)
		}
	}
	return p
}

// candidates returns, in plugin order, the configs producing attr that may
// reach t. A plugin and a Telemetry meet only in one namespace, or when one
// of them applies mesh-wide, which only policies of the root namespace do.
func (p *producerIndex) candidates(attr string, t *telemetry) []*attrConfig {
	all := p.byAttr[attr]
	if t.namespace == RootNamespace || t.meshWide() {
		return all
	}
	local := p.byNamespace[attrNamespace{attr, t.namespace}]
	root := p.byNamespace[attrNamespace{attr, RootNamespace}]
	idx := slices.Concat(local, root)
	slices.Sort(idx)
	out := make([]*attrConfig, len(idx))
	for i, j := range idx {
		out[i] = all[j]
	}
	return out
}

// inScope returns the configs that run where the Telemetry applies.
func (st *state) inScope(acs []*attrConfig, t *telemetry) []*attrConfig {
	var in []*attrConfig
	for _, ac := range acs {
		if st.reaches(ac.plugin, t) {
			in = append(in, ac)
		}
	}
	return in
}

// byNamespace groups the configs of a mesh-wide Telemetry by the namespace
// of their plugin (one route set each), each group in execution order.
func byNamespace(acs []*attrConfig) [][]*attrConfig {
	groups := make(map[string][]*attrConfig)
	for _, ac := range acs {
		groups[ac.plugin.namespace] = append(groups[ac.plugin.namespace], ac)
	}
	out := make([][]*attrConfig, 0, len(groups))
	for _, ns := range slices.Sorted(maps.Keys(groups)) {
		g := groups[ns]
		slices.SortStableFunc(g, compareExecution)
		out = append(out, g)
	}
	return out
}

// compareExecution orders attributegen configs as Envoy runs them: by
// plugin phase, then higher priority first, then by name (Istio breaks ties
// by creation time, which files do not have), then by position in the plugin.
func compareExecution(a, b *attrConfig) int {
	return cmp.Or(
		cmp.Compare(phaseRank(a.plugin.phase), phaseRank(b.plugin.phase)),
		cmp.Compare(b.plugin.priority, a.plugin.priority),
		cmp.Compare(a.plugin.namespace, b.plugin.namespace),
		cmp.Compare(a.plugin.obj.Name, b.plugin.obj.Name),
		cmp.Compare(a.index, b.index),
	)
}

// similarAttribute returns an attribute produced in the Telemetry's scope
// whose name differs from attr only in case, the usual slip.
func (st *state) similarAttribute(producers *producerIndex, attr string, t *telemetry) string {
	for _, name := range slices.Sorted(maps.Keys(producers.byAttr)) {
		if name == attr || !strings.EqualFold(name, attr) {
			continue
		}
		if len(st.inScope(producers.candidates(name, t), t)) > 0 {
			return name
		}
	}
	return ""
}

func (st *state) reportUnproduced(u *tagUse, attr string, outOfScope []*attrConfig, similar string) {
	msg := fmt.Sprintf("tag %s reads attribute %s, but no attributegen WasmPlugin that runs where this Telemetry applies produces it: every request reads %q",
		u.name, attr, series.UnknownRoute)
	if similar != "" {
		msg += fmt.Sprintf(" (did you mean %s? attribute names are case-sensitive)", similar)
	}
	if len(outOfScope) > 0 {
		var names []string
		for _, ac := range outOfScope {
			names = appendUnique(names, refOf(ac.plugin.obj).String())
		}
		msg += fmt.Sprintf(" (produced by %s, which runs on other proxies: align targetRefs/selector/namespace)", strings.Join(names, ", "))
	}
	st.c.add(diag.CodeUnproducedAttribute, u.tel.obj, u.field, "%s", msg)
}

// reportShadowed reports, once per config, attributegen configs that another
// config in the same group (see byNamespace) overrides whenever the later
// one matches.
func (st *state) reportShadowed(groups [][]*attrConfig, attr string, done map[*attrConfig]bool) {
	for _, group := range groups {
		if len(group) < 2 {
			continue
		}
		lastAC := group[len(group)-1]
		for _, ac := range group[:len(group)-1] {
			if done[ac] {
				continue
			}
			done[ac] = true
			st.c.add(diag.CodeShadowedProducer, ac.plugin.obj, ac.field.Key("output_attribute"),
				"attribute %s is also produced by %s %s, which runs later: its value wins whenever one of its matches fires, and this config only classifies what it leaves unset",
				attr, refOf(lastAC.plugin.obj), lastAC.field)
		}
	}
}

func (st *state) reportUnconsumed(consumed map[*attrConfig]bool) {
	for _, w := range st.plugins {
		for i := range w.attributes {
			ac := &w.attributes[i]
			if consumed[ac] || len(ac.matches) == 0 {
				continue
			}
			st.c.add(diag.CodeUnconsumedAttribute, w.obj, ac.field.Key("output_attribute"),
				"attribute %s is read by no Telemetry tag where this plugin runs: add a tagOverride with value filter_state['wasm.%s']",
				ac.output, ac.output)
		}
	}
}

// wasmRouteSet builds the route set of one tag reading attr, produced by
// group (in execution order). A later config overrides an earlier one when
// it matches, so its routes come first.
func (st *state) wasmRouteSet(u *tagUse, attr string, group []*attrConfig) {
	last := group[len(group)-1].plugin
	var routes []Route
	for i := len(group) - 1; i >= 0; i-- {
		routes = append(routes, group[i].matches...)
	}
	if len(routes) == 0 {
		// Reported as CodeEmptyMatch: the tag is always unknown.
		return
	}
	scope := joinScope(last, u.tel)
	rs := RouteSet{
		Namespace:   scope.Namespace,
		Scope:       scope,
		Tag:         u.name,
		Attribute:   attr,
		Routes:      routes,
		Metrics:     slices.Clone(u.metrics),
		Mode:        u.mode(),
		Plugin:      refOf(last.obj),
		Telemetry:   refOf(u.tel.obj),
		Annotations: maps.Clone(last.annotations),
		Source:      last.obj.FieldSource(group[len(group)-1].field),
	}
	rs.ID = routeSetID(rs.Namespace, []diag.ObjectRef{rs.Plugin, rs.Telemetry}, u.name)
	st.addRouteSet(rs, u)
}

// celRouteSet builds the route set of a tag written as a CEL classification
// chain, or reports why it cannot.
func (st *state) celRouteSet(u *tagUse) {
	t := u.tel
	ci := st.analyze(u.value)
	if len(ci.unbounded) > 0 {
		st.c.add(diag.CodeUnboundedTagValue, t.obj, u.field,
			"tag %s copies %s into its value: every distinct request creates new time series; classify into a fixed set of values instead",
			u.name, strings.Join(ci.unbounded, ", "))
		return
	}
	if _, err := st.b.env.Compile(u.value); err != nil {
		st.reportCompileError(t.obj, u.field, err)
		return
	}
	extracted, fallback, ok := attrgen.ExtractRoutes(u.value)
	if !ok {
		if ci.conditional {
			st.c.add(diag.CodeOpaqueTagExpression, t.obj, u.field,
				"tag %s is a CEL expression whose values cannot be listed (routebundle reads chains of cond ? 'A' : (cond2 ? 'B' : 'other')); no route set is built from it",
				u.name)
		}
		return
	}
	src := t.obj.FieldSource(u.field)
	routes := make([]Route, 0, len(extracted)+1)
	for _, r := range extracted {
		routes = append(routes, Route{Value: r.Value, Condition: r.Condition, Field: u.field.String(), Source: src})
	}
	// The fallback is what the chain yields when no condition holds: an
	// always-true last route.
	routes = append(routes, Route{Value: fallback, Field: u.field.String(), Source: src})
	st.checkCELRoutes(t.obj, u.field, routes)
	scope := t.scope()
	rs := RouteSet{
		Namespace:   t.namespace,
		Scope:       scope,
		Tag:         u.name,
		Routes:      routes,
		Metrics:     slices.Clone(u.metrics),
		Mode:        u.mode(),
		Telemetry:   refOf(t.obj),
		Annotations: maps.Clone(t.annotations),
		Source:      src,
	}
	rs.ID = routeSetID(rs.Namespace, []diag.ObjectRef{rs.Telemetry}, u.name)
	st.addRouteSet(rs, u)
}

// checkCELRoutes runs the route-list checks on an extracted chain; all its
// findings point at the tag value. The fallback is left out: it is
// unconditional by design, and "unknown" is a legitimate choice for it.
func (st *state) checkCELRoutes(obj *manifest.Object, field manifest.Path, routes []Route) {
	st.checkRoutes(obj, routes[:len(routes)-1], func(int, string) manifest.Path { return field })
	if routes[len(routes)-1].Value == "" {
		st.c.add(diag.CodeReservedValue, obj, field, "the chain's fallback value is empty; name it (for example 'other')")
	}
}

func (st *state) addRouteSet(rs RouteSet, u *tagUse) {
	if rs.HasMetric(RequestCount) && !rs.HasLatency() {
		st.c.add(diag.CodeNoRouteLatency, u.tel.obj, u.field,
			"tag %s is on REQUEST_COUNT but not on REQUEST_DURATION: there will be per-route rates and errors but no per-route latency; add an override for REQUEST_DURATION",
			u.name)
	}
	st.sets = append(st.sets, rs)
}

// routeSetID builds an ID from the namespace, the objects and the tag:
// objects in another namespace are written ns:name (Kubernetes names cannot
// contain ':' or '/').
func routeSetID(ns string, objs []diag.ObjectRef, tag string) string {
	parts := []string{ns}
	for _, o := range objs {
		if o.Namespace == ns {
			parts = append(parts, o.Name)
		} else {
			parts = append(parts, o.Namespace+":"+o.Name)
		}
	}
	return strings.Join(append(parts, tag), "/")
}

// routeSets returns the route sets sorted by ID, making IDs unique with a
// numeric suffix in the rare case of a collision (one Telemetry writing the
// same tag with two different values on different metrics).
func (st *state) routeSets() []RouteSet {
	sets := st.sets
	slices.SortStableFunc(sets, func(a, b RouteSet) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Source.Line, b.Source.Line))
	})
	seen := make(map[string]int, len(sets))
	for i := range sets {
		id := sets[i].ID
		if n := seen[id]; n > 0 {
			sets[i].ID = fmt.Sprintf("%s#%d", id, n+1)
		}
		seen[id]++
	}
	if sets == nil {
		sets = []RouteSet{}
	}
	return sets
}

// refOf names an object, with the namespace kubectl would give it.
func refOf(o *manifest.Object) diag.ObjectRef {
	r := o.Ref()
	if o.Kind != "Namespace" {
		r.Namespace = objectNamespace(o)
	}
	return r
}
