package inventory

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/common"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/routing"
)

// RouteObjects is what the inventory read of the mesh's own route objects
// (HTTPRoute, GRPCRoute, VirtualService): the names istiod gives their
// routes, their order and where they apply, in routing's Index.
type RouteObjects struct {
	Index *routing.Index
	// Diagnostics are about the route objects alone: unreadable fields,
	// route names that mislead (empty, positional, colliding, reserved),
	// parentRefs and delegates istiod ignores.
	Diagnostics diag.List
	// NamesRead reports a Telemetry tag reading xds.route_name. Only then
	// are the route objects' Diagnostics part of the inventory's, and only
	// those about objects a route set of such a tag reaches (or whose
	// place routebundle cannot tell): elsewhere their names reach no
	// metric, which CodeUnreachedRouteObject says instead.
	NamesRead bool
}

const groupNetworking = "networking.istio.io"

// routeKind recognises the route objects, in every API version their group
// serves (the schemas of the fields read here are the same in all).
func routeKind(o *manifest.Object) (routing.Kind, bool) {
	switch g := o.Group(); {
	case g == groupGateway && o.Kind == "HTTPRoute":
		return routing.HTTPRoute, true
	case g == groupGateway && o.Kind == "GRPCRoute":
		return routing.GRPCRoute, true
	case g == groupNetworking && o.Kind == "VirtualService":
		return routing.VirtualService, true
	}
	return "", false
}

// readRoutes parses the route objects among objs and indexes them, keeping
// their diagnostics aside for reportRouteObjects. It is called once per
// Build, after the Telemetries were read.
func (st *state) readRoutes(objs []manifest.Object) RouteObjects {
	c := st.c.child()
	var list []*manifest.Object
	last := make(map[diag.ObjectRef]int)
	for i := range objs {
		o := &objs[i]
		if _, ok := routeKind(o); !ok {
			continue
		}
		if o.Name == "" {
			(&fields{obj: o, c: c}).invalid(pathMetadata.Key("name"), "metadata.name: required field is missing or not a string")
			continue
		}
		key := diag.ObjectRef{Kind: o.Kind, Namespace: objectNamespace(o), Name: o.Name}
		if prev, dup := last[key]; dup {
			c.add(diag.CodeDuplicateObject, o, "", "%s was already read at %s; this one replaces it", o.Ref(), list[prev].Source)
		}
		last[key] = len(list)
		list = append(list, o)
	}
	// Every object is parsed, so that a replaced one's errors are reported
	// too; the index gets the last of each name.
	parsed := parseAll(c, list, parseRouteObject)
	var routeObjs []*routing.Object
	source := make(map[*routing.Object]*manifest.Object, len(parsed))
	for i, ro := range parsed {
		key := diag.ObjectRef{Kind: list[i].Kind, Namespace: objectNamespace(list[i]), Name: list[i].Name}
		if ro != nil && last[key] == i {
			routeObjs = append(routeObjs, ro)
			source[ro] = list[i]
		}
	}
	ix := routing.NewIndex(routeObjs, routing.Options{})
	for _, f := range ix.Findings() {
		c.add(findingCode(f.Kind), source[f.Object], manifest.Path(f.Field), "%s", f.Message)
	}
	ro := RouteObjects{Index: ix, Diagnostics: c.list, NamesRead: st.routeNamesRead()}
	ro.Diagnostics.Sort()
	return ro
}

// reportRouteObjects adds, when a tag reads xds.route_name, the route
// objects' diagnostics to the inventory's: every field error, and the
// findings about objects a route set reaches (or that attach to places
// routebundle does not read: Istio Gateways, ListenerSets, ServiceEntries).
// An object attached only to Services and Gateways that no such tag
// reaches is reported as unreached instead.
func (st *state) reportRouteObjects() {
	ro := &st.routeObjs
	if !ro.NamesRead {
		return
	}
	ix := st.routeIndex()
	quiet := make(map[diag.ObjectRef]bool)
	for _, o := range ix.Objects() {
		if !evaluable(ix, o) || slices.ContainsFunc(st.routePlaces, func(p routePlace) bool { return p.reaches(ix, o) }) {
			continue
		}
		quiet[o.Ref()] = true
		st.c.list = append(st.c.list, diag.Diagnostic{
			Severity: diag.Warning, Code: diag.CodeUnreachedRouteObject, Object: o.Ref(), Field: "spec",
			Message: unreachedMessage(ix, o, st.routePlaces), Source: o.Source,
		})
	}
	for _, d := range ro.Diagnostics {
		if d.Code == diag.CodeInvalidField || d.Code == diag.CodeInvalidRegex || d.Code == diag.CodeDuplicateObject || !quiet[d.Object] {
			st.c.list = append(st.c.list, d)
		}
	}
}

