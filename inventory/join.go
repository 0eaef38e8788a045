package inventory

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/series"
)

// join builds route sets and tags from every Telemetry tag: a tag that
// reads a Wasm attribute joins the attributegen configs in scope that
// produce it, one route set per class of workloads that run the same
// configs (see classes); a tag written as a CEL classification chain is a
// route set on its own. Tags that override Istio's own labels are checked,
// never route sets.
func (st *state) join() {
	producers := st.indexProducers()
	consumed := make(map[*attrConfig]bool)
	shadowReported := make(map[*attrConfig]bool)
	for _, t := range st.telemetry {
		uses, disabled, removed := st.tagUses(t)
		st.reportDisabledTags(t, disabled)
		var routeUses []*tagUse
		for _, u := range uses {
			if standardLabel(u.name) {
				st.labelTag(u, producers, consumed)
				continue
			}
			routeUses = append(routeUses, u)
			st.routeTag(u, producers, consumed, shadowReported)
		}
		st.reportLabelOverrides(routeUses, slices.Concat(uses, removed), producers)
	}
	st.reportUnconsumed(consumed)
}

// routeTag builds the route sets of one route tag, or reports why the tag
// reads "unknown" everywhere.
func (st *state) routeTag(u *tagUse, producers *producerIndex, consumed, shadowReported map[*attrConfig]bool) {
	if readsRouteName(st, u.value) {
		st.routeNameTag(u)
		return
	}
	attr, form, isRef := attrgen.ParseAttributeRef(u.value)
	if !isRef {
		st.celRouteSet(u)
		return
	}
	t := u.tel
	tag := st.newTag(u, attr)
	st.checkLatency(u)
	if peerAttribute(attr) {
		m := attrgen.Move{Old: u.value, New: "filter_state." + attr}
		st.c.add(diag.CodeMovedAttribute, t.obj, u.field, "tag %s reads %s: %s", u.name, m.Old, moveText(m))
		tag.Unknown = fmt.Sprintf("it reads %s, which Istio 1.24 moved to %s", m.Old, m.New)
		return
	}
	inScope := st.inScope(producers.candidates(attr, t), t)
	for _, ac := range inScope {
		consumed[ac] = true
	}
	switch {
	case form == attrgen.Bare:
		st.reportBare(u, attr, len(inScope) > 0)
		tag.Unknown = fmt.Sprintf("it reads the bare attribute %s, which Istio 1.24 and later resolve to nothing (use filter_state['wasm.%s'])", attr, attr)
		return
	case len(inScope) == 0:
		st.reportUnproduced(u, attr, producers.byAttr[attr], st.similarAttribute(producers, attr, t))
		tag.Unknown = fmt.Sprintf("no attributegen WasmPlugin that runs where %s applies produces attribute %s", refOf(t.obj), attr)
		return
	case len(u.server) == 0:
		st.reportClientOnly(u)
		return
	}
	domains := st.domains(inScope, t)
	st.reportShadowed(st.overlaps(domains, t), attr, shadowReported)
	for _, cl := range classes(domains, t) {
		st.wasmRouteSet(u, attr, cl, tag)
	}
}

// peerAttribute: the Wasm attributes that held the peer metadata before
// Istio 1.24 (filter_state['wasm.upstream_peer']).
func peerAttribute(attr string) bool { return attr == "upstream_peer" || attr == "downstream_peer" }

func moveText(m attrgen.Move) string {
	s := fmt.Sprintf("Istio 1.24 moved it to %s, so it fails to evaluate and the tag reads %q: use %s", m.New, series.UnknownRoute, m.New)
	if m.Hint != "" {
		s += " (" + m.Hint + ")"
	}
	return s
}

func (st *state) reportBare(u *tagUse, attr string, produced bool) {
	msg := fmt.Sprintf("tag %s reads the bare attribute %s, which Istio 1.24 and later resolve to nothing (every request reads %q): use filter_state['wasm.%s']",
		u.name, attr, series.UnknownRoute, attr)
	if !produced {
		msg += fmt.Sprintf("; no attributegen WasmPlugin that runs where this Telemetry applies produces %s either", attr)
	}
	st.c.add(diag.CodeBareAttribute, u.tel.obj, u.field, "%s", msg)
}

func (st *state) reportClientOnly(u *tagUse) {
	st.c.add(diag.CodeClientOnlyTag, u.tel.obj, u.field,
		"tag %s is only on client-side metrics (mode: CLIENT): the sending proxy writes it on reporter=\"source\" series, while the bundle's rules and dashboards read the server side (reporter=~%q); no route set is built for it: use mode: CLIENT_AND_SERVER or SERVER",
		u.name, series.ServerReporters)
}

