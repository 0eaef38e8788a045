package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
)

// Annotation keys read from the WasmPlugin (or CEL-only Telemetry).
const (
	// Prefix starts every annotation key policy reads; unknown keys with it are reported.
	Prefix = "routebundle.io/"
	// RoutesAnnotation holds the per-route overrides, a YAML or JSON mapping keyed by route value.
	RoutesAnnotation = Prefix + "routes"
)

// Diagnostic codes reported by Resolve.
const (
	// CodeMalformed: an annotation value does not parse or is out of range.
	CodeMalformed = "RB301"
	// CodeUnknownKey: a routebundle.io/ annotation or a per-route key that policy does not know.
	CodeUnknownKey = "RB302"
	// CodeUnknownRoute: the routes annotation names a value the route set does not produce.
	CodeUnknownRoute = "RB303"
)

// key is one overridable setting: its annotation name (after Prefix, and as
// a key of a per-route entry), its config name and how to apply a value.
type key struct {
	name     string
	yamlName string
	// setOnly keys are per workload and cannot be overridden per route.
	setOnly bool
	get     func(p *Policy) any
	check   func(v any) error
	apply   func(p *Policy, v string, route bool) error
}

// settingKeys lists the overridable settings in documentation order.
func settingKeys() []key {
	return []key{
		floatKey("objective", "objective", false, func(p *Policy) *float64 { return &p.Objective }, parseObjective, checkObjective),
		floatKey("error-ratio", "errorRatio", false, func(p *Policy) *float64 { return &p.ErrorRatio }, parseRatio, checkRatio),
		durationKey("error-for", "errorFor", false, func(p *Policy) *model.Duration { return &p.ErrorFor }),
		floatKey("latency-p99", "latencyP99Ms", false, func(p *Policy) *float64 { return &p.LatencyP99Ms }, parseMillis, checkPositive),
		durationKey("latency-for", "latencyFor", false, func(p *Policy) *model.Duration { return &p.LatencyFor }),
		floatKey("min-request-rate", "minRequestRate", false, func(p *Policy) *float64 { return &p.MinRequestRate }, parseFloat, checkNonNegative),
		floatKey("unknown-ratio", "unknownRatio", true, func(p *Policy) *float64 { return &p.UnknownRatio }, parseRatio, checkRatio),
		durationKey("unknown-for", "unknownFor", true, func(p *Policy) *model.Duration { return &p.UnknownFor }),
		{name: "disable-alerts", apply: applyDisable},
	}
}

func floatKey(name, yamlName string, setOnly bool, field func(*Policy) *float64,
	parse func(string) (float64, error), check func(float64) error) key {
	return key{
		name: name, yamlName: yamlName, setOnly: setOnly,
		get:   func(p *Policy) any { return *field(p) },
		check: func(v any) error { return check(v.(float64)) },
		apply: func(p *Policy, s string, _ bool) error {
			f, err := parse(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			if err := check(f); err != nil {
				return err
			}
			*field(p) = f
			return nil
		},
	}
}

func durationKey(name, yamlName string, setOnly bool, field func(*Policy) *model.Duration) key {
	return key{
		name: name, yamlName: yamlName, setOnly: setOnly,
		apply: func(p *Policy, s string, _ bool) error {
			d, err := model.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("want a duration like 5m or 1h30m, got %q", s)
			}
			*field(p) = d
			return nil
		},
	}
}

func lookupKey(name string) (key, bool) {
	for _, k := range settingKeys() {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

func fieldError(field string, err error) error { return fmt.Errorf("%s: %w", field, err) }

func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a number, got %q", s)
	}
	return f, nil
}

// parseRatio accepts a fraction ("0.05") or a percentage ("5%").
func parseRatio(s string) (float64, error) {
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		// Parsing "99.9e-2" rounds once; dividing 99.9 by 100 would round twice.
		return parseFloat(strings.TrimSpace(pct) + "e-2")
	}
	return parseFloat(s)
}

func parseObjective(s string) (float64, error) {
	if s == "none" {
		return 0, nil
	}
	return parseRatio(s)
}

// parseMillis accepts a bare number of milliseconds or a Go duration ("300ms", "1.5s").
func parseMillis(s string) (float64, error) {
	if f, err := parseFloat(s); err == nil {
		return f, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want milliseconds or a duration like 300ms or 1.5s, got %q", s)
	}
	return float64(d) / float64(time.Millisecond), nil
}

