package controller

import "time"

// Recorder receives the controller's own measurements. Package exporter
// implements it with Prometheus metrics; the controller only calls it.
// Calls come from the reconcile loop and its apply workers, concurrently.
type Recorder interface {
	// Pass records one reconcile pass: its scope (ScopeMesh or
	// ScopeNamespace), how long it took and its error, nil on success.
	Pass(scope string, took time.Duration, err error)
	// Applied counts one object of kind written (created, updated or
	// reverted) by server-side apply.
	Applied(kind string)
	// Pruned counts one object of kind deleted as no longer needed.
	Pruned(kind string)
	// ApplyFailed counts one object of kind the API server refused or did
	// not answer for.
	ApplyFailed(kind string)
}

// Scopes of a pass.
const (
	// ScopeMesh: the whole mesh was read and every object it needs compared.
	ScopeMesh = "mesh"
	// ScopeNamespace: one namespace's objects were re-rendered.
	ScopeNamespace = "namespace"
)

// NopRecorder records nothing.
type NopRecorder struct{}

// Pass implements Recorder.
func (NopRecorder) Pass(string, time.Duration, error) {}

// Applied implements Recorder.
func (NopRecorder) Applied(string) {}

// Pruned implements Recorder.
func (NopRecorder) Pruned(string) {}

// ApplyFailed implements Recorder.
func (NopRecorder) ApplyFailed(string) {}
