package monitors

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Options say how and where the mesh is scraped. They are the `scrape`
// section of the bundle config file; the yaml keys are the field names there.
type Options struct {
	// Namespace is where the PodMonitor and ServiceMonitor objects are
	// created. They select pods in every namespace (istiod and ztunnel in
	// IstioNamespace), so this only has to be a namespace the Prometheus
	// operator watches for monitors. Default "monitoring".
	Namespace string `yaml:"namespace"`

	// Release is the value of the `release` label on every object: a
	// kube-prometheus-stack Prometheus only picks up monitors labelled with
	// its Helm release name. Empty leaves the label out.
	// Default "kube-prometheus-stack".
	Release string `yaml:"release"`

	// Labels are added to every object (after `release`, which they may
	// override), e.g. for a Prometheus with a different monitor selector.
	// Default none.
	Labels map[string]string `yaml:"labels,omitempty"`

	// IstioNamespace is the namespace istiod and ztunnel run in (Istio's
	// root namespace in a default install). Default "istio-system".
	IstioNamespace string `yaml:"istioNamespace"`

	// Ztunnel says whether ztunnel, ambient mode's node proxy, is scraped:
	// "auto" (when the inventory has an ambient namespace), "true" or
	// "false". Default "auto".
	Ztunnel Switch `yaml:"ztunnel"`

	// DropEnvoyStats keeps only the istio_* series of the Envoy proxies
	// (Istio's standard metrics, which the bundle's rules and dashboards
	// read) and drops Envoy's own envoy_* statistics at scrape time, which
	// are most of a proxy's series. Default true.
	DropEnvoyStats bool `yaml:"dropEnvoyStats"`

	// KeepMetrics is a regular expression (RE2, anchored, as in Prometheus
	// relabeling) of further proxy metric names to keep when DropEnvoyStats
	// is set, e.g. "envoy_cluster_upstream_cx_active|envoy_server_live".
	// Default empty.
	KeepMetrics string `yaml:"keepMetrics,omitempty"`

	// Interval is the scrape interval of every job, in Prometheus duration
	// syntax ("15s"). Empty uses the Prometheus' own (global) interval.
	// Default empty.
	Interval string `yaml:"interval,omitempty"`
}

// DefaultOptions returns the options for a kube-prometheus-stack install
// with Istio in istio-system.
func DefaultOptions() Options {
	return Options{
		Namespace:      "monitoring",
		Release:        "kube-prometheus-stack",
		IstioNamespace: "istio-system",
		Ztunnel:        SwitchAuto,
		DropEnvoyStats: true,
	}
}

// Validate reports every invalid field, each named by its yaml key.
func (o Options) Validate() error {
	var errs []error
	add := func(key string, problems []string) {
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s: %s", key, p))
		}
	}
	add("namespace", validation.IsDNS1123Label(o.Namespace))
	add("istioNamespace", validation.IsDNS1123Label(o.IstioNamespace))
	if o.Release != "" {
		add("release", validation.IsValidLabelValue(o.Release))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Labels)) {
		add("labels", validation.IsQualifiedName(k))
		add("labels."+k, validation.IsValidLabelValue(o.Labels[k]))
	}
	if err := o.Ztunnel.validate(); err != nil {
		errs = append(errs, fmt.Errorf("ztunnel: %w", err))
	}
	if o.KeepMetrics != "" {
		// Prometheus anchors relabeling regexes the same way.
		if _, err := regexp.Compile("^(?s:" + o.KeepMetrics + ")$"); err != nil {
			errs = append(errs, fmt.Errorf("keepMetrics: %w", err))
		}
	}
	if o.Interval != "" {
		if d, err := model.ParseDuration(o.Interval); err != nil {
			errs = append(errs, fmt.Errorf("interval: %w", err))
		} else if d <= 0 {
			errs = append(errs, fmt.Errorf("interval: %q is not positive", o.Interval))
		}
	}
	return errors.Join(errs...)
}

// Switch is a setting that is on, off, or decided from the inventory.
type Switch string

// Values of a Switch.
const (
	SwitchAuto Switch = "auto"
	SwitchOn   Switch = "true"
	SwitchOff  Switch = "false"
)

// Enabled resolves the switch; auto is the inventory's answer.
func (s Switch) Enabled(auto bool) bool {
	switch s {
	case SwitchOn:
		return true
	case SwitchOff:
		return false
	default:
		return auto
	}
}

func (s Switch) validate() error {
	switch s {
	case SwitchAuto, SwitchOn, SwitchOff:
		return nil
	}
	return fmt.Errorf("%q is not auto, true or false", string(s))
}

// UnmarshalYAML accepts auto, true and false, quoted or not, so that
// `ztunnel: true` means what it says.
func (s *Switch) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want auto, true or false", n.Line)
	}
	v := Switch(n.Value)
	if err := v.validate(); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}
