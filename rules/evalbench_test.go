package rules

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

// TestBenchRules is `make bench-rules`: one evaluation cycle of bundlegen's
// rule groups and of Sloth's rules for the same routes and objective, on a
// TSDB with 30 days of history, each measured as CPU time in the same run.
// It also times the dashboard's request-rate and p99 panels over 6h from
// the recorded series and from the raw ones. Not a test: skipped unless
// SLOTH_BIN is set.
//
// Environment: SLOTH_BIN (the sloth binary), BENCH_RULES_ROUTES (routes,
// default 1000), BENCH_RULES_CYCLES (cycles measured, default 5),
// BENCH_RULES_CACHE (a directory that keeps the generated TSDB between runs;
// default a temporary one).
func TestBenchRules(t *testing.T) {
	sloth := os.Getenv("SLOTH_BIN")
	if sloth == "" {
		t.Skip("SLOTH_BIN is not set; `make bench-rules` sets it")
	}
	n := envInt(t, "BENCH_RULES_ROUTES", 1000)
	cycles := envInt(t, "BENCH_RULES_CYCLES", 5)
	mesh := benchMesh{routes: n}

	bundle, diags := Build(mesh.inventory(), DefaultOptions())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	// The same routes with only what Sloth records: no latency, and of the
	// alerts only the burn rates.
	sloOnly := mesh.inventory()
	for i := range sloOnly.RouteSets {
		sloOnly.RouteSets[i].Metrics = []inventory.Metric{inventory.RequestCount}
	}
	sloOpts := DefaultOptions()
	sloOpts.Defaults.Alerts = policy.Alerts{BurnRatePage: true, BurnRateTicket: true}
	sloBundle, diags := Build(sloOnly, sloOpts)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	ruleDir := t.TempDir()
	ours := writeRuleFiles(t, filepath.Join(ruleDir, "bundlegen"), bundle.Files)
	oursSLO := writeRuleFiles(t, filepath.Join(ruleDir, "bundlegen-slo"), sloBundle.Files)
	theirs, slothSLIs := runSloth(t, sloth, filepath.Join(ruleDir, "sloth"), mesh)

	start := time.Now()
	db := openBenchTSDB(t, cmp.Or(os.Getenv("BENCH_RULES_CACHE"), t.TempDir()), mesh, slothSLIs, cycles)
	t.Logf("TSDB ready in %s", time.Since(start).Round(time.Second))

	engine := promql.NewEngine(promql.EngineOpts{
		Logger: promslog.NewNopLogger(), MaxSamples: 100_000_000, Timeout: time.Hour,
		LookbackDelta: 5 * time.Minute,
	})
	env := &cycleEnv{t: t, db: db, engine: engine}
	bg := env.load(ours)
	sl := env.load(theirs)
	// It writes the same series as the full bundle, with the same values.
	sloGroups := env.load(oursSLO)

	ourCost, theirCost, sloCost := newCosts(bg), newCosts(sl), newCosts(sloGroups)
	perWindow := map[string]time.Duration{}
	perRule := map[string]time.Duration{}
	prof := env.profiler(os.Getenv("BENCH_RULES_PROFILE"))
	for k := 1; k <= cycles; k++ {
		// Every group runs in every measured cycle, whatever its interval;
		// the report weighs each by how often Prometheus runs it.
		ts := benchHistoryEnd.Add(time.Duration(k) * time.Minute)
		prof("bundlegen", k, func() { env.cycle(ourCost, ts, perWindow, perRule) })
		prof("sloth", k, func() { env.cycle(theirCost, ts, nil, nil) })
		env.cycle(sloCost, ts, nil, nil)
	}
	env.checkRuleErrors(bg, sl)

	t.Logf("scale: %d routes in %d route sets, %d series, 30 days of history, rules every 1m",
		n, mesh.sets(), env.seriesCount())
	t.Logf("bundlegen: %d groups, %d recording + %d alerting rules; sloth: %d groups, %d recording + %d alerting rules",
		len(bg), countOf(bg, false), countOf(bg, true), len(sl), countOf(sl, false), countOf(sl, true))
	theirs1m := theirCost.perMinute()
	t.Logf("CPU of one evaluation of each group (median of %d cycles), summed:", cycles)
	t.Logf("  sloth v0.16.0, every group every 1m          %9s", round(theirs1m))
	for _, cl := range ourCost.classes() {
		t.Logf("  bundlegen, every %-4s %-22s %9s", model.Duration(cl.interval), cl.name, round(cl.cpu))
	}
	t.Log("bundlegen's CPU per minute, and how many times less than sloth's:")
	for _, f := range []struct {
		what string
		cpu  time.Duration
	}{
		{"slower groups amortised (each group's CPU x 1m / its interval)", ourCost.perMinute()},
		{"busiest minute as Prometheus slots the groups (by a hash of name and file)", ourCost.busiestMinute()},
		{"every group due in the same minute (an upper bound Prometheus' slots avoid)", ourCost.allDue()},
	} {
		t.Logf("  %-78s %9s  %5.1fx", f.what, round(f.cpu), ratioOf(theirs1m, f.cpu))
	}
	t.Logf("only the SLO rules (what Sloth records: no latency, unknown share, error-ratio or latency alerts): "+
		"%s per minute amortised (%.1fx less than sloth), %s with every group due",
		round(sloCost.perMinute()), ratioOf(theirs1m, sloCost.perMinute()), round(sloCost.allDue()))
	period := ourCost.suffix("-" + groupPeriod)
	t.Logf("30d share of bundlegen's CPU: %.1f%% per minute amortised, %.1f%% with every group due",
		100*float64(period.perMinute())/float64(ourCost.perMinute()), 100*float64(period.allDue())/float64(ourCost.allDue()))
	logShares(t, "window", perWindow)
	logShares(t, "rule", perRule)
	env.dashboards(mesh)
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// costs are the CPU times of each evaluation of a set of groups.
type costs struct {
	groups []*rules.Group
	cpu    [][]time.Duration // per group, per cycle
}

func newCosts(groups []*rules.Group) *costs {
	return &costs{groups: groups, cpu: make([][]time.Duration, len(groups))}
}

// of is the median CPU of group i's evaluations.
func (c *costs) of(i int) time.Duration { return median(c.cpu[i]) }

// suffix keeps the groups whose name ends in suffix.
func (c *costs) suffix(suffix string) *costs {
	out := &costs{}
	for i, g := range c.groups {
		if strings.HasSuffix(g.Name(), suffix) {
			out.groups = append(out.groups, g)
			out.cpu = append(out.cpu, c.cpu[i])
		}
	}
	return out
}

// allDue is the CPU of evaluating every group once.
func (c *costs) allDue() time.Duration {
	var sum time.Duration
	for i := range c.groups {
		sum += c.of(i)
	}
	return sum
}

// perMinute is the CPU per minute with each group evaluated at its interval.
func (c *costs) perMinute() time.Duration {
	var sum time.Duration
	for i, g := range c.groups {
		sum += time.Duration(float64(c.of(i)) * float64(time.Minute) / float64(g.Interval()))
	}
	return sum
}

// busiestMinute is the most CPU any 60 seconds see when each group runs in
// the slot Prometheus gives it: every interval, at an offset the rule
// manager derives from a hash of the group's name and file. Windows are
// tried at every second of the longest interval.
func (c *costs) busiestMinute() time.Duration {
	var longest time.Duration
	for _, g := range c.groups {
		longest = max(longest, g.Interval())
	}
	var most time.Duration
	for start := time.Duration(0); start < longest; start += time.Second {
		var sum time.Duration
		for i, g := range c.groups {
			iv := g.Interval()
			// The first evaluation at or after start.
			phase := time.Duration(g.EvalTimestamp(0).UnixNano()) % iv
			first := start + ((phase-start)%iv+iv)%iv
			for at := first; at < start+time.Minute; at += iv {
				sum += c.of(i)
			}
		}
		most = max(most, sum)
	}
	return most
}

// class is the groups of one kind and interval, with the CPU of one
// evaluation of each, summed.
type class struct {
	name     string
	interval time.Duration
	cpu      time.Duration
}

func (c *costs) classes() []class {
	kinds := []struct{ suffix, name string }{
		{groupRecording, "5m"}, {groupSLO, "30m, 1h"}, {groupLong, "2h, 6h, 1d, 3d"},
		{groupPeriod, "30d"}, {groupAlerts, "alerts"},
	}
	var out []class
	for _, k := range kinds {
		sub := c.suffix("-" + k.suffix)
		if len(sub.groups) > 0 {
			out = append(out, class{name: k.name, interval: sub.groups[0].Interval(), cpu: sub.allDue()})
		}
	}
	return out
}

// benchHistoryEnd is where the synthetic history ends and the measured
// cycles begin: 30 days after the epoch.
var benchHistoryEnd = time.Unix(0, 0).UTC().Add(30 * day)

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return v
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratioOf(a, b time.Duration) float64 { return float64(a) / float64(b) }

// benchMesh is the benchmark's traffic: route sets of 10 routes, one per
// namespace, each route served by one workload and reported by the
// destination sidecar and by the client's (which the rules leave out), with
// three response codes and a duration histogram of 8 buckets: 6 request and
// 48 bucket series per route.
type benchMesh struct{ routes int }

const benchRoutesPerSet = 10

var (
	benchCodes     = []string{"200", "404", "503"}
	benchCodeShare = []float64{0.97, 0.02, 0.01}
	benchReporters = []string{"destination", "source"}
	benchLEs       = []string{"5", "10", "25", "50", "100", "250", "1000", "+Inf"}
	benchLEShare   = []float64{0.05, 0.2, 0.45, 0.7, 0.9, 0.97, 0.995, 1}
)

func (m benchMesh) sets() int { return (m.routes + benchRoutesPerSet - 1) / benchRoutesPerSet }

func (m benchMesh) inventory() *inventory.Inventory {
	sets := manySets(m.sets(), benchRoutesPerSet)
	// The last set may have fewer routes.
	if extra := m.sets()*benchRoutesPerSet - m.routes; extra > 0 {
		last := &sets[len(sets)-1]
		last.Routes = last.Routes[:benchRoutesPerSet-extra]
	}
	return &inventory.Inventory{RouteSets: sets}
}

// route is one route of the mesh with its request rate (requests/s).
type benchRoute struct {
	ns, value string
	rate      float64
}

func (m benchMesh) each() []benchRoute {
	var out []benchRoute
	for _, rs := range m.inventory().RouteSets {
		for i, r := range rs.Routes {
			out = append(out, benchRoute{ns: rs.Namespace, value: r.Value, rate: float64(i%5 + 1)})
		}
	}
	return out
}

const benchWorkload = "api"

// cycleEnv evaluates rule groups on the benchmark's TSDB.
type cycleEnv struct {
	t      *testing.T
	db     *tsdb.DB
	engine *promql.Engine
}

// load reads rule files with Prometheus' rule manager, groups in file order.
func (e *cycleEnv) load(paths []string) []*rules.Group {
	e.t.Helper()
	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(e.engine, e.db),
		AppendableV2: e.db,
		Queryable:    e.db,
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       promslog.NewNopLogger(),
	})
	loaded, errs := m.LoadGroups(time.Minute, labels.EmptyLabels(), "", nil, false, paths...)
	if len(errs) > 0 {
		e.t.Fatalf("Prometheus rejects the rule files: %v", errs)
	}
	// LoadGroups returns a map: keep the order of the files.
	var out []*rules.Group
	for _, p := range paths {
		for _, g := range parseRuleFile(e.t, p).Groups {
			out = append(out, loaded[rules.GroupKey(p, g.Name)])
		}
	}
	return out
}

