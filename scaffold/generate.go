package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

// Defaults for Options.
const (
	DefaultTag       = "route_name"
	DefaultAttribute = "istio_operationId"
	// DefaultPluginURL is the attributegen build the podinfo example uses.
	DefaultPluginURL = "https://storage.googleapis.com/istio-build/proxy/attributegen-359dcd3a19f109c50e97517fe6b1e2676e870c4d.wasm"
	DefaultNamespace = "default"
	// defaultName names the objects when no waypoint gives a better name.
	defaultName = "routes"
)

// MaxCELRoutes bounds the routes of a Wasm-free classification. Each route
// nests the conditional chain two levels deeper, and CEL parsers (cel-go and
// the cel-cpp inside Envoy) stop at a depth of 250; beyond this many routes
// the attributegen WasmPlugin, whose matches are a flat list, is the way.
const MaxCELRoutes = 100

// Settings of the generated objects that Istio's own examples use: the
// plugin runs in the AUTHN phase, before the stats filter reads its
// attribute, and tags are set on client and server reports alike.
const (
	pluginPhase      = "AUTHN"
	pullPolicy       = "IfNotPresent"
	metricsMode      = "CLIENT_AND_SERVER"
	metricsProvider  = "prometheus"
	gatewayGroup     = "gateway.networking.k8s.io"
	gatewayKind      = "Gateway"
	wasmFilterPrefix = "wasm."
)

// identifier is the shape of a metric tag (a Prometheus label name) and of
// an attributegen attribute.
var identifier = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Options say where and how the classification runs.
type Options struct {
	// Name of the generated objects; empty means "<waypoint>-routes" for a
	// waypoint and "routes" otherwise.
	Name string
	// Namespace of the objects; empty means DefaultNamespace.
	Namespace string
	// Waypoint is the Gateway the objects target. Exactly one of Waypoint
	// and Selector must be set.
	Waypoint string
	// Selector selects the sidecar workloads by label.
	Selector map[string]string
	// NoWasm writes a single Telemetry whose tag is a CEL expression.
	NoWasm bool
	// Tag is the metric tag; empty means DefaultTag.
	Tag string
	// Attribute is attributegen's output attribute; empty means DefaultAttribute.
	Attribute string
	// PluginURL is the attributegen module; empty means DefaultPluginURL.
	PluginURL string
	// Source names the input in the header comment.
	Source string
}

// withDefaults fills empty options and checks them.
func (o Options) withDefaults() (Options, error) {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Name == "" {
		o.Name = defaultName
		if o.Waypoint != "" {
			o.Name = o.Waypoint + "-" + defaultName
		}
	}
	if o.Tag == "" {
		o.Tag = DefaultTag
	}
	if o.Attribute == "" {
		o.Attribute = DefaultAttribute
	}
	if o.PluginURL == "" {
		o.PluginURL = DefaultPluginURL
	}
	return o, o.validate()
}

func (o Options) validate() error {
	var errs []error
	check := func(what string, msgs []string) {
		if len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: %s", what, strings.Join(msgs, "; ")))
		}
	}
	check(fmt.Sprintf("namespace %q", o.Namespace), validation.IsDNS1123Label(o.Namespace))
	check(fmt.Sprintf("name %q", o.Name), validation.IsDNS1123Subdomain(o.Name))
	switch {
	case o.Waypoint == "" && len(o.Selector) == 0:
		errs = append(errs, errors.New("no scope: name a waypoint or a sidecar selector"))
	case o.Waypoint != "" && len(o.Selector) > 0:
		errs = append(errs, errors.New("a waypoint and a selector are exclusive: waypoints ignore selectors"))
	case o.Waypoint != "":
		check(fmt.Sprintf("waypoint %q", o.Waypoint), validation.IsDNS1123Subdomain(o.Waypoint))
	}
	for _, k := range sortedKeys(o.Selector) {
		check(fmt.Sprintf("selector key %q", k), validation.IsQualifiedName(k))
		check(fmt.Sprintf("selector value %q", o.Selector[k]), validation.IsValidLabelValue(o.Selector[k]))
	}
	if !identifier.MatchString(o.Tag) || strings.HasPrefix(o.Tag, "__") {
		errs = append(errs, fmt.Errorf("tag %q: want a metric label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)", o.Tag))
	}
	if !identifier.MatchString(o.Attribute) {
		errs = append(errs, fmt.Errorf("attribute %q: want [a-zA-Z_][a-zA-Z0-9_]*", o.Attribute))
	}
	if strings.IndexFunc(o.PluginURL, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		errs = append(errs, fmt.Errorf("plugin URL %q: contains whitespace or control characters", o.PluginURL))
	}
	return errors.Join(errs...)
}

// Output is the generated classification.
type Output struct {
	// WasmPlugin is nil for a Wasm-free classification.
	WasmPlugin *WasmPlugin
	Telemetry  *Telemetry
	// Matches are the classification entries in evaluation order.
	Matches []Match
	options Options
	// chain is the CEL tag value of a Wasm-free classification.
	chain string
}

// Generate builds the classification of routes: an attributegen WasmPlugin
// and a Telemetry, or with NoWasm a single Telemetry. Requests matching no
// route keep the value "unknown": no catch-all is emitted, so that the
// unknown share shows which traffic the routes miss.
func Generate(routes []Route, opts Options) (*Output, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(routes) == 0 {
		return nil, errors.New("no routes to classify")
	}
	if opts.NoWasm && len(routes) > MaxCELRoutes {
		return nil, fmt.Errorf("%d routes are too many for a CEL-only classification (at most %d: CEL parsers limit nesting); drop --no-wasm to use the attributegen WasmPlugin", len(routes), MaxCELRoutes)
	}
	ms, err := Matches(routes)
	if err != nil {
		return nil, err
	}
	out := &Output{Matches: ms, options: opts}
	tagValue := ChainExpression(ms, series.UnknownRoute)
	if !opts.NoWasm {
		out.WasmPlugin = wasmPlugin(ms, opts)
		tagValue = "filter_state[" + celString(wasmFilterPrefix+opts.Attribute) + "]"
	}
	if opts.NoWasm {
		out.chain = tagValue
	}
	out.Telemetry = telemetry(tagValue, opts)
	return out, nil
}

