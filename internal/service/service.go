// Package service wires routebundle, the in-cluster service, around package
// controller: command-line flags, the controller-runtime manager with
// leader election, JSON logs, the health probe and metrics endpoints, and
// the place where the exporter plugs in. cmd/routebundle only calls Run.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/routebundle/routebundle/controller"
	"github.com/routebundle/routebundle/exporter"
)

// LeaderElectionID names the Lease replicas compete for.
const LeaderElectionID = "routebundle-leader"

// Options are the service's settings; Run fills them from flags.
type Options struct {
	Kubeconfig              string
	Config                  string
	WatchNamespaces         []string
	OutputNamespaces        []string
	MetricsAddr             string
	ProbeAddr               string
	LeaderElect             bool
	LeaderElectionNamespace string
	DryRun                  bool
	ExporterOnly            bool
	Exporter                ExporterOptions
	ResyncPeriod            time.Duration
	LogLevel                slog.Level

	// RESTConfig, when set, is used instead of Kubeconfig.
	RESTConfig *rest.Config
	// ConfigPoll is how often the bundle config file is re-read (default 5s).
	ConfigPoll time.Duration
	// Tune adjusts the controller's options (tests shorten its delays).
	Tune func(*controller.Options)
}

// Run is routebundle's main: it parses args, runs the service until ctx
// ends and returns nil after a graceful shutdown. --help prints the usage
// on stdout; logs go to stderr as JSON.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, help, err := parseFlags(args, stdout)
	if help || err != nil {
		return err
	}
	s, err := New(opts, stderr)
	if err != nil {
		return err
	}
	// controller-runtime and client-go log through process-wide loggers;
	// routebundle's own code is handed its logger.
	ctrllog.SetLogger(logr.FromSlogHandler(s.log.Handler()))
	klog.SetLogger(logr.FromSlogHandler(s.log.Handler()))
	return s.Start(ctx)
}

// Service is routebundle set up and ready to start.
type Service struct {
	log        *slog.Logger
	mgr        manager.Manager
	controller *controller.Controller
	exporter   *exporter.Exporter
	metrics    net.Listener // nil when disabled
	probes     net.Listener // nil when disabled
}

// New sets the service up: it reads the bundle config (an invalid one is an
// error), connects to the API server and opens the listeners, so that their
// addresses are known before Start.
func New(opts Options, logOut io.Writer) (*Service, error) {
	if opts.ExporterOnly && opts.DryRun {
		return nil, usageError{errors.New("--exporter-only and --dry-run do not go together: --exporter-only writes nothing anyway")}
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: opts.LogLevel}))
	s := &Service{log: log}
	cfg, err := restConfig(opts)
	if err != nil {
		return nil, err
	}
	bundleConfig, err := controller.LoadConfigFile(opts.Config, cmpDuration(opts.ConfigPoll, 5*time.Second), log.With("component", "config"))
	if err != nil {
		return nil, err
	}
	if s.exporter, err = newExporter(opts.Exporter, log.With("component", "exporter")); err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	// Leader election writes a Lease: not in a dry run, and not needed
	// when nothing is applied.
	elect := opts.LeaderElect && !opts.DryRun && !opts.ExporterOnly
	s.mgr, err = manager.New(cfg, manager.Options{
		Scheme: scheme,
		// The service serves /metrics and the probes itself, from its own
		// registry and listeners.
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                elect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       ptr.To(30 * time.Second),
		Logger:                        logr.FromSlogHandler(log.Handler()),
	})
	if err != nil {
		return nil, fmt.Errorf("setting up the manager: %w", err)
	}
	for _, r := range []manager.Runnable{exporterLoop{s.exporter}, exporterOffers{s.exporter}} {
		if err := s.mgr.Add(r); err != nil {
			return nil, err
		}
	}
	copts := controller.Options{
		Config:           bundleConfig,
		WatchNamespaces:  opts.WatchNamespaces,
		OutputNamespaces: opts.OutputNamespaces,
		DryRun:           opts.DryRun,
		ReadOnly:         opts.ExporterOnly,
		ResyncPeriod:     opts.ResyncPeriod,
		Recorder:         s.exporter.Recorder(),
		Published:        s.exporter.Offer,
		Logger:           log,
	}
	if opts.Tune != nil {
		opts.Tune(&copts)
	}
	if s.controller, err = controller.New(s.mgr, copts); err != nil {
		return nil, err
	}
	if err := s.listen(opts); err != nil {
		return nil, err
	}
	log.Info("routebundle set up", "apiServer", cfg.Host, "leaderElection", elect, "dryRun", opts.DryRun,
		"exporterOnly", opts.ExporterOnly, "prometheus", opts.Exporter.Prometheus.URL, "config", opts.Config, "metrics", addrOf(s.metrics), "probes", addrOf(s.probes))
	return s, nil
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// restConfig loads the API server's address and credentials. Client-side
// rate limiting is off, as in controller-runtime: the API server's
// priority and fairness decide, and the controller bounds its own
// concurrency.
func restConfig(opts Options) (*rest.Config, error) {
	cfg := opts.RESTConfig
	var err error
	switch {
	case cfg != nil:
		cfg = rest.CopyConfig(cfg)
	case opts.Kubeconfig != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	default:
		cfg, err = config.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the API server configuration: %w", err)
	}
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	cfg.UserAgent = "routebundle"
	return cfg, nil
}

