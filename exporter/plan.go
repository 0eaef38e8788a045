package exporter

import (
	"cmp"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// A plan is what one inventory asks of Prometheus: the route sets grouped
// into the traffic they classify, and the fixed list of queries that
// answer for all of them. Its size depends on the number of distinct route
// tags, never on the number of routes: every query aggregates over all
// routes at once with count by / group by / sum by.
type plan struct {
	sets []*setPlan
	// tags are the distinct route tags, sorted; each costs tagQueries queries.
	tags []string
	// configured[tag] are the route values configured under tag anywhere,
	// plus "unknown", sorted: the only values a query returns per route.
	configured map[string][]string
	// namespaces restricts the topology queries; nil when a mesh-wide set
	// makes every namespace relevant.
	namespaces []string
	// slack is valueSlack; tests lower it to take the filtered path.
	slack int
}

// setPlan is one route set and the destination namespaces whose traffic it
// classifies.
type setPlan struct {
	rs *inventory.RouteSet
	// namespace is the destination_workload_namespace of its traffic; ""
	// for a mesh-wide set, which covers every namespace but exclude.
	namespace string
	exclude   []string
	// routes are its distinct values, in classification order, then unknown.
	routes []string
	// known holds routes for lookups.
	known map[string]bool
}

// covers reports whether traffic to namespace ns is the set's.
func (s *setPlan) covers(ns string) bool {
	if s.namespace != "" {
		return ns == s.namespace
	}
	return !slices.Contains(s.exclude, ns)
}

// newPlan groups the route sets of inv the way the recording rules do (see
// rules' units): a set's traffic is its namespace's, a mesh-wide set's is
// every namespace without a set of its own for the same tag.
func newPlan(inv *inventory.Inventory) *plan {
	p := &plan{configured: map[string][]string{}, slack: valueSlack}
	if inv == nil {
		return p
	}
	own := map[string][]string{} // tag → namespaces with a non-mesh set
	mesh := false
	for i := range inv.RouteSets {
		rs := &inv.RouteSets[i]
		sp := &setPlan{rs: rs, known: map[string]bool{}}
		if rs.Scope.Kind == inventory.ScopeMesh {
			mesh = true
		} else {
			sp.namespace = cmp.Or(rs.Scope.Namespace, rs.Namespace)
			own[rs.Tag] = append(own[rs.Tag], sp.namespace)
			p.namespaces = append(p.namespaces, sp.namespace)
		}
		for _, v := range append(rs.RouteValues(), series.UnknownRoute) {
			if !sp.known[v] {
				sp.known[v] = true
				sp.routes = append(sp.routes, v)
			}
		}
		p.configured[rs.Tag] = append(p.configured[rs.Tag], sp.routes...)
		p.sets = append(p.sets, sp)
	}
	for _, sp := range p.sets {
		if sp.namespace == "" {
			sp.exclude = sortedUnique(own[sp.rs.Tag])
		}
	}
	for tag, values := range p.configured {
		p.configured[tag] = sortedUnique(values)
		p.tags = append(p.tags, tag)
	}
	slices.Sort(p.tags)
	if mesh {
		p.namespaces = nil
	} else {
		p.namespaces = sortedUnique(p.namespaces)
	}
	return p
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// Labels the queries group by.
const (
	labelNamespace = series.LabelWorkloadNamespace
	labelWorkload  = series.LabelWorkload
	labelName      = labels.MetricName
	labelInstance  = "instance"
	// labelTag is added by label_replace to the prefix-mangled series.
	labelTag = series.LabelRouteTag
)

// query is one PromQL instant query and what its rows mean.
type query struct {
	kind queryKind
	tag  string // "" for the topology and mangled queries
	expr string
}

type queryKind int

const (
	// Per tag: series of the configured values, by name, namespace and value.
	qRouteSeries queryKind = iota
	// Per tag: all series carrying the tag, by name and namespace.
	qTagSeries
	// Per tag: distinct values of the tag, by namespace.
	qTagValues
	// Per tag: configured values with traffic in the seen window.
	qSeen
	// Per tag: share of unknown traffic, by workload.
	qUnknownShare
	// Topology, by workload: distinct response codes.
	qCodes
	// Topology, by workload and reporter: distinct (source, proxy) pairs.
	qPeers
	// Topology, by workload: distinct duration buckets.
	qBuckets
	// All tags: series whose name carries a route tag, by namespace and tag.
	qMangled
)

// tagQueries is the number of queries each distinct route tag costs: 2 in
// the first phase, 2 in the second (3 for a tag filtered by value).
const tagQueries = 4

// queries returns the plan's first-phase queries: everything but the
// per-value ones (see valueQueries), which depend on the tag's number of
// values. rate is the window of the unknown share.
func (p *plan) queries(rate time.Duration) []query {
	if len(p.sets) == 0 {
		return nil
	}
	qs := make([]query, 0, 2*len(p.tags)+4)
	for _, tag := range p.tags {
		qs = append(qs, p.tagQueries(tag, rate)...)
	}
	scope := p.namespaceMatchers()
	reqs := pql.Vector(series.IstioRequestsTotal, scope...)
	byWorkload := []string{labelNamespace, labelWorkload}
	distinct := func(v parser.Expr, label ...string) parser.Expr {
		return pql.Aggregate(parser.COUNT, pql.Aggregate(parser.GROUP, v, append(byWorkload, label...)...), byWorkload...)
	}
	peers := pql.Aggregate(parser.COUNT,
		pql.Aggregate(parser.GROUP, reqs, labelNamespace, labelWorkload, series.LabelReporter,
			"source_workload_namespace", "source_workload", labelInstance),
		labelNamespace, labelWorkload, series.LabelReporter)
	return append(qs,
		query{kind: qCodes, expr: distinct(reqs, series.LabelResponseCode).String()},
		query{kind: qPeers, expr: peers.String()},
		query{kind: qBuckets, expr: distinct(pql.Vector(series.IstioRequestDurationBucket, scope...), series.LabelLE).String()},
		query{kind: qMangled, expr: p.mangledQuery().String()},
	)
}

func (p *plan) namespaceMatchers() []*labels.Matcher {
	if p.namespaces == nil {
		return nil
	}
	return []*labels.Matcher{pql.Re(labelNamespace, pql.OneOf(p.namespaces))}
}

// routeMetrics selects both per-route metrics in one selector.
func routeMetrics(ms ...*labels.Matcher) *parser.VectorSelector {
	names := pql.Re(labelName, pql.OneOf([]string{series.IstioRequestsTotal, series.IstioRequestDurationBucket}))
	return pql.Vector("", append([]*labels.Matcher{names}, ms...)...)
}

// tagQueries are the first-phase queries of one tag: its distinct values
// per namespace and the unknown share per workload.
func (p *plan) tagQueries(tag string, rate time.Duration) []query {
	scope := p.namespaceMatchers()
	present := append(slices.Clone(scope), pql.Neq(tag, ""))
	tagValues := pql.Aggregate(parser.COUNT,
		pql.Aggregate(parser.GROUP, pql.Vector(series.IstioRequestsTotal, present...), labelNamespace, tag),
		labelNamespace)

	server := pql.Re(series.LabelReporter, series.ServerReporters)
	rateBy := func(ms ...*labels.Matcher) parser.Expr {
		v := pql.Vector(series.IstioRequestsTotal, append(append(slices.Clone(scope), server), ms...)...)
		return pql.Aggregate(parser.SUM, pql.RangeCall("rate", v, rate), labelNamespace, labelWorkload)
	}
	all := rateBy(pql.Neq(tag, ""))
	unknown := pql.Binary(parser.DIV,
		pql.Binary(parser.LOR, rateBy(pql.Eq(tag, series.UnknownRoute)), pql.Scale(0, all)),
		pql.Compare(parser.GTR, all, 0))
	return []query{
		{kind: qTagValues, tag: tag, expr: tagValues.String()},
		{kind: qUnknownShare, tag: tag, expr: unknown.String()},
	}
}

// valueSlack is how many values beyond the configured ones a tag may have
// and still be queried per value without a filter.
const valueSlack = 1000

// valueQueries are the second-phase queries of one tag: series per value
// and the values with traffic in the seen window. When the tag has few
// values beyond the configured ones (distinct, from the first phase), they
// are grouped by value unfiltered, and the tag's total series are the sum
// of the rows (filtered reports false): a regex of thousands of route
// values, which rarely are plain literals, costs Prometheus more than the
// extra rows. A tag with many unconfigured values (a raw path, say) is
// filtered to the configured ones, so that the answer stays bounded, and
// its total series are one more query.
func (p *plan) valueQueries(tag string, distinct float64, window time.Duration) (qs []query, filtered bool) {
	scope := p.namespaceMatchers()
	present := append(slices.Clone(scope), pql.Neq(tag, ""))
	values := present
	if filtered = distinct > float64(len(p.configured[tag])+p.slack); filtered {
		values = append(slices.Clone(scope), pql.Re(tag, pql.OneOf(p.configured[tag])))
		tagSeries := pql.Aggregate(parser.COUNT, routeMetrics(present...), labelName, labelNamespace)
		qs = append(qs, query{kind: qTagSeries, tag: tag, expr: tagSeries.String()})
	}
	routeSeries := pql.Aggregate(parser.COUNT, routeMetrics(values...), labelName, labelNamespace, tag)
	// Seen: requests in the window, or a series created in it (Envoy
	// creates a series with its first request, and increase() needs two
	// samples).
	reqs := pql.Vector(series.IstioRequestsTotal, values...)
	seen := pql.Aggregate(parser.GROUP,
		pql.Binary(parser.LOR,
			pql.Compare(parser.GTR, pql.RangeCall("increase", reqs, window), 0),
			pql.Binary(parser.LUNLESS, reqs, pql.Offset(reqs, window))),
		labelNamespace, tag)
	return append(qs,
		query{kind: qRouteSeries, tag: tag, expr: routeSeries.String()},
		query{kind: qSeen, tag: tag, expr: seen.String()},
	), filtered
}

// mangledQuery counts the series whose metric name carries a configured
// route tag, envoy_<tag>___<value>___istio_..., by namespace and tag.
func (p *plan) mangledQuery() parser.Expr {
	tags := "(" + pql.OneOf(p.tags) + ")"
	names := pql.Vector("", pql.Re(labelName, "(?:envoy_)?"+tags+"___.*___istio_.+"))
	withTag := pql.Call("label_replace", names, pql.Str(labelTag), pql.Str("$1"), pql.Str(labelName), pql.Str("(?:envoy_)?"+tags+"___.*"))
	return pql.Aggregate(parser.COUNT, withTag, labelNamespace, labelTag)
}
