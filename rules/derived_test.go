package rules

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

func sloSet(ns string) inventory.RouteSet {
	return inventory.RouteSet{
		ID: ns + "/slo", Namespace: ns, Tag: "route_name",
		Scope:       inventory.Scope{Kind: inventory.ScopeNamespace, Namespace: ns},
		Routes:      routes("steady", "burst", "late", "reset"),
		Metrics:     []inventory.Metric{inventory.RequestCount},
		Telemetry:   diag.ObjectRef{Kind: "Telemetry", Namespace: ns, Name: "slo"},
		Annotations: map[string]string{policy.Prefix + "objective": "0.99"},
	}
}

// rawRate is the per-route request rate over w read from the raw counter
// the way Sloth and Pyrra do: rate() over the whole window.
func rawRate(u *unit, w series.Window, extra ...*labels.Matcher) parser.Expr {
	return u.rawRate(series.IstioRequestsTotal, w, extra...)
}

// rawWindow computes a long-window series from the raw counters.
func rawWindow(u *unit, c *compiled, name string, w series.Window) string {
	rate := func(extra ...*labels.Matcher) parser.Expr { return rawRate(u, w, extra...) }
	switch name {
	case series.RequestsRate(w):
		return rate().String()
	case series.ErrorsRate(w):
		return rate(c.errorMatchers...).String()
	}
	return pql.Binary(parser.DIV, rate(c.errorMatchers...), rate()).String()
}

// counters are Istio request counters of routes, scraped once a minute:
// perMinute(m) is the increase in minute m (from m-1 to m), a negative value
// resets the counter to 0 at m, NaN means the series does not exist yet.
type counters struct {
	lsets     []labels.Labels
	perMinute []func(m int) float64
	values    []float64
	refs      []storage.SeriesRef
}

func (cs *counters) add(l labels.Labels, perMinute func(m int) float64) {
	cs.lsets = append(cs.lsets, l)
	cs.perMinute = append(cs.perMinute, perMinute)
	cs.values = append(cs.values, 0)
	cs.refs = append(cs.refs, 0)
}