func parseRuleFile(t testing.TB, path string) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	if len(errs) > 0 {
		t.Fatalf("%s: %v", path, errs)
	}
	return groups
}

// cycle evaluates every group at ts, adding the CPU time each took to c.
// With perWindow, it adds each recording rule's evaluation time under the
// window its series name ends in; with perRule, each rule's under its name.
func (e *cycleEnv) cycle(c *costs, ts time.Time, perWindow, perRule map[string]time.Duration) {
	runtime.GC()
	for i, g := range c.groups {
		start := cpuTime()
		g.Eval(context.Background(), ts)
		c.cpu[i] = append(c.cpu[i], cpuTime()-start)
	}
	for _, g := range c.groups {
		for _, r := range g.Rules() {
			if perWindow != nil {
				perWindow[ruleWindow(r)] += r.GetEvaluationDuration()
			}
			if perRule != nil {
				perRule[r.Name()] += r.GetEvaluationDuration()
			}
		}
	}
}

// profiler returns a function that runs f under the CPU profiler, writing
// DIR/NAME-K.pprof, when dir is set (BENCH_RULES_PROFILE); `go tool pprof`
// merges the cycles' files. Without dir it just runs f.
func (e *cycleEnv) profiler(dir string) func(name string, k int, f func()) {
	return func(name string, k int, f func()) {
		if dir == "" {
			f()
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			e.t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, k)))
		if err != nil {
			e.t.Fatal(err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			e.t.Fatal(err)
		}
		f()
		pprof.StopCPUProfile()
	}
}