func meta(o Options) ObjectMeta { return ObjectMeta{Name: o.Name, Namespace: o.Namespace} }

// scope returns the targetRefs or the selector of o, whichever is set.
func scope(o Options) ([]TargetRef, *Selector) {
	if o.Waypoint != "" {
		return []TargetRef{{Kind: gatewayKind, Group: gatewayGroup, Name: o.Waypoint}}, nil
	}
	labels := make(map[string]string, len(o.Selector))
	for k, v := range o.Selector {
		labels[k] = v
	}
	return nil, &Selector{MatchLabels: labels}
}

func wasmPlugin(ms []Match, o Options) *WasmPlugin {
	refs, sel := scope(o)
	matches := make([]AttributeMatch, len(ms))
	for i, m := range ms {
		matches[i] = AttributeMatch{Value: m.Value, Condition: m.Condition}
	}
	return &WasmPlugin{
		APIVersion: WasmPluginAPIVersion,
		Kind:       WasmPluginKind,
		Metadata:   meta(o),
		Spec: WasmPluginSpec{
			TargetRefs:      refs,
			Selector:        sel,
			URL:             o.PluginURL,
			ImagePullPolicy: pullPolicy,
			Phase:           pluginPhase,
			PluginConfig: AttributeGenConfig{Attributes: []AttributeGen{
				{OutputAttribute: o.Attribute, Match: matches},
			}},
		},
	}
}

// telemetry tags request counts and durations with tagValue, so that
// per-route rate, errors and latency can all be queried.
func telemetry(tagValue string, o Options) *Telemetry {
	refs, sel := scope(o)
	var overrides []MetricsOverride
	for _, m := range []inventory.Metric{inventory.RequestCount, inventory.RequestDuration} {
		overrides = append(overrides, MetricsOverride{
			Match:        MetricSelector{Metric: string(m), Mode: metricsMode},
			TagOverrides: map[string]TagOverride{o.Tag: {Value: tagValue}},
		})
	}
	return &Telemetry{
		APIVersion: TelemetryAPIVersion,
		Kind:       TelemetryKind,
		Metadata:   meta(o),
		Spec: TelemetrySpec{
			TargetRefs: refs,
			Selector:   sel,
			Metrics:    []Metrics{{Providers: []Provider{{Name: metricsProvider}}, Overrides: overrides}},
		},
	}
}

// YAML renders the objects as a multi-document YAML file, each with a
// comment saying what it does.
func (o *Output) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	docs := []struct {
		comment string
		obj     any
	}{{o.header(), o.WasmPlugin}, {o.telemetryComment(), o.Telemetry}}
	if o.WasmPlugin == nil {
		docs = docs[1:]
		docs[0].comment = o.header() + "\n\n" + docs[0].comment
	}
	for _, d := range docs {
		var n yaml.Node
		if err := n.Encode(d.obj); err != nil {
			return nil, fmt.Errorf("encoding %T: %w", d.obj, err)
		}
		n.HeadComment = d.comment
		blockStyle(&n, o.chain)
		if err := enc.Encode(&n); err != nil {
			return nil, fmt.Errorf("encoding %T: %w", d.obj, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// blockStyle writes the scalars equal to value as literal blocks: a CEL
// chain full of quotes and colons reads far better so than quoted.
func blockStyle(n *yaml.Node, value string) {
	if value == "" {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Value == value {
		n.Style = yaml.LiteralStyle
	}
	for _, c := range n.Content {
		blockStyle(c, value)
	}
}

func (o *Output) header() string {
	where := "the sidecars selected by " + oneLine(formatSelector(o.options.Selector))
	if o.options.Waypoint != "" {
		where = "the waypoint " + oneLine(o.options.Waypoint)
	}
	from := ""
	if o.options.Source != "" {
		from = " from " + oneLine(o.options.Source)
	}
	return fmt.Sprintf(`Generated by bundlegen init%s (%d routes).
Classifies requests on %s in namespace %s.
Review, then apply; regenerate rather than edit when the routes change.

Requests that match no route are tagged %q on purpose: no catch-all is
written, so the unknown share shows the traffic the routes miss.`,
		from, len(o.Matches), where, oneLine(o.options.Namespace), series.UnknownRoute)
}

func (o *Output) telemetryComment() string {
	if o.WasmPlugin != nil {
		return fmt.Sprintf(`Copies the %s attribute onto the %s tag of request
counts and durations, so that per-route rate, errors and latency can all be
queried.`, o.options.Attribute, o.options.Tag)
	}
	return fmt.Sprintf(`Classifies without Wasm: the %s tag of request counts and
durations is a CEL chain tried in order, most specific path first. Its
final %q is what Istio writes when an attributegen WasmPlugin matches
nothing, so both forms give the same values.`, o.options.Tag, series.UnknownRoute)
}

// formatSelector renders labels as sorted k=v pairs.
func formatSelector(labels map[string]string) string {
	keys := sortedKeys(labels)
	for i, k := range keys {
		keys[i] = k + "=" + labels[k]
	}
	return strings.Join(keys, ",")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