func checkObjective(f float64) error {
	if f < 0 || f >= 1 {
		return fmt.Errorf("objective %g out of range: want 0 (none) or a share below 1 such as 0.999", f)
	}
	return nil
}

func checkRatio(f float64) error {
	if f <= 0 || f > 1 {
		return fmt.Errorf("ratio %g out of range: want 0 < ratio <= 1", f)
	}
	return nil
}

func checkPositive(f float64) error {
	if f <= 0 {
		return fmt.Errorf("%g must be positive", f)
	}
	return nil
}

func checkNonNegative(f float64) error {
	if f < 0 {
		return fmt.Errorf("%g must not be negative", f)
	}
	return nil
}

// Alert kinds as spelled in disable-alerts.
const (
	KindErrorRatio     = "error-ratio"
	KindLatency        = "latency"
	KindBurnRatePage   = "burn-rate-page"
	KindBurnRateTicket = "burn-rate-ticket"
	KindUnknownShare   = "unknown-share"
)

// applyDisable switches off the listed alert kinds; "burn-rate" means both
// burn-rate kinds and "all" every kind. A list with any bad item switches
// nothing off.
func applyDisable(p *Policy, s string, route bool) error {
	alerts, err := disabled(p.Alerts, s, route)
	if err != nil {
		return err
	}
	p.Alerts = alerts
	return nil
}

func disabled(a Alerts, s string, route bool) (Alerts, error) {
	p := &Policy{Alerts: a}
	var errs []error
	for item := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(item) {
		case "":
		case "all":
			p.Alerts = Alerts{}
		case KindErrorRatio:
			p.Alerts.ErrorRatio = false
		case KindLatency:
			p.Alerts.Latency = false
		case "burn-rate":
			p.Alerts.BurnRatePage, p.Alerts.BurnRateTicket = false, false
		case KindBurnRatePage:
			p.Alerts.BurnRatePage = false
		case KindBurnRateTicket:
			p.Alerts.BurnRateTicket = false
		case KindUnknownShare:
			if route {
				errs = append(errs, errors.New("unknown-share is per workload: disable it on the route set, not on a route"))
				continue
			}
			p.Alerts.UnknownShare = false
		default:
			errs = append(errs, fmt.Errorf("unknown alert kind %q (want all, error-ratio, latency, burn-rate, burn-rate-page, burn-rate-ticket or unknown-share)", item))
		}
	}
	return p.Alerts, errors.Join(errs...)
}

// resolver collects the diagnostics of one route set.
type resolver struct {
	rs    *inventory.RouteSet
	diags diag.List
}

// report adds a diagnostic about annotation, at line textLine of its value
// (0: the annotation's own line).
func (r *resolver) report(sev diag.Severity, code, annotation string, textLine int, msg string) {
	obj := r.rs.Plugin
	if obj == (diag.ObjectRef{}) {
		obj = r.rs.Telemetry
	}
	r.diags = append(r.diags, diag.Diagnostic{
		Severity: sev, Code: code, Object: obj,
		Field:   "metadata.annotations[" + annotation + "]",
		Message: msg, Source: r.rs.AnnotationSource(annotation, textLine),
	})
}

// applySet applies the set-wide annotations to p. Each value is applied
// whole or, when rejected, not at all.
func (r *resolver) applySet(p *Policy) {
	for name, value := range r.rs.Annotations {
		short, ok := strings.CutPrefix(name, Prefix)
		if !ok || name == RoutesAnnotation {
			continue
		}
		k, ok := lookupKey(short)
		if !ok {
			r.report(diag.Warning, CodeUnknownKey, name, 0, fmt.Sprintf("unknown annotation %q is ignored", name))
			continue
		}
		if err := k.apply(p, value, false); err != nil {
			r.report(diag.Error, CodeMalformed, name, 0, fmt.Sprintf("value %q ignored, the inherited value applies: %v", value, err))
		}
	}
}

// applyRoutes parses the routes annotation into full per-route policies
// based on set. The annotation is applied whole or not at all: one rejected
// value leaves every route with the set's policy. Unknown keys and routes
// are warnings and are skipped.
func (r *resolver) applyRoutes(set Policy) map[string]Policy {
	raw, ok := r.rs.Annotations[RoutesAnnotation]
	if !ok {
		return nil
	}
	entries, err := parseRoutes(raw)
	if err != nil {
		r.report(diag.Error, CodeMalformed, RoutesAnnotation, err.line, fmt.Sprintf("per-route overrides ignored: %v", err.err))
		return nil
	}
	known := make(map[string]bool, len(r.rs.Routes))
	for _, v := range r.rs.RouteValues() {
		known[v] = true
	}
	out := make(map[string]Policy, len(entries))
	rejected := false
	for _, e := range entries {
		if !known[e.route] {
			r.report(diag.Warning, CodeUnknownRoute, RoutesAnnotation, e.line,
				fmt.Sprintf("route %q is not a value of this route set; its overrides are ignored", e.route))
			continue
		}
		p := set
		for _, kv := range e.settings {
			rejected = !r.applyRouteKey(&p, e.route, kv) || rejected
		}
		out[e.route] = p
	}
	if rejected {
		return nil
	}
	return out
}

