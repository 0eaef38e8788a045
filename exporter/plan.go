package exporter

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// A plan is what one inventory asks of Prometheus: the route sets and the
// traffic they classify (inventory.Traffic, the recording rules' units),
// and the fixed list of queries that answer for all of them. Its size
// depends on the number of distinct route tags, never on the number of
// routes: every query aggregates over all routes at once with count by /
// group by / sum by.
type plan struct {
	sets []*setPlan
	// tags are the distinct route tags with traffic, sorted; each costs
	// tagQueries queries.
	tags  []string
	byTag map[string]*tagPlan
	// namespaces restricts the queries; nil when mesh-wide traffic makes
	// every namespace relevant.
	namespaces []string
	// byApp: some traffic is restricted to apps, so the topology queries
	// group by destination_app too.
	byApp bool
	// clientApps: some client-side set's proxies are told apart by their
	// app label, so the peers query groups its client-side rows by
	// source_app too.
	clientApps bool
	// slack is valueSlack; tests lower it to take the filtered path.
	slack int
}

// tagPlan is what the queries of one tag select.
type tagPlan struct {
	// configured are the route values configured under the tag anywhere,
	// plus "unknown", sorted: the only values a query returns per route.
	configured []string
	// traffic of the tag; it decides the sides queried.
	traffic        []*inventory.Traffic
	server, client bool
	// byApp: server-side traffic of the tag is restricted to apps, so its
	// server-side queries group by destination_app.
	byApp bool
}

// covers reports whether some traffic of the tag is requests to ns and app
// on the given side.
func (tp *tagPlan) covers(ns, app string, client bool) bool {
	return slices.ContainsFunc(tp.traffic, func(t *inventory.Traffic) bool { return t.Covers(ns, app, client) })
}

// setPlan is one route set and the traffic it classifies.
type setPlan struct {
	rs *inventory.RouteSet
	// traffic is nil for a set without (inventory.RouteSet.HasTraffic):
	// it has configuration series only.
	traffic *inventory.Traffic
	// routes are its distinct values, in classification order, then unknown.
	routes []string
	// known holds routes for lookups; trafficKnown the values of every set
	// of its traffic, which are configured there.
	known, trafficKnown map[string]bool
	// clients are the proxies whose reports carry the tag, for a set read
	// on the client side; nil otherwise.
	clients *clientProxies
}

// clientProxies are the client proxies of a route set read on the client
// side, as the source labels of istio_requests_total can tell them:
// namespace ("" for every namespace) and app ("" for any). The traffic of
// such sets is shared by every client-side set of the tag (one
// inventory.Traffic), but each set's routes are written by its own proxies
// only, so that is the peers its prediction counts.
type clientProxies struct{ namespace, app string }

// clientsOf are the proxies of a set read on the client side (nil for a
// server-side set). A gateway's (inventory.ScopeGateway) are its
// deployment's pods in the gateway's namespace. Its workload is named
// <gateway>-<class> only when istiod deploys it (a manual deployment, or
// one named by annotation, is anything), and matching source_workload
// would make the peers query a row per client workload and destination:
// the namespace is the bound, exact in the usual layout of a gateway
// namespace holding gateways only. Client sidecars are those its
// Telemetry reaches: its namespace (every one from the root namespace),
// and of them, when it selects by app, those with that app (source_app;
// other selector labels have no metrics label, and are not narrowed).
func clientsOf(rs *inventory.RouteSet) *clientProxies {
	if rs.Reporter != inventory.ReporterSource {
		return nil
	}
	c := &clientProxies{app: rs.Scope.Selector["app"]}
	if rs.Scope.Kind != inventory.ScopeMesh {
		c.namespace = cmp.Or(rs.Scope.Namespace, rs.Namespace)
	}
	return c
}

// has reports whether the client proxies include those of peer k.
func (c *clientProxies) has(k peerKey) bool {
	return (c.namespace == "" || c.namespace == k.namespace) && (c.app == "" || c.app == k.app)
}