// scrape appends every counter's sample at minute m of at; at must advance
// a minute at a time.
func (cs *counters) scrape(t testing.TB, st storage.Appendable, at time.Time) {
	m := minutes(at.Sub(time.Unix(0, 0)))
	app := st.Appender(context.Background())
	for i, l := range cs.lsets {
		inc := cs.perMinute[i](m)
		switch {
		case math.IsNaN(inc):
			continue
		case inc < 0:
			cs.values[i] = 0
		default:
			cs.values[i] += inc
		}
		ref, err := app.Append(cs.refs[i], l, at.UnixMilli(), cs.values[i])
		if err != nil {
			t.Fatal(err)
		}
		cs.refs[i] = ref
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

const day = 24 * time.Hour

func minutes(d time.Duration) int { return int(d / time.Minute) }

// exactScenario is four routes scraped every minute: "steady", "burst"
// (10x its traffic for the 10 minutes after burstAt), "late" (no series
// before lateAt) and "reset" (its counters restart from 0 at resetAt).
type exactScenario struct {
	end, burstAt, lateAt, resetAt time.Duration
	// interval is the evaluation interval of the rule groups.
	interval time.Duration
	// windows are compared, at each check, with rate() over the raw series.
	windows []series.Window
	checks  []time.Duration
}

// Every derived window up to 3d equals rate() over the raw counters within
// 1%, for every route at every check: half a window and a window after each
// event, and every minute through the burst. The groups run every minute, as
// in Prometheus, over 3 days of one-minute scrapes.
func TestDerivedWindowsMatchRaw(t *testing.T) {
	sc := exactScenario{
		end: 3 * day, burstAt: 2*day + 6*time.Hour, lateAt: day, resetAt: 2*day + 3*time.Hour,
		interval: time.Minute,
	}
	sc.windows = slices.DeleteFunc(derivedWindows(), func(w series.Window) bool { return w == series.Window30d })
	for _, win := range sc.windows {
		d := duration(win)
		for _, event := range []time.Duration{sc.burstAt, sc.lateAt, sc.resetAt} {
			sc.checks = append(sc.checks, event+d/2, event+d, event+d+5*time.Minute)
		}
	}
	for m := -5; m <= 20; m++ {
		sc.checks = append(sc.checks, sc.burstAt+time.Duration(m)*time.Minute)
	}
	sc.run(t)
}

// The 30d window equals rate() over 30 days of raw counters within 1%, with
// the burst at its head, the late route starting 15 days in and the reset
// inside. The groups run every 30m to keep the month short.
func TestPeriodWindowMatchesRaw(t *testing.T) {
	sc := exactScenario{
		end: 31 * day, burstAt: 30*day + 6*time.Hour, lateAt: 16 * day, resetAt: 29*day + 3*time.Hour,
		interval: 30 * time.Minute, windows: []series.Window{series.Window30d},
	}
	sc.checks = []time.Duration{30 * day, sc.burstAt + 30*time.Minute, sc.burstAt + 6*time.Hour, sc.end}
	sc.run(t)
}

func (sc exactScenario) traffic() map[string]func(m int) float64 {
	// Requests per minute of each route.
	return map[string]func(m int) float64{
		"steady": func(int) float64 { return 600 },
		"burst": func(m int) float64 {
			if m > minutes(sc.burstAt) && m <= minutes(sc.burstAt+10*time.Minute) {
				return 1000
			}
			return 100
		},
		"late": func(m int) float64 {
			if m < minutes(sc.lateAt) {
				return math.NaN()
			}
			return 300
		},
		"reset": func(m int) float64 {
			if m == minutes(sc.resetAt) {
				return -1
			}
			return 200
		},
	}
}

func (sc exactScenario) run(t *testing.T) {
	const (
		ns  = "exact"
		tag = "route_name"
	)
	var cs counters
	for route, perMinute := range sc.traffic() {
		// 1% of the requests fail.
		for code, share := range map[string]float64{"200": 0.99, "500": 0.01} {
			cs.add(labels.FromStrings(labels.MetricName, series.IstioRequestsTotal,
				series.LabelReporter, "destination", series.LabelWorkloadNamespace, ns, series.LabelWorkload, "api",
				tag, route, series.LabelResponseCode, code), func(m int) float64 {
				v := perMinute(m)
				if v > 0 {
					v *= share
				}
				return v
			})
		}
	}
	opts := DefaultOptions()
	opts.Interval = model.Duration(sc.interval)
	opts.Defaults.Alerts = policy.Alerts{} // not under test
	inv := &inventory.Inventory{RouteSets: []inventory.RouteSet{sloSet(ns)}}
	c, err := opts.compile()
	if err != nil {
		t.Fatal(err)
	}
	units, _ := buildUnits(inv, &c)
	b, diags := Build(inv, opts)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	st := teststorage.New(t)
	w := newWorldOn(t, st, promqltest.NewTestEngine(t, false, 0, 1_000_000), b.Files)
	w.scrape = func(at time.Time) { cs.scrape(t, st, at) }

	worst := map[series.Window]float64{}
	checks := slices.Compact(slices.Sorted(slices.Values(sc.checks)))
	for _, at := range checks {
		if at > sc.end || at%sc.interval != 0 {
			continue
		}
		w.advance(at)
		for _, win := range sc.windows {
			for _, name := range []string{series.RequestsRate(win), series.ErrorsRate(win), series.ErrorRatio(win)} {
				// A window of a slower group is compared at the time of its
				// latest evaluation.
				recordedAt := w.value("timestamp(" + selector(name, tag, "steady") + ")")
				evalAt := time.Unix(0, 0).UTC().Add(time.Duration(recordedAt * float64(time.Second)))
				raw := rawWindow(units[0], &c, name, win)
				for _, want := range w.queryAt(raw, evalAt) {
					route := want.Metric.Get(tag)
					got := w.query(selector(name, tag, route))
					if len(got) != 1 {
						t.Errorf("at %s: %s{route %q}: %d series, want 1", at, name, route, len(got))
						continue
					}
					rel := math.Abs(got[0].F-want.F) / math.Abs(want.F)
					worst[win] = max(worst[win], rel)
					if rel > 0.01 {
						t.Errorf("at %s route %s: %s = %g, rate() over the raw series %g (%.2f%% off)",
							at, route, name, got[0].F, want.F, 100*rel)
					}
				}
			}
		}
	}
	for _, win := range sc.windows {
		t.Logf("%-4s largest difference from rate() over the raw series: %.3f%%", win, 100*worst[win])
	}
}

func buildFilesOf(t *testing.T, inv *inventory.Inventory) []RuleFile {
	t.Helper()
	b, diags := Build(inv, DefaultOptions())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	return b.Files
}
