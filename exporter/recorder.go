package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Recorder counts the controller's work: reconciles and their duration,
// objects applied and pruned, and apply errors, each by the object's kind
// (PrometheusRule, PodMonitor, ServiceMonitor, ConfigMap: bounded by the
// bundle). The controller calls it through an interface of its own; a nil
// *Recorder records nothing. It is safe for concurrent use.
type Recorder struct {
	reconciles  *prometheus.CounterVec
	duration    prometheus.Histogram
	applied     *prometheus.CounterVec
	pruned      *prometheus.CounterVec
	applyErrors *prometheus.CounterVec
}

// Results of a reconcile.
const (
	resultSuccess = "success"
	resultError   = "error"
)

func newRecorder() *Recorder {
	r := &Recorder{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "routebundle_reconciles_total", Help: "Reconciles of the bundle, by result (success, error).",
		}, []string{lResult}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "routebundle_reconcile_duration_seconds", Help: "Wall time of a reconcile of the bundle.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "routebundle_objects_applied_total", Help: "Objects applied with server-side apply, by kind.",
		}, []string{lKind}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "routebundle_objects_pruned_total", Help: "Objects deleted because the bundle no longer holds them, by kind.",
		}, []string{lKind}),
		applyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "routebundle_apply_errors_total", Help: "Failed applies or deletes of an object, by kind.",
		}, []string{lKind}),
	}
	// Both results exist from the start, so that rate() sees the first error.
	r.reconciles.WithLabelValues(resultSuccess)
	r.reconciles.WithLabelValues(resultError)
	return r
}

// ReconcileDone records one reconcile that took d and ended with err.
func (r *Recorder) ReconcileDone(d time.Duration, err error) {
	if r == nil {
		return
	}
	result := resultSuccess
	if err != nil {
		result = resultError
	}
	r.reconciles.WithLabelValues(result).Inc()
	r.duration.Observe(d.Seconds())
}

// ObjectsApplied records n objects of kind applied.
func (r *Recorder) ObjectsApplied(kind string, n int) {
	if r != nil && n > 0 {
		r.applied.WithLabelValues(kind).Add(float64(n))
	}
}

// ObjectsPruned records n objects of kind deleted by pruning.
func (r *Recorder) ObjectsPruned(kind string, n int) {
	if r != nil && n > 0 {
		r.pruned.WithLabelValues(kind).Add(float64(n))
	}
}

// ApplyFailed records one failed apply or delete of an object of kind.
func (r *Recorder) ApplyFailed(kind string) {
	if r != nil {
		r.applyErrors.WithLabelValues(kind).Inc()
	}
}

// Describe and Collect make the Recorder a collector of its metrics.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range r.collectors() {
		c.Describe(ch)
	}
}

// Collect sends the current values.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	for _, c := range r.collectors() {
		c.Collect(ch)
	}
}

func (r *Recorder) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.reconciles, r.duration, r.applied, r.pruned, r.applyErrors}
}
