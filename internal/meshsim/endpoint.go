package meshsim

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/routebundle/routebundle/series"
)

// MetricsPath is where Envoy serves Prometheus metrics (Istio's
// http-envoy-prom port 15090, and the merged agent port 15020 on /stats/prometheus).
const MetricsPath = "/stats/prometheus"

// Endpoint serves one Proxy's metrics over HTTP.
type Endpoint struct {
	srv *http.Server
	ln  net.Listener

	mu    sync.Mutex
	proxy Proxy
	now   func() time.Time
	last  time.Time
	flows map[string]*flowState
	// series by name, then by rendered labels.
	counters   map[string]map[string]uint64
	histograms map[string]map[string]*histogram
	// order caches the sorted family names and label sets, which only
	// change when a series is added; buf is reused by render.
	order *renderOrder
	buf   []byte
}

type renderOrder struct {
	counters, histograms           []string
	counterLabels, histogramLabels map[string][]string
}

type flowState struct {
	carry, errCarry float64
	cursor          map[string]int // per response code
}

type histogram struct {
	buckets []uint64 // cumulative, one per DurationBucketsMs
	count   uint64
	sum     float64
}

// Listen serves p on addr (host:port; port 0 picks one) until Close.
func Listen(addr string, p Proxy) (*Endpoint, error) {
	e, err := newEndpoint(p, time.Now)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("meshsim: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(MetricsPath, e.serveMetrics)
	e.ln = ln
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// Start serves p on a random 127.0.0.1 port for the rest of the test.
func Start(t testing.TB, p Proxy) *Endpoint {
	t.Helper()
	return StartAt(t, "127.0.0.1:0", p)
}

// StartAt serves p on addr (another loopback address such as 127.0.0.2:0
// gives a proxy its own "pod IP") for the rest of the test.
func StartAt(t testing.TB, addr string, p Proxy) *Endpoint {
	t.Helper()
	e, err := Listen(addr, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func newEndpoint(p Proxy, now func() time.Time) (*Endpoint, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("meshsim: %w", err)
	}
	return &Endpoint{
		proxy: p, now: now, last: now(), flows: map[string]*flowState{},
		counters: map[string]map[string]uint64{}, histograms: map[string]map[string]*histogram{},
	}, nil
}

// Addr is the host:port served.
func (e *Endpoint) Addr() string { return e.ln.Addr().String() }

// URL is the metrics URL.
func (e *Endpoint) URL() string { return "http://" + e.Addr() + MetricsPath }

// Close stops serving.
func (e *Endpoint) Close() { _ = e.srv.Close() }

// Update changes the traffic model from now on; counters keep their
// values, as a running Envoy's do.
func (e *Endpoint) Update(change func(p *Proxy)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	p := e.proxy
	p.Flows = slices.Clone(p.Flows)
	change(&p)
	if err := p.Validate(); err != nil {
		return fmt.Errorf("meshsim: %w", err)
	}
	e.proxy = p
	return nil
}

func (e *Endpoint) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := e.Render(bw); err == nil {
		_ = bw.Flush()
	}
}

// Render advances the counters to now and writes the exposition.
func (e *Endpoint) Render(w io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	return e.render(w)
}

// advance adds the requests of every flow since the last call.
func (e *Endpoint) advance() {
	now := e.now()
	dt := now.Sub(e.last).Seconds()
	e.last = now
	if dt <= 0 {
		return
	}
	for i := range e.proxy.Flows {
		f := &e.proxy.Flows[i]
		st := e.flowState(f)
		st.carry += f.RPS * dt
		n := math.Floor(st.carry)
		st.carry -= n
		if n == 0 {
			continue
		}
		st.errCarry += n * f.ErrorRatio
		errs := math.Floor(st.errCarry)
		st.errCarry -= errs
		e.add(f, st, "200", uint64(n-errs))
		e.add(f, st, f.errorCode(), uint64(errs))
	}
}

func (e *Endpoint) flowState(f *Flow) *flowState {
	k := strings.Join([]string{f.Source.Namespace, f.Source.Name, f.Destination.Namespace,
		f.Destination.Name, f.service(), f.route(), strconv.FormatBool(f.Mangled)}, "\x00")
	st, ok := e.flows[k]
	if !ok {
		st = &flowState{cursor: map[string]int{}}
		e.flows[k] = st
	}
	return st
}

// add records n requests of f answered with code. Like Envoy, a series
// appears with its first request.
func (e *Endpoint) add(f *Flow, st *flowState, code string, n uint64) {
	if n == 0 {
		return
	}
	p := &e.proxy
	tagged := p.Tag != ""
	reqName, durName := series.IstioRequestsTotal, durationBase
	if tagged && f.Mangled {
		reqName = MangledName(p.Tag, f.route(), series.IstioRequestsTotal)
		if p.TagOnDuration {
			durName = MangledName(p.Tag, f.route(), durationBase)
		}
	}
	base := standardLabels(p.Reporter, f, code)
	reqLabels, durLabels := base, base
	if tagged && !f.Mangled {
		reqLabels = appendLabel(base, p.Tag, f.route())
		if p.TagOnDuration {
			durLabels = reqLabels
		}
	}
	counters := e.counters[reqName]
	if counters == nil {
		counters = map[string]uint64{}
		e.counters[reqName] = counters
	}
	if _, ok := counters[reqLabels]; !ok {
		e.order = nil
	}
	counters[reqLabels] += n

	hs := e.histograms[durName]
	if hs == nil {
		hs = map[string]*histogram{}
		e.histograms[durName] = hs
	}
	h := hs[durLabels]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(DurationBucketsMs))}
		hs[durLabels] = h
		e.order = nil
	}
	lats := f.latencies()
	cur := st.cursor[code]
	q, r := n/uint64(len(lats)), int(n%uint64(len(lats)))
	for i, lat := range lats {
		m := q
		if (i-cur+len(lats))%len(lats) < r {
			m++
		}
		h.observe(lat, m)
	}
	st.cursor[code] = (cur + r) % len(lats)
}

