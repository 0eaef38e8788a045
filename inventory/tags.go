package inventory

import (
	"cmp"
	"slices"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
)

// requestMetrics are the metrics ALL_METRICS stands for in a route set: the
// HTTP request metrics, which are the ones a request classification labels.
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

func (ov *override) metrics() []Metric {
	switch {
	case ov.custom:
		return nil
	case ov.metric == AllMetrics:
		return requestMetrics()
	}
	return []Metric{ov.metric}
}

// tagUse is one tag a Telemetry writes with one value expression, and the
// metrics and sides that carry it.
type tagUse struct {
	tel   *telemetry
	name  string
	value string
	// field is the first tagOverrides entry that writes this value.
	field   manifest.Path
	metrics []Metric
	client  bool
	server  bool
}

// mode renders the sides as Istio's WorkloadMode.
func (u *tagUse) mode() string {
	switch {
	case u.client && u.server:
		return "CLIENT_AND_SERVER"
	case u.client:
		return "CLIENT"
	}
	return "SERVER"
}

type metricSide struct {
	metric Metric
	side   side
}

// tagValue is the value a tag has on one metric and side.
type tagValue struct {
	value string
	field manifest.Path
}

// tagUses applies a Telemetry's overrides in order, for each metric and
// side, as Istio does (a later UPSERT replaces, a REMOVE deletes, a disabled
// metric carries nothing), and groups the result by tag and value. Entries
// whose providers do not include Prometheus are reported and left out.
func (st *state) tagUses(t *telemetry) []*tagUse {
	state := make(map[metricSide]map[string]tagValue)
	disabled := make(map[metricSide]bool)
	for _, me := range t.metrics {
		if !st.reachesPrometheus(t, &me) {
			continue
		}
		for _, ov := range me.overrides {
			applyOverride(state, disabled, &ov)
		}
	}
	byKey := make(map[[2]string]*tagUse)
	for ms, tags := range state {
		if disabled[ms] {
			continue
		}
		for name, tv := range tags {
			key := [2]string{name, tv.value}
			u := byKey[key]
			if u == nil {
				u = &tagUse{tel: t, name: name, value: tv.value, field: tv.field}
				byKey[key] = u
			}
			if tv.field < u.field {
				u.field = tv.field
			}
			if !slices.Contains(u.metrics, ms.metric) {
				u.metrics = append(u.metrics, ms.metric)
			}
			u.client = u.client || ms.side == clientSide
			u.server = u.server || ms.side == serverSide
		}
	}
	out := make([]*tagUse, 0, len(byKey))
	for _, u := range byKey {
		slices.Sort(u.metrics)
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *tagUse) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.field, b.field), cmp.Compare(a.value, b.value))
	})
	return out
}

func applyOverride(state map[metricSide]map[string]tagValue, disabled map[metricSide]bool, ov *override) {
	for _, m := range ov.metrics() {
		for _, sd := range ov.sides() {
			ms := metricSide{m, sd}
			if ov.disabled {
				disabled[ms] = true
			}
			for _, tag := range ov.tags {
				if tag.remove {
					delete(state[ms], tag.name)
					continue
				}
				if state[ms] == nil {
					state[ms] = make(map[string]tagValue)
				}
				state[ms][tag.name] = tagValue{value: tag.value, field: tag.field.Key("value")}
			}
		}
	}
}

// reachesPrometheus reports whether a metrics entry configures the
// Prometheus provider: no providers means the mesh default, prometheus.
func (st *state) reachesPrometheus(t *telemetry, me *metricsEntry) bool {
	if len(me.providers) == 0 || slices.Contains(me.providers, "prometheus") {
		return true
	}
	if me.hasTags() {
		st.c.add(diag.CodeNonPrometheusProvider, t.obj, me.field.Key("providers"),
			"providers %v do not include prometheus: these tag overrides never reach Prometheus and no route set is built from them",
			me.providers)
	}
	return false
}
