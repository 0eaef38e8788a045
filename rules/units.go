package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

// Diagnostic codes reported by Build (policy reports RB301-RB303).
const (
	// CodeOptions: the rules section of the bundle config is invalid.
	CodeOptions = "RB310"
	// CodeBadTag: the route tag cannot be a Prometheus label of the recorded series.
	CodeBadTag = "RB311"
	// CodeNoRequestCount: the route tag is not on REQUEST_COUNT, so there is nothing to record.
	CodeNoRequestCount = "RB312"
	// CodeSharedSeries: two route sets classify the same namespace under the same tag.
	CodeSharedSeries = "RB313"
)

// unit is the traffic one set of rules covers: the server-side requests of
// one namespace (or of the whole mesh) that carry one route tag. Route sets
// that select the same traffic share a unit, because two rules recording
// the same series would collide in Prometheus.
//
// A route set of the root namespace applies in every namespace
// (inventory.ScopeMesh): all of them with one tag share one mesh unit,
// which selects every namespace but those with a unit of their own for the
// tag. When each of its route sets runs only on workloads with an app label
// (a root WasmPlugin's selector, as Istio's classify-metrics task and
// Kiali's demo write them), the unit selects those workloads by
// destination_app, the label Istio's stats filter fills from the
// workload's app label (istio/proxy extensions/common/metadata_object.h,
// AppNameLabel): a mesh-wide Telemetry also tags every other workload, as
// "unknown", and those are not the classified routes' traffic.
type unit struct {
	// namespace is the destination_workload_namespace selected; "" for a
	// mesh-wide set, which selects every namespace except exclude.
	namespace string
	exclude   []string
	// apps, when set, are the destination_app values a mesh unit selects.
	apps []string
	tag  string
	// source: the unit reads the client side (reporter="source"), where
	// gateways and client sidecars write route names (see views.go).
	source bool
	// sets are sorted by ID; the first decides the set-wide policy.
	sets    []*inventory.RouteSet
	policy  policy.SetPolicy
	latency bool
	// name is the DNS-1123 name of the rule file and PrometheusRule.
	name            string
	objectNamespace string
}

// key identifies the traffic of a unit.
type unitKey struct {
	mesh      bool
	source    bool
	namespace string
	tag       string
}

func checkTag(tag string) error {
	if !model.LabelName(tag).IsValidLegacy() || strings.HasPrefix(tag, "__") {
		return fmt.Errorf("route tag %q is not a usable Prometheus label name", tag)
	}
	// The rules group and match by these labels; a route tag of the same
	// name would corrupt the recorded series.
	switch tag {
	case series.LabelReporter, series.LabelResponseCode, series.LabelWorkloadNamespace,
		series.LabelWorkload, series.LabelLE, series.LabelQuantile, series.LabelRouteTag:
		return fmt.Errorf("route tag %q collides with a label Istio or routebundle already uses", tag)
	}
	return nil
}

func setObject(rs *inventory.RouteSet) diag.ObjectRef {
	if rs.Telemetry != (diag.ObjectRef{}) {
		return rs.Telemetry
	}
	return rs.Plugin
}

// buildUnits groups the route sets of inv into units, resolving each set's
// policy. Sets that cannot have rules are reported and left out.
func buildUnits(inv *inventory.Inventory, c *compiled) ([]*unit, diag.List) {
	sets := make([]*inventory.RouteSet, 0, len(inv.RouteSets))
	for i := range inv.RouteSets {
		sets = append(sets, &inv.RouteSets[i])
	}
	slices.SortStableFunc(sets, func(a, b *inventory.RouteSet) int { return cmp.Compare(a.ID, b.ID) })

	var diags diag.List
	byKey := map[unitKey]*unit{}
	var units []*unit
	for _, rs := range sets {
		if d, ok := usable(rs); !ok {
			diags = append(diags, d)
			continue
		}
		sp, pd := policy.Resolve(rs, c.Defaults)
		diags = append(diags, pd...)
		k := keyOf(rs)
		u, ok := byKey[k]
		if !ok {
			u = &unit{namespace: k.namespace, tag: k.tag, policy: sp, source: k.source}
			byKey[k] = u
			units = append(units, u)
		} else {
			diags = append(diags, u.merge(rs, sp)...)
		}
		u.sets = append(u.sets, rs)
		u.latency = u.latency || rs.HasLatency()
	}
	for _, u := range units {
		u.apps = meshApps(u)
	}
	units, viewDiags := separateViews(units)
	diags = append(diags, viewDiags...)
	excludeOwnUnits(units)
	nameUnits(units, c.Namespace)
	return units, diags
}

// usable reports why a route set gets no rules.
func usable(rs *inventory.RouteSet) (diag.Diagnostic, bool) {
	d := diag.Diagnostic{Object: setObject(rs), Source: rs.Source, Field: "spec.metrics"}
	if err := checkTag(rs.Tag); err != nil {
		d.Severity, d.Code, d.Message = diag.Error, CodeBadTag, err.Error()+": no rules generated for this route set"
		return d, false
	}
	if !rs.HasMetric(inventory.RequestCount) {
		d.Severity, d.Code = diag.Warning, CodeNoRequestCount
		d.Message = fmt.Sprintf("route tag %q is not on REQUEST_COUNT: no per-route rules or alerts", rs.Tag)
		return d, false
	}
	return d, true
}

// keyOf is the traffic a route set selects: its namespace, or for a set of
// the root namespace (with or without a selector) every namespace.
func keyOf(rs *inventory.RouteSet) unitKey {
	if rs.Reporter == inventory.ReporterSource {
		return unitKey{mesh: true, source: true, tag: rs.Tag}
	}
	if rs.Scope.Kind == inventory.ScopeMesh {
		return unitKey{mesh: true, tag: rs.Tag}
	}
	ns := cmp.Or(rs.Scope.Namespace, rs.Namespace)
	return unitKey{namespace: ns, tag: rs.Tag}
}