// unreachedMessage says where o's routes apply and where the tags reading
// route names do.
func unreachedMessage(ix *routing.Index, o *routing.Object, places []routePlace) string {
	var at []string
	for _, p := range ix.Parents(o) {
		switch p.Kind {
		case routing.ParentMesh:
			at = append(at, "host "+strings.Join(p.Hosts, ", "))
		default:
			at = append(at, string(p.Kind)+" "+p.Namespace+"/"+p.Name)
		}
	}
	where := "no proxy"
	if len(places) > 0 {
		var ds []string
		for i := range places {
			ds = append(ds, places[i].describe())
		}
		slices.Sort(ds)
		where = strings.Join(slices.Compact(ds), "; ")
	}
	return fmt.Sprintf("its routes apply at %s, which no Telemetry reading %s reaches (they apply at %s): these route names land in no metric; target the proxy that serves them, or drop the object from the input",
		strings.Join(at, ", "), routing.RouteNameAttribute, where)
}

// findingCode is the diagnostic code of a routing finding.
func findingCode(k routing.FindingKind) string {
	switch k {
	case routing.UnnamedRoute:
		return diag.CodeUnnamedVirtualServiceRoute
	case routing.NameCollision:
		return diag.CodeRouteNameCollision
	case routing.UnnamedRule:
		return diag.CodeUnnamedRule
	case routing.ReservedName:
		return diag.CodeReservedRouteName
	case routing.IgnoredParent:
		return diag.CodeIgnoredParentRef
	case routing.DelegateMissing, routing.DelegateNotExported:
		return diag.CodeUnusableDelegate
	case routing.DelegateConflict:
		return diag.CodeDelegateConflict
	}
	return diag.CodeInvalidField
}

// routeNamesRead reports whether some Telemetry tag value reads
// xds.route_name (alone or inside a larger expression).
func (st *state) routeNamesRead() bool {
	for _, t := range st.telemetry {
		for _, me := range t.metrics {
			for _, ov := range me.overrides {
				for _, tag := range ov.tags {
					if !tag.remove && readsRouteName(st, tag.value) {
						return true
					}
				}
			}
		}
	}
	return false
}

// readsRouteName parses a tag value and looks for xds.route_name (or
// xds['route_name']) in it.
func readsRouteName(st *state, expr string) bool {
	if !strings.Contains(expr, "route_name") {
		return false
	}
	a, errs := st.b.parser.Parse(common.NewTextSource(expr))
	if len(errs.GetErrors()) > 0 {
		return false
	}
	found := false
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.SelectKind:
			if p, ok := selectPath(e); ok && p == routing.RouteNameAttribute {
				found = true
			}
		case celast.CallKind:
			if c := e.AsCall(); c.FunctionName() == operators.Index && len(c.Args()) == 2 {
				obj, key := c.Args()[0], c.Args()[1]
				lit, isLit := stringLiteral(key)
				found = found || obj.Kind() == celast.IdentKind && obj.AsIdent() == "xds" && isLit && lit == "route_name"
			}
		}
	}))
	return found
}

