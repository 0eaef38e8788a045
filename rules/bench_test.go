package rules

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// BenchmarkBuild generates the rules for 10,000 routes: 1,000 route sets of
// 10 routes, each in its own namespace, all with an objective.
func BenchmarkBuild(b *testing.B) {
	inv := &inventory.Inventory{RouteSets: manySets(1000, 10)}
	opts := goldenOptions()
	var bundle *Bundle
	loop(b, func() { bundle, _ = Build(inv, opts) })
	rec, alerts := countRules(bundle)
	b.ReportMetric(float64(rec), "recording-rules")
	b.ReportMetric(float64(alerts), "alerting-rules")
}

// BenchmarkBuildYAML adds rendering every plain rule file.
func BenchmarkBuildYAML(b *testing.B) {
	inv := &inventory.Inventory{RouteSets: manySets(1000, 10)}
	opts := goldenOptions()
	size := 0
	loop(b, func() {
		bundle, _ := Build(inv, opts)
		size = 0
		for _, f := range bundle.Files {
			data, err := f.YAML()
			if err != nil {
				b.Fatal(err)
			}
			size += len(data)
		}
	})
	b.ReportMetric(float64(size), "bytes")
}

// synth is a synthetic mesh: per namespace one route set of routes values
// (plus unknown), served by workloads, each route answered with three codes
// to two clients as seen by two reporters, and a duration histogram of 8
// buckets per such series. 45 namespaces × 4 workloads × 10 routes make
// 23,760 request series and 190,080 bucket series.
type synth struct {
	namespaces, workloads, routes int
}

func (s synth) inventory() *inventory.Inventory {
	return &inventory.Inventory{RouteSets: manySets(s.namespaces, s.routes)}
}

// routeValues are the route values manySets gives each set, plus unknown.
func (s synth) routeValues() []string {
	set := manySets(1, s.routes)[0]
	return append(set.RouteValues(), series.UnknownRoute)
}

// series returns every synthetic series with its increase per minute.
func (s synth) series(withBuckets bool) ([]labels.Labels, []float64) {
	codes := []string{"200", "404", "503"}
	reporters := []string{"waypoint", "source"}
	clients := []string{"frontend", "batch"}
	les := []string{"5", "10", "25", "50", "100", "250", "1000", "+Inf"}
	var out []labels.Labels
	var inc []float64
	b := labels.NewScratchBuilder(8)
	for n := range s.namespaces {
		ns := fmt.Sprintf("team-%04d", n)
		for w := range s.workloads {
			wl := fmt.Sprintf("api-%d", w)
			for ri, route := range s.routeValues() {
				for _, rep := range reporters {
					for _, client := range clients {
						for ci, code := range codes {
							base := []string{
								series.LabelReporter, rep, series.LabelWorkloadNamespace, ns, series.LabelWorkload, wl,
								"route_name", route, series.LabelResponseCode, code, "source_workload", client,
							}
							perMin := float64((ri%5+1)*60) / float64(ci*10+1)
							out = append(out, makeLabels(&b, series.IstioRequestsTotal, base))
							inc = append(inc, perMin)
							if !withBuckets {
								continue
							}
							for li, le := range les {
								out = append(out, makeLabels(&b, series.IstioRequestDurationBucket, append(base, series.LabelLE, le)))
								inc = append(inc, perMin*float64(li+1)/float64(len(les)))
							}
						}
					}
				}
			}
		}
	}
	return out, inc
}

func makeLabels(b *labels.ScratchBuilder, name string, kv []string) labels.Labels {
	b.Reset()
	b.Add(labels.MetricName, name)
	for i := 0; i+1 < len(kv); i += 2 {
		b.Add(kv[i], kv[i+1])
	}
	b.Sort()
	return b.Labels()
}

