package inventory

import (
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
)

// AnnotationSource is where annotation key of the object carrying the route
// set's annotations (its WasmPlugin, or the Telemetry of a CEL-only set) was
// written; with textLine > 0, where line textLine of its value was (the
// per-route overrides are a multi-line value). Without the object's layout
// (objects from the API server, sets built in memory) it is the set's Source.
func (rs *RouteSet) AnnotationSource(key string, textLine int) diag.Source {
	l, ok := rs.annotationLayout[key]
	if !ok {
		return rs.Source
	}
	if textLine > 0 {
		return l.Source(textLine)
	}
	return l.Field()
}

// linkAnnotations records, for each route set, where the annotations of
// the object they were read from were written. The layouts, not the
// objects, are kept: a route set must not hold its object's YAML tree.
func (st *state) linkAnnotations() {
	layouts := map[diag.ObjectRef]map[string]manifest.TextLayout{}
	add := func(p *policy) {
		if p.obj.Source.File == "" || len(p.annotations) == 0 {
			return
		}
		m := make(map[string]manifest.TextLayout, len(p.annotations))
		for k := range p.annotations {
			m[k] = p.obj.TextLayout(pathMetadata.Key("annotations").Key(k))
		}
		layouts[refOf(p.obj)] = m
	}
	for _, w := range st.plugins {
		add(&w.policy)
	}
	for _, t := range st.telemetry {
		add(&t.policy)
	}
	for i := range st.sets {
		rs := &st.sets[i]
		ref := rs.Plugin
		if ref == (diag.ObjectRef{}) {
			ref = rs.Telemetry
		}
		rs.annotationLayout = layouts[ref]
	}
}
