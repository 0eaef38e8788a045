package inventory

import (
	"cmp"
	"maps"
	"slices"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
)

// requestMetrics are the metrics a request classification labels: ALL_METRICS
// also stands for the TCP and gRPC message metrics, which carry no HTTP
// request attributes and which no route set reads.
func requestMetrics() []Metric {
	return []Metric{RequestCount, RequestDuration, RequestSize, ResponseSize}
}

// side is the reporting side of a metric (match.mode).
type side int

const (
	clientSide side = iota
	serverSide
)

func (ov *override) sides() []side {
	switch ov.mode {
	case "CLIENT":
		return []side{clientSide}
	case "SERVER":
		return []side{serverSide}
	}
	return []side{clientSide, serverSide}
}

// metrics returns the request metrics the override matches.
func (ov *override) metrics() []Metric {
	switch {
	case ov.custom:
		return nil
	case ov.metric == AllMetrics:
		return requestMetrics()
	case slices.Contains(requestMetrics(), ov.metric):
		return []Metric{ov.metric}
	}
	return nil
}

// allMetrics: an override without metric, or with ALL_METRICS (Istio's
// isAllMetrics; a customMetric is not).
func (ov *override) allMetrics() bool { return !ov.custom && ov.metric == AllMetrics }

// tagUse is one tag a Telemetry writes with one value, and the metrics of
// each side that carry it. Values that mean the same (filter_state['wasm.x']
// and filter_state["wasm.x"], or CEL that differs only in spacing) are one
// use.
type tagUse struct {
	tel   *telemetry
	name  string
	value string
	// field is the first tagOverrides entry that writes this value.
	field manifest.Path
	// server and client are the metrics carrying the tag on each side, sorted.
	server, client []Metric
	// remove: the use stands for a REMOVE of the tag (value is empty).
	remove bool
}

// mode renders the sides as Istio's WorkloadMode.
func (u *tagUse) mode() string {
	switch {
	case len(u.client) > 0 && len(u.server) > 0:
		return "CLIENT_AND_SERVER"
	case len(u.client) > 0:
		return "CLIENT"
	}
	return "SERVER"
}

// metrics are the metrics of the side the bundle reads: the server's, or
// the client's for a tag the server side does not carry.
func (u *tagUse) metrics() []Metric {
	if len(u.server) > 0 {
		return u.server
	}
	return u.client
}

// tagValue is what a tag is on one metric and side.
type tagValue struct {
	value  string
	remove bool
	field  manifest.Path
}

// metricState is the merged override of one metric on one side.
type metricState struct {
	disabled bool
	tags     map[string]tagValue
}

// sideState is the merged overrides of one side.
type sideState struct {
	// disabledAll is set by ALL_METRICS disabled: true and cleared by any
	// later override of the side.
	disabledAll bool
	// metrics are indexed like requestMetrics(); nil when no override
	// matched the metric.
	metrics [4]*metricState
}

// metricIndex is m's index in requestMetrics().
func metricIndex(m Metric) int { return slices.Index(requestMetrics(), m) }

// overrideState merges a Telemetry's overrides as pilot does (istio/istio
// pilot/pkg/model/telemetry.go, mergeMetrics), for the Prometheus provider:
//   - entries apply in order, and later ones take precedence;
//   - ALL_METRICS (or no metric) with disabled: true switches the side's
//     metrics off and applies no tags; any later override of that side, of
//     any metric, switches them back on ("root namespace disables all, but
//     then enables them by namespace scoped"), so disabled is not sticky;
//   - otherwise an override sets disabled on each metric it matches only
//     when it has the field, and merges its tagOverrides into the metric's,
//     a later UPSERT or REMOVE of a tag replacing an earlier one.
type overrideState [2]sideState

func (s *overrideState) apply(ov *override) {
	if ov.allMetrics() && ov.disabledSet && ov.disabled {
		for _, sd := range ov.sides() {
			s[sd].disabledAll = true
		}
		return
	}
	for _, sd := range ov.sides() {
		st := &s[sd]
		st.disabledAll = false
		for _, m := range ov.metrics() {
			ms := st.metrics[metricIndex(m)]
			if ms == nil {
				ms = &metricState{tags: make(map[string]tagValue, len(ov.tags))}
				st.metrics[metricIndex(m)] = ms
			}
			if ov.disabledSet {
				ms.disabled = ov.disabled
			}
			for _, tag := range ov.tags {
				ms.tags[tag.name] = tagValue{value: tag.value, remove: tag.remove, field: tag.field.Key("value")}
			}
		}
	}
}

// reported reports whether the metric of index i on side sd is reported
// with the overrides of this Telemetry.
func (s *overrideState) reported(sd side, i int) bool {
	ms := s[sd].metrics[i]
	return !s[sd].disabledAll && ms != nil && !ms.disabled
}

