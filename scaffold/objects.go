package scaffold

// The Istio objects init writes, typed with exactly the fields it sets. Field
// order is the order in which they are marshalled, which keeps the YAML
// close to what a person would write by hand.

// Istio API versions and kinds written by init.
const (
	WasmPluginAPIVersion = "extensions.istio.io/v1alpha1"
	WasmPluginKind       = "WasmPlugin"
	TelemetryAPIVersion  = "telemetry.istio.io/v1"
	TelemetryKind        = "Telemetry"
)

// ObjectMeta is the part of Kubernetes metadata init sets.
type ObjectMeta struct {
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace"`
}

// TargetRef is one entry of spec.targetRefs.
type TargetRef struct {
	Kind  string `yaml:"kind"`
	Group string `yaml:"group"`
	Name  string `yaml:"name"`
}

// Selector is a workload selector (spec.selector).
type Selector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// WasmPlugin is an extensions.istio.io WasmPlugin running attributegen.
type WasmPlugin struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   ObjectMeta     `yaml:"metadata"`
	Spec       WasmPluginSpec `yaml:"spec"`
}

// WasmPluginSpec is the spec of an attributegen WasmPlugin.
type WasmPluginSpec struct {
	TargetRefs      []TargetRef        `yaml:"targetRefs,omitempty"`
	Selector        *Selector          `yaml:"selector,omitempty"`
	URL             string             `yaml:"url"`
	ImagePullPolicy string             `yaml:"imagePullPolicy"`
	Phase           string             `yaml:"phase"`
	PluginConfig    AttributeGenConfig `yaml:"pluginConfig"`
}

// AttributeGenConfig is attributegen's plugin configuration.
type AttributeGenConfig struct {
	Attributes []AttributeGen `yaml:"attributes"`
}

// AttributeGen computes one output attribute: the value of the first match
// whose condition holds.
type AttributeGen struct {
	OutputAttribute string           `yaml:"output_attribute"`
	Match           []AttributeMatch `yaml:"match"`
}

// AttributeMatch is one ordered entry of an attributegen match list.
type AttributeMatch struct {
	Value     string `yaml:"value"`
	Condition string `yaml:"condition"`
}

// Telemetry is a telemetry.istio.io Telemetry that sets metric tags.
type Telemetry struct {
	APIVersion string        `yaml:"apiVersion"`
	Kind       string        `yaml:"kind"`
	Metadata   ObjectMeta    `yaml:"metadata"`
	Spec       TelemetrySpec `yaml:"spec"`
}

// TelemetrySpec is the spec of a Telemetry.
type TelemetrySpec struct {
	TargetRefs []TargetRef `yaml:"targetRefs,omitempty"`
	Selector   *Selector   `yaml:"selector,omitempty"`
	Metrics    []Metrics   `yaml:"metrics"`
}

// Metrics configures one set of metric providers.
type Metrics struct {
	Providers []Provider        `yaml:"providers"`
	Overrides []MetricsOverride `yaml:"overrides"`
}

// Provider names a telemetry provider from the mesh config.
type Provider struct {
	Name string `yaml:"name"`
}

// MetricsOverride changes the tags of the metrics its match selects.
type MetricsOverride struct {
	Match        MetricSelector         `yaml:"match"`
	TagOverrides map[string]TagOverride `yaml:"tagOverrides"`
}

// MetricSelector selects an Istio standard metric and reporting mode.
type MetricSelector struct {
	Metric string `yaml:"metric"`
	Mode   string `yaml:"mode"`
}

// TagOverride sets a tag to the result of a CEL expression.
type TagOverride struct {
	Value string `yaml:"value"`
}
