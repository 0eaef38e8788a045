package dashboards

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/routebundle/routebundle/policy"
)

// Options tune the generated dashboards and their ConfigMaps. Its yaml form
// is the `dashboards` section of the bundle config (decoded strictly); every
// field documents its default, which DefaultOptions returns.
type Options struct {
	// TitlePrefix starts every dashboard title. Default "Routes".
	TitlePrefix string `yaml:"titlePrefix"`
	// Tags are set on every dashboard; the dashboards link to each other
	// through them. Default ["routebundle", "istio"].
	Tags []string `yaml:"tags"`
	// Datasource is the Prometheus datasource (name or UID) the $datasource
	// variable selects first. Default "" (Grafana's default datasource).
	Datasource string `yaml:"datasource"`
	// TimeFrom and TimeTo are the default time range. Default "now-6h" to "now".
	TimeFrom string `yaml:"timeFrom"`
	TimeTo   string `yaml:"timeTo"`
	// Refresh is the auto-refresh interval; "" switches it off. Default "1m".
	Refresh string `yaml:"refresh"`
	// ConfigMap configures the ConfigMaps for Grafana's dashboard sidecar.
	ConfigMap ConfigMapOptions `yaml:"configMap"`
	// Policy holds the alerting defaults (the bundle config's `defaults`
	// section, not this one): thresholds are drawn on the panels and
	// objectives select the SLO panels. Default policy.DefaultPolicy().
	Policy policy.Defaults `yaml:"-"`
}

// ConfigMapOptions configure the ConfigMaps that carry the dashboards to
// Grafana's sidecar (kube-prometheus-stack's grafana.sidecar.dashboards).
type ConfigMapOptions struct {
	// Namespace of the ConfigMaps; "" leaves it unset so that
	// `kubectl apply -n` decides. Default "".
	Namespace string `yaml:"namespace"`
	// LabelKey and LabelValue make the sidecar pick the ConfigMaps up.
	// Default "grafana_dashboard": "1" (the sidecar's defaults).
	LabelKey   string `yaml:"labelKey"`
	LabelValue string `yaml:"labelValue"`
	// Folder, when set, is written to the FolderAnnotation so that the
	// sidecar files the dashboards into that Grafana folder. Default "" (no annotation).
	Folder string `yaml:"folder"`
	// FolderAnnotation is the annotation key the sidecar reads the folder
	// from (its folderAnnotation setting). Default "grafana_folder".
	FolderAnnotation string `yaml:"folderAnnotation"`
	// Release, when set, is the value of a `release` label, so that the
	// ConfigMaps belong to a kube-prometheus-stack release like the other
	// objects (the bundle config's top-level release sets it). Default "".
	Release string `yaml:"release"`
	// Labels are added to every ConfigMap. Default none.
	Labels map[string]string `yaml:"labels"`
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		TitlePrefix: "Routes",
		Tags:        []string{"routebundle", "istio"},
		TimeFrom:    "now-6h",
		TimeTo:      "now",
		Refresh:     "1m",
		ConfigMap: ConfigMapOptions{
			LabelKey:         "grafana_dashboard",
			LabelValue:       "1",
			FolderAnnotation: "grafana_folder",
		},
		Policy: policy.DefaultPolicy(),
	}
}

// grafanaDuration is what Grafana accepts in a refresh interval.
var grafanaDuration = regexp.MustCompile(`^[0-9]+(ms|s|m|h|d|w|M|y)$`)

// relativeTime accepts "now", "now-6h", "now/d" and the like; absolute times
// are not useful in generated dashboards.
var relativeTime = regexp.MustCompile(`^now(-[0-9]+(s|m|h|d|w|M|y))?(/(s|m|h|d|w|M|y))?$`)

// Validate reports every field that Grafana or Kubernetes would reject, named
// by its yaml path, so that a bad bundle config fails before anything is generated.
func (o Options) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if !relativeTime.MatchString(o.TimeFrom) {
		bad("timeFrom", "%q is not a relative time like now-6h", o.TimeFrom)
	}
	if !relativeTime.MatchString(o.TimeTo) {
		bad("timeTo", "%q is not a relative time like now", o.TimeTo)
	}
	if o.Refresh != "" && !grafanaDuration.MatchString(o.Refresh) {
		bad("refresh", "%q is not an interval like 1m", o.Refresh)
	}
	for i, t := range o.Tags {
		if t == "" {
			bad(fmt.Sprintf("tags[%d]", i), "empty tag")
		}
	}
	cm := o.ConfigMap
	if cm.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(cm.Namespace) {
			bad("configMap.namespace", "%s", msg)
		}
	}
	for _, msg := range validation.IsQualifiedName(cm.LabelKey) {
		bad("configMap.labelKey", "%s", msg)
	}
	for _, msg := range validation.IsValidLabelValue(cm.LabelValue) {
		bad("configMap.labelValue", "%s", msg)
	}
	if cm.Release != "" {
		for _, msg := range validation.IsValidLabelValue(cm.Release) {
			bad("configMap.release", "%s", msg)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(cm.Labels)) {
		for _, msg := range validation.IsQualifiedName(k) {
			bad("configMap.labels", "key %q: %s", k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(cm.Labels[k]) {
			bad("configMap.labels."+k, "%s", msg)
		}
	}
	if cm.Folder != "" {
		for _, msg := range validation.IsQualifiedName(cm.FolderAnnotation) {
			bad("configMap.folderAnnotation", "%s", msg)
		}
	}
	if err := o.Policy.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("policy defaults: %w", err))
	}
	return errors.Join(errs...)
}