// tagUses merges a Telemetry's overrides (see overrideState) and groups
// the tags the reported request metrics end up with by name and meaning.
// Entries that do not configure Prometheus are reported and left out.
// disabled lists the tags written only on metrics that are switched off,
// and removed the tags whose last override on some reported metric is a
// REMOVE, as uses with remove set and the metrics it is removed from.
func (st *state) tagUses(t *telemetry) (uses []*tagUse, disabled []tagValueOf, removed []*tagUse) {
	s := &overrideState{}
	for i := range t.metrics {
		if st.reachesPrometheus(t, i) {
			for j := range t.metrics[i].overrides {
				s.apply(&t.metrics[i].overrides[j])
			}
		}
	}
	byKey := make(map[[2]string]*tagUse)
	written := make(map[string]tagValueOf)
	for _, sd := range []side{clientSide, serverSide} {
		for i, m := range requestMetrics() {
			if s[sd].metrics[i] == nil {
				continue
			}
			for name, tv := range s[sd].metrics[i].tags {
				if !s.reported(sd, i) {
					if !tv.remove {
						written[name] = cmp.Or(written[name], tagValueOf{name, tv})
					}
					continue
				}
				key := [2]string{name, st.valueKey(tv)}
				u := byKey[key]
				if u == nil {
					u = &tagUse{tel: t, name: name, value: tv.value, field: tv.field, remove: tv.remove}
					byKey[key] = u
				}
				if tv.field < u.field {
					u.field, u.value = tv.field, tv.value
				}
				if sd == serverSide {
					u.server = append(u.server, m)
				} else {
					u.client = append(u.client, m)
				}
			}
		}
	}
	for _, u := range byKey {
		slices.Sort(u.server)
		u.server = slices.Compact(u.server)
		slices.Sort(u.client)
		u.client = slices.Compact(u.client)
		delete(written, u.name)
		if u.remove {
			removed = append(removed, u)
			continue
		}
		uses = append(uses, u)
	}
	sortUses(uses)
	sortUses(removed)
	for _, name := range slices.Sorted(maps.Keys(written)) {
		disabled = append(disabled, written[name])
	}
	return uses, disabled, removed
}

// tagValueOf is a tag and its value.
type tagValueOf struct {
	name string
	tagValue
}

func sortUses(uses []*tagUse) {
	slices.SortFunc(uses, func(a, b *tagUse) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.field, b.field), cmp.Compare(a.value, b.value))
	})
}

// valueKey is what a tag value means, for telling values apart: the
// attribute a reference reads, in the form it reads it (a bare name reads
// nothing since Istio 1.24; both quotings of filter_state read the same),
// or a CEL expression re-rendered from its syntax tree.
func (st *state) valueKey(tv tagValue) string {
	if tv.remove {
		return "\x00remove"
	}
	if attr, form, ok := attrgen.ParseAttributeRef(tv.value); ok {
		if form == attrgen.Bare {
			return "bare\x00" + attr
		}
		return "filter_state\x00" + attr
	}
	if ci := st.analyze(tv.value); ci.canonical != "" {
		return "cel\x00" + ci.canonical
	}
	return "text\x00" + tv.value
}

// reachesPrometheus reports whether metrics entry i of t configures the
// Prometheus provider. As in pilot's mergeMetrics, an entry without
// providers inherits those of the entry before it (the mesh default,
// prometheus, for the first), and only the providers of the last entry
// that names any are configured at all.
func (st *state) reachesPrometheus(t *telemetry, i int) bool {
	const prometheus = "prometheus"
	own := []string{prometheus}
	for j := range i + 1 {
		if p := t.metrics[j].providers; len(p) > 0 {
			own = p
		}
	}
	inScope := own
	for j := i + 1; j < len(t.metrics); j++ {
		if p := t.metrics[j].providers; len(p) > 0 {
			inScope = p
		}
	}
	me := &t.metrics[i]
	switch {
	case !slices.Contains(own, prometheus):
		if me.hasTags() {
			what := "providers %v do not include prometheus"
			if len(me.providers) == 0 {
				what = "this entry inherits providers %v from the entry before it, which do not include prometheus"
			}
			st.c.add(diag.CodeNonPrometheusProvider, t.obj, me.field.Key("providers"),
				what+": these tag overrides never reach Prometheus and no route set is built from them", own)
		}
		return false
	case !slices.Contains(inScope, prometheus):
		if me.hasTags() {
			st.c.add(diag.CodeNonPrometheusProvider, t.obj, me.field.Key("providers"),
				"a later metrics entry names providers %v without prometheus, and the last providers named are the only ones Istio configures: these tag overrides never reach Prometheus and no route set is built from them",
				inScope)
		}
		return false
	}
	return true
}