func stringLiteral(e celast.Expr) (string, bool) {
	if e.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

// parseRouteObject reads an HTTPRoute, GRPCRoute or VirtualService; nil
// when it is too broken to use.
func parseRouteObject(f *fields, o *manifest.Object) *routing.Object {
	kind, _ := routeKind(o)
	spec, ok := specOf(f, o)
	if !ok {
		return nil
	}
	ro := &routing.Object{Kind: kind, Namespace: objectNamespace(o), Name: o.Name, Source: o.Source}
	if md, ok := f.mapping(o.Content, "metadata", pathMetadata); ok {
		ro.CreationTimestamp = parseTimestamp(f, md, pathMetadata.Key("creationTimestamp"))
	}
	switch kind {
	case routing.VirtualService:
		parseVirtualService(f, spec, ro)
	default:
		parseGatewayRoute(f, spec, ro)
	}
	return ro
}

func parseTimestamp(f *fields, md map[string]any, path manifest.Path) time.Time {
	s, ok := f.str(md, "creationTimestamp", path)
	if !ok {
		return time.Time{}
	}
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		f.invalid(path, "%s: %q is not an RFC 3339 time", path, s)
	}
	return ts
}

// strList reads a list of strings.
func (f *fields) strList(m map[string]any, key string, path manifest.Path) []string {
	items, _ := f.list(m, key, path)
	out := make([]string, 0, len(items))
	for i, v := range items {
		s, ok := v.(string)
		if !ok {
			f.wrongType(path.Index(i), "a string", v)
			continue
		}
		out = append(out, s)
	}
	return out
}

// port reads m["port"], a port number; 0 when absent or wrong.
func (f *fields) port(m map[string]any, path manifest.Path) uint32 {
	port := f.integer(m, "port", path)
	if port < 0 || port > 65535 {
		f.invalid(path, "%s: %d is not a port number", path, port)
		return 0
	}
	return uint32(port)
}

func parseGatewayRoute(f *fields, spec map[string]any, ro *routing.Object) {
	ro.ParentRefs = parseList(f, spec, "parentRefs", pathSpec.Key("parentRefs"), parseParentRef)
	ro.Hostnames = f.strList(spec, "hostnames", pathSpec.Key("hostnames"))
	rulesPath := pathSpec.Key("rules")
	if spec["rules"] == nil && ro.Kind == routing.HTTPRoute {
		// The CRD's default: one rule matching every path.
		ro.Rules = []routing.Rule{{Field: rulesPath.String(), Source: f.obj.FieldSource(pathSpec),
			Matches: []routing.Match{defaultHTTPMatch(f, rulesPath)}}}
		return
	}
	ro.Rules = parseRules(f, spec, "rules", func(rule *routing.Rule, m map[string]any, path manifest.Path) {
		matchesPath := path.Key("matches")
		if ro.Kind == routing.GRPCRoute {
			rule.Matches = parseList(f, m, "matches", matchesPath, parseGRPCRouteMatch)
			return
		}
		rule.Matches = parseList(f, m, "matches", matchesPath, parseHTTPRouteMatch)
		if len(rule.Matches) == 0 && m["matches"] == nil {
			rule.Matches = []routing.Match{defaultHTTPMatch(f, path)}
		}
	})
}

// parseRules reads the list at spec[key] (HTTPRoute and GRPCRoute rules,
// VirtualService http entries): each a mapping with an optional name,
// the rest read by more.
func parseRules(f *fields, spec map[string]any, key string, more func(rule *routing.Rule, m map[string]any, path manifest.Path)) []routing.Rule {
	listPath := pathSpec.Key(key)
	items, _ := f.list(spec, key, listPath)
	var out []routing.Rule
	for i, v := range items {
		path := listPath.Index(i)
		m, ok := f.asMapping(v, path)
		if !ok {
			continue
		}
		rule := routing.Rule{Index: i, Field: path.String(), Source: f.obj.FieldSource(path)}
		rule.Name, _ = f.str(m, "name", path.Key("name"))
		more(&rule, m, path)
		out = append(out, rule)
	}
	return out
}

// defaultHTTPMatch is the CRD's default HTTPRoute match, PathPrefix "/",
// placed at the rule that omits its matches.
func defaultHTTPMatch(f *fields, at manifest.Path) routing.Match {
	return routing.Match{Path: &routing.StringMatch{Type: routing.PathPrefix, Value: "/"}, Field: at.String(), Source: f.obj.FieldSource(at)}
}