// meshApps returns the app labels that select the workloads of a mesh
// unit, or nil when some route set of it runs without an app selector
// (then the unit takes every workload the tag is on).
func meshApps(u *unit) []string {
	if u.namespace != "" || u.source || u.sets[0].Scope.Kind != inventory.ScopeMesh {
		return nil
	}
	var apps []string
	for _, rs := range u.sets {
		app, ok := rs.Scope.Selector["app"]
		if !ok {
			return nil
		}
		apps = append(apps, app)
	}
	slices.Sort(apps)
	return slices.Compact(apps)
}

// merge adds a second route set to the unit: the first set's policy stays,
// per-route overrides are added unless the route already has one.
func (u *unit) merge(rs *inventory.RouteSet, sp policy.SetPolicy) diag.List {
	first := u.sets[0]
	var diags diag.List
	report := func(msg string) {
		diags = append(diags, diag.Diagnostic{
			Severity: diag.Warning, Code: CodeSharedSeries, Object: setObject(rs), Source: rs.Source,
			Field: "metadata.annotations", Message: msg,
		})
	}
	if sp.Set != u.policy.Set {
		report(fmt.Sprintf("classifies the same traffic (tag %q) as route set %s and shares its rules; "+
			"the alert policy of %s applies", rs.Tag, first.ID, first.ID))
	}
	for _, v := range sp.Overrides() {
		if have, ok := u.policy.Routes[v]; ok && have != sp.Routes[v] {
			report(fmt.Sprintf("route %q: route set %s overrides it differently; its override applies", v, first.ID))
			continue
		}
		if u.policy.Routes == nil {
			u.policy.Routes = map[string]policy.Policy{}
		}
		u.policy.Routes[v] = sp.Routes[v]
	}
	return diags
}

// excludeOwnUnits keeps a mesh-wide unit (and a client-side one, which
// selects every destination namespace too) away from the namespaces that
// have a unit of their own for the same tag, so no series is recorded
// twice.
func excludeOwnUnits(units []*unit) {
	for _, m := range units {
		if m.namespace != "" {
			continue
		}
		for _, u := range units {
			if u != m && u.tag == m.tag && u.namespace != "" {
				m.exclude = append(m.exclude, u.namespace)
			}
		}
		slices.Sort(m.exclude)
		m.exclude = slices.Compact(m.exclude)
	}
}

// nameUnits gives each unit a DNS-1123 name from its namespace and tag;
// names that still collide after sanitising get a hash of the raw key.
func nameUnits(units []*unit, objectNamespace string) {
	count := map[string]int{}
	for _, u := range units {
		scope := u.namespace
		switch {
		case u.source:
			scope = "source"
		case scope == "":
			scope = "mesh"
		}
		u.name = k8sName("routebundle", scope, u.tag)
		count[u.name]++
		u.objectNamespace = cmp.Or(objectNamespace, u.sets[0].Namespace)
	}
	for _, u := range units {
		if count[u.name] > 1 {
			parts := []string{u.namespace, u.tag, fmt.Sprint(u.namespace == "")}
			if u.source {
				parts = append(parts, "source")
			}
			u.name = withHash(u.name, parts...)
		}
	}
	slices.SortFunc(units, func(a, b *unit) int { return cmp.Compare(a.name, b.name) })
}

// by are the labels every per-route series keeps.
func (u *unit) by() []string {
	return []string{series.LabelWorkloadNamespace, series.LabelWorkload, u.tag}
}

// namespaces selects the unit's destination namespaces.
func (u *unit) namespaces() []*labels.Matcher {
	ms := make([]*labels.Matcher, 0, len(u.exclude)+2)
	if u.namespace != "" {
		ms = append(ms, pql.Eq(series.LabelWorkloadNamespace, u.namespace))
	}
	for _, ns := range u.exclude {
		ms = append(ms, pql.Neq(series.LabelWorkloadNamespace, ns))
	}
	return ms
}

// scope selects the unit's namespaces, its workloads and the presence of
// the route tag in Istio's metrics. The recorded series keep no app label:
// only the namespaces tell units apart there, and a mesh unit is the only
// one of its tag outside the namespaces it excludes.
func (u *unit) scope() []*labels.Matcher {
	ms := u.namespaces()
	if len(u.apps) > 0 {
		ms = append(ms, pql.Re(series.LabelApp, pql.OneOf(u.apps)))
	}
	return append(ms, pql.Neq(u.tag, ""))
}

// raw selects an Istio metric as the server side reports it.
func (u *unit) raw(metric string, extra ...*labels.Matcher) *parser.VectorSelector {
	ms := append(u.scope(), u.reporter())
	return pql.Vector(metric, append(ms, extra...)...)
}

// recorded selects one of the unit's recorded series. They carry the
// route tag's name in route_tag: an equality matcher the index answers
// from one postings list, where tag!="" would merge the lists of every
// route value of the mesh.
func (u *unit) recorded(name string, extra ...*labels.Matcher) *parser.VectorSelector {
	ms := append(u.namespaces(), pql.Eq(series.LabelRouteTag, u.tag))
	return pql.Vector(name, append(ms, extra...)...)
}

// hasObjective reports whether any route of the unit has an SLO.
func (u *unit) hasObjective() bool {
	if u.policy.Set.Objective > 0 {
		return true
	}
	for _, p := range u.policy.Routes {
		if p.Objective > 0 {
			return true
		}
	}
	return false
}