// ruleWindow names what a rule serves: the window of a recorded rate, or
// "alerts".
func ruleWindow(r rules.Rule) string {
	rr, ok := r.(*rules.RecordingRule)
	if !ok {
		return "alerts"
	}
	name := rr.Name()
	for _, w := range append([]series.Window{shortWindow}, derivedWindows()...) {
		for _, n := range []string{series.RequestsRate(w), series.ErrorsRate(w), series.ErrorRatio(w)} {
			if name == n || name == series.Blocks(n) {
				return string(w)
			}
		}
	}
	return "5m (latency, responses, unknown share)"
}

func logShares(t *testing.T, by string, spent map[string]time.Duration) {
	var total time.Duration
	keys := make([]string, 0, len(spent))
	for k, d := range spent {
		total += d
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return spent[keys[i]] > spent[keys[j]] })
	t.Logf("share of bundlegen's rule evaluation time by %s (every group evaluated every cycle):", by)
	for _, k := range keys {
		t.Logf("  %-48s %5.1f%%", k, 100*float64(spent[k])/float64(total))
	}
}

func (e *cycleEnv) checkRuleErrors(groupSets ...[]*rules.Group) {
	for _, groups := range groupSets {
		for _, g := range groups {
			for _, r := range g.Rules() {
				if err := r.LastError(); err != nil {
					e.t.Errorf("rule %s of group %s failed: %v", r.Name(), g.Name(), err)
				}
			}
		}
	}
}