func (h *histogram) observe(ms float64, n uint64) {
	if n == 0 {
		return
	}
	for i, b := range DurationBucketsMs {
		if ms <= b {
			h.buckets[i] += n
		}
	}
	h.count += n
	h.sum += ms * float64(n)
}

const durationBase = "istio_request_duration_milliseconds"

// standardLabels renders Istio's labels in istio/proxy's order, without the
// braces, for a request of f with response code reported by reporter.
func standardLabels(reporter string, f *Flow, code string) string {
	src, dst := f.Source, f.Destination
	security := "mutual_tls"
	if reporter == ReporterSource {
		security = "unknown"
	}
	pairs := [...]string{
		"reporter", reporter,
		"source_workload", src.Name,
		"source_canonical_service", src.app(),
		"source_canonical_revision", src.version(),
		"source_workload_namespace", src.Namespace,
		"source_principal", src.principal(),
		"source_app", src.app(),
		"source_version", src.version(),
		"source_cluster", "Kubernetes",
		"destination_workload", dst.Name,
		"destination_workload_namespace", dst.Namespace,
		"destination_principal", dst.principal(),
		"destination_app", dst.app(),
		"destination_version", dst.version(),
		"destination_service", f.service() + "." + dst.Namespace + ".svc.cluster.local",
		"destination_canonical_service", dst.app(),
		"destination_canonical_revision", dst.version(),
		"destination_service_name", f.service(),
		"destination_service_namespace", dst.Namespace,
		"destination_cluster", "Kubernetes",
		"request_protocol", "http",
		"response_code", code,
		"grpc_response_status", "",
		"response_flags", "-",
		"connection_security_policy", security,
	}
	var b strings.Builder
	for i := 0; i < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		writeLabel(&b, pairs[i], pairs[i+1])
	}
	return b.String()
}

func appendLabel(labels, name, value string) string {
	var b strings.Builder
	b.WriteString(labels)
	b.WriteByte(',')
	writeLabel(&b, name, value)
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func writeLabel(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteString(`="`)
	labelEscaper.WriteString(b, value)
	b.WriteByte('"')
}

// render writes counters, then histograms, each family sorted, as Envoy's
// text exposition does. Lines are appended to one buffer: a benchmark mesh
// serves hundreds of thousands of them.
func (e *Endpoint) render(w io.Writer) error {
	o := e.renderOrder()
	b := e.buf[:0]
	sample := func(name, suffix, labels, extra string, value []byte) {
		b = append(b, name...)
		b = append(b, suffix...)
		b = append(b, '{')
		b = append(b, labels...)
		b = append(b, extra...)
		b = append(b, "} "...)
		b = append(b, value...)
		b = append(b, '\n')
	}
	var num [32]byte
	for _, name := range o.counters {
		b = append(b, "# TYPE "+name+" counter\n"...)
		for _, l := range o.counterLabels[name] {
			sample(name, "", l, "", strconv.AppendUint(num[:0], e.counters[name][l], 10))
		}
	}
	for _, name := range o.histograms {
		b = append(b, "# TYPE "+name+" histogram\n"...)
		for _, l := range o.histogramLabels[name] {
			h := e.histograms[name][l]
			for i, bound := range DurationBucketsMs {
				sample(name, "_bucket", l, `,le="`+formatBound(bound)+`"`, strconv.AppendUint(num[:0], h.buckets[i], 10))
			}
			sample(name, "_bucket", l, `,le="+Inf"`, strconv.AppendUint(num[:0], h.count, 10))
			sample(name, "_sum", l, "", strconv.AppendFloat(num[:0], h.sum, 'g', -1, 64))
			sample(name, "_count", l, "", strconv.AppendUint(num[:0], h.count, 10))
		}
	}
	e.buf = b
	_, err := w.Write(b)
	return err
}

func (e *Endpoint) renderOrder() *renderOrder {
	if e.order != nil {
		return e.order
	}
	o := &renderOrder{
		counters: slices.Sorted(maps.Keys(e.counters)), histograms: slices.Sorted(maps.Keys(e.histograms)),
		counterLabels: map[string][]string{}, histogramLabels: map[string][]string{},
	}
	for _, name := range o.counters {
		o.counterLabels[name] = slices.Sorted(maps.Keys(e.counters[name]))
	}
	for _, name := range o.histograms {
		o.histogramLabels[name] = slices.Sorted(maps.Keys(e.histograms[name]))
	}
	e.order = o
	return o
}

// formatBound prints a bucket bound as Envoy does (%g: 1.8e+06).
func formatBound(b float64) string { return strconv.FormatFloat(b, 'g', 6, 64) }