// reportDisabledTags reports route tags written only on metrics that are
// switched off, which therefore never reach a series.
func (st *state) reportDisabledTags(t *telemetry, disabled []tagValueOf) {
	for _, tv := range disabled {
		if standardLabel(tv.name) {
			continue
		}
		st.c.add(diag.CodeClientOnlyTag, t.obj, tv.field,
			"tag %s is written only on metrics this Telemetry disables (disabled: true, not switched back on by a later override): it never reaches a series and no route set is built for it",
			tv.name)
	}
}

// newTag records the tag of use u.
func (st *state) newTag(u *tagUse, attr string) *Tag {
	t := u.tel
	tag := &Tag{
		Name: u.name, Telemetry: refOf(t.obj), Value: u.value, Attribute: attr, Scope: t.scope(),
		Metrics: slices.Clone(u.metrics()), Mode: u.mode(), Field: u.field.String(), Source: t.obj.FieldSource(u.field),
	}
	st.tags = append(st.tags, tag)
	return tag
}

// checkLatency reports a route tag with rates but no latency.
func (st *state) checkLatency(u *tagUse) {
	if !slices.Contains(u.server, RequestCount) || slices.Contains(u.server, RequestDuration) {
		return
	}
	msg := fmt.Sprintf("tag %s is on REQUEST_COUNT but not on REQUEST_DURATION: there will be per-route rates and errors but no per-route latency; add an override for REQUEST_DURATION", u.name)
	if slices.Contains(u.client, RequestDuration) {
		msg += " (it is there only for mode: CLIENT, which the bundle does not read)"
	}
	st.c.add(diag.CodeNoRouteLatency, u.tel.obj, u.field, "%s", msg)
}

// producerIndex holds the attributegen configs by the attribute they
// produce, and where they are, so that joining a Telemetry looks only at
// the configs that may reach it rather than at every config of the mesh.
type producerIndex struct {
	root   string
	byAttr map[string][]*attrConfig // in plugin order
	// byNamespace holds the positions in byAttr of the configs of each
	// attribute and namespace.
	byNamespace map[attrNamespace][]int
}

type attrNamespace struct{ attr, namespace string }