func parseParentRef(f *fields, v any, path manifest.Path) (routing.ParentRef, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return routing.ParentRef{}, false
	}
	bad := f.bad
	ref := routing.ParentRef{Field: path.String(), Source: f.obj.FieldSource(path)}
	ref.Name = f.requiredStr(m, "name", path.Key("name"))
	// The CRD defaults an omitted group to the Gateway API's; an empty one
	// is the core group (Service).
	ref.Group = routing.GatewayGroup
	if g, ok := f.str(m, "group", path.Key("group")); ok {
		ref.Group = g
	}
	ref.Kind, _ = f.str(m, "kind", path.Key("kind"))
	ref.Namespace, _ = f.str(m, "namespace", path.Key("namespace"))
	ref.SectionName, _ = f.str(m, "sectionName", path.Key("sectionName"))
	ref.Port = int32(f.port(m, path.Key("port")))
	if ref.Namespace != "" && len(validation.IsDNS1123Label(ref.Namespace)) > 0 {
		f.invalid(path.Key("namespace"), "%s: %q is not a namespace name (the CRD's pattern: a DNS-1123 label)", path.Key("namespace"), ref.Namespace)
	}
	if ref.Name != "" && len(validation.IsDNS1123Subdomain(ref.Name)) > 0 {
		// The CRD takes any name; no Gateway, Service or ServiceEntry can
		// have this one, so istiod attaches the route to nothing there.
		f.c.add(diag.CodeIgnoredParentRef, f.obj, path.Key("name"), "%s: no object can be named %q (not a DNS-1123 subdomain): this parentRef attaches to nothing", path.Key("name"), ref.Name)
		return ref, false
	}
	return ref, f.bad == bad
}

func parseHTTPRouteMatch(f *fields, v any, path manifest.Path) (routing.Match, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return routing.Match{}, false
	}
	bad := f.bad
	match := routing.Match{Field: path.String(), Source: f.obj.FieldSource(path)}
	// An omitted path is the CRD's default, PathPrefix "/".
	match.Path = &routing.StringMatch{Type: routing.PathPrefix, Value: "/"}
	if pm, ok := f.mapping(m, "path", path.Key("path")); ok {
		match.Path = parseHTTPPath(f, pm, path.Key("path"))
	}
	match.Headers = parseNamedMatches(f, m, "headers", path.Key("headers"))
	match.QueryParams = parseNamedMatches(f, m, "queryParams", path.Key("queryParams"))
	if method, ok := f.enum(m, "method", path.Key("method"),
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"); ok {
		match.Method = &routing.StringMatch{Type: routing.Exact, Value: method}
	}
	return match, f.bad == bad
}

// parseHTTPPath converts an HTTPRoute path match as conversion.go
// createURIMatch does: a prefix loses its trailing "/" (except "/" itself).
func parseHTTPPath(f *fields, pm map[string]any, path manifest.Path) *routing.StringMatch {
	tp := "PathPrefix"
	if t, ok := f.enum(pm, "type", path.Key("type"), "Exact", "PathPrefix", "RegularExpression"); ok {
		tp = t
	}
	value := "/"
	if s, ok := f.str(pm, "value", path.Key("value")); ok {
		value = s
	}
	switch tp {
	case "Exact":
		return &routing.StringMatch{Type: routing.Exact, Value: value}
	case "RegularExpression":
		f.regex(value, path.Key("value"))
		return &routing.StringMatch{Type: routing.Regex, Value: value}
	}
	if value != "/" {
		value = strings.TrimSuffix(value, "/")
	}
	return &routing.StringMatch{Type: routing.PathPrefix, Value: value}
}

// parseNamedMatches reads Gateway API header or query parameter matches
// (type Exact, the default, or RegularExpression), keyed by name as
// istiod's maps are: a name written twice keeps its last matcher.
func parseNamedMatches(f *fields, m map[string]any, key string, path manifest.Path) []routing.KeyMatch {
	items, _ := f.list(m, key, path)
	byName := make(map[string]routing.KeyMatch)
	for i, v := range items {
		p := path.Index(i)
		hm, ok := f.asMapping(v, p)
		if !ok {
			continue
		}
		name := f.requiredStr(hm, "name", p.Key("name"))
		value, ok := f.str(hm, "value", p.Key("value"))
		if !ok && hm["value"] == nil {
			f.invalid(p.Key("value"), "%s: required field is missing", p.Key("value"))
		}
		tp := routing.Exact
		if t, ok := f.enum(hm, "type", p.Key("type"), "Exact", "RegularExpression"); ok && t == "RegularExpression" {
			tp = routing.Regex
			f.regex(value, p.Key("value"))
		}
		if name != "" {
			byName[name] = routing.KeyMatch{Name: name, StringMatch: routing.StringMatch{Type: tp, Value: value}}
		}
	}
	return sortedKeys(byName)
}

