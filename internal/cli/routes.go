package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/internal/promapi"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

const routesUsage = `--prometheus URL [PATH...] [--namespace NS] [--workload W] [--since 5m] [-o table|json]

Prints, per destination workload and route, the request rate, the success
ratio (not 5xx) and the p50/p95/p99 latency, from routebundle's recorded
series, or from the raw Istio series where the recording rules are not
installed (and says so on stderr). The unknown row is traffic no route
matched; a configured route without traffic is marked [not seen], a value
the configuration does not know [not configured]. The route sets are read
from PATH (default: the embedded podinfo example).
`

// routesOptions are the flags of `bundlegen routes`.
type routesOptions struct {
	prom      promapi.Options
	namespace string
	workload  string
	since     time.Duration
	format    string
}

func runRoutes(ctx context.Context, env *Env, args []string) error {
	o, paths, err := parseRoutesArgs(env, args)
	if err != nil {
		return err
	}
	_, inv, err := loadInventory(env, input{paths: paths})
	if err != nil {
		return err
	}
	api, err := promapi.New(o.prom)
	if err != nil {
		return usageError(fmt.Errorf("routes: %w", err))
	}
	rep, err := queryRoutes(ctx, api, inv, o, time.Now())
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	for _, n := range rep.notes {
		fmt.Fprintf(env.Stderr, "bundlegen routes: %s\n", n)
	}
	if o.format == "json" {
		return writeRoutesJSON(env.Stdout, rep.rows)
	}
	return writeRoutesTable(env.Stdout, rep.rows)
}

func parseRoutesArgs(env *Env, args []string) (routesOptions, []string, error) {
	o := routesOptions{format: "table"}
	since := "5m"
	fs := newFlagSet(env, "routes", routesUsage)
	o.prom.AddFlags(fs.FlagSet, "prometheus")
	fs.StringVar(&o.namespace, "namespace", "", "only destination workloads of namespace `NS`")
	fs.StringVar(&o.workload, "workload", "", "only destination workload `W`")
	fs.StringVar(&since, "since", since, "rate `window` (Prometheus duration)")
	fs.StringVar(&o.format, "o", o.format, "output `format`: table or json")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return o, nil, err
	}
	if o.format != "table" && o.format != "json" {
		return o, nil, usageError(fmt.Errorf("routes: -o must be table or json, not %q", o.format))
	}
	if o.prom.URL == "" {
		return o, nil, usageError(errors.New("routes: --prometheus is required"))
	}
	if err := o.prom.Validate(); err != nil {
		return o, nil, usageError(fmt.Errorf("routes: %w", err))
	}
	d, err := model.ParseDuration(since)
	if err != nil || d <= 0 {
		return o, nil, usageError(fmt.Errorf("routes: --since %q: want a positive Prometheus duration such as 5m", since))
	}
	o.since = time.Duration(d)
	return o, paths, nil
}

// routeRow is one line of the table.
type routeRow struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	RouteTag  string `json:"routeTag"`
	Route     string `json:"route"`
	// RPS is requests per second; nil when the route was not seen.
	RPS          *float64 `json:"rps"`
	SuccessRatio *float64 `json:"successRatio"`
	P50Ms        *float64 `json:"p50Ms"`
	P95Ms        *float64 `json:"p95Ms"`
	P99Ms        *float64 `json:"p99Ms"`
	// Seen is false for a configured route without traffic in the window.
	Seen bool `json:"seen"`
	// Configured is false for a value no route set configures (unknown
	// is configured: it is what no match gives).
	Configured bool `json:"configured"`
	// Source is "recorded" (routebundle's rules) or "raw" (istio_* series).
	Source string `json:"source"`
}

// quantile is the field of routeQuantiles[i].
func (r *routeRow) quantile(i int) **float64 {
	return [...]**float64{&r.P50Ms, &r.P95Ms, &r.P99Ms}[i]
}

type routesReport struct {
	rows  []routeRow
	notes []string
}

// routeKey identifies a row's traffic.
type routeKey struct{ namespace, workload, route string }

// Quantiles shown, as the table's columns.
var routeQuantiles = []float64{0.5, 0.95, 0.99}

// queryRoutes asks Prometheus for the traffic of every route tag of inv:
// five queries per tag (requests, errors and three quantiles) whatever the
// number of routes, plus one for the rules.
func queryRoutes(ctx context.Context, api promv1.API, inv *inventory.Inventory, o routesOptions, now time.Time) (*routesReport, error) {
	rep := &routesReport{}
	tags := map[string][]*inventory.Traffic{}
	for _, t := range inv.Traffic() {
		if o.namespace == "" || t.CoversNamespace(o.namespace) {
			tags[t.Tag] = append(tags[t.Tag], t)
		}
	}
	if len(tags) == 0 {
		rep.notes = append(rep.notes, "no route set applies; nothing to show")
		return rep, nil
	}
	installed, err := recordedTags(ctx, api)
	if err != nil {
		rep.notes = append(rep.notes, fmt.Sprintf("cannot list the rules (%v); reading raw series", err))
	}
	for _, tag := range slices.Sorted(maps.Keys(tags)) {
		q := routeQueries{tag: tag, o: o, recorded: installed[tag], clientSide: true}
		for _, t := range tags[tag] {
			q.clientSide = q.clientSide && t.ClientSide
			for _, rs := range t.Sets {
				q.latency = q.latency || rs.HasLatency()
			}
		}
		rows, err := q.run(ctx, api, now)
		if err != nil {
			return nil, err
		}
		rep.notes = append(rep.notes, q.note())
		rep.rows = append(rep.rows, withUnseen(rows, tags[tag], q)...)
	}
	sortRouteRows(rep.rows)
	return rep, nil
}

