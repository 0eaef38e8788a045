// Package monitors builds the scrape configuration of a mesh: which Envoy
// proxies (sidecars and waypoints), istiod and ztunnel pods Prometheus
// scrapes, in two forms that describe the same jobs: prometheus-operator
// PodMonitor/ServiceMonitor objects, and plain Prometheus scrape_configs for
// users without the operator.
//
// The Envoy job follows Istio's prometheus-operator sample, with two
// deliberate differences: it scrapes the http-envoy-prom port (15090) that
// sidecars and waypoints both declare, rather than the merged-metrics port
// 15020, which also carries the application's own metrics (and needs the
// scrape address rewritten from the prometheus.io annotations); and it keeps
// only istio_* series unless told otherwise (Options.DropEnvoyStats).
//
// Every job sets the job label explicitly (envoy-stats, istiod, ztunnel), so
// that series look the same whichever form scraped them.
//
// Build is pure: no I/O, and the same options give the same objects.
package monitors

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// Job names: the value of the job label on every series a job scrapes.
const (
	EnvoyJob   = "envoy-stats"
	IstiodJob  = "istiod"
	ZtunnelJob = "ztunnel"
)

// Names of the generated operator objects. They are prefixed so that they
// never collide with Istio's sample monitors (envoy-stats-monitor,
// istio-component-monitor) in the same namespace.
const (
	EnvoyMonitorName   = "routebundle-envoy-stats"
	IstiodMonitorName  = "routebundle-istiod"
	ZtunnelMonitorName = "routebundle-ztunnel"
)

// PartOfLabel marks every generated object as routebundle's.
const (
	PartOfLabel = "app.kubernetes.io/part-of"
	PartOfValue = "routebundle"
)

// ReleaseLabel is the label kube-prometheus-stack selects monitors by.
const ReleaseLabel = "release"

// Istio's names for the things scraped.
const (
	// IgnoreLabel on a pod opts it out of scraping (as in Istio's sample).
	IgnoreLabel = "istio-prometheus-ignore"
	// ProxyContainer is the Envoy container of sidecars, waypoints and gateways.
	ProxyContainer = "istio-proxy"
	// EnvoyPort is the container port serving Envoy's own /stats/prometheus.
	EnvoyPort = "http-envoy-prom"
	// StatsPath is where Envoy and ztunnel serve Prometheus metrics.
	StatsPath = "/stats/prometheus"
	// IstiodPort is the istiod Service's metrics port (15014).
	IstiodPort = "http-monitoring"
	// ZtunnelPort is ztunnel's metrics container port (15020).
	ZtunnelPort = "ztunnel-stats"
)

// istioMetrics matches Istio's standard metrics (and istio-agent's).
const istioMetrics = "istio_.*"

// Set is the scrape configuration of one mesh in both forms. Each slice is
// sorted by name.
type Set struct {
	PodMonitors     []*monitoringv1.PodMonitor
	ServiceMonitors []*monitoringv1.ServiceMonitor
	// ScrapeConfigs are the same jobs for a Prometheus without the operator.
	ScrapeConfigs []ScrapeConfig
}

// Build returns the scrape configuration for opts. ambient says whether the
// inventory has an ambient namespace; it decides ztunnel when
// opts.Ztunnel is auto. It fails only on invalid options.
func Build(opts Options, ambient bool) (Set, error) {
	if err := opts.Validate(); err != nil {
		return Set{}, fmt.Errorf("scrape options: %w", err)
	}
	var set Set
	for _, j := range jobs(opts, ambient) {
		set.ScrapeConfigs = append(set.ScrapeConfigs, j.scrapeConfig(opts))
		switch j.role {
		case rolePod:
			set.PodMonitors = append(set.PodMonitors, j.podMonitor(opts))
		case roleEndpointSlice:
			set.ServiceMonitors = append(set.ServiceMonitors, j.serviceMonitor(opts))
		}
	}
	slices.SortFunc(set.PodMonitors, func(a, b *monitoringv1.PodMonitor) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(set.ServiceMonitors, func(a, b *monitoringv1.ServiceMonitor) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(set.ScrapeConfigs, func(a, b ScrapeConfig) int { return cmp.Compare(a.JobName, b.JobName) })
	return set, nil
}

// role is the Kubernetes service discovery role of a job.
type role string

const (
	rolePod           role = "pod"
	roleEndpointSlice role = "endpointslice"
)

// job is one scrape job, described once and rendered into both forms.
type job struct {
	name string // job label
	// object is the name of the operator object.
	object string
	role   role
	path   string
	// namespaces to discover in; nil means all.
	namespaces []string
	// match are labels the pod (rolePod) or Service (roleEndpointSlice) must carry.
	match map[string]string
	// honorIgnore drops pods labelled IgnoreLabel.
	honorIgnore bool
	// container, if set, is the only container whose port is scraped.
	container string
	// port is the container port name (rolePod) or Service port name.
	port string
	// keepMetrics, if set, is the regex of metric names kept; the rest is dropped.
	keepMetrics string
}

func jobs(opts Options, ambient bool) []job {
	js := []job{envoyJob(opts), {
		name:       IstiodJob,
		object:     IstiodMonitorName,
		role:       roleEndpointSlice,
		namespaces: []string{opts.IstioNamespace},
		// Revisioned control planes (istiod-canary) carry the same label.
		match: map[string]string{"istio": "pilot"},
		port:  IstiodPort,
	}}
	if opts.Ztunnel.Enabled(ambient) {
		js = append(js, job{
			name:       ZtunnelJob,
			object:     ZtunnelMonitorName,
			role:       rolePod,
			path:       StatsPath,
			namespaces: []string{opts.IstioNamespace},
			match:      map[string]string{"app": "ztunnel"},
			port:       ZtunnelPort,
		})
	}
	return js
}

func envoyJob(opts Options) job {
	j := job{
		name:        EnvoyJob,
		object:      EnvoyMonitorName,
		role:        rolePod,
		path:        StatsPath,
		honorIgnore: true,
		container:   ProxyContainer,
		port:        EnvoyPort,
	}
	if opts.DropEnvoyStats {
		j.keepMetrics = istioMetrics
		if opts.KeepMetrics != "" {
			j.keepMetrics += "|" + opts.KeepMetrics
		}
	}
	return j
}

// objectLabels are the labels of every generated object.
func objectLabels(opts Options) map[string]string {
	l := map[string]string{PartOfLabel: PartOfValue}
	if opts.Release != "" {
		l[ReleaseLabel] = opts.Release
	}
	maps.Copy(l, opts.Labels)
	return l
}
