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
	o := rs.annotated
	if o == nil || o.Source.File == "" {
		return rs.Source
	}
	p := pathMetadata.Key("annotations").Key(key)
	if textLine > 0 {
		return o.TextSource(p, textLine)
	}
	return o.FieldSource(p)
}

// linkAnnotations records, for each route set, the object its annotations
// were read from.
func (st *state) linkAnnotations() {
	objs := make(map[diag.ObjectRef]*manifest.Object, len(st.plugins)+len(st.telemetry))
	for _, w := range st.plugins {
		objs[refOf(w.obj)] = w.obj
	}
	for _, t := range st.telemetry {
		objs[refOf(t.obj)] = t.obj
	}
	for i := range st.sets {
		rs := &st.sets[i]
		ref := rs.Plugin
		if ref == (diag.ObjectRef{}) {
			ref = rs.Telemetry
		}
		rs.annotated = objs[ref]
	}
}
