package exporter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// snapshot is what one successful cycle learnt from Prometheus. It is
// never modified once built: scrapes read it without locks.
type snapshot struct {
	at time.Time
	// queries is the number of API calls the cycle made.
	queries int

	// Per tag and destination (side, namespace, app).
	routeSeries map[string]map[dest]map[string]metricCounts // tag → dest → value
	tagSeries   map[string]map[dest]metricCounts
	tagValues   map[string]map[dest]float64
	seen        map[string]map[dest]map[string]bool
	unknown     map[unknownKey]float64
	// Topology, per destination workload.
	codes   map[workloadKey]float64
	peers   map[workloadKey]map[peerKey]float64 // → (source, proxy) pairs
	buckets map[workloadKey]float64
	mangled map[namespaceTag]float64

	headSeries, istioSeries float64
	ruleGroups              []ruleGroup
}

// metricCounts are series counts of the two per-route metrics.
type metricCounts struct{ requests, buckets float64 }

func (c *metricCounts) add(name string, v float64) {
	switch name {
	case series.IstioRequestsTotal:
		c.requests += v
	case series.IstioRequestDurationBucket:
		c.buckets += v
	}
}

// dest is where the requests of a row went, and which side reported them:
// what inventory.Traffic.Covers decides on. app is set only where a query
// groups by it (traffic restricted to apps).
type dest struct {
	namespace, app string
	client         bool
}

// in reports whether the row's requests are traffic t.
func (d dest) in(t *inventory.Traffic) bool { return t.Covers(d.namespace, d.app, d.client) }

// workloadKey is a destination workload; app is set only where the
// topology queries group by it.
type workloadKey struct{ namespace, workload, app string }

// peerKey is a reporter of requests to a workload and, for the client
// side, the namespace and app (where the peers query groups by it) of
// the clients.
type peerKey struct{ reporter, namespace, app string }

type unknownKey struct {
	workloadKey
	tag    string
	client bool
}

type namespaceTag struct{ namespace, tag string }

func newSnapshot() *snapshot {
	return &snapshot{
		routeSeries: map[string]map[dest]map[string]metricCounts{},
		tagSeries:   map[string]map[dest]metricCounts{},
		tagValues:   map[string]map[dest]float64{},
		seen:        map[string]map[dest]map[string]bool{},
		unknown:     map[unknownKey]float64{},
		mangled:     map[namespaceTag]float64{},
		codes:       map[workloadKey]float64{},
		peers:       map[workloadKey]map[peerKey]float64{},
		buckets:     map[workloadKey]float64{},
	}
}

// errBadAnswer is wrapped by every error about an answer that is not what
// the query asks for (Prometheus, or whatever answers in its place).
var errBadAnswer = errors.New("unexpected answer")

// collect runs the plan's queries, at most concurrency at a time, plus the
// TSDB status and the rules, and returns the snapshot; any failure fails
// the whole cycle, so that a snapshot is never half old, half new.
func collect(ctx context.Context, api promv1.API, p *plan, o *Options, now time.Time) (*snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := newSnapshot()
	s.at = now
	r := &runner{ctx: ctx, cancel: cancel, sem: make(chan struct{}, o.Concurrency)}
	var tsdb promv1.TSDBResult
	r.run(func() (err error) {
		tsdb, err = api.TSDB(ctx, promv1.WithLimit(tsdbLimit))
		if err != nil {
			return fmt.Errorf("TSDB status: %w", err)
		}
		return nil
	})
	var rules promv1.RulesResult
	r.run(func() (err error) {
		rules, err = api.Rules(ctx, nil)
		if err != nil {
			return fmt.Errorf("rules: %w", err)
		}
		return nil
	})
	if err := s.runQueries(r, api, p.queries(o.RateWindow), now); err != nil {
		return nil, err
	}
	var second []query
	var unfiltered []string
	for _, tag := range p.tags {
		distinct := 0.0
		for _, n := range s.tagValues[tag] {
			distinct += n
		}
		qs, filtered := p.valueQueries(tag, distinct, o.SeenWindow)
		second = append(second, qs...)
		if !filtered {
			unfiltered = append(unfiltered, tag)
		}
	}
	if err := s.runQueries(r, api, second, now); err != nil {
		return nil, err
	}
	for _, tag := range unfiltered {
		s.sumTagSeries(tag)
	}
	if err := r.wait(); err != nil {
		return nil, err
	}
	s.queries += 2
	s.readTSDB(tsdb)
	s.ruleGroups = generatedGroups(rules)
	return s, nil
}

// sumTagSeries derives the tag's series per namespace from the rows of an
// unfiltered per-value query, which has one for every value.
func (s *snapshot) sumTagSeries(tag string) {
	totals := nested1(s.tagSeries, tag)
	for d, byValue := range s.routeSeries[tag] {
		for _, c := range byValue {
			totals[d] = totals[d].plus(c)
		}
	}
}

// runQueries runs qs on r and files their answers.
func (s *snapshot) runQueries(r *runner, api promv1.API, qs []query, now time.Time) error {
	results := make([]model.Vector, len(qs))
	var wg sync.WaitGroup
	for i, q := range qs {
		wg.Add(1)
		r.run(func() error {
			defer wg.Done()
			v, err := instant(r.ctx, api, q.expr, now)
			results[i] = v
			return err
		})
	}
	wg.Wait()
	if err := r.err(); err != nil {
		return err
	}
	s.queries += len(qs)
	for i, q := range qs {
		if err := s.read(q, results[i]); err != nil {
			return err
		}
	}
	return nil
}

