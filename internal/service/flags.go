package service

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// usageError is a bad command line: the caller exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// IsUsage reports whether err is a command-line error (exit code 2).
func IsUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

const usageHead = `routebundle keeps the monitoring bundle of an Istio mesh applied: it watches
WasmPlugin and Telemetry objects (with Gateways and Namespaces) and server-side
applies the PrometheusRules, PodMonitors, ServiceMonitor and dashboard
ConfigMaps that bundlegen generate would write, pruning those no longer needed.

Usage: routebundle [flags]

Flags:
`

// parseFlags reads the command line into Options. help is true when the
// usage was asked for (and written to stdout).
func parseFlags(args []string, stdout io.Writer) (opts Options, help bool, err error) {
	fs := flag.NewFlagSet("routebundle", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var watch, outputs, logLevel string
	fs.StringVar(&opts.Kubeconfig, "kubeconfig", "", "path to a kubeconfig; in-cluster configuration (or $KUBECONFIG) when empty")
	fs.StringVar(&opts.Config, "config", "", "bundle config file (the one bundlegen generate -c reads); re-read when it changes")
	fs.StringVar(&watch, "watch-namespaces", "", "comma-separated namespaces whose WasmPlugins, Telemetries and Gateways are read (Istio's root namespace always is); all when empty")
	fs.StringVar(&outputs, "output-namespaces", "", "with --watch-namespaces: comma-separated namespaces the bundle's objects are watched and written in, and the only ones a bundle config may name; when empty, the watched namespaces, Istio's root namespace and those the bundle config names at start")
	fs.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", "address of the /metrics endpoint; 0 disables it")
	fs.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints; 0 disables them")
	fs.BoolVar(&opts.LeaderElect, "leader-elect", true, "elect a leader (Lease) so that one replica applies at a time")
	fs.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease; the pod's own when empty")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "log what would be applied and pruned; write nothing (no objects, Events or Lease)")
	fs.BoolVar(&opts.ExporterOnly, "exporter-only", false, "only export metrics about the inventory; apply nothing (needs no leader election)")
	opts.Exporter.Prometheus.AddFlags(fs, "prometheus-url")
	fs.DurationVar(&opts.Exporter.Interval, "exporter-interval", time.Minute, "how often the exporter queries Prometheus")
	fs.DurationVar(&opts.Exporter.Timeout, "exporter-timeout", 30*time.Second, "time limit of one round of the exporter's queries (at most --exporter-interval)")
	fs.DurationVar(&opts.Exporter.SeenWindow, "exporter-seen-window", time.Hour, "a configured route without requests over this window is reported unseen")
	fs.DurationVar(&opts.ResyncPeriod, "resync-period", 10*time.Minute, "how often every object is compared with the mesh even without a change")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	usage := func(w io.Writer) {
		fmt.Fprint(w, usageHead)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return opts, true, nil
		}
		return opts, false, usageError{fmt.Errorf("%w (routebundle --help lists the flags)", err)}
	}
	if fs.NArg() > 0 {
		return opts, false, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	if opts.WatchNamespaces, err = namespaceList("--watch-namespaces", watch); err != nil {
		return opts, false, err
	}
	if opts.OutputNamespaces, err = namespaceList("--output-namespaces", outputs); err != nil {
		return opts, false, err
	}
	if len(opts.OutputNamespaces) > 0 && len(opts.WatchNamespaces) == 0 {
		return opts, false, usageError{errors.New("--output-namespaces needs --watch-namespaces: without it routebundle watches and writes every namespace")}
	}
	if err := opts.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return opts, false, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	if opts.ResyncPeriod <= 0 {
		return opts, false, usageError{errors.New("--resync-period must be positive")}
	}
	return opts, false, nil
}

// namespaceList splits flag's comma-separated list of namespaces, dropping
// blanks.
func namespaceList(flag, s string) ([]string, error) {
	var out []string
	for _, ns := range strings.Split(s, ",") {
		if ns = strings.TrimSpace(ns); ns == "" {
			continue
		}
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return nil, usageError{fmt.Errorf("%s: %q is not a namespace name: %s", flag, ns, msgs[0])}
		}
		out = append(out, ns)
	}
	return out, nil
}