func countOf(groups []*rules.Group, alerting bool) int {
	n := 0
	for _, g := range groups {
		for _, r := range g.Rules() {
			if _, ok := r.(*rules.AlertingRule); ok == alerting {
				n++
			}
		}
	}
	return n
}

func (e *cycleEnv) seriesCount() uint64 {
	n := e.db.Head().NumSeries()
	for _, b := range e.db.Blocks() {
		n = max(n, b.Meta().Stats.NumSeries)
	}
	return n
}

// dashboards times the request-rate and p99 panels of one route set's
// dashboard over 6h, from the recorded series (the panels' queries) and
// from the raw series (what they would have to ask without the rules).
func (e *cycleEnv) dashboards(m benchMesh) {
	rs := m.inventory().RouteSets[0]
	u := &unit{Traffic: &inventory.Traffic{Namespace: rs.Namespace, Tag: rs.Tag}}
	by := u.by()
	raw := func(metric string) parser.Expr { return u.rawRate(metric, shortWindow) }
	queries := []struct{ panel, recorded, raw string }{
		{
			"request rate by route",
			sumBy(u.recorded(series.RequestsRate5m), by...).String(),
			raw(series.IstioRequestsTotal).String(),
		},
		{
			"p99 latency by route",
			pql.Call("histogram_quantile", pql.Number(0.99), sumBy(u.recorded(series.DurationBucketRate5m), append(by, series.LabelLE)...)).String(),
			pql.Call("histogram_quantile", pql.Number(0.99), sumBy(pql.RangeCall("rate", u.raw(series.IstioRequestDurationBucket), duration(shortWindow)), append(by, series.LabelLE)...)).String(),
		},
	}
	end := benchHistoryEnd
	e.t.Logf("dashboard panels of one route set (%d routes), 6h at a 30s step, CPU per query (median of 5):", len(rs.Routes))
	for _, q := range queries {
		rec, rawT := e.rangeCPU(q.recorded, end), e.rangeCPU(q.raw, end)
		e.t.Logf("  %-24s recorded %8s   raw %8s   (%.1fx)", q.panel, rec.Round(10*time.Microsecond), rawT.Round(10*time.Microsecond), ratioOf(rawT, rec))
	}
}

