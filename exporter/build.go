package exporter

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// configMetrics are the series of the configuration alone; they change
// only when the inventory does.
func configMetrics(d *descs, p *plan, inv *inventory.Inventory, at time.Time) []prometheus.Metric {
	type nsScope struct{ namespace, scope string }
	sets, routes := map[nsScope]int{}, map[nsScope]int{}
	out := make([]prometheus.Metric, 0, 2*len(p.sets)+8)
	for _, sp := range p.sets {
		rs := sp.rs
		k := nsScope{rs.Namespace, string(rs.Scope.Kind)}
		sets[k]++
		routes[k] += len(sp.routes) - 1 // without unknown
		out = append(out,
			gauge(d.setInfo, 1, rs.ID, rs.Namespace, string(rs.Scope.Kind), rs.Tag, rs.Mode),
			gauge(d.setRoutes, float64(len(sp.routes)-1), rs.ID))
	}
	for _, k := range sortedMapKeys(sets, func(a, b nsScope) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.scope, b.scope))
	}) {
		out = append(out, gauge(d.routeSets, float64(sets[k]), k.namespace, k.scope),
			gauge(d.routes, float64(routes[k]), k.namespace, k.scope))
	}
	if inv != nil {
		out = append(out, diagnosticMetrics(d, inv.Diagnostics)...)
	}
	if !at.IsZero() {
		out = append(out, gauge(d.inventoryUpdated, unixSeconds(at)))
	}
	return out
}

// diagnosticMetrics counts diagnostics per severity, code and object: one
// series per object and code however many messages.
func diagnosticMetrics(d *descs, diags diag.List) []prometheus.Metric {
	type key struct {
		severity, code string
		obj            diag.ObjectRef
	}
	counts := map[key]int{}
	for _, dg := range diags {
		counts[key{dg.Severity.String(), dg.Code, dg.Object}]++
	}
	keys := sortedMapKeys(counts, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.code, b.code), cmp.Compare(a.severity, b.severity),
			cmp.Compare(a.obj.String(), b.obj.String()))
	})
	out := make([]prometheus.Metric, 0, len(keys))
	for _, k := range keys {
		out = append(out, gauge(d.diagnostics, float64(counts[k]), k.severity, k.code, k.obj.Kind, k.obj.Namespace, k.obj.Name))
	}
	return out
}

func sortedMapKeys[K comparable, V any](m map[K]V, cmpFn func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmpFn)
	return keys
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// observedMetrics are the series of a snapshot read against the plan.
func observedMetrics(d *descs, p *plan, s *snapshot) []prometheus.Metric {
	if s == nil {
		return nil
	}
	routes := 0
	for _, sp := range p.sets {
		routes += len(sp.routes)
	}
	out := make([]prometheus.Metric, 0, 2*routes+16*len(p.sets)+len(s.unknown)+8)
	for _, sp := range p.sets {
		if sp.traffic != nil {
			out = setMetrics(out, d, sp, s)
		}
	}
	out = append(out, gauge(d.headSeries, s.headSeries), gauge(d.istioSeries, s.istioSeries))
	if s.headSeries > 0 {
		out = append(out, gauge(d.istioShare, s.istioSeries/s.headSeries))
	}
	out = appendUnknownShares(out, d, p, s)
	for _, k := range sortedMapKeys(s.mangled, func(a, b namespaceTag) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.tag, b.tag))
	}) {
		out = append(out, gauge(d.prefixed, s.mangled[k], k.namespace, k.tag))
	}
	return ruleGroupMetrics(out, d, s.ruleGroups)
}

// setObservation is what a snapshot shows of one set's namespaces.
type setObservation struct {
	// perRoute are the series of each of the set's routes (and unknown).
	perRoute map[string]metricCounts
	seen     map[string]bool
	// total are all series of the tag; unconfigured those of values no
	// set configures there, unconfiguredValues their number.
	total, unconfigured metricCounts
	unconfiguredValues  float64
}

func observe(sp *setPlan, s *snapshot) *setObservation {
	tag, t := sp.rs.Tag, sp.traffic
	o := &setObservation{perRoute: make(map[string]metricCounts, len(sp.routes)), seen: make(map[string]bool, len(sp.routes))}
	var configured metricCounts
	configuredValues := 0.0
	for d, byValue := range s.routeSeries[tag] {
		if !d.in(t) {
			continue
		}
		for v, c := range byValue {
			if sp.known[v] {
				o.perRoute[v] = o.perRoute[v].plus(c)
			}
			if sp.trafficKnown[v] {
				configured = configured.plus(c)
				if c.requests > 0 {
					configuredValues++
				}
			}
		}
	}
	for d, values := range s.seen[tag] {
		if d.in(t) {
			for v := range values {
				o.seen[v] = true
			}
		}
	}
	for d, c := range s.tagSeries[tag] {
		if d.in(t) {
			o.total = o.total.plus(c)
		}
	}
	for d, n := range s.tagValues[tag] {
		if d.in(t) {
			o.unconfiguredValues += n
		}
	}
	o.unconfiguredValues = max(0, o.unconfiguredValues-configuredValues)
	o.unconfigured = metricCounts{
		requests: max(0, o.total.requests-configured.requests),
		buckets:  max(0, o.total.buckets-configured.buckets),
	}
	return o
}