func sortedKeys(byName map[string]routing.KeyMatch) []routing.KeyMatch {
	if len(byName) == 0 {
		return nil
	}
	out := make([]routing.KeyMatch, 0, len(byName))
	for _, k := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[k])
	}
	return out
}

func parseGRPCRouteMatch(f *fields, v any, path manifest.Path) (routing.Match, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return routing.Match{}, false
	}
	bad := f.bad
	match := routing.Match{Field: path.String(), Source: f.obj.FieldSource(path)}
	if mm, ok := f.mapping(m, "method", path.Key("method")); ok {
		match.GRPC, match.Path = parseGRPCMethod(f, mm, path.Key("method"))
	}
	match.Headers = parseNamedMatches(f, m, "headers", path.Key("headers"))
	return match, f.bad == bad
}

// parseGRPCMethod converts a GRPCRoute method match into the path match
// istiod gives Envoy (conversion.go createGRPCURIMatch): service and method
// exact → path /S/M; service only → prefix /S/; method only → regex
// /[^/]+/M; regular expressions likewise.
func parseGRPCMethod(f *fields, mm map[string]any, path manifest.Path) (*routing.GRPCMethod, *routing.StringMatch) {
	g, sm := grpcMethodMatch(f, mm, path)
	if sm != nil && sm.Type == routing.Regex {
		// istiod joins service and method into one regex: the two halves
		// can each be invalid and the whole valid, or the other way round.
		f.regex(sm.Value, path)
	}
	return g, sm
}

func grpcMethodMatch(f *fields, mm map[string]any, path manifest.Path) (*routing.GRPCMethod, *routing.StringMatch) {
	g := &routing.GRPCMethod{}
	if t, ok := f.enum(mm, "type", path.Key("type"), "Exact", "RegularExpression"); ok {
		g.Regex = t == "RegularExpression"
	}
	g.Service, _ = f.str(mm, "service", path.Key("service"))
	g.Method, _ = f.str(mm, "method", path.Key("method"))
	switch {
	case g.Service == "" && g.Method == "":
		f.invalid(path, "%s: needs a service or a method", path)
		return nil, nil
	case g.Method == "" && !g.Regex:
		return g, &routing.StringMatch{Type: routing.Prefix, Value: "/" + g.Service + "/"}
	case g.Method == "":
		return g, &routing.StringMatch{Type: routing.Regex, Value: "/" + g.Service + "/.+"}
	case g.Service == "":
		return g, &routing.StringMatch{Type: routing.Regex, Value: "/[^/]+/" + g.Method}
	case g.Regex:
		return g, &routing.StringMatch{Type: routing.Regex, Value: "/" + g.Service + "/" + g.Method}
	}
	return g, &routing.StringMatch{Type: routing.Exact, Value: "/" + g.Service + "/" + g.Method}
}

func parseVirtualService(f *fields, spec map[string]any, ro *routing.Object) {
	ro.Hosts = f.strList(spec, "hosts", pathSpec.Key("hosts"))
	ro.Gateways = f.strList(spec, "gateways", pathSpec.Key("gateways"))
	ro.ExportTo = f.strList(spec, "exportTo", pathSpec.Key("exportTo"))
	if len(ro.Hosts) == 0 && len(ro.Gateways) > 0 {
		f.invalid(pathSpec.Key("gateways"), "spec.gateways: a delegate VirtualService (no hosts) must have no gateways; istiod's validation rejects it")
	}
	ro.Rules = parseRules(f, spec, "http", func(rule *routing.Rule, m map[string]any, path manifest.Path) {
		rule.Matches = parseList(f, m, "match", path.Key("match"), parseVSMatch)
		delegatePath := path.Key("delegate")
		if dm, ok := f.mapping(m, "delegate", delegatePath); ok {
			d := &routing.Delegate{Name: f.requiredStr(dm, "name", delegatePath.Key("name"))}
			d.Namespace, _ = f.str(dm, "namespace", delegatePath.Key("namespace"))
			if d.Name != "" {
				rule.Delegate = d
			}
		}
	})
}