// recordedTags are the route tags whose request-rate recording rule
// Prometheus evaluates.
func recordedTags(ctx context.Context, api promv1.API) (map[string]bool, error) {
	res, err := api.Rules(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if rr, ok := r.(promv1.RecordingRule); ok && rr.Name == series.RequestsRate5m {
				if tag := rr.Labels[model.LabelName(series.LabelRouteTag)]; tag != "" {
					out[string(tag)] = true
				}
			}
		}
	}
	return out, nil
}

// routeQueries are the queries of one route tag.
type routeQueries struct {
	tag      string
	o        routesOptions
	recorded bool
	latency  bool
	// clientSide: every traffic of the tag is read on the client side
	// (gateways, client sidecars), so the raw series are reporter="source".
	// A tag read on both sides shows the server side's raw series only;
	// the recorded series hold each namespace's from its own side.
	clientSide bool
}

func (q *routeQueries) source() string {
	if q.recorded {
		return "recorded"
	}
	return "raw"
}

func (q *routeQueries) note() string {
	if q.recorded {
		// The recorded rates are over 5m; a shorter --since cannot narrow them.
		return fmt.Sprintf("%s: from the recorded series (%s), over %s", q.tag, series.RequestsRate5m, model.Duration(max(q.o.since, 5*time.Minute)))
	}
	return fmt.Sprintf("%s: routebundle's recording rules are not installed; computed from the raw %s over %s",
		q.tag, series.IstioRequestsTotal, model.Duration(q.o.since))
}

func (q *routeQueries) by() []string {
	return []string{series.LabelWorkloadNamespace, series.LabelWorkload, q.tag}
}

func (q *routeQueries) filters() []*labels.Matcher {
	var ms []*labels.Matcher
	if q.o.namespace != "" {
		ms = append(ms, pql.Eq(series.LabelWorkloadNamespace, q.o.namespace))
	}
	if q.o.workload != "" {
		ms = append(ms, pql.Eq(series.LabelWorkload, q.o.workload))
	}
	return ms
}

// rate is the per-second rate of a recorded 5m series (averaged over a
// longer window) or of a raw counter over the window.
func (q *routeQueries) rate(recorded, raw string, extra ...*labels.Matcher) parser.Expr {
	if q.recorded {
		v := pql.Vector(recorded, append(q.filters(), pql.Eq(series.LabelRouteTag, q.tag))...)
		if q.o.since > 5*time.Minute {
			return pql.RangeCall("avg_over_time", v, q.o.since)
		}
		return v
	}
	reporter := pql.Re(series.LabelReporter, series.ServerReporters)
	if q.clientSide {
		reporter = pql.Eq(series.LabelReporter, series.ClientReporter)
	}
	ms := append(q.filters(), pql.Neq(q.tag, ""), reporter)
	return pql.RangeCall("rate", pql.Vector(raw, append(ms, extra...)...), q.o.since)
}

func (q *routeQueries) exprs() []string {
	requests := pql.Aggregate(parser.SUM, q.rate(series.RequestsRate5m, series.IstioRequestsTotal), q.by()...)
	errs := pql.Aggregate(parser.SUM, q.rate(series.ErrorsRate5m, series.IstioRequestsTotal, pql.Re(series.LabelResponseCode, "5..")), q.by()...)
	out := []string{requests.String(), errs.String()}
	if q.latency {
		buckets := pql.Aggregate(parser.SUM, q.rate(series.DurationBucketRate5m, series.IstioRequestDurationBucket), append(q.by(), series.LabelLE)...)
		for _, qu := range routeQuantiles {
			out = append(out, pql.Call("histogram_quantile", pql.Number(qu), buckets).String())
		}
	}
	return out
}

