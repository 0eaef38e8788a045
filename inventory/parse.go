package inventory

import (
	"maps"
	"math"
	"slices"

	"github.com/routebundle/routebundle/manifest"
)

// Field paths used in more than one place.
const (
	pathSpec     manifest.Path = "spec"
	pathMetadata manifest.Path = "metadata"
)

// specOf returns the object's spec, reporting a missing or wrong-typed one.
func specOf(f *fields, o *manifest.Object) (map[string]any, bool) {
	spec, ok := f.mapping(o.Content, "spec", pathSpec)
	if !ok {
		if f.bad == 0 {
			f.invalid(pathSpec, "spec: required field is missing")
		}
		return nil, false
	}
	return spec, true
}

func parsePolicy(f *fields, o *manifest.Object, spec map[string]any) policy {
	p := policy{obj: o, namespace: objectNamespace(o)}
	if md, ok := f.mapping(o.Content, "metadata", pathMetadata); ok {
		p.annotations = f.stringMap(md, "annotations", pathMetadata.Key("annotations"))
	}
	p.targetRefsField = pathSpec.Key("targetRefs")
	p.targetRefs = parseList(f, spec, "targetRefs", p.targetRefsField, parseTargetRef)
	// The deprecated singular targetRef still works when targetRefs is empty.
	if single := pathSpec.Key("targetRef"); len(p.targetRefs) == 0 && spec["targetRef"] != nil {
		p.targetRefsField = single
		if ref, ok := parseTargetRef(f, spec["targetRef"], single); ok {
			p.targetRefs = []TargetRef{ref}
		}
	}
	selPath := pathSpec.Key("selector")
	if sel, ok := f.mapping(spec, "selector", selPath); ok {
		p.selector = f.stringMap(sel, "matchLabels", selPath.Key("matchLabels"))
	}
	if p.hasTargetRefs() && p.hasSelector() {
		f.invalid(selPath, "spec: selector and targetRefs are mutually exclusive; Istio rejects the object")
	}
	return p
}

func parseTargetRef(f *fields, v any, path manifest.Path) (TargetRef, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return TargetRef{}, false
	}
	bad := f.bad
	ref := TargetRef{Kind: f.requiredStr(m, "kind", path.Key("kind")), Name: f.requiredStr(m, "name", path.Key("name"))}
	ref.Group, _ = f.str(m, "group", path.Key("group"))
	if ns, _ := f.str(m, "namespace", path.Key("namespace")); ns != "" {
		// Istio's CRDs allow no namespace at all here (the CEL rule
		// self.size() == 0, "cross namespace referencing is not currently
		// supported"), the policy's own included. The reference is kept,
		// to the policy's namespace, so that the policy stays targeted.
		f.invalid(path.Key("namespace"), "%s: the API server refuses any namespace in a targetRef (cross namespace referencing is not currently supported); leave it out, the policy's own namespace applies", path.Key("namespace"))
		bad = f.bad
	}
	return ref, f.bad == bad
}

// parseWasmPlugin returns nil for Wasm plugins that are not attributegen and
// for attributegen plugins too broken to use.
func parseWasmPlugin(f *fields, o *manifest.Object) *wasmPlugin {
	spec, ok := specOf(f, o)
	if !ok || !looksLikeAttributegen(spec) {
		return nil
	}
	w := &wasmPlugin{policy: parsePolicy(f, o, spec)}
	if ph, ok := f.enum(spec, "phase", pathSpec.Key("phase"), phaseUnspecified, phaseAuthn, phaseAuthz, phaseStats); ok && ph != phaseUnspecified {
		w.phase = ph
	}
	// Pilot sorts a plugin without priority after every plugin with one
	// (push_context.go: a nil priority counts as math.MinInt32).
	w.priority = math.MinInt32
	if spec["priority"] != nil {
		w.priority = f.integer(spec, "priority", pathSpec.Key("priority"))
	}
	pcPath := pathSpec.Key("pluginConfig")
	pc, ok := f.mapping(spec, "pluginConfig", pcPath)
	if !ok {
		if spec["pluginConfig"] == nil {
			f.invalid(pcPath, "%s: required field is missing: attributegen needs pluginConfig.attributes", pcPath)
		}
		return w
	}
	attrPath := pcPath.Key("attributes")
	attrs, ok := f.list(pc, "attributes", attrPath)
	if !ok && pc["attributes"] == nil {
		f.invalid(attrPath, "%s: required field is missing", attrPath)
	}
	for i, a := range attrs {
		if ac, ok := parseAttrConfig(f, a, attrPath.Index(i)); ok {
			ac.plugin, ac.index = w, i
			w.attributes = append(w.attributes, ac)
		}
	}
	return w
}

func parseAttrConfig(f *fields, v any, path manifest.Path) (attrConfig, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return attrConfig{}, false
	}
	ac := attrConfig{field: path, evalPhase: evalAfterResponse}
	ac.output = f.requiredStr(m, "output_attribute", path.Key("output_attribute"))
	if ph, ok := f.enum(m, "phase", path.Key("phase"), evalAfterResponse, evalOnRequest, evalUnspecified); ok && ph == evalOnRequest {
		ac.evalPhase = ph
	}
	ac.matches = parseList(f, m, "match", path.Key("match"), parseMatch)
	return ac, ac.output != ""
}

func parseMatch(f *fields, v any, path manifest.Path) (Route, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return Route{}, false
	}
	bad := f.bad
	r := Route{Field: path.String(), Source: f.obj.FieldSource(path)}
	r.Value, _ = f.str(m, "value", path.Key("value"))
	if m["value"] == nil {
		f.invalid(path.Key("value"), "%s: required field is missing", path.Key("value"))
	}
	r.Condition, _ = f.str(m, "condition", path.Key("condition"))
	return r, f.bad == bad
}