// listen opens the metrics and probe listeners (before Start, so that a
// taken port fails at once and tests can ask for port 0).
func (s *Service) listen(opts Options) error {
	var err error
	if s.metrics, err = listen(opts.MetricsAddr, "--metrics-bind-address"); err != nil {
		return err
	}
	if s.probes, err = listen(opts.ProbeAddr, "--health-probe-bind-address"); err != nil {
		if s.metrics != nil {
			s.metrics.Close()
		}
		return err
	}
	if s.metrics != nil {
		// The exporter's handler serves its cached series and gathers the
		// live ones (its status and Recorder) and controller-runtime's own
		// metrics (work queue, client requests, leader election, Go and
		// process), which live in controller-runtime's registry.
		mux := http.NewServeMux()
		mux.Handle("/metrics", s.exporter.Handler(ctrlmetrics.Registry))
		if err := s.mgr.Add(&server{name: "metrics", ln: s.metrics, handler: mux, log: s.log}); err != nil {
			return err
		}
	}
	if s.probes != nil {
		mux := http.NewServeMux()
		// /readyz/mesh says why it is not ready; /readyz withholds reasons.
		probe(mux, "/healthz", map[string]healthz.Checker{"ping": healthz.Ping})
		probe(mux, "/readyz", map[string]healthz.Checker{"mesh": s.controller.ReadyCheck})
		if err := s.mgr.Add(&server{name: "health probes", ln: s.probes, handler: mux, log: s.log}); err != nil {
			return err
		}
	}
	return nil
}

// probe serves checks at path and each of them at path/name.
func probe(mux *http.ServeMux, path string, checks map[string]healthz.Checker) {
	h := http.StripPrefix(path, &healthz.Handler{Checks: checks})
	mux.Handle(path, h)
	mux.Handle(path+"/", h)
}

func listen(addr, flag string) (net.Listener, error) {
	if addr == "0" || addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return ln, nil
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

// Start runs the service until ctx ends, then shuts down gracefully: the
// passes stop, the Lease is released, the servers drain.
func (s *Service) Start(ctx context.Context) error {
	if err := s.mgr.Start(ctx); err != nil {
		return fmt.Errorf("routebundle: %w", err)
	}
	s.log.Info("routebundle stopped")
	return nil
}

// MetricsAddr is the address /metrics is served on, "" when disabled.
func (s *Service) MetricsAddr() string { return listenerAddr(s.metrics) }

// ProbeAddr is the address /healthz and /readyz are served on, "" when disabled.
func (s *Service) ProbeAddr() string { return listenerAddr(s.probes) }

func listenerAddr(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Controller is the service's controller.
func (s *Service) Controller() *controller.Controller { return s.controller }

// Registry is the registry of the service's own metrics, the exporter's.
func (s *Service) Registry() *prometheus.Registry { return s.exporter.Registry() }

// Exporter is the service's exporter.
func (s *Service) Exporter() *exporter.Exporter { return s.exporter }

// server serves an HTTP handler on a listener as a manager runnable, on
// every replica, and shuts down gracefully with the manager.
type server struct {
	name    string
	ln      net.Listener
	handler http.Handler
	log     *slog.Logger
}

func (s *server) NeedLeaderElection() bool { return false }

func (s *server) Start(ctx context.Context) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(s.ln) }()
	s.log.Info("serving", "server", s.name, "addr", s.ln.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("%s server: %w", s.name, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
