package monitors

import (
	"maps"
	"slices"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func (j job) podMonitor(opts Options) *monitoringv1.PodMonitor {
	return &monitoringv1.PodMonitor{
		TypeMeta:   typeMeta(monitoringv1.PodMonitorsKind),
		ObjectMeta: j.objectMeta(opts),
		Spec: monitoringv1.PodMonitorSpec{
			Selector:          j.selector(),
			NamespaceSelector: j.namespaceSelector(),
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{
				Port:                 &j.port,
				Path:                 j.path,
				Interval:             monitoringv1.Duration(opts.Interval),
				RelabelConfigs:       j.operatorRelabelings(),
				MetricRelabelConfigs: operatorRelabelings(j.metricRelabelings()),
			}},
		},
	}
}

func (j job) serviceMonitor(opts Options) *monitoringv1.ServiceMonitor {
	return &monitoringv1.ServiceMonitor{
		TypeMeta:   typeMeta(monitoringv1.ServiceMonitorsKind),
		ObjectMeta: j.objectMeta(opts),
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:          j.selector(),
			NamespaceSelector: j.namespaceSelector(),
			Endpoints: []monitoringv1.Endpoint{{
				Port:                 j.port,
				Path:                 j.path,
				Interval:             monitoringv1.Duration(opts.Interval),
				RelabelConfigs:       j.operatorRelabelings(),
				MetricRelabelConfigs: operatorRelabelings(j.metricRelabelings()),
			}},
		},
	}
}

// typeMeta is set on every object so that it marshals as applyable YAML.
func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: kind}
}

func (j job) objectMeta(opts Options) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: j.object, Namespace: opts.Namespace, Labels: objectLabels(opts)}
}

func (j job) selector() metav1.LabelSelector {
	var s metav1.LabelSelector
	if len(j.match) > 0 {
		s.MatchLabels = maps.Clone(j.match)
	}
	if j.honorIgnore {
		s.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: IgnoreLabel, Operator: metav1.LabelSelectorOpDoesNotExist}}
	}
	return s
}

func (j job) namespaceSelector() monitoringv1.NamespaceSelector {
	if j.namespaces == nil {
		return monitoringv1.NamespaceSelector{Any: true}
	}
	return monitoringv1.NamespaceSelector{MatchNames: slices.Clone(j.namespaces)}
}

// operatorRelabelings run after the operator's own (selection, target
// labels), so they only add what a monitor cannot say.
func (j job) operatorRelabelings() []monitoringv1.RelabelConfig {
	// The operator would name the job <namespace>/<monitor> (PodMonitor) or
	// after the Service; a fixed name keeps series identical across forms.
	rc := append(j.commonRelabelings(), RelabelConfig{TargetLabel: "job", Replacement: j.name})
	return operatorRelabelings(rc)
}

func operatorRelabelings(rc []RelabelConfig) []monitoringv1.RelabelConfig {
	if len(rc) == 0 {
		return nil
	}
	out := make([]monitoringv1.RelabelConfig, len(rc))
	for i, r := range rc {
		o := monitoringv1.RelabelConfig{TargetLabel: r.TargetLabel, Regex: r.Regex, Action: r.Action}
		for _, l := range r.SourceLabels {
			o.SourceLabels = append(o.SourceLabels, monitoringv1.LabelName(l))
		}
		if r.Replacement != "" {
			o.Replacement = &r.Replacement
		}
		out[i] = o
	}
	return out
}

// Object is a Kubernetes object with metadata; controller-runtime's
// client.Object is the same interface.
type Object interface {
	metav1.Object
	runtime.Object
}

// Objects returns the operator objects, PodMonitors first, each group
// sorted by name.
func (s Set) Objects() []Object {
	out := make([]Object, 0, len(s.PodMonitors)+len(s.ServiceMonitors))
	for _, pm := range s.PodMonitors {
		out = append(out, pm)
	}
	for _, sm := range s.ServiceMonitors {
		out = append(out, sm)
	}
	return out
}