func (e *cycleEnv) rangeCPU(expr string, end time.Time) time.Duration {
	var ds []time.Duration
	for range 5 {
		runtime.GC()
		start := cpuTime()
		q, err := e.engine.NewRangeQuery(context.Background(), e.db, nil, expr, end.Add(-6*time.Hour), end, 30*time.Second)
		if err != nil {
			e.t.Fatal(err)
		}
		res := q.Exec(context.Background())
		if res.Err != nil {
			e.t.Fatalf("%s: %v", expr, res.Err)
		}
		if m, _ := res.Matrix(); len(m) == 0 {
			e.t.Fatalf("%s: no result", expr)
		}
		q.Close()
		ds = append(ds, cpuTime()-start)
	}
	return median(ds)
}

// runSloth writes one Sloth spec per route set (an availability SLO per
// route, the same objective and server-side selector as bundlegen's rules),
// runs `sloth generate` and returns the rule files and the labels of the
// 5m SLI series their 30d rule averages.
func runSloth(t *testing.T, bin, dir string, m benchMesh) ([]string, []labels.Labels) {
	t.Helper()
	specs, out := filepath.Join(dir, "specs"), filepath.Join(dir, "rules")
	for _, d := range []string{specs, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	byNS := map[string][]benchRoute{}
	for _, r := range m.each() {
		byNS[r.ns] = append(byNS[r.ns], r)
	}
	for ns, routes := range byNS {
		if err := os.WriteFile(filepath.Join(specs, ns+".yaml"), []byte(slothSpec(ns, routes)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "generate", "--no-log", "-i", specs, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sloth generate: %v\n%s", err, b)
	}
	paths, err := filepath.Glob(filepath.Join(out, "*.yaml"))
	if err != nil || len(paths) != len(byNS) {
		t.Fatalf("sloth wrote %d rule files for %d specs (%v)", len(paths), len(byNS), err)
	}
	slices.Sort(paths)
	var slis []labels.Labels
	for _, path := range paths {
		for _, g := range parseRuleFile(t, path).Groups {
			for _, r := range g.Rules {
				if r.Record == "slo:sli_error:ratio_rate5m" {
					r.Labels[labels.MetricName] = r.Record
					slis = append(slis, labels.FromMap(r.Labels))
				}
			}
		}
	}
	if len(slis) != m.routes {
		t.Fatalf("sloth recorded %d 5m SLIs for %d routes", len(slis), m.routes)
	}
	return paths, slis
}

func slothSpec(ns string, routes []benchRoute) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: prometheus/v1\nservice: %s\nslos:\n", ns)
	sel := func(r benchRoute, extra string) string {
		return fmt.Sprintf(`sum(rate(%s{%s=~%q,%s=%q,%s=%q,route_name=%q%s}[{{.window}}]))`,
			series.IstioRequestsTotal, series.LabelReporter, series.ServerReporters,
			series.LabelWorkloadNamespace, ns, series.LabelWorkload, benchWorkload, r.value, extra)
	}
	for i, r := range routes {
		fmt.Fprintf(&b, "  - name: route-%d\n    objective: 99.9\n    sli:\n      events:\n", i)
		fmt.Fprintf(&b, "        error_query: %s\n", strconv.Quote(sel(r, `,response_code=~"5.."`)))
		fmt.Fprintf(&b, "        total_query: %s\n", strconv.Quote(sel(r, "")))
		fmt.Fprintf(&b, "    alerting:\n      name: RouteErrorBudgetBurn\n      page_alert: {labels: {severity: critical}}\n      ticket_alert: {labels: {severity: warning}}\n")
	}
	return b.String()
}

// noise is a deterministic pseudo-random number in [0, 1) for a series and
// a minute, so that the generated TSDB is the same in every run and its
// values compress as real ones do rather than as constants.
func noise(seriesID, minute int) float64 {
	x := uint64(seriesID)*0x9E3779B97F4A7C15 ^ uint64(minute)*0xC2B2AE3D27D4EB4F
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	return float64(x>>11) / (1 << 53)
}

// diurnal is the day's traffic curve, 0.6 to 1.4.
func diurnal(minute int) float64 {
	return 1 + 0.4*math.Sin(2*math.Pi*float64(minute)/(24*60))
}

// benchSeries is one series of the synthetic TSDB: its labels, and the
// value at a minute given the value a minute before.
type benchSeries struct {
	lset labels.Labels
	// from, to bound the minutes the series has samples for.
	from, to int
	next     func(minute int, prev float64) float64
}

// benchSeriesOf lists every series of the TSDB: the raw Istio counters, and
// the recorded series a Prometheus running the rules would hold, each for
// as far back as a rule or panel reads it.
func benchSeriesOf(m benchMesh, slis []labels.Labels, endMinute int) []benchSeries {
	var out []benchSeries
	history := minutes(30 * day)
	bucketsFrom := history - minutes(4*day)
	lb := labels.NewScratchBuilder(10)
	mk := func(name string, kv ...string) labels.Labels { return makeLabels(&lb, name, kv) }
	id := 0
	for ri, r := range m.each() {
		for _, reporter := range benchReporters {
			for ci, code := range benchCodes {
				base := []string{series.LabelReporter, reporter, series.LabelWorkloadNamespace, r.ns,
					series.LabelWorkload, benchWorkload, "route_name", r.value, series.LabelResponseCode, code}
				perMinute := r.rate * 60 * benchCodeShare[ci]
				sid := id
				id++
				requests := func(minute int) float64 {
					return math.Round(perMinute * diurnal(minute) * (0.8 + 0.4*noise(sid, minute)))
				}
				out = append(out, benchSeries{
					lset: mk(series.IstioRequestsTotal, base...), from: 0, to: endMinute,
					next: func(minute int, prev float64) float64 { return prev + requests(minute) },
				})
				// The buckets are 8 of every 9 series but only the 5m rules and
				// the raw p99 panel read them: they start 4 days back (past
				// Sloth's longest raw window), to keep generating the TSDB to
				// minutes.
				for li, le := range benchLEs {
					share := benchLEShare[li]
					out = append(out, benchSeries{
						lset: mk(series.IstioRequestDurationBucket, append(base, series.LabelLE, le)...), from: bucketsFrom, to: endMinute,
						next: func(minute int, prev float64) float64 { return prev + math.Floor(requests(minute)*share) },
					})
				}
			}
		}
		// Recorded series, as the rules would have written them every
		// minute: the chained windows for as long as the chains read
		// back, the 5m series for the 6h of the dashboard panels.
		route := []string{series.LabelWorkloadNamespace, r.ns, series.LabelWorkload, benchWorkload,
			"route_name", r.value, series.LabelRouteTag, "route_name"}
		rate := func(minute int, scale float64) float64 {
			return r.rate * scale * diurnal(minute) * (0.95 + 0.1*noise(ri+1<<20, minute))
		}
		back := map[series.Window]time.Duration{
			series.Window1h: 2 * time.Hour, series.Window2h: 5 * time.Hour, series.Window6h: day,
			series.Window1d: 3 * day, series.Window3d: 30 * day, shortWindow: 7 * time.Hour,
		}
		for w, d := range back {
			from := history - minutes(d)
			out = append(out,
				benchSeries{lset: mk(series.RequestsRate(w), route...), from: from, to: history,
					next: func(minute int, _ float64) float64 { return rate(minute, 1) }},
				benchSeries{lset: mk(series.ErrorsRate(w), route...), from: from, to: history,
					next: func(minute int, _ float64) float64 { return rate(minute, 0.01) }})
		}
		for li, le := range benchLEs {
			share := benchLEShare[li]
			out = append(out, benchSeries{lset: mk(series.DurationBucketRate5m, append(route, series.LabelLE, le)...),
				from: history - minutes(7*time.Hour), to: history,
				next: func(minute int, _ float64) float64 { return rate(minute, share) }})
		}
	}
	// Sloth's 5m SLI, which its 30d rule averages.
	for i, l := range slis {
		out = append(out, benchSeries{lset: l, from: 0, to: history,
			next: func(minute int, _ float64) float64 { return 0.01 * (0.5 + noise(i+1<<24, minute)) }})
	}
	return out
}

const benchBlock = 3 * day

// openBenchTSDB opens the benchmark's TSDB in cache, generating it first
// unless an earlier run left it there: 30 days of history in blocks of 3
// days (the largest Prometheus makes with 30 days of retention), the last
// two hours and the minutes the cycles read in the head, as in a running
// Prometheus. The head is not kept (no WAL): each run appends it anew from
// the counters' values where the blocks end, which the cache also keeps.
func openBenchTSDB(t *testing.T, cache string, m benchMesh, slis []labels.Labels, cycles int) *tsdb.DB {
	t.Helper()
	endMinute := minutes(30*day) + cycles + 1
	headFrom := minutes(30*day - 2*time.Hour)
	dir := filepath.Join(cache, fmt.Sprintf("routes-%d-v2", m.routes))
	gen := &benchGen{all: benchSeriesOf(m, slis, endMinute)}
	state := filepath.Join(dir, "head-state.json")
	if data, err := os.ReadFile(state); err == nil && json.Unmarshal(data, &gen.values) == nil && len(gen.values) == len(gen.all) {
		t.Logf("reusing the TSDB in %s", dir)
	} else {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		gen.values = make([]float64, len(gen.all))
		writeBenchBlocks(t, dir, gen, headFrom)
		data, err := json.Marshal(gen.values)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(state, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := tsdb.DefaultOptions()
	opts.WALSegmentSize = -1
	opts.RetentionDuration = 0
	opts.EnableExemplarStorage = false
	db, err := tsdb.Open(dir, promslog.NewNopLogger(), nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.DisableCompactions()
	t.Cleanup(func() { db.Close() })
	gen.run(t, db, headFrom, endMinute)
	return db
}

// writeBenchBlocks writes the minutes before headFrom as blocks.
func writeBenchBlocks(t *testing.T, dir string, gen *benchGen, headFrom int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	block := minutes(benchBlock)
	for from := 0; from < headFrom; from += block {
		start := time.Now()
		w, err := tsdb.NewBlockWriter(promslog.NewNopLogger(), dir, benchBlock.Milliseconds())
		if err != nil {
			t.Fatal(err)
		}
		gen.run(t, w, from, min(from+block, headFrom))
		if _, err := w.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("block %d/%d written in %s", from/block+1, (headFrom+block-1)/block, time.Since(start).Round(time.Second))
	}
}

// benchGen appends the samples of the synthetic series minute by minute,
// carrying each series' last value from one call to the next.
type benchGen struct {
	all    []benchSeries
	values []float64
}

// run appends minutes [from, to) of every series on all cores, each core a
// share of the series, committing every minute. The cores meet every
// benchStride minutes: the head rejects a sample older than half its chunk
// range (1h) before its newest one, so on a busy machine a core that fell
// that far behind the others failed the run ("out of bounds").
func (g *benchGen) run(t *testing.T, app storage.Appendable, from, to int) {
	t.Helper()
	workers := runtime.GOMAXPROCS(0)
	refs := make([][]storage.SeriesRef, workers)
	for wk := range refs {
		refs[wk] = make([]storage.SeriesRef, len(g.all))
	}
	for lo := from; lo < to; lo += benchStride {
		hi := min(lo+benchStride, to)
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for wk := range workers {
			wg.Go(func() { errs[wk] = g.shard(app, refs[wk], wk, workers, lo, hi) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
}

// benchStride is how many minutes the cores append before they wait for
// each other.
const benchStride = 10

func (g *benchGen) shard(app storage.Appendable, refs []storage.SeriesRef, shard, workers, from, to int) error {
	for minute := from; minute < to; minute++ {
		a := app.Appender(context.Background())
		ts := int64(minute) * time.Minute.Milliseconds()
		for i := shard; i < len(g.all); i += workers {
			s := &g.all[i]
			if minute < s.from || minute > s.to {
				continue
			}
			g.values[i] = s.next(minute, g.values[i])
			ref, err := a.Append(refs[i], s.lset, ts, g.values[i])
			if err != nil {
				return fmt.Errorf("%s at minute %d: %w", s.lset, minute, err)
			}
			refs[i] = ref
		}
		if err := a.Commit(); err != nil {
			return err
		}
	}
	return nil
}
