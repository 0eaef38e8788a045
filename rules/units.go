package rules

import (
	"cmp"
	"fmt"
	"slices"

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

// unit is the traffic one set of rules covers (see inventory.Traffic: the
// requests of one route tag, on one side, to one namespace or mesh-wide).
// Route sets that select the same traffic share a unit, because two rules
// recording the same series would collide in Prometheus. The recorded
// series keep the destination's labels only, so the unit's Namespace,
// Exclude and Apps are all that tell units of one tag apart there.
type unit struct {
	*inventory.Traffic
	// policy is the first set's (Sets are sorted by ID), with the per-route
	// overrides of the others merged in.
	policy  policy.SetPolicy
	latency bool
	// name is the DNS-1123 name of the rule file and PrometheusRule.
	name            string
	objectNamespace string
}

func setObject(rs *inventory.RouteSet) diag.ObjectRef {
	if rs.Telemetry != (diag.ObjectRef{}) {
		return rs.Telemetry
	}
	return rs.Plugin
}

// buildUnits makes a unit of each traffic of inv, resolving the policy of
// each of its sets. Sets that cannot have rules are reported.
func buildUnits(inv *inventory.Inventory, c *compiled) ([]*unit, diag.List) {
	traffic := inv.Traffic()
	unitOf := map[*inventory.RouteSet]*unit{}
	units := make([]*unit, 0, len(traffic))
	for _, t := range traffic {
		u := &unit{Traffic: t}
		for _, rs := range t.Sets {
			unitOf[rs] = u
			u.latency = u.latency || rs.HasLatency()
		}
		units = append(units, u)
	}
	sets := make([]*inventory.RouteSet, 0, len(inv.RouteSets))
	for i := range inv.RouteSets {
		sets = append(sets, &inv.RouteSets[i])
	}
	slices.SortStableFunc(sets, func(a, b *inventory.RouteSet) int { return cmp.Compare(a.ID, b.ID) })
	var diags diag.List
	for _, rs := range sets {
		u, ok := unitOf[rs]
		if !ok {
			diags = append(diags, unusable(rs))
			continue
		}
		sp, pd := policy.Resolve(rs, c.Defaults)
		diags = append(diags, pd...)
		if rs == u.Sets[0] {
			u.policy = sp
		} else {
			diags = append(diags, u.merge(rs, sp)...)
		}
	}
	units, viewDiags := separateViews(units)
	diags = append(diags, viewDiags...)
	nameUnits(units, c.Namespace)
	return units, diags
}

// unusable reports why a route set has no traffic (inventory.HasTraffic),
// and so no rules.
func unusable(rs *inventory.RouteSet) diag.Diagnostic {
	d := diag.Diagnostic{Object: setObject(rs), Source: rs.Source, Field: "spec.metrics"}
	if err := inventory.TagLabelError(rs.Tag); err != nil {
		d.Severity, d.Code, d.Message = diag.Error, CodeBadTag, err.Error()+": no rules generated for this route set"
		return d
	}
	d.Severity, d.Code = diag.Warning, CodeNoRequestCount
	d.Message = fmt.Sprintf("route tag %q is not on REQUEST_COUNT: no per-route rules or alerts", rs.Tag)
	return d
}

// merge adds a second route set to the unit: the first set's policy stays,
// per-route overrides are added unless the route already has one.
func (u *unit) merge(rs *inventory.RouteSet, sp policy.SetPolicy) diag.List {
	first := u.Sets[0]
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

// nameUnits gives each unit a DNS-1123 name from its namespace and tag;
// names that still collide after sanitising get a hash of the raw key.
func nameUnits(units []*unit, objectNamespace string) {
	count := map[string]int{}
	for _, u := range units {
		scope := u.Namespace
		switch {
		case u.ClientSide:
			scope = "source"
		case scope == "":
			scope = "mesh"
		}
		u.name = k8sName("routebundle", scope, u.Tag)
		count[u.name]++
		u.objectNamespace = cmp.Or(objectNamespace, u.Sets[0].Namespace)
	}
	for _, u := range units {
		if count[u.name] > 1 {
			parts := []string{u.Namespace, u.Tag, fmt.Sprint(u.Namespace == "")}
			if u.ClientSide {
				parts = append(parts, "source")
			}
			u.name = withHash(u.name, parts...)
		}
	}
	slices.SortFunc(units, func(a, b *unit) int { return cmp.Compare(a.name, b.name) })
}

// by are the labels every per-route series keeps.
func (u *unit) by() []string {
	return []string{series.LabelWorkloadNamespace, series.LabelWorkload, u.Tag}
}

// namespaces selects the unit's destination namespaces.
func (u *unit) namespaces() []*labels.Matcher {
	ms := make([]*labels.Matcher, 0, len(u.Exclude)+2)
	if u.Namespace != "" {
		ms = append(ms, pql.Eq(series.LabelWorkloadNamespace, u.Namespace))
	}
	for _, ns := range u.Exclude {
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
	if len(u.Apps) > 0 {
		ms = append(ms, pql.Re(series.LabelApp, pql.OneOf(u.Apps)))
	}
	return append(ms, pql.Neq(u.Tag, ""))
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
	ms := append(u.namespaces(), pql.Eq(series.LabelRouteTag, u.Tag))
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
