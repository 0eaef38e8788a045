package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

const explainUsage = `[--example NAME | PATH...] --namespace NS [--labels k=v,...] [--header k=v]... [--response-code N] [--grpc-status N] [--response-header k=v]... [--service NAME] [--from NS] [--root-namespace NS] [-o text|json] METHOD PATH_AND_QUERY

Shows, for every route tag on requests to workloads of namespace NS, the
value the request gets and why: the attributegen match that fired, or, for
a tag reading xds.route_name, the route of the route objects (HTTPRoute,
GRPCRoute, VirtualService) that Envoy matches, or "unknown" and why.
Conditions are evaluated as attributegen does: in order, first true wins,
request.url_path without the query string, a condition that fails to
evaluate stops the config. attributegen runs after the response by default:
give the response with --response-code, --grpc-status and --response-header
to explain conditions on response.*. Routes are matched as Envoy matches
the routes istiod builds: Gateway API precedence, VirtualService first
match; the destination Service is --service, or the URL's host, or the
only one with routes; at a gateway the host picks the routes. With no PATH
the embedded example is read (--example, podinfo by default).
PATH_AND_QUERY may be a full URL; flags may come anywhere. Exits 1 when the
input has error diagnostics (bundlegen lint lists them).
`

// explainQuery is what to explain: a request arriving at workloads of a namespace.
type explainQuery struct {
	Namespace string
	// Labels are the labels of the destination workload, for selector scopes.
	Labels  map[string]string
	Request attrgen.Request
	// Service is the destination Service, and From the client's namespace,
	// for route names read from route objects.
	Service, From string
}

func runExplain(_ context.Context, env *Env, args []string) error {
	a, err := parseExplainArgs(env, args)
	if err != nil {
		return err
	}
	aenv, inv, err := loadInventory(env, a.in, inventory.WithRootNamespace(a.root))
	if err != nil {
		return err
	}
	tenv, err := attrgen.NewTagEnv()
	if err != nil {
		return err
	}
	x := explain(dialects{aenv, tenv}, inv, a.query)
	write := x.writeText
	if a.format == "json" {
		write = x.writeJSON
	}
	if err := write(env.Stdout); err != nil {
		return fmt.Errorf("explain: writing: %w", err)
	}
	if n := countErrors(inv.Diagnostics); n > 0 {
		fmt.Fprintf(env.Stderr, "bundlegen: the input has %d error diagnostic(s), so some tags read %q whatever the request; `bundlegen lint` lists them\n", n, series.UnknownRoute)
		return findings()
	}
	return nil
}

// explainArgs is explain's command line.
type explainArgs struct {
	query  explainQuery
	in     input
	format string
	root   string
}

func parseExplainArgs(env *Env, args []string) (explainArgs, error) {
	a := explainArgs{format: "text"}
	var labels string
	var headers, respHeaders headerFlags
	var code, grpc intFlag
	fs := newFlagSet(env, "explain", explainUsage)
	fs.StringVar(&a.query.Namespace, "namespace", "", "`NS`: the namespace the request is sent to (required)")
	fs.StringVar(&labels, "labels", "", "labels `k=v,...` of the destination workload, for selector-scoped route sets")
	fs.Var(&headers, "header", "request header `k=v` (repeatable)")
	fs.Var(&code, "response-code", "the response's status `code` (response.code), for conditions on the response")
	fs.Var(&grpc, "grpc-status", "the response's gRPC `status` (response.grpc_status)")
	fs.Var(&respHeaders, "response-header", "response header `k=v` (repeatable)")
	fs.StringVar(&a.format, "o", a.format, "output `format`: text or json")
	rootNamespaceFlag(fs.FlagSet, &a.root)
	exampleFlag(fs.FlagSet, &a.in.example)
	routeFlags(fs.FlagSet, &a.query)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return a, err
	}
	if a.format != "text" && a.format != "json" {
		return a, usageError(fmt.Errorf("explain: -o must be text or json, not %q", a.format))
	}
	if a.query.Namespace == "" {
		return a, usageError(errors.New("explain: --namespace NS is required: the namespace the request is sent to"))
	}
	if a.query.Labels, err = parseLabels(labels); err != nil {
		return a, usageError(fmt.Errorf("explain: --labels: %w", err))
	}
	method, target, paths, err := splitExplainArgs(pos)
	if err != nil {
		return a, usageError(fmt.Errorf("explain: %w", err))
	}
	if a.query.Request, err = parseRequest(method, target, headers); err != nil {
		return a, usageError(fmt.Errorf("explain: %w", err))
	}
	if err := addResponse(&a.query.Request, code, grpc, respHeaders); err != nil {
		return a, usageError(fmt.Errorf("explain: %w", err))
	}
	a.in.paths = paths
	return a, nil
}