// runner runs API calls at most cap(sem) at a time; the first failure
// cancels the others.
type runner struct {
	ctx      context.Context
	cancel   context.CancelFunc
	sem      chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	firstErr error
}

func (r *runner) run(f func() error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case r.sem <- struct{}{}:
			defer func() { <-r.sem }()
		case <-r.ctx.Done():
			// f still runs, for its own bookkeeping; its call fails at
			// once on the canceled context.
			r.fail(r.ctx.Err())
		}
		if err := f(); err != nil {
			r.fail(err)
		}
	}()
}

func (r *runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstErr == nil {
		r.firstErr = err
		r.cancel()
	}
}

func (r *runner) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstErr
}

func (r *runner) wait() error {
	r.wg.Wait()
	return r.err()
}

// tsdbLimit is how many metric names the TSDB status lists. istio_* names
// below the cut are each smaller than the smallest listed, so the share is
// a close lower bound.
const tsdbLimit = 100

func instant(ctx context.Context, api promv1.API, expr string, now time.Time) (model.Vector, error) {
	v, _, _, err := api.Query(ctx, expr, now)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", truncate(expr, 200), err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %s: %w: result of type %s, want a vector", truncate(expr, 200), errBadAnswer, typeOf(v))
	}
	return vec, nil
}

func typeOf(v model.Value) string {
	if v == nil {
		return "none"
	}
	return v.Type().String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// read files the rows of q's answer. A row without a label every selected
// series has, or with a value that is not a finite non-negative number (a
// share above 1), is a bad answer.
func (s *snapshot) read(q query, vec model.Vector) error {
	for _, smp := range vec {
		v := float64(smp.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("query %s: %w: value %v", truncate(q.expr, 200), errBadAnswer, smp.Value)
		}
		m := smp.Metric
		for _, lv := range m {
			// Label values become label values of ours.
			if !utf8.ValidString(string(lv)) {
				return fmt.Errorf("query %s: %w: label value %q is not UTF-8", truncate(q.expr, 200), errBadAnswer, lv)
			}
		}
		get := func(name string) (string, bool) {
			val, ok := m[model.LabelName(name)]
			return string(val), ok
		}
		// A label the query groups by is absent when its value is empty;
		// only the labels every selected series has by construction are
		// required.
		ns, _ := get(labelNamespace)
		wl, _ := get(labelWorkload)
		app, _ := get(labelApp)
		w := workloadKey{ns, wl, app}
		// Every per-tag query labels its rows with their side.
		sd, _ := get(labelSide)
		ok := q.tag == "" || sd == sideServer || sd == sideClient
		d := dest{namespace: ns, app: app, client: sd == sideClient}
		switch q.kind {
		case qRouteSeries:
			name, okName := get(labelName)
			value, okValue := get(q.tag)
			ok = ok && okName && okValue
			c := nested2(s.routeSeries, q.tag, d)
			counts := c[value]
			counts.add(name, v)
			c[value] = counts
		case qTagSeries:
			name, okName := get(labelName)
			ok = ok && okName
			c := nested1(s.tagSeries, q.tag)
			counts := c[d]
			counts.add(name, v)
			c[d] = counts
		case qTagValues:
			nested1(s.tagValues, q.tag)[d] += v
		case qSeen:
			value, okValue := get(q.tag)
			ok = ok && okValue
			nested2(s.seen, q.tag, d)[value] = true
		case qUnknownShare:
			if v > 1 {
				ok = false
			}
			s.unknown[unknownKey{w, q.tag, d.client}] = v
		case qCodes:
			s.codes[w] += v
		case qPeers:
			rep, _ := get(series.LabelReporter)
			srcNS, _ := get(labelSourceNamespace)
			srcApp, _ := get(labelSourceApp)
			if s.peers[w] == nil {
				s.peers[w] = map[peerKey]float64{}
			}
			s.peers[w][peerKey{rep, srcNS, srcApp}] += v
		case qBuckets:
			s.buckets[w] += v
		case qMangled:
			tag, okTag := get(labelTag)
			ok = okTag
			s.mangled[namespaceTag{ns, tag}] += v
		}
		if !ok {
			return fmt.Errorf("query %s: %w: row %s %v", truncate(q.expr, 200), errBadAnswer, m, smp.Value)
		}
	}
	return nil
}

func nested1[K comparable, V any](m map[string]map[K]V, k string) map[K]V {
	if m[k] == nil {
		m[k] = map[K]V{}
	}
	return m[k]
}

func nested2[K comparable, V any](m map[string]map[K]map[string]V, k1 string, k2 K) map[string]V {
	inner := nested1(m, k1)
	if inner[k2] == nil {
		inner[k2] = map[string]V{}
	}
	return inner[k2]
}

func (s *snapshot) readTSDB(r promv1.TSDBResult) {
	s.headSeries = float64(r.HeadStats.NumSeries)
	for _, st := range r.SeriesCountByMetricName {
		if strings.HasPrefix(st.Name, "istio_") {
			s.istioSeries += float64(st.Value)
		}
	}
}
