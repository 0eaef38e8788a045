package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Recorder counts the controller's work: reconcile passes and their
// duration by kind of pass (mesh, namespace), objects applied and pruned,
// and apply errors, each by the object's kind (PrometheusRule, PodMonitor,
// ServiceMonitor, ConfigMap: bounded by the bundle). It implements the
// controller's Recorder interface, which package controller defines where
// it is used; a nil *Recorder records nothing. It is safe for concurrent use.
type Recorder struct {
	reconciles  *prometheus.CounterVec
	duration    *prometheus.HistogramVec
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
			Name: "routebundle_reconciles_total", Help: "Reconcile passes of the bundle, by pass (mesh, namespace) and result (success, error).",
		}, []string{lPass, lResult}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "routebundle_reconcile_duration_seconds", Help: "Wall time of a reconcile pass of the bundle, by pass (mesh, namespace).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{lPass}),
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
	// Every result of both passes exists from the start, so that rate()
	// sees the first error.
	for _, pass := range []string{passMesh, passNamespace} {
		r.reconciles.WithLabelValues(pass, resultSuccess)
		r.reconciles.WithLabelValues(pass, resultError)
	}
	return r
}

// Kinds of pass, as the controller names them (controller.ScopeMesh and
// controller.ScopeNamespace).
const (
	passMesh      = "mesh"
	passNamespace = "namespace"
)

// Pass records one reconcile pass of kind pass that took d and ended with err.
func (r *Recorder) Pass(pass string, d time.Duration, err error) {
	if r == nil {
		return
	}
	result := resultSuccess
	if err != nil {
		result = resultError
	}
	r.reconciles.WithLabelValues(pass, result).Inc()
	r.duration.WithLabelValues(pass).Observe(d.Seconds())
}

// Applied records one object of kind applied.
func (r *Recorder) Applied(kind string) {
	if r != nil {
		r.applied.WithLabelValues(kind).Inc()
	}
}

// Pruned records one object of kind deleted by pruning.
func (r *Recorder) Pruned(kind string) {
	if r != nil {
		r.pruned.WithLabelValues(kind).Inc()
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