// fill appends a sample per minute from 0 to minutes for every series.
func fill(tb testing.TB, st *teststorage.TestStorage, lset []labels.Labels, inc []float64, minutes int) {
	tb.Helper()
	refs := make([]storage.SeriesRef, len(lset))
	for m := 0; m <= minutes; m++ {
		app := st.Appender(context.Background())
		ts := int64(m) * time.Minute.Milliseconds()
		for i, l := range lset {
			ref, err := app.Append(refs[i], l, ts, float64(m)*inc[i])
			if err != nil {
				tb.Fatal(err)
			}
			refs[i] = ref
		}
		if err := app.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
}

// rawPerRoute are the queries the recording rules replace: for every route
// its request and error rate, error ratio and latency quantiles, and per
// workload the unknown share, each read from the raw series.
func rawPerRoute(s synth, c *compiled, units []*unit, windows []series.Window, latency bool) []string {
	var out []string
	for _, u := range units {
		for _, route := range s.routeValues()[:s.routes] {
			for _, w := range windows {
				rate := func(extra ...*labels.Matcher) parser.Expr {
					return rawRate(u, w, append(extra, pql.Eq(u.Tag, route))...)
				}
				errs := rate(c.errorMatchers...)
				out = append(out, rate().String(), errs.String(), pql.Binary(parser.DIV, errs, rate()).String())
				if !latency {
					continue
				}
				for _, q := range series.Quantiles() {
					buckets := sumBy(pql.RangeCall("rate", u.raw(series.IstioRequestDurationBucket, pql.Eq(u.Tag, route)), duration(w)),
						append(u.by(), series.LabelLE)...)
					out = append(out, pql.Call("histogram_quantile", pql.Number(quantileValue(q)), buckets).String())
				}
			}
		}
		if latency {
			out = append(out, unknownShareRaw(u).String())
		}
	}
	return out
}

func unknownShareRaw(u *unit) parser.Expr {
	perWorkload := []string{series.LabelWorkloadNamespace, series.LabelWorkload}
	rate := func(extra ...*labels.Matcher) parser.Expr {
		return sumBy(pql.RangeCall("rate", u.raw(series.IstioRequestsTotal, extra...), duration(shortWindow)), perWorkload...)
	}
	return pql.Binary(parser.DIV, rate(pql.Eq(u.Tag, series.UnknownRoute)), rate())
}

type benchEnv struct {
	st     *teststorage.TestStorage
	world  *world
	raw    []string
	groups map[string][]*rules.Group
}

func newBenchEnv(b *testing.B, s synth, minutes int, withBuckets bool, rawWindows []series.Window) *benchEnv {
	b.Helper()
	// No WAL and no exemplars: the benchmark measures queries, not ingestion.
	st := teststorage.New(b, func(o *tsdb.Options) {
		o.WALSegmentSize = -1
		o.EnableExemplarStorage = false
		o.MaxExemplars = 0
	})
	lset, inc := s.series(withBuckets)
	fill(b, st, lset, inc, minutes)
	b.ReportMetric(float64(len(lset)), "series")

	inv := s.inventory()
	bundle, diags := Build(inv, DefaultOptions())
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	c, _ := DefaultOptions().compile()
	units, _ := buildUnits(inv, &c)
	engine := promqltest.NewTestEngine(b, false, 0, 50_000_000)
	env := &benchEnv{st: st, world: newWorldOn(b, st, engine, bundle.Files), groups: map[string][]*rules.Group{}}
	for _, g := range env.world.groups {
		for _, kind := range []string{groupRecording, groupSLO, groupAlerts} {
			if strings.HasSuffix(g.Name(), "-"+kind) {
				env.groups[kind] = append(env.groups[kind], g)
			}
		}
	}
	env.raw = rawPerRoute(s, &c, units, rawWindows, withBuckets)
	return env
}

// cpuTime is the CPU time of the process so far: with other work sharing the
// machine, it measures the queries better than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f as the benchmark body and reports its CPU time per run.
func loop(b *testing.B, f func()) {
	start, n := cpuTime(), 0
	for b.Loop() {
		f()
		n++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
}

func (e *benchEnv) evalGroups(kind string, at time.Duration) {
	ts := time.Unix(0, 0).UTC().Add(at)
	for _, g := range e.groups[kind] {
		g.Eval(context.Background(), ts)
	}
}

func (e *benchEnv) evalRaw(at time.Duration) {
	e.world.now = time.Unix(0, 0).UTC().Add(at)
	for _, q := range e.raw {
		e.world.query(q)
	}
}

// BenchmarkEvaluate5m compares one evaluation of the generated 5m recording
// groups (which also store their results) with running the equivalent raw
// queries once per route, over ~214k istio_* series.
func BenchmarkEvaluate5m(b *testing.B) {
	env := newBenchEnv(b, synth{namespaces: 45, workloads: 4, routes: 10}, 6, true, []series.Window{shortWindow})
	at := 6 * time.Minute
	b.Run("generated-groups", func(b *testing.B) {
		loop(b, func() { env.evalGroups(groupRecording, at) })
		b.ReportMetric(float64(len(env.groups[groupRecording])), "groups")
	})
	b.Run("raw-per-route", func(b *testing.B) {
		loop(b, func() { env.evalRaw(at) })
		b.ReportMetric(float64(len(env.raw)), "queries")
	})
}

// BenchmarkEvaluateSLOWindows compares the generated long-window group
// (rates averaged from the recorded 5m series) with raw rate() queries per
// route and window, over 2h of request series history. With 2h of data every
// window longer than 2h reads the same samples as 2h; in production the raw
// queries' cost grows with the window, the derived ones' much less.
func BenchmarkEvaluateSLOWindows(b *testing.B) {
	const minutes = 120
	env := newBenchEnv(b, synth{namespaces: 45, workloads: 4, routes: 10}, minutes, false, derivedWindows())
	for m := 1; m <= minutes; m++ {
		env.evalGroups(groupRecording, time.Duration(m)*time.Minute)
	}
	at := minutes * time.Minute
	b.Run("generated-groups", func(b *testing.B) {
		loop(b, func() { env.evalGroups(groupSLO, at) })
	})
	b.Run("raw-per-route", func(b *testing.B) {
		loop(b, func() { env.evalRaw(at) })
		b.ReportMetric(float64(len(env.raw)), "queries")
	})
}
