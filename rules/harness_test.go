package rules

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/series"
)

// world is a Prometheus in a test: series loaded with promqltest's load
// syntax, the generated rule files loaded by Prometheus' own rule manager,
// and a clock the test advances. Nothing is faked: the files are parsed,
// evaluated and stored exactly as a Prometheus server would.
type world struct {
	t       testing.TB
	storage storage.Storage
	engine  *promql.Engine
	groups  []*rules.Group
	now     time.Time
	// next is the next time the groups are due.
	next time.Time
	// scrape, when set, appends the samples scraped at a time before the
	// groups evaluate at it, for data that arrives as time goes by.
	scrape func(at time.Time)
}

const evalInterval = time.Minute

func newWorld(t testing.TB, load string, files []RuleFile) *world {
	t.Helper()
	st := promqltest.LoadedStorage(t, load)
	engine := promqltest.NewTestEngine(t, false, 0, 1_000_000)
	return newWorldOn(t, st, engine, files)
}

func newWorldOn(t testing.TB, st storage.Storage, engine *promql.Engine, files []RuleFile) *world {
	t.Helper()
	paths := writeRuleFiles(t, t.TempDir(), files)
	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(engine, st),
		AppendableV2: st,
		Queryable:    st,
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       promslog.NewNopLogger(),
	})
	loaded, errs := m.LoadGroups(evalInterval, labels.EmptyLabels(), "", nil, false, paths...)
	if len(errs) > 0 {
		t.Fatalf("Prometheus rejects the rule files: %v", errs)
	}
	w := &world{t: t, storage: st, engine: engine, now: time.Unix(0, 0).UTC(), next: time.Unix(0, 0).UTC()}
	// Evaluate files in order and groups in file order, as a Prometheus
	// whose groups start together would.
	for i, f := range files {
		for _, g := range f.Groups.Groups {
			w.groups = append(w.groups, loaded[rules.GroupKey(paths[i], g.Name)])
		}
	}
	return w
}

// writeRuleFiles writes the plain rule files into dir and returns their paths.
func writeRuleFiles(t testing.TB, dir string, files []RuleFile) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		data, err := f.YAML()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, f.Name+".yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// advance evaluates each group at every multiple of its interval up to and
// including until, as a Prometheus whose groups all start at 0 would. Groups
// without an interval of their own run every evalInterval.
func (w *world) advance(until time.Duration) {
	epoch := time.Unix(0, 0).UTC()
	end := epoch.Add(until)
	for ; !w.next.After(end); w.next = w.next.Add(evalInterval) {
		if w.scrape != nil {
			w.scrape(w.next)
		}
		for _, g := range w.groups {
			if w.next.Sub(epoch)%g.Interval() == 0 {
				g.Eval(context.Background(), w.next)
			}
		}
	}
	w.now = end
	for _, g := range w.groups {
		for _, r := range g.Rules() {
			if err := r.LastError(); err != nil {
				w.t.Fatalf("rule %s of group %s failed: %v", r.Name(), g.Name(), err)
			}
		}
	}
}

// query evaluates expr at the current time.
func (w *world) query(expr string) promql.Vector {
	w.t.Helper()
	return w.queryAt(expr, w.now)
}

// queryAt evaluates expr at time at.
func (w *world) queryAt(expr string, at time.Time) promql.Vector {
	w.t.Helper()
	q, err := w.engine.NewInstantQuery(context.Background(), w.storage, nil, expr, at)
	if err != nil {
		w.t.Fatalf("query %s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		w.t.Fatalf("query %s: %v", expr, res.Err)
	}
	v, err := res.Vector()
	if err != nil {
		w.t.Fatalf("query %s: %v", expr, err)
	}
	return v
}

// alertLine identifies an alert by name and routing labels, for comparisons.
func alertLine(l labels.Labels) string {
	return strings.Join([]string{
		l.Get(labels.AlertName), l.Get(series.AlertLabelSeverity), l.Get(series.AlertLabelNamespace),
		l.Get(series.AlertLabelWorkload), l.Get(series.AlertLabelRoute),
	}, " | ")
}

// alerts returns the active alerts in state.
func (w *world) alerts(state rules.AlertState) []*rules.Alert {
	var out []*rules.Alert
	for _, g := range w.groups {
		for _, a := range g.AlertingRules() {
			for _, al := range a.ActiveAlerts() {
				if al.State == state {
					out = append(out, al)
				}
			}
		}
	}
	return out
}

// expectFiring fails the test unless exactly the alerts want fire.
func (w *world) expectFiring(when string, want ...string) {
	w.t.Helper()
	var got []string
	for _, a := range w.alerts(rules.StateFiring) {
		got = append(got, alertLine(a.Labels))
	}
	slices.Sort(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		w.t.Errorf("firing %s:\n%s\nwant:\n%s", when, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// alert returns the firing alert with the given alertLine.
func (w *world) alert(line string) *rules.Alert {
	w.t.Helper()
	for _, a := range w.alerts(rules.StateFiring) {
		if alertLine(a.Labels) == line {
			return a
		}
	}
	w.t.Fatalf("no firing alert %q", line)
	return nil
}

// value returns the value of the single series expr selects.
func (w *world) value(expr string) float64 {
	w.t.Helper()
	v := w.query(expr)
	if len(v) != 1 {
		w.t.Fatalf("%s: want one series, got %d: %v", expr, len(v), v)
	}
	return v[0].F
}

// valueWhere returns the value of the one series of expr whose label name is value.
func (w *world) valueWhere(expr, name, value string) float64 {
	w.t.Helper()
	var found []float64
	for _, s := range w.query(expr) {
		if s.Metric.Get(name) == value {
			found = append(found, s.F)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("%s: want one series with %s=%q, got %d", expr, name, value, len(found))
	}
	return found[0]
}

func closeTo(got, want, rel float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= rel*math.Max(math.Abs(got), math.Abs(want))
}

// selector prints a selector for name with equality matchers, via the
// parser's printer, so that awkward values are escaped the same way.
func selector(name string, kv ...string) string {
	ms := make([]*labels.Matcher, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ms = append(ms, pql.Eq(kv[i], kv[i+1]))
	}
	return pql.Vector(name, ms...).String()
}

// mustParse parses expr and fails the test when the parser rejects it.
func mustParse(t testing.TB, expr string) parser.Expr {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return e
}
