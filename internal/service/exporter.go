package service

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/routebundle/routebundle/controller"
	"github.com/routebundle/routebundle/inventory"
)

// Exporter is where package exporter (issue 13) plugs into the service:
// called once while the service is set up, it registers its collectors
// with deps.Registry (the per-instance registry /metrics serves; Go and
// process metrics already come from controller-runtime's registry, which is
// gathered beside it), may add runnables to deps.Manager (its Prometheus
// query loop; NeedLeaderElection false, so that every replica exports),
// and returns the Recorder the controller reports its passes and applies to.
type Exporter func(deps ExporterDeps) (controller.Recorder, error)

// ExporterDeps is what the service hands the exporter.
type ExporterDeps struct {
	Registry prometheus.Registerer
	Manager  manager.Manager
	// Inventory returns the controller's current inventory (nil before its
	// first pass); safe to call from any goroutine once the manager runs.
	Inventory func() *inventory.Inventory
	// PrometheusURL is --prometheus-url ("" when not given).
	PrometheusURL string
	// ExporterOnly is --exporter-only: the controller only reads.
	ExporterOnly bool
	Logger       *slog.Logger
}

// setupExporter calls the exporter, if the build has one, and returns the
// controller's Recorder.
func (s *Service) setupExporter(opts Options) (controller.Recorder, error) {
	if opts.Exporter == nil {
		if opts.PrometheusURL != "" || opts.ExporterOnly {
			return nil, usageError{errors.New("--prometheus-url and --exporter-only need the exporter, which this build of routebundle does not include")}
		}
		return controller.NopRecorder{}, nil
	}
	rec, err := opts.Exporter(ExporterDeps{
		Registry: s.registry,
		Manager:  s.mgr,
		// s.controller is set right after the exporter: the function is
		// called only once the manager runs.
		Inventory: func() *inventory.Inventory {
			if s.controller == nil {
				return nil
			}
			return s.controller.Inventory()
		},
		PrometheusURL: opts.PrometheusURL,
		ExporterOnly:  opts.ExporterOnly,
		Logger:        s.log.With("component", "exporter"),
	})
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = controller.NopRecorder{}
	}
	return rec, nil
}