// rootNamespaceFlag registers --root-namespace, shared by the commands that
// read Istio objects.
func rootNamespaceFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "root-namespace", "", "Istio's root `namespace` (meshConfig.rootNamespace), whose WasmPlugins and Telemetries apply mesh-wide (default "+inventory.RootNamespace+")")
}

// intFlag is an integer flag that knows whether it was given.
type intFlag struct {
	v   int
	set bool
}

func (f *intFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.Itoa(f.v)
}

func (f *intFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a number, got %q", s)
	}
	f.v, f.set = v, true
	return nil
}

// addResponse adds the response flags to req.
func addResponse(req *attrgen.Request, code, grpc intFlag, headers headerFlags) error {
	if code.set {
		if code.v < 100 || code.v > 999 {
			return fmt.Errorf("--response-code %d: want an HTTP status code (100..999)", code.v)
		}
		req.ResponseCode = code.v
	}
	if grpc.set {
		if grpc.v < 0 || grpc.v > 16 {
			return fmt.Errorf("--grpc-status %d: want a gRPC status code (0..16)", grpc.v)
		}
		req.Attributes = map[string]any{"response.grpc_status": int64(grpc.v)}
	}
	if headers != nil {
		req.ResponseHeaders = headers
	}
	return nil
}

// httpMethod is what METHOD must look like: a token in capitals, as HTTP
// methods are written (they are case-sensitive).
var httpMethod = regexp.MustCompile(`^[A-Z][A-Z_-]*$`)

// lowerMethod reports a standard HTTP method written in lower case.
func lowerMethod(s string) bool {
	switch s {
	case "get", "head", "post", "put", "delete", "connect", "options", "trace", "patch":
		return true
	}
	return false
}

// isTarget reports an argument that can only be PATH_AND_QUERY.
func isTarget(s string) bool { return strings.HasPrefix(s, "/") || strings.Contains(s, "://") }

// splitExplainArgs finds METHOD PATH_AND_QUERY among the positional
// arguments, which may come before or after the manifest paths: METHOD is
// the first argument in capitals followed by a path or URL. The rest are
// manifest paths.
func splitExplainArgs(pos []string) (method, target string, paths []string, err error) {
	for i := 0; i+1 < len(pos); i++ {
		if httpMethod.MatchString(pos[i]) && isTarget(pos[i+1]) {
			return pos[i], pos[i+1], slices.Concat(pos[:i], pos[i+2:]), nil
		}
	}
	if len(pos) == 0 {
		return "", "", nil, errors.New("missing METHOD and PATH_AND_QUERY: say which request to explain, e.g. GET /healthz")
	}
	for i, p := range pos {
		switch {
		case httpMethod.MatchString(p) && i+1 == len(pos):
			return "", "", nil, fmt.Errorf("missing PATH_AND_QUERY after METHOD %s, e.g. %s /healthz", p, p)
		case httpMethod.MatchString(p):
			return "", "", nil, fmt.Errorf("PATH_AND_QUERY after METHOD %s must start with / or be an absolute URL, got %q", p, pos[i+1])
		case isTarget(p) && i > 0 && lowerMethod(pos[i-1]):
			return "", "", nil, fmt.Errorf("METHOD must be in capitals, as HTTP methods are: %s, not %q", strings.ToUpper(pos[i-1]), pos[i-1])
		case isTarget(p):
			return "", "", nil, fmt.Errorf("missing METHOD before PATH_AND_QUERY %s, e.g. GET %s", p, p)
		}
	}
	return "", "", nil, fmt.Errorf("missing METHOD and PATH_AND_QUERY after the manifest paths %s, e.g. GET /healthz", strings.Join(pos, " "))
}

// headerFlags collects repeated --header k=v (or "k: v") flags.
type headerFlags map[string]string

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if i := strings.IndexByte(v, ':'); i > 0 && (!ok || i < len(k)) {
		k, val, ok = v[:i], v[i+1:], true
	}
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want k=v, got %q", v)
	}
	if *h == nil {
		*h = make(headerFlags)
	}
	(*h)[strings.ToLower(k)] = strings.TrimSpace(val)
	return nil
}

