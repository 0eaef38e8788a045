package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/routebundle/routebundle/controller"
	"github.com/routebundle/routebundle/exporter"
	"github.com/routebundle/routebundle/internal/promapi"
)

// The exporter counts the controller's work through the controller's own
// Recorder interface.
var _ controller.Recorder = (*exporter.Recorder)(nil)

// ExporterOptions configure the exporter the service runs.
type ExporterOptions struct {
	// Prometheus is the server the exporter queries for route health and
	// cardinality; without a URL it exports the configuration and the
	// controller's work only.
	Prometheus promapi.Options
	// Interval between query cycles, and the Timeout of one (see
	// exporter.Options; zero takes its defaults).
	Interval, Timeout time.Duration
	// SeenWindow: a configured route without requests over it is unseen.
	SeenWindow time.Duration
}

// newExporter builds the exporter; its query loop runs as a manager
// runnable that needs the leader, like the controller: the leader holds
// the mesh's inventory the exporter reports on, and one replica querying
// Prometheus is enough.
func newExporter(o ExporterOptions, log *slog.Logger) (*exporter.Exporter, error) {
	opts := exporter.Options{Interval: o.Interval, Timeout: o.Timeout, SeenWindow: o.SeenWindow, Logger: log}
	if o.Prometheus.URL != "" {
		api, err := promapi.New(o.Prometheus)
		if err != nil {
			return nil, usageError{fmt.Errorf("--prometheus-url: %w", err)}
		}
		opts.Prometheus = api
	}
	e, err := exporter.New(opts)
	if err != nil {
		return nil, usageError{err}
	}
	return e, nil
}

// exporterLoop runs the exporter's query loop until the manager stops.
type exporterLoop struct{ e *exporter.Exporter }

func (l exporterLoop) Start(ctx context.Context) error {
	if err := l.e.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("exporter: %w", err)
	}
	return nil
}

// exporterOffers applies the inventories the controller offers the
// exporter (exporter.Offer), off the controller's pass. Every instance
// reports its configuration, the leader or not.
type exporterOffers struct{ e *exporter.Exporter }

func (o exporterOffers) Start(ctx context.Context) error {
	if err := o.e.RunOffers(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("exporter: %w", err)
	}
	return nil
}

func (exporterOffers) NeedLeaderElection() bool { return false }
