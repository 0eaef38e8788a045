// Package exporter exports routebundle's cardinality and health metrics
// (routebundle_*): the route configuration from the inventory, what the
// routes cost in Prometheus (observed and predicted series), whether the
// classification works (unknown share, routes never seen, route tags
// mangled into metric names, the health of the generated rule groups), and
// the controller's own work through a Recorder.
//
// Prometheus is read by a background loop (Run) on an interval with a
// timeout. Each cycle makes a fixed number of queries that depends on the
// number of distinct route tags, never on the number of routes, and caches
// the result; a scrape only reads the cache, so it never waits on
// Prometheus. A failed cycle keeps the last good data and says so
// (routebundle_prometheus_up 0).
//
// Label values are bounded by the configuration: a route value Prometheus
// reports that no route set configures is counted
// (routebundle_route_set_unconfigured_*), never exported as a label. The
// exporter reads the inventory it is given and the Prometheus HTTP API; it
// never reads Kubernetes objects and writes nothing.
//
// Every Exporter has its own registry, never the global one. To serve
// controller-runtime's metrics on the same endpoint, gather both:
// promhttp.HandlerFor(prometheus.Gatherers{e.Registry(), ctrlmetrics.Registry}, ...).
package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/routebundle/routebundle/inventory"
)

// Options configure an Exporter; zero values take the defaults.
type Options struct {
	// Prometheus is the API to query (promapi.New). Nil: no queries; only
	// the configuration and the Recorder's metrics are exported.
	Prometheus promv1.API
	// Interval between the starts of two query cycles (default 1m).
	Interval time.Duration
	// Timeout of one cycle, all queries included (default 30s, at most Interval).
	Timeout time.Duration
	// SeenWindow: a configured route with no request over it is reported
	// unseen (default 1h).
	SeenWindow time.Duration
	// RateWindow of the unknown share (default 5m, as the recording rules).
	RateWindow time.Duration
	// Concurrency is the number of queries in flight at once (default 4).
	Concurrency int
	// Logger receives cycle failures (default: discard).
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Interval, time.Minute)
	def(&o.Timeout, 30*time.Second)
	def(&o.SeenWindow, time.Hour)
	def(&o.RateWindow, 5*time.Minute)
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.Interval < 0 || o.Timeout < 0 || o.SeenWindow < 0 || o.RateWindow < 0:
		return errors.New("exporter: durations must not be negative")
	case o.Timeout > o.Interval:
		return fmt.Errorf("exporter: timeout %s exceeds the interval %s", o.Timeout, o.Interval)
	case o.Concurrency < 0:
		return errors.New("exporter: concurrency must not be negative")
	case o.SeenWindow < time.Second || o.RateWindow < time.Second:
		return errors.New("exporter: the seen and rate windows must be at least 1s")
	}
	return nil
}

// Exporter holds the cached metrics and runs the query loop.
type Exporter struct {
	opts  Options
	descs *descs
	// registry holds every collector; live only those gathered per scrape
	// by Handler.
	registry, live *prometheus.Registry
	recorder       *Recorder

	// mu serialises SetInventory and cycles; scrapes never take it.
	mu    sync.Mutex
	inv   *inventory.Inventory
	plan  *plan
	snap  *snapshot
	invAt time.Time
	// config and observed are rebuilt off the scrape path.
	config, observed *cacheSlot

	status statusState
	kick   chan struct{}
	// offered is the latest inventory Offer handed over, until RunOffers
	// takes it; offers wakes RunOffers.
	offered atomic.Pointer[offer]
	offers  chan struct{}
	// gzipWriters are reused by Handler: a new writer allocates ~800 KB.
	gzipWriters sync.Pool
}

// statusState is the query loop's state, read by scrapes.
type statusState struct {
	up            atomic.Bool
	lastSuccess   atomic.Int64 // unix nanoseconds; 0: never
	dataAt        atomic.Int64
	successes     atomic.Uint64
	failures      atomic.Uint64
	cycleDuration atomic.Int64 // nanoseconds
	cycleQueries  atomic.Int64
}

// New returns an Exporter with an empty inventory and its own registry,
// on which its collectors and its Recorder are registered.
func New(o Options) (*Exporter, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	d := newDescs()
	e := &Exporter{
		opts: o, descs: d, registry: prometheus.NewRegistry(), live: prometheus.NewRegistry(),
		recorder: newRecorder(), plan: newPlan(nil), kick: make(chan struct{}, 1), offers: make(chan struct{}, 1),
		config: &cacheSlot{descs: d.config()}, observed: &cacheSlot{descs: d.observed()},
	}
	for _, c := range []prometheus.Collector{e.config, e.observed, (*statusCollector)(e), e.recorder} {
		if err := e.registry.Register(c); err != nil {
			return nil, fmt.Errorf("exporter: %w", err)
		}
	}
	for _, c := range []prometheus.Collector{(*statusCollector)(e), e.recorder} {
		if err := e.live.Register(c); err != nil {
			return nil, fmt.Errorf("exporter: %w", err)
		}
	}
	return e, nil
}

// Registry is the Exporter's own registry.
func (e *Exporter) Registry() *prometheus.Registry { return e.registry }

// Recorder is where the controller reports its work.
func (e *Exporter) Recorder() *Recorder { return e.recorder }