// applyRouteKey applies one per-route setting and reports whether its value
// was accepted (an unknown key is skipped, not rejected).
func (r *resolver) applyRouteKey(p *Policy, route string, kv setting) bool {
	const ignored = "; no per-route override of this route set applies until it is fixed"
	k, ok := lookupKey(kv.name)
	switch {
	case !ok:
		r.report(diag.Warning, CodeUnknownKey, RoutesAnnotation, kv.line,
			fmt.Sprintf("route %q: unknown key %q is ignored", route, kv.name))
	case k.setOnly:
		r.report(diag.Error, CodeMalformed, RoutesAnnotation, kv.line,
			fmt.Sprintf("route %q: %s is per workload; set the %s%s annotation instead%s", route, kv.name, Prefix, kv.name, ignored))
		return false
	default:
		if err := k.apply(p, kv.value, true); err != nil {
			r.report(diag.Error, CodeMalformed, RoutesAnnotation, kv.line,
				fmt.Sprintf("route %q: %s value %q rejected: %v%s", route, kv.name, kv.value, err, ignored))
			return false
		}
	}
	return true
}

// setting is one per-route key; line is its line in the annotation value.
type setting struct {
	name, value string
	line        int
}

type routeEntry struct {
	route    string
	line     int
	settings []setting
}

// lineError is a problem at a line of the annotation value (0: unknown).
type lineError struct {
	line int
	err  error
}

func errorAt(line int, format string, args ...any) *lineError {
	return &lineError{line: line, err: fmt.Errorf(format, args...)}
}

// parseRoutes reads the routes annotation: a mapping from route value to a
// mapping of settings. Scalars are kept as written; a sequence (for
// disable-alerts) is joined with commas.
func parseRoutes(raw string) ([]routeEntry, *lineError) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		return nil, &lineError{err: fmt.Errorf("not YAML or JSON: %w", err)}
	}
	if doc.Kind == 0 {
		return nil, nil // empty annotation
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, errorAt(top.Line, `want a mapping from route value to settings, e.g. {"GET /healthz": {disable-alerts: all}}`)
	}
	var out []routeEntry
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, errorAt(k.Line, "a route value must be a string")
		}
		if seen[k.Value] {
			return nil, errorAt(k.Line, "route %q appears twice", k.Value)
		}
		seen[k.Value] = true
		settings, err := parseSettings(k.Value, v)
		if err != nil {
			return nil, err
		}
		out = append(out, routeEntry{route: k.Value, line: k.Line, settings: settings})
	}
	return out, nil
}

func parseSettings(route string, n *yaml.Node) ([]setting, *lineError) {
	if n.Kind != yaml.MappingNode {
		return nil, errorAt(n.Line, "route %q: want a mapping of settings", route)
	}
	var out []setting
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return nil, errorAt(k.Line, "route %q: key %q appears twice", route, k.Value)
		}
		seen[k.Value] = true
		val, err := scalarOrList(v)
		if err != nil {
			return nil, errorAt(v.Line, "route %q: %s: %v", route, k.Value, err)
		}
		out = append(out, setting{name: k.Value, value: val, line: k.Line})
	}
	return out, nil
}

func scalarOrList(n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return "", errors.New("want a list of strings")
			}
			items = append(items, c.Value)
		}
		return strings.Join(items, ","), nil
	}
	return "", errors.New("want a string, a number or a list")
}

// Set sets the field of p that the bundle config spells yamlName
// (objective, errorRatio, latencyFor, ...) from value, parsed as the
// annotations parse it: "99.9%" and "0.999" alike, "300ms" for latencyP99Ms.
// known is false for names that are not such a field (alerts, a typo).
func (p *Policy) Set(yamlName, value string) (known bool, err error) {
	for _, k := range settingKeys() {
		if k.yamlName == yamlName && k.yamlName != "" {
			return true, k.apply(p, value, false)
		}
	}
	return false, nil
}
