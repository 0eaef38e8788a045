package inventory

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/series"
)

// standardLabel reports the labels Istio's stats filter puts on every
// request metric (istio/proxy istio_stats.cc, the Context's tag names). A
// tagOverride of one of them changes what the label says; it is not a route
// tag.
func standardLabel(name string) bool {
	switch name {
	case "reporter",
		"source_workload", "source_workload_namespace", "source_principal", "source_app",
		"source_version", "source_canonical_service", "source_canonical_revision", "source_cluster",
		"destination_workload", "destination_workload_namespace", "destination_principal",
		"destination_app", "destination_version", "destination_service", "destination_service_name",
		"destination_service_namespace", "destination_canonical_service",
		"destination_canonical_revision", "destination_cluster",
		"request_protocol", "response_flags", "connection_security_policy", "response_code",
		"grpc_response_status":
		return true
	}
	return false
}

// labelTag checks a tag that overrides one of Istio's own labels: it reads
// an attribute as a route tag does (and may read it wrongly), but no route
// set is built from it.
func (st *state) labelTag(u *tagUse, producers *producerIndex, consumed map[*attrConfig]bool) {
	attr, form, isRef := attrgen.ParseAttributeRef(u.value)
	if !isRef {
		st.checkLabelCEL(u)
		return
	}
	inScope := st.inScope(producers.candidates(attr, u.tel), u.tel)
	for _, ac := range inScope {
		consumed[ac] = true
	}
	switch {
	case peerAttribute(attr):
		m := attrgen.Move{Old: u.value, New: "filter_state." + attr}
		st.c.add(diag.CodeMovedAttribute, u.tel.obj, u.field, "tag %s reads %s: %s", u.name, m.Old, moveText(m))
	case form == attrgen.Bare:
		st.reportBare(u, attr, len(inScope) > 0)
	case len(inScope) == 0:
		st.reportUnproduced(u, attr, producers.byAttr[attr], st.similarAttribute(producers, attr, u.tel))
	}
}

// checkLabelCEL checks a CEL value of one of Istio's labels.
func (st *state) checkLabelCEL(u *tagUse) {
	ci := st.analyze(u.value)
	if moved := ci.movedTag(); len(moved) > 0 {
		st.c.add(diag.CodeMovedAttribute, u.tel.obj, u.field, "tag %s reads %s: %s", u.name, moved[0].Old, moveText(moved[0]))
		return
	}
	if _, err := st.b.tags.Compile(u.value); err != nil {
		st.reportCompileError(u.tel.obj, u.field, err, fmt.Sprintf("the stats filter cannot parse it and leaves Istio's %s as it is", u.name))
	}
}

// rulesLabels are the labels the bundle's rules select or group on.
func rulesLabel(name string) bool {
	switch name {
	case series.LabelResponseCode, series.LabelReporter, series.LabelWorkload, series.LabelWorkloadNamespace:
		return true
	}
	return false
}

// defaultErrorCodes is the default error selector's regex (rules.errorSelector
// response_code=~"5..").
var defaultErrorCodes = regexp.MustCompile(`^(?:5..)$`)

// reportLabelOverrides says, for a Telemetry that writes a route tag, what
// its overrides of the labels the rules read do to them: the rules count
// errors by response_code, select the server side by reporter and group by
// the destination workload.
func (st *state) reportLabelOverrides(routeUses, labelUses []*tagUse, producers *producerIndex) {
	var routeMetrics []Metric
	for _, u := range routeUses {
		routeMetrics = append(routeMetrics, u.server...)
	}
	for _, u := range labelUses {
		if !rulesLabel(u.name) {
			continue
		}
		var on []string
		for _, m := range u.server {
			if slices.Contains(routeMetrics, m) && (m == RequestCount || m == RequestDuration) {
				on = append(on, string(m))
			}
		}
		if len(on) == 0 {
			continue
		}
		st.c.add(diag.CodeLabelOverride, u.tel.obj, u.field, "%s", st.labelEffect(u, strings.Join(on, " and "), producers))
	}
}

// labelEffect words what overriding label u.name on metrics does.
func (st *state) labelEffect(u *tagUse, metrics string, producers *producerIndex) string {
	what := fmt.Sprintf("this Telemetry replaces Istio's %s with %s on %s, which the route rules read", u.name, u.value, metrics)
	if u.remove {
		what = fmt.Sprintf("this Telemetry removes %s from %s, which the route rules read", u.name, metrics)
	}
	switch u.name {
	case series.LabelResponseCode:
		if u.remove {
			return what + `: the error selector (response_code=~"5.." by default) matches no request, so every route's error ratio reads 0`
		}
		return what + `: the error selector (response_code=~"5.." by default) now counts ` + st.errorValues(u, producers)
	case series.LabelReporter:
		return what + fmt.Sprintf(": they keep only series with reporter=~%q, so the server-side view changes or vanishes", series.ServerReporters)
	}
	return what + ": the rules select and group the per-route series by it, so they no longer follow Istio's workloads"
}

// errorValues says which values of a response_code override count as errors.
func (st *state) errorValues(u *tagUse, producers *producerIndex) string {
	attr, form, isRef := attrgen.ParseAttributeRef(u.value)
	switch {
	case !isRef:
		return "the requests for which the expression yields a value matching 5.."
	case form == attrgen.Bare:
		return fmt.Sprintf("nothing: the bare attribute %s reads %q for every request", attr, series.UnknownRoute)
	}
	var errs, others []string
	for _, ac := range st.inScope(producers.candidates(attr, u.tel), u.tel) {
		for _, r := range ac.matches {
			if defaultErrorCodes.MatchString(r.Value) {
				errs = appendUnique(errs, r.Value)
			} else {
				others = appendUnique(others, r.Value)
			}
		}
	}
	unset := fmt.Sprintf("; requests the attribute leaves unset read %q and are never errors", series.UnknownRoute)
	if len(errs) == 0 {
		return fmt.Sprintf("no request: none of %s's values (%s) matches", attr, strings.Join(others, ", ")) + unset
	}
	return fmt.Sprintf("the requests %s classifies as %s", attr, strings.Join(errs, ", ")) + unset
}