// SetInventory replaces the configuration the exporter reports on. The
// exporter keeps inv and never modifies it; the caller must not either.
// Observed series of the new configuration are shown from the next cycle,
// which starts within seconds.
func (e *Exporter) SetInventory(inv *inventory.Inventory) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inv, e.plan, e.invAt = inv, newPlan(inv), time.Now()
	e.store(e.config, configMetrics(e.descs, e.plan, inv, e.invAt))
	// The last snapshot was queried for the old configuration; its data
	// still describes the routes both share.
	e.store(e.observed, observedMetrics(e.descs, e.plan, e.snap))
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// offer wraps an offered inventory, so that a nil one is an offer too.
type offer struct{ inv *inventory.Inventory }

// Offer hands the exporter inv without waiting for SetInventory, which
// renders the configuration series (about a second at 10,000 routes): the
// controller offers every inventory it publishes from its pass, under its
// inventory lock. The latest offer wins; RunOffers applies it.
func (e *Exporter) Offer(inv *inventory.Inventory) {
	e.offered.Store(&offer{inv})
	select {
	case e.offers <- struct{}{}:
	default:
	}
}

// RunOffers applies offered inventories with SetInventory until ctx is
// done; an offer overtaken by a newer one before its turn is skipped.
func (e *Exporter) RunOffers(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.offers:
			if o := e.offered.Swap(nil); o != nil {
				e.SetInventory(o.inv)
			}
		}
	}
}

// kickDelay is how soon after a configuration change a cycle runs, so that
// a burst of changes costs one cycle.
const kickDelay = 5 * time.Second

// Run runs a cycle now and then every Interval (and soon after each
// SetInventory) until ctx is done. A failing cycle is logged and counted;
// Run returns only ctx's error.
func (e *Exporter) Run(ctx context.Context) error {
	if e.opts.Prometheus == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.kick:
			if soon := time.Now().Add(kickDelay); soon.Before(next) {
				next = soon
				timer.Reset(time.Until(next))
			}
		case <-timer.C:
			start := time.Now()
			if err := e.Cycle(ctx); err != nil && ctx.Err() == nil {
				e.opts.Logger.Warn("prometheus query cycle failed; keeping the last good data", "err", err)
			}
			next = start.Add(e.opts.Interval)
			timer.Reset(time.Until(next))
		}
	}
}

// Cycle queries Prometheus once, within Timeout, and on success replaces
// the cached observed series. On failure the previous data stays and
// routebundle_prometheus_up drops to 0.
func (e *Exporter) Cycle(ctx context.Context) error {
	if e.opts.Prometheus == nil {
		return errors.New("exporter: no Prometheus configured")
	}
	e.mu.Lock()
	p := e.plan
	e.mu.Unlock()

	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	snap, err := collect(ctx, e.opts.Prometheus, p, &e.opts, start)
	e.status.cycleDuration.Store(int64(time.Since(start)))
	if err != nil {
		e.status.up.Store(false)
		e.status.failures.Add(1)
		return fmt.Errorf("exporter: %w", err)
	}
	e.status.cycleQueries.Store(int64(snap.queries))

	e.mu.Lock()
	defer e.mu.Unlock()
	// Read against the current plan: if SetInventory came during the
	// cycle, its kick brings a cycle for the new configuration soon.
	e.snap = snap
	e.store(e.observed, observedMetrics(e.descs, e.plan, snap))
	e.status.up.Store(true)
	e.status.successes.Add(1)
	e.status.lastSuccess.Store(time.Now().UnixNano())
	e.status.dataAt.Store(start.UnixNano())
	return nil
}

// cacheSlot is a collector of metrics built off the scrape path, kept
// also rendered for the Handler.
type cacheSlot struct {
	descs   []*prometheus.Desc
	metrics atomic.Pointer[[]prometheus.Metric]
	text    atomic.Pointer[rendered]
}

func (c *cacheSlot) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *cacheSlot) Collect(ch chan<- prometheus.Metric) {
	if ms := c.metrics.Load(); ms != nil {
		for _, m := range *ms {
			ch <- m
		}
	}
}

// statusCollector reports the query loop.
type statusCollector Exporter

func (s *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs.status() {
		ch <- d
	}
}

func (s *statusCollector) Collect(ch chan<- prometheus.Metric) {
	d, st := s.descs, &s.status
	// Before its first cycle the loop has nothing to say: a replica that
	// is not the leader never runs it (the leader reports the mesh), and
	// must not report Prometheus as down.
	if s.opts.Prometheus == nil || st.successes.Load()+st.failures.Load() == 0 {
		return
	}
	up := 0.0
	if st.up.Load() {
		up = 1
	}
	ch <- gauge(d.up, up)
	if t := st.lastSuccess.Load(); t != 0 {
		ch <- gauge(d.lastSuccess, float64(t)/1e9)
		ch <- gauge(d.dataTimestamp, float64(st.dataAt.Load())/1e9)
	}
	ch <- counter(d.cycles, float64(st.successes.Load()), "success")
	ch <- counter(d.cycles, float64(st.failures.Load()), "failure")
	ch <- gauge(d.cycleDuration, time.Duration(st.cycleDuration.Load()).Seconds())
	ch <- gauge(d.cycleQueries, float64(st.cycleQueries.Load()))
}
