package exporter

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// The configuration and observed series change once per cycle or
// inventory, but a scrape of 10,000 routes through the registry would
// re-encode some 35,000 series every time. Like kube-state-metrics, the
// Handler serves them from their text exposition, rendered (and gzipped)
// when they change; only the small, live families (the loop's status, the
// Recorder, extra gatherers) are gathered per scrape. Registry() still
// holds every collector, for Gatherers and tests.

// rendered is a cached exposition block: whole metric families in the text
// format, plain and as one gzip member.
type rendered struct {
	text, gz []byte
}

// render encodes metrics (described by descs) as text.
func render(descs []*prometheus.Desc, metrics []prometheus.Metric) (*rendered, error) {
	reg := prometheus.NewPedanticRegistry()
	slot := &cacheSlot{descs: descs}
	slot.metrics.Store(&metrics)
	if err := reg.Register(slot); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := encode(&buf, reg); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &rendered{text: buf.Bytes(), gz: gz.Bytes()}, nil
}

func encode(w *bytes.Buffer, g prometheus.Gatherer) error {
	fams, err := g.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves /metrics: the cached configuration and observed series,
// then the live ones and those of extra (controller-runtime's registry,
// say), in the text format, gzipped when the scraper accepts it.
func (e *Exporter) Handler(extra ...prometheus.Gatherer) http.Handler {
	live := prometheus.Gatherers(append([]prometheus.Gatherer{e.live}, extra...))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tail bytes.Buffer
		if err := encode(&tail, live); err != nil {
			// As promhttp's ContinueOnError: serve what there is, say why.
			e.opts.Logger.Error("gathering metrics", "err", err)
		}
		blocks := []*rendered{e.config.text.Load(), e.observed.text.Load()}
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		if !acceptsGzip(r) {
			for _, b := range blocks {
				if b != nil {
					_, _ = w.Write(b.text)
				}
			}
			_, _ = w.Write(tail.Bytes())
			return
		}
		// Concatenated gzip members are one valid gzip stream (RFC 1952).
		w.Header().Set("Content-Encoding", "gzip")
		for _, b := range blocks {
			if b != nil {
				_, _ = w.Write(b.gz)
			}
		}
		zw, _ := e.gzipWriters.Get().(*gzip.Writer)
		if zw == nil {
			zw = gzip.NewWriter(w)
		} else {
			zw.Reset(w)
		}
		_, _ = zw.Write(tail.Bytes())
		_ = zw.Close()
		e.gzipWriters.Put(zw)
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); enc == "gzip" {
			return true
		}
	}
	return false
}

// store caches metrics both as a slice (for the registry) and rendered
// (for the Handler).
func (e *Exporter) store(to *cacheSlot, metrics []prometheus.Metric) {
	to.metrics.Store(&metrics)
	r, err := render(to.descs, metrics)
	if err != nil {
		// The metrics are the package's own; a failure is a bug. Serve the
		// registry's view rather than stale text.
		e.opts.Logger.Error("rendering cached metrics", "err", fmt.Errorf("exporter: %w", err))
		r = &rendered{}
	}
	to.text.Store(r)
}
