package monitors

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ScrapeConfig is the subset of a Prometheus scrape_config that the jobs
// use. It is a small copy rather than prometheus/config.ScrapeConfig because
// that package pulls the cloud service discovery SDKs into the binary; the
// tests load the output with the real config package.
type ScrapeConfig struct {
	JobName              string               `yaml:"job_name"`
	ScrapeInterval       string               `yaml:"scrape_interval,omitempty"`
	MetricsPath          string               `yaml:"metrics_path,omitempty"`
	KubernetesSDConfigs  []KubernetesSDConfig `yaml:"kubernetes_sd_configs"`
	RelabelConfigs       []RelabelConfig      `yaml:"relabel_configs,omitempty"`
	MetricRelabelConfigs []RelabelConfig      `yaml:"metric_relabel_configs,omitempty"`
}

// KubernetesSDConfig is a kubernetes_sd_configs entry.
type KubernetesSDConfig struct {
	Role       string              `yaml:"role"`
	Namespaces *NamespaceDiscovery `yaml:"namespaces,omitempty"`
}

// NamespaceDiscovery restricts discovery to some namespaces.
type NamespaceDiscovery struct {
	Names []string `yaml:"names"`
}

// RelabelConfig is one relabeling step. Empty fields take Prometheus'
// defaults (action replace, regex (.*), replacement $1).
type RelabelConfig struct {
	SourceLabels []string `yaml:"source_labels,flow,omitempty"`
	Regex        string   `yaml:"regex,omitempty"`
	TargetLabel  string   `yaml:"target_label,omitempty"`
	Replacement  string   `yaml:"replacement,omitempty"`
	Action       string   `yaml:"action,omitempty"`
}

// ScrapeConfigFile is the document Prometheus reads through
// scrape_config_files (and the scrape_configs section of prometheus.yml).
type ScrapeConfigFile struct {
	ScrapeConfigs []ScrapeConfig `yaml:"scrape_configs"`
}

// MarshalScrapeConfigs renders jobs as a scrape_config_files document.
func MarshalScrapeConfigs(jobs []ScrapeConfig) ([]byte, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(ScrapeConfigFile{ScrapeConfigs: jobs}); err != nil {
		return nil, fmt.Errorf("marshal scrape configs: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal scrape configs: %w", err)
	}
	return []byte(b.String()), nil
}

// Kubernetes service discovery meta labels used by the jobs.
const (
	metaNamespace     = "__meta_kubernetes_namespace"
	metaPodName       = "__meta_kubernetes_pod_name"
	metaPodPhase      = "__meta_kubernetes_pod_phase"
	metaContainerName = "__meta_kubernetes_pod_container_name"
	metaContainerPort = "__meta_kubernetes_pod_container_port_name"
	metaPodLabel      = "__meta_kubernetes_pod_label_"
	metaPodLabelSet   = "__meta_kubernetes_pod_labelpresent_"
	metaServiceName   = "__meta_kubernetes_service_name"
	metaServiceLabel  = "__meta_kubernetes_service_label_"
	metaSlicePort     = "__meta_kubernetes_endpointslice_port_name"
)

// scrapeConfig renders j for a Prometheus without the operator. The
// relabelings do by hand what the operator derives from a monitor's
// selector and port, and add the same target labels it adds.
func (j job) scrapeConfig(opts Options) ScrapeConfig {
	sd := KubernetesSDConfig{Role: string(j.role)}
	if j.namespaces != nil {
		sd.Namespaces = &NamespaceDiscovery{Names: j.namespaces}
	}
	rc := append(j.selectRelabelings(), j.commonRelabelings()...)
	rc = append(rc, j.targetLabels()...)
	return ScrapeConfig{
		JobName:              j.name,
		ScrapeInterval:       opts.Interval,
		MetricsPath:          j.path,
		KubernetesSDConfigs:  []KubernetesSDConfig{sd},
		RelabelConfigs:       rc,
		MetricRelabelConfigs: j.metricRelabelings(),
	}
}

// selectRelabelings keep only the targets the job's monitor would select.
func (j job) selectRelabelings() []RelabelConfig {
	labelPrefix, portLabel := metaPodLabel, metaContainerPort
	if j.role == roleEndpointSlice {
		labelPrefix, portLabel = metaServiceLabel, metaSlicePort
	}
	var rc []RelabelConfig
	if j.role == rolePod {
		// A finished pod's IP may already belong to another pod.
		rc = append(rc, RelabelConfig{SourceLabels: []string{metaPodPhase}, Regex: "(Failed|Succeeded)", Action: "drop"})
	}
	if j.honorIgnore {
		rc = append(rc, RelabelConfig{SourceLabels: []string{metaPodLabelSet + sanitize(IgnoreLabel)}, Regex: "true", Action: "drop"})
	}
	for _, k := range slices.Sorted(maps.Keys(j.match)) {
		rc = append(rc, keep(labelPrefix+sanitize(k), j.match[k]))
	}
	return append(rc, keep(portLabel, j.port))
}

// targetLabels are the labels the operator puts on every target.
func (j job) targetLabels() []RelabelConfig {
	rc := []RelabelConfig{
		{SourceLabels: []string{metaNamespace}, TargetLabel: "namespace"},
		{SourceLabels: []string{metaPodName}, TargetLabel: "pod"},
	}
	switch j.role {
	case rolePod:
		rc = append(rc, RelabelConfig{SourceLabels: []string{metaContainerName}, TargetLabel: "container"})
	case roleEndpointSlice:
		rc = append(rc, RelabelConfig{SourceLabels: []string{metaServiceName}, TargetLabel: "service"})
	}
	return append(rc, RelabelConfig{TargetLabel: "endpoint", Replacement: j.port})
}

// commonRelabelings are the relabelings both forms carry.
func (j job) commonRelabelings() []RelabelConfig {
	if j.container == "" {
		return nil
	}
	return []RelabelConfig{keep(metaContainerName, j.container)}
}

func (j job) metricRelabelings() []RelabelConfig {
	if j.keepMetrics == "" {
		return nil
	}
	return []RelabelConfig{{SourceLabels: []string{"__name__"}, Regex: j.keepMetrics, Action: "keep"}}
}

// keep keeps targets whose label is exactly value.
func keep(label, value string) RelabelConfig {
	return RelabelConfig{SourceLabels: []string{label}, Regex: regexp.QuoteMeta(value), Action: "keep"}
}

// sanitize turns a Kubernetes label name into the suffix of its meta label,
// as Prometheus' service discovery does.
func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}