func parseVSMatch(f *fields, v any, path manifest.Path) (routing.Match, bool) {
	m, ok := f.asMapping(v, path)
	if !ok {
		return routing.Match{}, false
	}
	bad := f.bad
	match := routing.Match{Field: path.String(), Source: f.obj.FieldSource(path)}
	match.Name, _ = f.str(m, "name", path.Key("name"))
	// An empty uri matcher leaves Envoy's default, any path.
	if uri := parseStringMatch(f, m, "uri", path.Key("uri")); uri != nil && uri.Type != routing.Present {
		match.Path = uri
	}
	match.Method = parseStringMatch(f, m, "method", path.Key("method"))
	match.Authority = parseStringMatch(f, m, "authority", path.Key("authority"))
	match.Scheme = parseStringMatch(f, m, "scheme", path.Key("scheme"))
	match.Headers = parseStringMatchMap(f, m, "headers", path.Key("headers"))
	match.WithoutHeaders = parseStringMatchMap(f, m, "withoutHeaders", path.Key("withoutHeaders"))
	match.QueryParams = parseStringMatchMap(f, m, "queryParams", path.Key("queryParams"))
	match.IgnoreURICase = f.boolean(m, "ignoreUriCase", path.Key("ignoreUriCase"))
	match.Port = f.port(m, path.Key("port"))
	match.SourceLabels = f.stringMap(m, "sourceLabels", path.Key("sourceLabels"))
	match.SourceNamespace, _ = f.str(m, "sourceNamespace", path.Key("sourceNamespace"))
	match.Gateways = f.strList(m, "gateways", path.Key("gateways"))
	return match, f.bad == bad
}

// parseStringMatchMap reads a VirtualService map of header or query
// parameter names to string matchers, sorted by name.
func parseStringMatchMap(f *fields, m map[string]any, key string, path manifest.Path) []routing.KeyMatch {
	mm, ok := f.mapping(m, key, path)
	if !ok {
		return nil
	}
	byName := make(map[string]routing.KeyMatch, len(mm))
	for name := range mm {
		sm := parseStringMatch(f, mm, name, path.Key(name))
		if sm == nil && mm[name] == nil {
			// A null matcher is istiod's present match.
			sm = &routing.StringMatch{Type: routing.Present}
		}
		if sm != nil {
			byName[name] = routing.KeyMatch{Name: name, StringMatch: *sm}
		}
	}
	return sortedKeys(byName)
}

// parseStringMatch reads an Istio StringMatch: exactly one of exact, prefix
// and regex; none is a presence match, and so is the regex "*" (route.go
// canBeConvertedToPresentMatch).
func parseStringMatch(f *fields, m map[string]any, key string, path manifest.Path) *routing.StringMatch {
	sm, ok := f.mapping(m, key, path)
	if !ok {
		return nil
	}
	var out *routing.StringMatch
	for _, kind := range []struct {
		key string
		tp  routing.MatchType
	}{{"exact", routing.Exact}, {"prefix", routing.Prefix}, {"regex", routing.Regex}} {
		s, ok := f.str(sm, kind.key, path.Key(kind.key))
		if !ok {
			continue
		}
		if out != nil {
			f.invalid(path, "%s: set only one of exact, prefix and regex", path)
			return nil
		}
		out = &routing.StringMatch{Type: kind.tp, Value: s}
	}
	if out != nil && out.Type == routing.Regex && out.Value != "*" {
		f.regex(out.Value, path.Key("regex"))
	}
	if out == nil || out.Type == routing.Regex && out.Value == "*" {
		return &routing.StringMatch{Type: routing.Present}
	}
	return out
}
