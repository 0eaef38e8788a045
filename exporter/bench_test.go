package exporter

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/internal/meshsim"
	"github.com/routebundle/routebundle/internal/promtest"
	"github.com/routebundle/routebundle/internal/synth"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/series"
)

// benchMesh is 10,000 routes: 1,000 sidecar route sets of 10 routes in 100
// namespaces, with per-route latency.
func benchMesh() synth.Mesh { return synth.BenchmarkMesh() }

func benchInventory(b *testing.B, m synth.Mesh) *inventory.Inventory {
	b.Helper()
	dir := b.TempDir()
	if err := m.Write(dir); err != nil {
		b.Fatal(err)
	}
	res, err := manifest.ReadPaths([]string{dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	builder, err := inventory.NewDefaultBuilder()
	if err != nil {
		b.Fatal(err)
	}
	inv := builder.FromManifests(res)
	routes := 0
	for i := range inv.RouteSets {
		routes += len(inv.RouteSets[i].RouteValues())
	}
	if routes != m.WasmPlugins()*m.Routes {
		b.Fatalf("%d routes in the inventory, want %d", routes, m.WasmPlugins()*m.Routes)
	}
	return inv
}

// fullSnapshot is a cycle's result where every route has traffic: two
// response codes, 20 buckets each.
func fullSnapshot(p *plan) *snapshot {
	s := newSnapshot()
	s.at = time.Now()
	s.headSeries, s.istioSeries = 2e6, 1e6
	for _, sp := range p.sets {
		tag := sp.rs.Tag
		d := dest{namespace: sp.traffic.Namespace, client: sp.traffic.ClientSide}
		byValue := nested2(s.routeSeries, tag, d)
		seen := nested2(s.seen, tag, d)
		for _, v := range sp.routes {
			byValue[v] = metricCounts{requests: 2, buckets: 40}
			seen[v] = true
		}
		w := workloadKey{namespace: d.namespace, workload: sp.rs.Scope.Selector["app"]}
		s.codes[w] = 2
		s.peers[w] = map[peerKey]float64{{reporter: "destination"}: 3}
		s.buckets[w] = 20
		s.unknown[unknownKey{w, tag, false}] = 0.01
	}
	for tag, byDest := range s.routeSeries {
		for d, byValue := range byDest {
			var c metricCounts
			for _, v := range byValue {
				c.requests += v.requests
				c.buckets += v.buckets
			}
			nested1(s.tagSeries, tag)[d] = c
			nested1(s.tagValues, tag)[d] = float64(len(byValue))
		}
	}
	return s
}

// discard is a ResponseWriter that keeps nothing, so that the benchmark
// measures the scrape, not a growing buffer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// benchExporter is an exporter without Prometheus reporting on the
// benchmark mesh, with a snapshot in which every route was observed.
func benchExporter(b *testing.B) (*Exporter, *inventory.Inventory) {
	inv := benchInventory(b, benchMesh())
	e, err := New(Options{Prometheus: nil})
	if err != nil {
		b.Fatal(err)
	}
	e.SetInventory(inv)
	e.mu.Lock()
	e.snap = fullSnapshot(e.plan)
	e.mu.Unlock()
	return e, inv
}

// BenchmarkScrape serves /metrics with 10,000 routes configured and every
// route observed (issue 13's goal: under 20 ms and 5 MB per scrape).
func BenchmarkScrape(b *testing.B) {
	e, _ := benchExporter(b)
	e.mu.Lock()
	obs := observedMetrics(e.descs, e.plan, e.snap)
	e.store(e.observed, obs)
	e.mu.Unlock()

	h := e.Handler()
	series := float64(len(obs) + len(*e.config.metrics.Load()))
	for _, gz := range []bool{false, true} {
		name := "handler"
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if gz {
			name = "handler-gzip"
			req.Header.Set("Accept-Encoding", "gzip")
		}
		b.Run(name, func(b *testing.B) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("scrape: %d %s", rec.Code, rec.Body)
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
			b.ReportMetric(series, "series")
			b.ReportMetric(float64(rec.Body.Len()), "bytes/scrape")
		})
	}
	// The registry path, for a caller that merges Registry() into its own
	// Gatherers instead of serving Handler.
	b.Run("registry-gather", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Registry().Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSetInventory is what the controller's mesh pass pays to hand
// the exporter a new inventory of 10,000 routes (it calls SetInventory
// under its inventory lock): the plan, the configuration series, and the
// observed series re-rendered from the last snapshot.
func BenchmarkSetInventory(b *testing.B) {
	e, inv := benchExporter(b)
	b.ReportAllocs()
	for b.Loop() {
		e.SetInventory(inv)
	}
}

// BenchmarkCycle runs the query cycle against the real Prometheus holding
// the 10,000 routes' series (about 240,000: one request counter and 22
// histogram series per route, scraped from 100 synthetic sidecars), and
// reports the queries per cycle.
func BenchmarkCycle(b *testing.B) {
	m := benchMesh()
	inv := benchInventory(b, m)
	var targets []string
	client := meshsim.Workload{Namespace: "load", Name: "loadgen"}
	for n := range m.Namespaces {
		p := meshsim.Proxy{Reporter: meshsim.ReporterDestination, Tag: "route_name", TagOnDuration: true}
		for i := range inv.RouteSets {
			rs := &inv.RouteSets[i]
			if rs.Namespace != fmt.Sprintf("team-%03d", n) {
				continue
			}
			dst := meshsim.Workload{Namespace: rs.Namespace, Name: rs.Scope.Selector["app"]}
			for _, v := range rs.RouteValues() {
				p.Flows = append(p.Flows, meshsim.Flow{Source: client, Destination: dst, Route: v, RPS: 1})
			}
		}
		targets = append(targets, meshsim.Start(b, p).Addr())
	}
	prom := promtest.Start(b, promtest.Options{Config: promtest.Config(promtest.StaticScrapeConfig{
		Job: "envoy", Targets: targets, MetricsPath: meshsim.MetricsPath, Interval: "15s",
	})})
	prom.WaitForTargets(b, len(targets), 2*time.Minute)
	want := float64(m.WasmPlugins() * m.Routes * (1 + len(meshsim.DurationBucketsMs) + 1))
	api := &timedAPI{API: prom.API(b), took: map[string]time.Duration{}}
	e, err := New(Options{Prometheus: api, Interval: 5 * time.Minute, Timeout: 2 * time.Minute, SeenWindow: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	e.SetInventory(inv)
	// A cycle at this scale can outlast Eventually's per-check deadline on
	// a busy machine: it runs under the benchmark's own context.
	promtest.Eventually(b, 6*time.Minute, func(context.Context) error {
		if err := e.Cycle(b.Context()); err != nil {
			return err
		}
		got := 0.0
		for _, v := range values(b, e, "routebundle_route_set_series", map[string]string{"metric": series.IstioRequestDurationBucket}) {
			got += v
		}
		if got < want*20/22 {
			return fmt.Errorf("%g bucket series observed, want %g", got, want*20/22)
		}
		return nil
	})
	b.ResetTimer()
	api.reset()
	cycles := 0
	for b.Loop() {
		if err := e.Cycle(b.Context()); err != nil {
			b.Fatal(err)
		}
		cycles++
	}
	b.ReportMetric(float64(e.status.cycleQueries.Load()), "queries/cycle")
	b.StopTimer()
	for _, q := range slices.Sorted(maps.Keys(api.took)) {
		b.Logf("%8.0f ms/cycle  %s", float64(api.took[q].Milliseconds())/float64(cycles), q)
	}
}

// timedAPI adds up the time of each query (first 120 characters).
type timedAPI struct {
	promv1.API
	mu   sync.Mutex
	took map[string]time.Duration
}

func (t *timedAPI) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.took)
}

func (t *timedAPI) Query(ctx context.Context, q string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	start := time.Now()
	v, w, i, err := t.API.Query(ctx, q, ts, opts...)
	t.mu.Lock()
	t.took[truncate(q, 120)] += time.Since(start)
	t.mu.Unlock()
	return v, w, i, err
}