func (q *routeQueries) run(ctx context.Context, api promv1.API, now time.Time) (map[routeKey]*routeRow, error) {
	rows := map[routeKey]*routeRow{}
	row := func(k routeKey) *routeRow {
		r := rows[k]
		if r == nil {
			r = &routeRow{Namespace: k.namespace, Workload: k.workload, RouteTag: q.tag, Route: k.route, Source: q.source()}
			rows[k] = r
		}
		return r
	}
	errRates := map[routeKey]float64{}
	for i, expr := range q.exprs() {
		v, _, _, err := api.Query(ctx, expr, now)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		vec, ok := v.(model.Vector)
		if !ok {
			return nil, fmt.Errorf("query %s: want a vector, got %s", expr, v.Type())
		}
		for _, s := range vec {
			k := routeKey{string(s.Metric[series.LabelWorkloadNamespace]), string(s.Metric[series.LabelWorkload]), string(s.Metric[model.LabelName(q.tag)])}
			val := float64(s.Value)
			switch i {
			case 0:
				row(k).RPS = &val
			case 1:
				errRates[k] = val
			default:
				if !math.IsNaN(val) {
					*row(k).quantile(i - 2) = &val
				}
			}
		}
	}
	for k, r := range rows {
		if r.RPS == nil || *r.RPS <= 0 {
			r.RPS, r.P50Ms, r.P95Ms, r.P99Ms = nil, nil, nil, nil
			continue
		}
		r.Seen = true
		ratio := 1 - errRates[k] / *r.RPS
		ratio = math.Min(1, math.Max(0, ratio))
		r.SuccessRatio = &ratio
	}
	return rows, nil
}

// withUnseen marks configured values and adds a [not seen] row for each
// configured route without traffic, under each workload with traffic in
// the namespaces its traffic covers, or under no workload.
func withUnseen(rows map[routeKey]*routeRow, traffic []*inventory.Traffic, q routeQueries) []routeRow {
	configured := func(ns, v string) bool {
		if v == series.UnknownRoute {
			return true
		}
		for _, t := range traffic {
			if t.CoversNamespace(ns) && slices.ContainsFunc(t.Sets, func(rs *inventory.RouteSet) bool { return slices.Contains(rs.RouteValues(), v) }) {
				return true
			}
		}
		return false
	}
	for k, r := range rows {
		r.Configured = configured(k.namespace, k.route)
	}
	for _, t := range traffic {
		var workloads []routeKey
		for k := range rows {
			if w := (routeKey{k.namespace, k.workload, ""}); t.CoversNamespace(k.namespace) && !slices.Contains(workloads, w) {
				workloads = append(workloads, w)
			}
		}
		if len(workloads) == 0 && q.o.workload == "" {
			workloads = []routeKey{{namespace: cmp.Or(t.Namespace, q.o.namespace)}}
		}
		for _, w := range workloads {
			for _, rs := range t.Sets {
				for _, v := range rs.RouteValues() {
					k := routeKey{w.namespace, w.workload, v}
					if _, ok := rows[k]; !ok {
						rows[k] = &routeRow{Namespace: k.namespace, Workload: k.workload, RouteTag: q.tag, Route: v, Configured: true, Source: q.source()}
					}
				}
			}
		}
	}
	out := make([]routeRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	return out
}

// sortRouteRows orders by namespace and workload, then seen routes, the
// unknown row, and the routes not seen.
func sortRouteRows(rows []routeRow) {
	rank := func(r *routeRow) int {
		switch {
		case !r.Seen:
			return 2
		case r.Route == series.UnknownRoute:
			return 1
		}
		return 0
	}
	slices.SortFunc(rows, func(a, b routeRow) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Workload, b.Workload),
			cmp.Compare(a.RouteTag, b.RouteTag), cmp.Compare(rank(&a), rank(&b)), cmp.Compare(a.Route, b.Route))
	})
}

func writeRoutesJSON(w io.Writer, rows []routeRow) error {
	if rows == nil {
		rows = []routeRow{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rows)
}

func writeRoutesTable(w io.Writer, rows []routeRow) error {
	tags := map[string]bool{}
	for _, r := range rows {
		tags[r.RouteTag] = true
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "NAMESPACE\tWORKLOAD\tROUTE\tRPS\tSUCCESS\tP50\tP95\tP99"
	if len(tags) > 1 {
		header = "NAMESPACE\tWORKLOAD\tTAG\tROUTE\tRPS\tSUCCESS\tP50\tP95\tP99"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		cells := []string{dash(r.Namespace), dash(r.Workload)}
		if len(tags) > 1 {
			cells = append(cells, r.RouteTag)
		}
		route := r.Route
		if !r.Configured {
			route += " [not configured]"
		}
		cells = append(cells, route)
		if !r.Seen {
			cells = append(cells, "[not seen]", "-", "-", "-", "-")
		} else {
			cells = append(cells, strconv.FormatFloat(*r.RPS, 'f', 2, 64), percent(r.SuccessRatio),
				millis(r.P50Ms), millis(r.P95Ms), millis(r.P99Ms))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func dash(s string) string { return cmp.Or(s, "-") }

func percent(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(100**v, 'f', 2, 64) + "%"
}

// millis renders a latency: 3.2ms, 120ms, 1.5s.
func millis(v *float64) string {
	switch {
	case v == nil:
		return "-"
	case *v >= 1000:
		return strconv.FormatFloat(*v/1000, 'g', 3, 64) + "s"
	}
	return strconv.FormatFloat(*v, 'g', 3, 64) + "ms"
}