// parseRequest builds the request from METHOD and a path (or full URL).
func parseRequest(method, target string, headers map[string]string) (attrgen.Request, error) {
	if !httpMethod.MatchString(method) {
		return attrgen.Request{}, fmt.Errorf("invalid METHOD %q: want an HTTP method in capitals, e.g. GET", method)
	}
	req := attrgen.Request{Method: method, Target: target, Headers: headers}
	if !strings.HasPrefix(target, "/") {
		u, err := url.Parse(target)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return req, fmt.Errorf("PATH_AND_QUERY must start with / or be an absolute URL, got %q", target)
		}
		req.Scheme, req.Host, req.Target = u.Scheme, u.Host, u.RequestURI()
	}
	return req, nil
}

// loadInventory reads the inventory of the input (its paths, or the
// embedded example when there are none) with a new CEL environment, which
// it also returns for evaluating conditions. Unreadable input is a usage
// error.
func loadInventory(env *Env, in input, opts ...inventory.Option) (*attrgen.Env, *inventory.Inventory, error) {
	if err := in.check(); err != nil {
		return nil, nil, usageError(err)
	}
	aenv, err := attrgen.NewEnv()
	if err != nil {
		return nil, nil, err
	}
	inv, err := readInventory(env, aenv, in, opts...)
	if err != nil {
		return nil, nil, usageError(err)
	}
	return aenv, inv, nil
}

// readInventory reads the manifests of the input.
func readInventory(env *Env, aenv *attrgen.Env, in input, opts ...inventory.Option) (*inventory.Inventory, error) {
	res, err := in.read(env)
	if err != nil {
		return nil, err
	}
	b, err := inventory.NewBuilder(aenv, opts...)
	if err != nil {
		return nil, err
	}
	return b.FromManifests(res), nil
}

func countErrors(l diag.List) int {
	n := 0
	for _, d := range l {
		if d.Severity == diag.Error {
			n++
		}
	}
	return n
}

// dialects are the two CEL environments: attributegen conditions and
// Telemetry tag values (attrgen.Dialect).
type dialects struct {
	conditions, tags *attrgen.Env
}

// explanation is explain's result, rendered as text or JSON.
type explanation struct {
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
	Method    string            `json:"method"`
	Target    string            `json:"target"`
	// RouteSets are the classifications that run for the request.
	RouteSets []setExplanation `json:"routeSets"`
	// Unclassified are the route tags the request carries that no route
	// set classifies: they read "unknown", or are not on the server side.
	Unclassified []tagExplanation `json:"unclassified,omitempty"`
	OutOfScope   []outOfScope     `json:"outOfScope,omitempty"`
}

// setExplanation is the outcome for one route set in scope.
type setExplanation struct {
	ID        string           `json:"id"`
	Objects   []diag.ObjectRef `json:"objects"`
	Tag       string           `json:"tag"`
	Attribute string           `json:"attribute,omitempty"`
	Scope     string           `json:"scope"`
	Proxy     string           `json:"proxy"`
	Notes     []string         `json:"notes,omitempty"`
	// Table names the route table of a route set reading route names.
	Table  string `json:"table,omitempty"`
	Value  string `json:"value"`
	Index  int    `json:"index"`
	Reason string `json:"reason"`
	// Missing are the flags that would give the request the attributes a
	// condition missed.
	Missing []string       `json:"missing,omitempty"`
	Matches []matchOutcome `json:"matches"`
}