// appendUnknownShares appends the unknown share of the workloads some
// traffic of the tag covers, on its side: a mesh-wide Telemetry tags every
// workload, and those no route set classifies read "unknown" throughout.
// A workload whose pods disagree on the app label (mid-rollout) keeps the
// higher share.
func appendUnknownShares(out []prometheus.Metric, d *descs, p *plan, s *snapshot) []prometheus.Metric {
	shares := make(map[unknownKey]float64, len(s.unknown))
	for k, v := range s.unknown {
		tp := p.byTag[k.tag]
		if tp == nil || !tp.covers(k.namespace, k.app, k.client) {
			continue
		}
		k.app = ""
		if have, ok := shares[k]; !ok || v > have {
			shares[k] = v
		}
	}
	for _, k := range sortedMapKeys(shares, func(a, b unknownKey) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.workload, b.workload), cmp.Compare(a.tag, b.tag),
			cmp.Compare(sideName(a.client), sideName(b.client)))
	}) {
		out = append(out, gauge(d.unknownShare, shares[k], k.namespace, k.workload, k.tag, sideName(k.client)))
	}
	return out
}

func (c metricCounts) plus(o metricCounts) metricCounts {
	return metricCounts{requests: c.requests + o.requests, buckets: c.buckets + o.buckets}
}

// setMetrics appends the observed, predicted and health series of one set.
func setMetrics(out []prometheus.Metric, d *descs, sp *setPlan, s *snapshot) []prometheus.Metric {
	id, latency := sp.rs.ID, sp.rs.HasLatency()
	o := observe(sp, s)
	unseen := 0
	for _, v := range sp.routes {
		c := o.perRoute[v]
		out = append(out, gauge(d.routeSeries, c.requests, id, v, series.IstioRequestsTotal))
		if latency || c.buckets > 0 {
			out = append(out, gauge(d.routeSeries, c.buckets, id, v, series.IstioRequestDurationBucket))
		}
		if v != series.UnknownRoute && !o.seen[v] {
			unseen++
			out = append(out, gauge(d.unseenRoute, 1, id, v))
		}
	}
	out = append(out,
		gauge(d.setUnseenRoutes, float64(unseen), id),
		gauge(d.setUnconfiguredRoutes, o.unconfiguredValues, id))

	predicted := predict(sp, s)
	for _, m := range []struct {
		name                           string
		total, unconfigured, predicted float64
	}{
		{series.IstioRequestsTotal, o.total.requests, o.unconfigured.requests, predicted.requests},
		{series.IstioRequestDurationBucket, o.total.buckets, o.unconfigured.buckets, predicted.buckets},
	} {
		if m.name == series.IstioRequestDurationBucket && !latency && m.total == 0 {
			continue
		}
		out = append(out,
			gauge(d.setSeries, m.total, id, m.name),
			gauge(d.setUnconfiguredSeries, m.unconfigured, id, m.name),
			gauge(d.setPredicted, m.predicted, id, m.name))
		if m.predicted > 0 {
			out = append(out, gauge(d.setObservedRatio, m.total/m.predicted, id, m.name))
		}
	}
	return out
}

// predict estimates the series a route set costs once its tag is on every
// request it covers: per destination workload of its traffic, (routes +
// unknown) x distinct response codes x distinct (reporter, source
// workload, proxy) triples of the reporters of its side that carry the
// tag, on the client side only the set's own proxies (clientsOf); the duration histogram multiplies that by the buckets seen. It
// reads traffic whether or not the tag is there yet, so a new route set is
// judged before it lands.
func predict(sp *setPlan, s *snapshot) metricCounts {
	reporters := reportersOf(sp.rs)
	routes := float64(len(sp.routes))
	t := sp.traffic
	var p metricCounts
	for w, codes := range s.codes {
		if !t.Covers(w.namespace, w.app, t.ClientSide) {
			continue
		}
		peers := 0.0
		for k, n := range s.peers[w] {
			if reporters[k.reporter] && (k.reporter == series.ClientReporter) == t.ClientSide &&
				(sp.clients == nil || sp.clients.has(k)) {
				peers += n
			}
		}
		n := routes * codes * peers
		p.requests += n
		if sp.rs.HasLatency() {
			p.buckets += n * s.buckets[w]
		}
	}
	return p
}

// reportersOf are the reporters whose metrics carry the set's tag: a
// waypoint's Telemetry reaches only the waypoint; a sidecar's follows its
// match mode.
func reportersOf(rs *inventory.RouteSet) map[string]bool {
	if rs.Scope.Kind == inventory.ScopeWaypoint || rs.Scope.Kind == inventory.ScopeService {
		return map[string]bool{"waypoint": true}
	}
	switch strings.ToUpper(rs.Mode) {
	case "SERVER":
		return map[string]bool{"destination": true, "waypoint": true}
	case "CLIENT":
		return map[string]bool{"source": true}
	}
	return map[string]bool{"source": true, "destination": true, "waypoint": true}
}

func ruleGroupMetrics(out []prometheus.Metric, d *descs, groups []ruleGroup) []prometheus.Metric {
	for _, g := range groups {
		for _, h := range sortedMapKeys(g.health, strings.Compare) {
			out = append(out, gauge(d.groupRules, float64(g.health[h]), g.name, h))
		}
		healthy := 1.0
		if g.health["err"] > 0 {
			healthy = 0
		}
		out = append(out, gauge(d.groupHealthy, healthy, g.name))
		if !g.lastEvaluation.IsZero() {
			out = append(out, gauge(d.groupLastEvaluation, unixSeconds(g.lastEvaluation), g.name))
		}
		for _, e := range g.errors {
			out = append(out, gauge(d.ruleLastErrInfo, 1, g.name, e.rule, e.err))
		}
	}
	return out
}