// parseList parses each element of the list m[key] with parse and keeps
// those that parse; a wrong-typed list is reported and yields none.
func parseList[T any](f *fields, m map[string]any, key string, path manifest.Path, parse func(*fields, any, manifest.Path) (T, bool)) []T {
	items, _ := f.list(m, key, path)
	var out []T
	for i, v := range items {
		if x, ok := parse(f, v, path.Index(i)); ok {
			out = append(out, x)
		}
	}
	return out
}

// standardMetric reports whether m is one of Istio's metric selectors.
func standardMetric(m string) bool {
	switch Metric(m) {
	case AllMetrics, RequestCount, RequestDuration, RequestSize, ResponseSize,
		TCPOpened, TCPClosed, TCPSentBytes, TCPReceivedBytes, GRPCRequestMsgs, GRPCResponseMsgs:
		return true
	}
	return false
}

func parseTelemetry(f *fields, o *manifest.Object) *telemetry {
	spec, ok := specOf(f, o)
	if !ok {
		return nil
	}
	return &telemetry{
		policy:  parsePolicy(f, o, spec),
		metrics: parseList(f, spec, "metrics", pathSpec.Key("metrics"), parseMetricsEntry),
	}
}

func parseMetricsEntry(f *fields, v any, path manifest.Path) (metricsEntry, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return metricsEntry{}, false
	}
	me := metricsEntry{field: path}
	provPath := path.Key("providers")
	provs, _ := f.list(m, "providers", provPath)
	for i, p := range provs {
		pm, ok := f.asMapping(p, provPath.Index(i))
		if !ok {
			continue
		}
		if name := f.requiredStr(pm, "name", provPath.Index(i).Key("name")); name != "" {
			me.providers = append(me.providers, name)
		}
	}
	me.overrides = parseList(f, m, "overrides", path.Key("overrides"), parseOverride)
	return me, true
}

func parseOverride(f *fields, v any, path manifest.Path) (override, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return override{}, false
	}
	ov := override{field: path, metric: AllMetrics, mode: "CLIENT_AND_SERVER"}
	matchPath := path.Key("match")
	if match, ok := f.mapping(m, "match", matchPath); ok {
		if metric, ok := f.str(match, "metric", matchPath.Key("metric")); ok {
			if !standardMetric(metric) {
				f.invalid(matchPath.Key("metric"), "%s: %q is not an Istio metric (REQUEST_COUNT, REQUEST_DURATION, ALL_METRICS, ...)", matchPath.Key("metric"), metric)
				return override{}, false
			}
			ov.metric = Metric(metric)
		}
		if _, ok := f.str(match, "customMetric", matchPath.Key("customMetric")); ok {
			ov.metric, ov.custom = "", true
		}
		if mode, ok := f.enum(match, "mode", matchPath.Key("mode"), "CLIENT_AND_SERVER", "CLIENT", "SERVER"); ok {
			ov.mode = mode
		}
	}
	ov.disabled = f.boolean(m, "disabled", path.Key("disabled"))
	_, isBool := m["disabled"].(bool)
	ov.disabledSet = isBool
	tagsPath := path.Key("tagOverrides")
	tags, _ := f.mapping(m, "tagOverrides", tagsPath)
	for _, name := range slices.Sorted(maps.Keys(tags)) {
		if t, ok := parseTagOverride(f, name, tags[name], tagsPath.Key(name)); ok {
			ov.tags = append(ov.tags, t)
		}
	}
	return ov, true
}

func parseTagOverride(f *fields, name string, v any, path manifest.Path) (tagOverride, bool) {
	t := tagOverride{name: name, field: path}
	if v == nil {
		f.invalid(path, "%s: needs a value (or operation: REMOVE)", path)
		return t, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		f.wrongType(path, "a mapping with value or operation", v)
		return t, false
	}
	op, _ := f.enum(m, "operation", path.Key("operation"), "UPSERT", "REMOVE")
	t.remove = op == "REMOVE"
	val, ok := f.str(m, "value", path.Key("value"))
	if !t.remove && (!ok || val == "") {
		if m["value"] == nil || ok {
			f.invalid(path.Key("value"), "%s: an UPSERT needs a value", path.Key("value"))
		}
		return t, false
	}
	t.value = val
	return t, true
}

func parseGateway(f *fields, o *manifest.Object) (Gateway, bool) {
	spec, ok := specOf(f, o)
	if !ok {
		return Gateway{}, false
	}
	g := Gateway{Namespace: objectNamespace(o), Name: o.Name, Source: o.Source}
	g.Class = f.requiredStr(spec, "gatewayClassName", pathSpec.Key("gatewayClassName"))
	return g, true
}

func parseNamespace(f *fields, o *manifest.Object) Namespace {
	n := Namespace{Name: o.Name, Source: o.Source}
	if md, ok := f.mapping(o.Content, "metadata", pathMetadata); ok {
		labels := f.stringMap(md, "labels", pathMetadata.Key("labels"))
		n.UseWaypoint = labels[labelUseWaypoint]
		n.UseWaypointNamespace = labels[labelUseWaypointNamespace]
		n.DataplaneMode = labels[labelDataplaneMode]
	}
	return n
}

// Namespace labels that decide how a namespace's traffic is handled.
const (
	labelUseWaypoint   = "istio.io/use-waypoint"
	labelDataplaneMode = "istio.io/dataplane-mode"
)