func (st *state) indexProducers() *producerIndex {
	p := &producerIndex{root: st.b.root, byAttr: make(map[string][]*attrConfig), byNamespace: make(map[attrNamespace][]int)}
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
	if t.root {
		return all
	}
	local := p.byNamespace[attrNamespace{attr, t.namespace}]
	root := p.byNamespace[attrNamespace{attr, p.root}]
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

// compareExecution orders attributegen configs as Envoy runs them (pilot's
// WasmPluginsByListenerInfo): by plugin phase, then higher priority first
// (no priority runs after every set one), then the proxy's own namespace
// before the root namespace, then by name (Istio breaks ties by creation
// time, which files do not have), then by position in the plugin.
func compareExecution(a, b *attrConfig) int {
	return cmp.Or(
		cmp.Compare(phaseRank(a.plugin.phase), phaseRank(b.plugin.phase)),
		cmp.Compare(b.plugin.priority, a.plugin.priority),
		cmp.Compare(boolRank(a.plugin.root), boolRank(b.plugin.root)),
		cmp.Compare(a.plugin.namespace, b.plugin.namespace),
		cmp.Compare(a.plugin.obj.Name, b.plugin.obj.Name),
		cmp.Compare(a.index, b.index),
	)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
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

// reportShadowed reports, once per config, attributegen configs that a
// config running later on the same proxies overrides whenever the later
// one matches.
func (st *state) reportShadowed(overlaps []overlap, attr string, done map[*attrConfig]bool) {
	for _, o := range overlaps {
		if done[o.shadowed] {
			continue
		}
		done[o.shadowed] = true
		where := ""
		if len(o.labels) > 0 {
			where = " on workloads labelled " + formatSelector(o.labels)
		}
		st.c.add(diag.CodeShadowedProducer, o.shadowed.plugin.obj, o.shadowed.field.Key("output_attribute"),
			"attribute %s is also produced by %s %s, which runs later%s: its value wins whenever one of its matches fires, and this config only classifies what it leaves unset",
			attr, refOf(o.by.plugin.obj), o.by.field, where)
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

// wasmRouteSet builds the route set of one tag reading attr on the
// workloads of class cl. A later config overrides an earlier one when it
// matches, so its routes come first.
func (st *state) wasmRouteSet(u *tagUse, attr string, cl class, tag *Tag) {
	last := cl.configs[len(cl.configs)-1]
	var routes []Route
	producers := make([]Producer, 0, len(cl.configs))
	for i := len(cl.configs) - 1; i >= 0; i-- {
		ac := cl.configs[i]
		routes = append(routes, ac.matches...)
		producers = append(producers, Producer{Plugin: refOf(ac.plugin.obj), Field: ac.field.String(),
			OnRequest: ac.evalPhase == evalOnRequest, Routes: len(ac.matches)})
	}
	if len(routes) == 0 {
		// Reported as CodeEmptyMatch: the tag is always unknown.
		return
	}
	rs := RouteSet{
		Namespace:   cl.scope.Namespace,
		Scope:       cl.scope,
		Tag:         u.name,
		Attribute:   attr,
		Routes:      routes,
		Producers:   producers,
		Metrics:     slices.Clone(u.server),
		Mode:        u.mode(),
		Plugin:      refOf(last.plugin.obj),
		Telemetry:   refOf(u.tel.obj),
		Annotations: maps.Clone(last.plugin.annotations),
		Source:      last.plugin.obj.FieldSource(last.field),
	}
	rs.ID = st.uniqueID(routeSetID(rs.Namespace, []diag.ObjectRef{rs.Plugin, rs.Telemetry}, u.name))
	tag.RouteSets = append(tag.RouteSets, rs.ID)
	st.sets = append(st.sets, rs)
}

// celRouteSet builds the route set of a tag written as a CEL classification
// chain, or reports why it cannot. Tag values are the stats filter's
// dialect (attrgen.TagValue).
func (st *state) celRouteSet(u *tagUse) {
	t := u.tel
	ci := st.analyze(u.value)
	if moved := ci.movedTag(); len(moved) > 0 {
		st.c.add(diag.CodeMovedAttribute, t.obj, u.field, "tag %s reads %s: %s", u.name, moved[0].Old, moveText(moved[0]))
		if ci.conditional {
			st.newTag(u, "").Unknown = fmt.Sprintf("its value reads %s, which Istio 1.24 moved to %s", moved[0].Old, moved[0].New)
		}
		return
	}
	if len(ci.unbounded) > 0 {
		st.c.add(diag.CodeUnboundedTagValue, t.obj, u.field,
			"tag %s copies %s into its value: every distinct request creates new time series; classify into a fixed set of values instead",
			u.name, strings.Join(ci.unbounded, ", "))
		return
	}
	if _, err := st.b.tags.Compile(u.value); err != nil {
		why := st.reportCompileError(t.obj, u.field, err, fmt.Sprintf("the stats filter cannot parse it and leaves tag %s off the metrics", u.name))
		if ci.conditional {
			st.newTag(u, "").Unknown = "its value does not compile: " + why
		}
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
	tag := st.newTag(u, "")
	st.checkLatency(u)
	st.reportFallible(t.obj, u.field, ci.fallible(), "the tag reads "+strconv.Quote(series.UnknownRoute)+" for those requests")
	if len(u.server) == 0 {
		st.reportClientOnly(u)
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
	rs := RouteSet{
		Namespace:   t.namespace,
		Scope:       t.scope(),
		Tag:         u.name,
		Routes:      routes,
		Metrics:     slices.Clone(u.server),
		Mode:        u.mode(),
		Telemetry:   refOf(t.obj),
		Annotations: maps.Clone(t.annotations),
		Source:      src,
	}
	rs.ID = st.uniqueID(routeSetID(rs.Namespace, []diag.ObjectRef{rs.Telemetry}, u.name))
	tag.RouteSets = append(tag.RouteSets, rs.ID)
	st.sets = append(st.sets, rs)
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

// uniqueID returns id, or id#n when n-1 route sets already have it (one
// Telemetry writing the same tag with two different values on different
// metrics, or two classes whose last config is the same).
func (st *state) uniqueID(id string) string {
	n := st.ids[id]
	st.ids[id] = n + 1
	if n > 0 {
		return fmt.Sprintf("%s#%d", id, n+1)
	}
	return id
}

// routeSets returns the route sets sorted by ID.
func (st *state) routeSets() []RouteSet {
	sets := st.sets
	slices.SortFunc(sets, func(a, b RouteSet) int { return cmp.Compare(a.ID, b.ID) })
	if sets == nil {
		sets = []RouteSet{}
	}
	return sets
}

// tagList returns the tags sorted by Telemetry, name and field.
func (st *state) tagList() []Tag {
	out := make([]Tag, 0, len(st.tags))
	for _, t := range st.tags {
		slices.Sort(t.RouteSets)
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Tag) int {
		return cmp.Or(cmp.Compare(a.Telemetry.Namespace, b.Telemetry.Namespace), cmp.Compare(a.Telemetry.Name, b.Telemetry.Name),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Field, b.Field))
	})
	return out
}

// refOf names an object, with the namespace kubectl would give it.
func refOf(o *manifest.Object) diag.ObjectRef {
	r := o.Ref()
	if o.Kind != "Namespace" {
		r.Namespace = objectNamespace(o)
	}
	return r
}