// newPlan groups the route sets of inv into their traffic, the way the
// recording rules do.
func newPlan(inv *inventory.Inventory) *plan {
	p := &plan{byTag: map[string]*tagPlan{}, slack: valueSlack}
	if inv == nil {
		return p
	}
	trafficOf := map[*inventory.RouteSet]*inventory.Traffic{}
	mesh := false
	for _, t := range inv.Traffic() {
		tp := p.byTag[t.Tag]
		if tp == nil {
			tp = &tagPlan{}
			p.byTag[t.Tag] = tp
			p.tags = append(p.tags, t.Tag)
		}
		tp.traffic = append(tp.traffic, t)
		tp.client = tp.client || t.ClientSide
		tp.server = tp.server || !t.ClientSide
		tp.byApp = tp.byApp || len(t.Apps) > 0
		p.byApp = p.byApp || len(t.Apps) > 0
		if t.MeshWide() {
			mesh = true
		} else {
			p.namespaces = append(p.namespaces, t.Namespace)
		}
		for _, rs := range t.Sets {
			trafficOf[rs] = t
		}
	}
	byTraffic := map[*inventory.Traffic]map[string]bool{}
	for i := range inv.RouteSets {
		rs := &inv.RouteSets[i]
		sp := &setPlan{rs: rs, known: map[string]bool{}, traffic: trafficOf[rs], clients: clientsOf(rs)}
		p.clientApps = p.clientApps || sp.clients != nil && sp.clients.app != ""
		for _, v := range append(rs.RouteValues(), series.UnknownRoute) {
			if !sp.known[v] {
				sp.known[v] = true
				sp.routes = append(sp.routes, v)
			}
		}
		p.sets = append(p.sets, sp)
		if sp.traffic == nil {
			continue
		}
		if byTraffic[sp.traffic] == nil {
			byTraffic[sp.traffic] = map[string]bool{}
		}
		sp.trafficKnown = byTraffic[sp.traffic]
		maps.Copy(sp.trafficKnown, sp.known)
		tp := p.byTag[rs.Tag]
		tp.configured = append(tp.configured, sp.routes...)
	}
	for _, tp := range p.byTag {
		tp.configured = sortedUnique(tp.configured)
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
	labelApp       = series.LabelApp
	labelName      = labels.MetricName
	labelInstance  = "instance"
	// The client's labels, which the peers query counts by.
	labelSourceNamespace = "source_workload_namespace"
	labelSourceWorkload  = "source_workload"
	labelSourceApp       = "source_app"
	// labelTag is added by label_replace to the prefix-mangled series.
	labelTag = series.LabelRouteTag
	// labelSide is added by label_replace to the rows of a per-tag query:
	// sideServer or sideClient, the side the rows were selected on.
	labelSide = "routebundle_side"
)

// Sides of a traffic, as labelSide and the exported side label spell them.
const (
	sideServer = "server"
	sideClient = "client"
)

func sideName(client bool) string {
	if client {
		return sideClient
	}
	return sideServer
}

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
// the first phase, 2 in the second (3 for a tag filtered by value). A tag
// read on both sides costs no more: each query selects both, and labels
// the rows of each with labelSide.
const tagQueries = 4

// queries returns the plan's first-phase queries: everything but the
// per-value ones (see valueQueries), which depend on the tag's number of
// values. rate is the window of the unknown share.
func (p *plan) queries(rate time.Duration) []query {
	if len(p.tags) == 0 {
		return nil
	}
	qs := make([]query, 0, 2*len(p.tags)+4)
	for _, tag := range p.tags {
		qs = append(qs, p.tagQueries(tag, rate)...)
	}
	scope := p.namespaceMatchers()
	reqs := pql.Vector(series.IstioRequestsTotal, scope...)
	byWorkload := []string{labelNamespace, labelWorkload}
	if p.byApp {
		byWorkload = append(byWorkload, labelApp)
	}
	distinct := func(v parser.Expr, label ...string) parser.Expr {
		return pql.Aggregate(parser.COUNT, pql.Aggregate(parser.GROUP, v, append(slices.Clone(byWorkload), label...)...), byWorkload...)
	}
	return append(qs,
		query{kind: qCodes, expr: distinct(reqs, series.LabelResponseCode).String()},
		query{kind: qPeers, expr: p.peersQuery(scope, byWorkload).String()},
		query{kind: qBuckets, expr: distinct(pql.Vector(series.IstioRequestDurationBucket, scope...), series.LabelLE).String()},
		query{kind: qMangled, expr: p.mangledQuery().String()},
	)
}

// peersQuery counts the distinct (source workload, proxy) pairs reporting
// requests to each destination workload, by reporter. The client-side rows
// are told apart by source namespace too (and source app, where a
// client-side set selects its sidecars by app), since a client-side set's
// tag is only on its own proxies' reports (clientsOf): a row per
// destination workload and client namespace (or app), bounded by the
// mesh's namespaces and apps, never by routes or pods. The server side
// keeps one row per destination workload and reporter.
func (p *plan) peersQuery(scope []*labels.Matcher, byWorkload []string) parser.Expr {
	peers := func(reporter *labels.Matcher, source ...string) parser.Expr {
		outer := by(byWorkload, append([]string{series.LabelReporter}, source...)...)
		return pql.Aggregate(parser.COUNT,
			pql.Aggregate(parser.GROUP, pql.Vector(series.IstioRequestsTotal, with(scope, reporter)...),
				by(outer, labelSourceWorkload, labelInstance)...),
			outer...)
	}
	source := []string{labelSourceNamespace}
	if p.clientApps {
		source = append(source, labelSourceApp)
	}
	return pql.Binary(parser.LOR,
		peers(pql.Neq(series.LabelReporter, series.ClientReporter)),
		peers(pql.Eq(series.LabelReporter, series.ClientReporter), source...))
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

// side is one side of a tag's traffic, as its queries select it.
type side struct {
	client bool
	// scope selects the namespaces and the reporters of the side.
	scope []*labels.Matcher
	// by are the labels that tell the side's traffic apart: the
	// destination namespace, and the app where traffic is restricted to apps.
	by []string
}

// sides are the sides a tag's traffic is on: server, client or both.
func (p *plan) sides(tag string) []side {
	tp := p.byTag[tag]
	var out []side
	if tp.server {
		sd := side{scope: append(p.namespaceMatchers(), pql.Re(series.LabelReporter, series.ServerReporters)), by: []string{labelNamespace}}
		if tp.byApp {
			sd.by = append(sd.by, labelApp)
		}
		out = append(out, sd)
	}
	if tp.client {
		out = append(out, side{client: true, scope: append(p.namespaceMatchers(), pql.Eq(series.LabelReporter, series.ClientReporter)), by: []string{labelNamespace}})
	}
	return out
}

// perSide is the query made of one expression per side of the tag, each
// labelled with its side: one query whatever the sides.
func (p *plan) perSide(tag string, expr func(sd side) parser.Expr) parser.Expr {
	var out parser.Expr
	for _, sd := range p.sides(tag) {
		e := pql.Call("label_replace", expr(sd), pql.Str(labelSide), pql.Str(sideName(sd.client)), pql.Str(""), pql.Str(""))
		if out == nil {
			out = e
		} else {
			out = pql.Binary(parser.LOR, out, e)
		}
	}
	return out
}

func with(ms []*labels.Matcher, more ...*labels.Matcher) []*labels.Matcher {
	return append(slices.Clone(ms), more...)
}

func by(labels []string, more ...string) []string {
	return append(slices.Clone(labels), more...)
}

// tagQueries are the first-phase queries of one tag: its distinct values
// per namespace and the unknown share per workload.
func (p *plan) tagQueries(tag string, rate time.Duration) []query {
	tagValues := p.perSide(tag, func(sd side) parser.Expr {
		return pql.Aggregate(parser.COUNT,
			pql.Aggregate(parser.GROUP, pql.Vector(series.IstioRequestsTotal, with(sd.scope, pql.Neq(tag, ""))...), by(sd.by, tag)...),
			sd.by...)
	})
	unknown := p.perSide(tag, func(sd side) parser.Expr {
		perWorkload := by(sd.by, labelWorkload)
		rateBy := func(ms ...*labels.Matcher) parser.Expr {
			v := pql.Vector(series.IstioRequestsTotal, with(sd.scope, ms...)...)
			return pql.Aggregate(parser.SUM, pql.RangeCall("rate", v, rate), perWorkload...)
		}
		all := rateBy(pql.Neq(tag, ""))
		return pql.Binary(parser.DIV,
			pql.Binary(parser.LOR, rateBy(pql.Eq(tag, series.UnknownRoute)), pql.Scale(0, all)),
			pql.Compare(parser.GTR, all, 0))
	})
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
	configured := p.byTag[tag].configured
	filtered = distinct > float64(len(configured)+p.slack)
	values := func(sd side) []*labels.Matcher {
		if filtered {
			return with(sd.scope, pql.Re(tag, pql.OneOf(configured)))
		}
		return with(sd.scope, pql.Neq(tag, ""))
	}
	if filtered {
		tagSeries := p.perSide(tag, func(sd side) parser.Expr {
			return pql.Aggregate(parser.COUNT, routeMetrics(with(sd.scope, pql.Neq(tag, ""))...), by(sd.by, labelName)...)
		})
		qs = append(qs, query{kind: qTagSeries, tag: tag, expr: tagSeries.String()})
	}
	routeSeries := p.perSide(tag, func(sd side) parser.Expr {
		return pql.Aggregate(parser.COUNT, routeMetrics(values(sd)...), by(sd.by, labelName, tag)...)
	})
	// Seen: requests in the window, or a series created in it (Envoy
	// creates a series with its first request, and increase() needs two
	// samples).
	seen := p.perSide(tag, func(sd side) parser.Expr {
		reqs := pql.Vector(series.IstioRequestsTotal, values(sd)...)
		return pql.Aggregate(parser.GROUP,
			pql.Binary(parser.LOR,
				pql.Compare(parser.GTR, pql.RangeCall("increase", reqs, window), 0),
				pql.Binary(parser.LUNLESS, reqs, pql.Offset(reqs, window))),
			by(sd.by, tag)...)
	})
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