// matchOutcome is what happened to one match entry.
type matchOutcome struct {
	Index     int    `json:"index"`
	Value     string `json:"value"`
	Condition string `json:"condition,omitempty"`
	// Producer names the attributegen config, when the route set has several.
	Producer string `json:"producer,omitempty"`
	// Rule is where a route of a route object is written.
	Rule string `json:"rule,omitempty"`
	// Outcome is true, false, error, skipped (not evaluated) or overridden
	// (true, but a config that runs later set the attribute).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

// tagExplanation is a route tag on the request's metrics that no route set
// classifies.
type tagExplanation struct {
	Tag       string         `json:"tag"`
	Telemetry diag.ObjectRef `json:"telemetry"`
	Attribute string         `json:"attribute,omitempty"`
	// Value is "unknown", or "" for a tag not on the server side.
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

type outOfScope struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// explain classifies q.Request with every route set of inv that applies to
// it, and says why the other route tags on its metrics read what they read.
func explain(d dialects, inv *inventory.Inventory, q explainQuery) explanation {
	x := explanation{Namespace: q.Namespace, Labels: q.Labels, Method: q.Request.Method, Target: q.Request.Target,
		RouteSets: []setExplanation{}}
	chosen := chooseSets(inv, q)
	for i := range inv.RouteSets {
		rs := &inv.RouteSets[i]
		if why := chosen[rs.ID]; why != "" {
			x.OutOfScope = append(x.OutOfScope, outOfScope{ID: rs.ID, Reason: why})
			continue
		}
		x.RouteSets = append(x.RouteSets, explainSet(d, inv, rs, q))
	}
	for i := range inv.Tags {
		if te, ok := unclassified(inv, &inv.Tags[i], chosen, q); ok {
			x.Unclassified = append(x.Unclassified, te)
		}
	}
	return x
}

// chooseSets returns, for every route set, why it does not classify the
// request ("" when it does). Of the route sets of one tag, each for its own
// class of workloads, the request gets the most specific that applies: its
// namespace's over the mesh's, a larger selector over a smaller one.
func chooseSets(inv *inventory.Inventory, q explainQuery) map[string]string {
	why := make(map[string]string, len(inv.RouteSets))
	byID := make(map[string]*inventory.RouteSet, len(inv.RouteSets))
	for i := range inv.RouteSets {
		rs := &inv.RouteSets[i]
		byID[rs.ID] = rs
		why[rs.ID] = outOfScopeReason(rs, q)
	}
	for _, tag := range inv.Tags {
		var best *inventory.RouteSet
		for _, id := range tag.RouteSets {
			rs := byID[id]
			if rs == nil || why[id] != "" {
				continue
			}
			if best == nil || sameView(rs, best) && specificity(rs, q) > specificity(best, q) {
				best = rs
			}
		}
		for _, id := range tag.RouteSets {
			if rs := byID[id]; rs != nil && best != nil && rs != best && why[id] == "" && sameView(rs, best) {
				why[id] = fmt.Sprintf("route set %s classifies these workloads instead (%s)", best.ID, describeScope(best.Scope))
			}
		}
	}
	return why
}

// specificity ranks route sets of one tag that apply to a request.
func specificity(rs *inventory.RouteSet, q explainQuery) int {
	n := len(rs.Scope.Selector)
	if rs.Scope.Kind != inventory.ScopeMesh && rs.Scope.Namespace == q.Namespace {
		n += 1000
	}
	return n
}

// outOfScopeReason says why rs does not classify requests to q.Namespace
// (with q.Labels), or "" when it does.
func outOfScopeReason(rs *inventory.RouteSet, q explainQuery) string {
	if why, ok := routeSetScope(rs, q); ok {
		return why
	}
	s := rs.Scope
	if s.Kind != inventory.ScopeMesh && s.Namespace != q.Namespace {
		return fmt.Sprintf("applies to namespace %s, not %s", s.Namespace, q.Namespace)
	}
	if s.Kind == inventory.ScopeWorkload || s.Kind == inventory.ScopeMesh {
		if !selected(s.Selector, q.Labels) {
			if len(q.Labels) == 0 {
				return fmt.Sprintf("runs on workloads labelled %s: give the destination's labels with --labels", formatLabels(s.Selector))
			}
			return fmt.Sprintf("runs on workloads labelled %s, not on %s", formatLabels(s.Selector), formatLabels(q.Labels))
		}
	}
	return ""
}

// selected reports whether a workload with labels matches selector, as
// pilot's isSelected does (the selector's labels are a subset).
func selected(selector, labels map[string]string) bool {
	for k, want := range selector {
		if v, ok := labels[k]; !ok || v != want {
			return false
		}
	}
	return true
}

func describeScope(s inventory.Scope) string {
	where := "namespace " + s.Namespace
	if s.Kind == inventory.ScopeMesh {
		where = "every namespace"
	}
	if len(s.Selector) > 0 {
		return "workloads labelled " + formatLabels(s.Selector) + " in " + where
	}
	return string(s.Kind) + " scope, " + where
}

// tagApplies reports whether tag is on the metrics of requests to q.
func tagApplies(tag *inventory.Tag, q explainQuery) bool {
	s := tag.Scope
	if s.Kind == inventory.ScopeMesh {
		return true
	}
	if s.Namespace != q.Namespace {
		return false
	}
	return s.Kind != inventory.ScopeWorkload || selected(s.Selector, q.Labels)
}

// unclassified explains a tag on the request's metrics that none of the
// route sets chosen for the request classifies.
func unclassified(inv *inventory.Inventory, tag *inventory.Tag, chosen map[string]string, q explainQuery) (tagExplanation, bool) {
	if !tagApplies(tag, q) {
		return tagExplanation{}, false
	}
	for _, id := range tag.RouteSets {
		if chosen[id] == "" {
			return tagExplanation{}, false
		}
	}
	te := tagExplanation{Tag: tag.Name, Telemetry: tag.Telemetry, Attribute: tag.Attribute, Value: series.UnknownRoute}
	switch {
	case tag.RouteNames && len(tag.RouteSets) == 0:
		te.Value, te.Reason = routeNamesUnclassified(tag)
	case tag.Unknown != "":
		te.Reason = fmt.Sprintf("the tag reads %q for every request: %s (bundlegen lint reports it)", series.UnknownRoute, tag.Unknown)
	case tag.ClientOnly():
		te.Value = ""
		te.Reason = `the tag is only on client-side metrics (mode: CLIENT): the sending workload's proxy writes it on reporter="source" series, which routebundle does not read`
	case tag.Attribute != "":
		te.Reason = fmt.Sprintf("the tag is on these requests' metrics, but no attributegen config producing %s runs on the destination workload in namespace %s%s, so it reads %q",
			tag.Attribute, q.Namespace, labelsClause(q.Labels), series.UnknownRoute)
		if len(tag.RouteSets) > 0 {
			te.Reason += "; it is classified on " + strings.Join(scopesOf(inv, tag), "; ")
		}
	default:
		te.Reason = fmt.Sprintf("the tag is on these requests' metrics but no classification of it applies here, so it reads %q", series.UnknownRoute)
	}
	return te, true
}

func labelsClause(l map[string]string) string {
	if len(l) == 0 {
		return " (no --labels given)"
	}
	return " labelled " + formatLabels(l)
}

// scopesOf lists where the route sets of tag classify.
func scopesOf(inv *inventory.Inventory, tag *inventory.Tag) []string {
	var out []string
	for i := range inv.RouteSets {
		if rs := &inv.RouteSets[i]; slices.Contains(tag.RouteSets, rs.ID) {
			out = append(out, describeScope(rs.Scope))
		}
	}
	return out
}

func explainSet(d dialects, inv *inventory.Inventory, rs *inventory.RouteSet, q explainQuery) setExplanation {
	proxy, notes := proxyOf(inv, rs, q.Namespace)
	se := setExplanation{
		ID: rs.ID, Objects: setObjects(rs), Tag: rs.Tag, Attribute: rs.Attribute,
		Scope: string(rs.Scope.Kind), Proxy: proxy, Notes: notes,
		Matches: make([]matchOutcome, len(rs.Routes)),
	}
	switch {
	case rs.Routing != nil:
		explainRouteNames(inv, rs, q, &se)
	case rs.Attribute == "":
		classifyCEL(d.tags, rs, q.Request, &se)
	default:
		classifyWasm(d.conditions, rs, q.Request, &se)
	}
	return se
}

// classifyCEL evaluates a route set read from a Telemetry's CEL tag value
// (cond ? 'A' : ... : 'fallback', whose last route is the fallback), in the
// stats filter's dialect.
func classifyCEL(env *attrgen.Env, rs *inventory.RouteSet, req attrgen.Request, se *setExplanation) {
	routes := attrgenRoutes(rs.Routes)
	res := env.Classify(routes, req)
	se.Value, se.Index = res.Value, res.Index
	se.Reason = celReason(res, len(routes))
	for i, r := range routes {
		se.Matches[i] = matchOutcome{Index: i, Value: r.Value, Condition: r.Condition, Outcome: outcome(res, i), Error: errText(res.Errors[i])}
	}
	if stop := stoppedAt(res); stop >= 0 {
		se.Missing, se.Reason = explainMissing(res.Errors[stop], rs.Routes[stop], se.Reason, false)
	}
}

func attrgenRoutes(rs []inventory.Route) []attrgen.Route {
	out := make([]attrgen.Route, len(rs))
	for i, r := range rs {
		out[i] = attrgen.Route{Value: r.Value, Condition: r.Condition}
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// segment is the routes of one attributegen config within a route set.
type segment struct {
	inventory.Producer
	start, end int
}

// segments splits a route set's routes by config; they are listed with the
// config that runs last first. A route set without producers is one config.
func segments(rs *inventory.RouteSet) []segment {
	if len(rs.Producers) == 0 {
		return []segment{{Producer: inventory.Producer{Plugin: rs.Plugin}, end: len(rs.Routes)}}
	}
	out := make([]segment, 0, len(rs.Producers))
	start := 0
	for _, p := range rs.Producers {
		end := min(start+p.Routes, len(rs.Routes))
		out = append(out, segment{Producer: p, start: start, end: end})
		start = end
	}
	return out
}

// classifyWasm evaluates the attributegen configs of a route set as Envoy
// runs them: each config on its own (one whose condition fails to evaluate
// leaves the attribute as the configs before it set it), the value of the
// last config that sets the attribute winning.
func classifyWasm(env *attrgen.Env, rs *inventory.RouteSet, req attrgen.Request, se *setExplanation) {
	se.Value, se.Index = series.UnknownRoute, -1
	segs := segments(rs)
	var reasons []string
	for _, sg := range segs {
		routes := rs.Routes[sg.start:sg.end]
		if len(routes) == 0 {
			continue
		}
		r := req
		if sg.OnRequest {
			r = withoutResponse(req)
		}
		res := env.Classify(attrgenRoutes(routes), r)
		won := se.Index < 0 && res.Index >= 0
		for i := range routes {
			m := matchOutcome{Index: sg.start + i, Value: routes[i].Value, Condition: routes[i].Condition,
				Outcome: outcome(res, i), Error: errText(res.Errors[i])}
			if len(segs) > 1 {
				m.Producer = sg.Plugin.String() + " " + sg.Field
			}
			if m.Outcome == "true" && !won {
				m.Outcome = "overridden"
			}
			se.Matches[sg.start+i] = m
		}
		reason := res.Reason
		if stop := stoppedAt(res); stop >= 0 {
			var missing []string
			missing, reason = explainMissing(res.Errors[stop], routes[stop], reason, sg.OnRequest)
			if se.Index < 0 {
				se.Missing = append(se.Missing, missing...)
			}
		}
		if won {
			se.Value, se.Index = res.Value, sg.start+res.Index
		}
		if len(segs) > 1 {
			reason = fmt.Sprintf("%s %s: %s", sg.Plugin, sg.Field, reason)
		}
		if se.Index < 0 || won {
			reasons = append(reasons, reason)
		}
	}
	if len(segs) > 1 {
		reasons = append(reasons, "the config that runs last and sets the attribute wins, and it is listed first")
	}
	se.Reason = strings.Join(reasons, "; ")
	slices.Sort(se.Missing)
	se.Missing = slices.Compact(se.Missing)
}

// withoutResponse is req as an ON_REQUEST config sees it.
func withoutResponse(req attrgen.Request) attrgen.Request {
	req.ResponseCode, req.ResponseHeaders = 0, nil
	if req.Attributes != nil {
		req.Attributes = maps.Clone(req.Attributes)
		for k := range req.Attributes {
			if strings.HasPrefix(k, "response.") {
				delete(req.Attributes, k)
			}
		}
	}
	return req
}

// stoppedAt returns the route whose evaluation failed and ended the
// classification, or -1.
func stoppedAt(res attrgen.Result) int {
	if res.Index < 0 && res.Evaluated > 0 && res.Errors[res.Evaluated-1] != nil {
		return res.Evaluated - 1
	}
	return -1
}

// explainMissing words an evaluation that failed for want of an attribute
// the request does not have, and names the flag that gives it; otherwise it
// returns reason as it is.
func explainMissing(err error, r inventory.Route, reason string, onRequest bool) ([]string, string) {
	attr, key := attrgen.Missing(err)
	var flagName, what, why string
	switch {
	case strings.HasPrefix(attr, "response.") && onRequest:
		return nil, reason + fmt.Sprintf(" (%s does not exist yet: this config is evaluated ON_REQUEST)", attr)
	case attr == "response.code":
		flagName, what, why = "--response-code", attr, "attributegen runs after the response by default"
	case attr == "response.grpc_status":
		flagName, what, why = "--grpc-status", attr, "only gRPC responses have one"
	case attr == "response.headers" || attr == "response.trailers":
		flagName, what, why = "--response-code or --response-header", attr, "attributegen runs after the response by default"
	case key != "" && readsHeader(r.Condition, "response.headers", key):
		flagName, what = "--response-header "+key+"=...", "response header "+key
	case key != "" && readsHeader(r.Condition, "request.headers", key):
		flagName, what = "--header "+key+"=...", "header "+key
	case attr == "request.referer" || attr == "request.useragent":
		flagName, what, why = "--header "+map[string]string{"request.referer": "referer", "request.useragent": "user-agent"}[attr]+"=...", attr, "Envoy sets it from a request header"
	default:
		return nil, reason
	}
	if why != "" {
		why = " (" + why + ")"
	}
	return []string{flagName}, fmt.Sprintf("the condition reads %s, which this request does not have%s: give it with %s; a condition that fails to evaluate stops the classification and leaves the tag %q",
		what, why, flagName, series.UnknownRoute)
}

// readsHeader reports whether a condition looks key up in the header map m.
func readsHeader(cond, m, key string) bool {
	for _, f := range []string{"['" + key + "']", `["` + key + `"]`, "." + key} {
		if strings.Contains(cond, m+f) {
			return true
		}
	}
	return false
}

// celReason explains res for a route set read from a Telemetry's CEL tag
// expression (cond ? 'A' : ... : 'fallback'), whose last route is the fallback.
func celReason(res attrgen.Result, n int) string {
	switch {
	case res.Index == n-1:
		return "no condition of the tag expression is true, so it yields its fallback"
	case res.Index >= 0:
		return fmt.Sprintf("condition %d is the first of the tag expression that is true", res.Index)
	case res.Evaluated > 0 && res.Errors[res.Evaluated-1] != nil:
		return fmt.Sprintf("the tag expression fails to evaluate at condition %d (%v), so Istio writes %s",
			res.Evaluated-1, res.Errors[res.Evaluated-1], series.UnknownRoute)
	}
	return res.Reason
}

// outcome names what happened to match i.
func outcome(res attrgen.Result, i int) string {
	switch {
	case i == res.Index:
		return "true"
	case i >= res.Evaluated:
		return "skipped"
	case i == res.Evaluated-1 && res.Index < 0 && res.Errors[i] != nil:
		return "error"
	}
	return "false"
}

func setObjects(rs *inventory.RouteSet) []diag.ObjectRef {
	var objs []diag.ObjectRef
	for _, p := range rs.Producers {
		if !slices.Contains(objs, p.Plugin) {
			objs = append(objs, p.Plugin)
		}
	}
	if len(objs) == 0 && rs.Plugin.Name != "" {
		objs = append(objs, rs.Plugin)
	}
	objs = append(objs, rs.Telemetry)
	for _, r := range rs.Routes {
		if r.Object.Name != "" && !slices.Contains(objs, r.Object) {
			objs = append(objs, r.Object)
		}
	}
	return objs
}

// proxyOf names the proxy that classifies requests for rs, with notes on
// why it might not see the namespace's traffic.
func proxyOf(inv *inventory.Inventory, rs *inventory.RouteSet, ns string) (string, []string) {
	var notes []string
	waypoint := namespaceWaypoint(inv, ns)
	switch rs.Scope.Kind {
	case inventory.ScopeWaypoint, inventory.ScopeService:
		var names []string
		for _, r := range rs.Scope.TargetRefs {
			names = append(names, targetName(r, rs.Scope.Namespace))
			if r.Kind == "Gateway" && waypoint.known && waypoint.name != r.Name {
				notes = append(notes, waypointNote(ns, waypoint.name, r.Name))
			}
		}
		proxy := "the waypoint of " + strings.Join(names, ", ")
		if rs.Scope.Kind == inventory.ScopeWaypoint {
			proxy = "waypoint " + strings.Join(names, ", ")
		}
		return proxy, notes
	case inventory.ScopeWorkload:
		proxy := "the sidecars of workloads labelled " + formatLabels(rs.Scope.Selector)
		if waypoint.name != "" {
			notes = append(notes, fmt.Sprintf("namespace %s sends its traffic through waypoint %s, which ignores selectors", ns, waypoint.name))
		}
		return proxy, notes
	}
	// Namespace- and mesh-wide: a Telemetry reaches every proxy, waypoints
	// included, but a WasmPlugin without targetRefs runs only on sidecars.
	where := "namespace " + ns
	if rs.Scope.Kind == inventory.ScopeMesh {
		where = "the mesh (policy in root namespace " + rs.Scope.Namespace + ")"
		if len(rs.Scope.Selector) > 0 {
			where = "workloads labelled " + formatLabels(rs.Scope.Selector) + " in every namespace (policy in root namespace " + rs.Scope.Namespace + ")"
		}
	}
	if rs.Plugin.Name == "" {
		return "every proxy of " + where, nil
	}
	if waypoint.name != "" {
		notes = append(notes, fmt.Sprintf("namespace %s sends its traffic through waypoint %s, which runs only WasmPlugins whose targetRefs name it", ns, waypoint.name))
	}
	return "the sidecars of " + where, notes
}

// targetName renders a targetRef: ns/name for a Gateway, "class X" for a
// GatewayClass, Kind ns/name otherwise.
func targetName(r inventory.TargetRef, ns string) string {
	name := cmp.Or(r.Namespace, ns) + "/" + r.Name
	switch r.Kind {
	case "Gateway":
		return name
	case "GatewayClass":
		return "class " + r.Name
	}
	return r.Kind + " " + name
}

func waypointNote(ns, uses, target string) string {
	if uses == "" {
		return fmt.Sprintf("namespace %s has no istio.io/use-waypoint label, so waypoint %s does not see its traffic", ns, target)
	}
	return fmt.Sprintf("namespace %s uses waypoint %s, not %s", ns, uses, target)
}

type nsWaypoint struct {
	known bool // the inventory has the Namespace object
	name  string
}

func namespaceWaypoint(inv *inventory.Inventory, ns string) nsWaypoint {
	for _, n := range inv.Namespaces {
		if n.Name == ns {
			return nsWaypoint{known: true, name: n.UseWaypoint}
		}
	}
	return nsWaypoint{}
}

func formatLabels(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// display renders user input on one line: quoted when it holds control characters.
func display(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func (x explanation) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "request %s %s in namespace %s", display(x.Method), display(x.Target), x.Namespace)
	if len(x.Labels) > 0 {
		fmt.Fprintf(&b, " (labels %s)", display(formatLabels(x.Labels)))
	}
	b.WriteString("\n")
	if len(x.RouteSets) == 0 && len(x.Unclassified) == 0 {
		b.WriteString("\nno route tag applies: requests to this namespace carry none\n")
	}
	for _, s := range x.RouteSets {
		s.writeText(&b)
	}
	for _, t := range x.Unclassified {
		t.writeText(&b)
	}
	if len(x.OutOfScope) > 0 {
		b.WriteString("\nnot in scope:\n")
		for _, o := range x.OutOfScope {
			fmt.Fprintf(&b, "  %s: %s\n", o.ID, display(o.Reason))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (t tagExplanation) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "\ntag %s (%s)\n", display(t.Tag), t.Telemetry)
	if t.Attribute != "" {
		fmt.Fprintf(b, "  attribute: %s\n", display(t.Attribute))
	}
	if t.Value != "" {
		fmt.Fprintf(b, "  value:   %s\n", strconv.Quote(t.Value))
	}
	fmt.Fprintf(b, "  why:     %s\n", display(t.Reason))
}

func (s setExplanation) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "\nroute set %s\n", s.ID)
	objs := make([]string, len(s.Objects))
	for i, o := range s.Objects {
		objs[i] = o.String()
	}
	fmt.Fprintf(b, "  objects: %s\n", strings.Join(objs, ", "))
	tag := s.Tag
	if s.Attribute != "" {
		tag += " (from attribute " + s.Attribute + ")"
	}
	fmt.Fprintf(b, "  tag:     %s\n", display(tag))
	fmt.Fprintf(b, "  proxy:   %s (%s scope)\n", display(s.Proxy), s.Scope)
	if s.Table != "" {
		fmt.Fprintf(b, "  routes:  %s\n", display(s.Table))
	}
	for _, n := range s.Notes {
		fmt.Fprintf(b, "  note:    %s\n", display(n))
	}
	fmt.Fprintf(b, "  value:   %s\n", strconv.Quote(s.Value))
	if s.Index >= 0 {
		fmt.Fprintf(b, "  match:   #%d %s\n", s.Index, displayCondition(s.Matches[s.Index].Condition))
	}
	fmt.Fprintf(b, "  why:     %s\n", display(s.Reason))
	producer := ""
	for _, m := range s.Matches {
		if m.Producer != producer {
			producer = m.Producer
			fmt.Fprintf(b, "  %s:\n", display(producer))
		}
		rule := ""
		if m.Rule != "" {
			rule = "  [" + display(m.Rule) + "]"
		}
		fmt.Fprintf(b, "  #%-3d %-7s %s if %s%s\n", m.Index, m.Outcome, strconv.Quote(m.Value), displayCondition(m.Condition), rule)
		if m.Error != "" {
			fmt.Fprintf(b, "        %s\n", display(m.Error))
		}
	}
}

func displayCondition(c string) string {
	if c == "" {
		return "(no condition: always true)"
	}
	return display(c)
}

func (x explanation) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(x)
}
