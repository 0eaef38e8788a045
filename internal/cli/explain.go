package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/series"
)

const explainUsage = `[PATH...] --namespace NS [--labels k=v,...] [--header k=v]... [-o text|json] METHOD PATH_AND_QUERY

Shows, for every route set that applies to a request in namespace NS, the
route value the request gets and the attributegen match that fired, or
"unknown" and why. Conditions are evaluated as attributegen does: in order,
first true wins, request.url_path without the query string. With no PATH
the embedded podinfo example is read. PATH_AND_QUERY may be a full URL.
`

// explainQuery is what to explain: a request arriving at workloads of a namespace.
type explainQuery struct {
	Namespace string
	// Labels are the labels of the destination workload, for selector scopes.
	Labels  map[string]string
	Request attrgen.Request
}

func runExplain(_ context.Context, env *Env, args []string) error {
	q, paths, format, err := parseExplainArgs(env, args)
	if err != nil {
		return err
	}
	aenv, inv, err := loadInventory(env, paths)
	if err != nil {
		return err
	}
	x := explain(aenv, inv, q)
	if format == "json" {
		return x.writeJSON(env.Stdout)
	}
	if n := countErrors(inv.Diagnostics); n > 0 {
		fmt.Fprintf(env.Stderr, "bundlegen: the input has %d error diagnostic(s); `bundlegen lint` lists them\n", n)
	}
	return x.writeText(env.Stdout)
}

func parseExplainArgs(env *Env, args []string) (explainQuery, []string, string, error) {
	var q explainQuery
	var labels string
	var headers headerFlags
	format := "text"
	fs := newFlagSet(env, "explain", explainUsage)
	fs.StringVar(&q.Namespace, "namespace", "", "`NS`: the namespace the request is sent to (required)")
	fs.StringVar(&labels, "labels", "", "labels `k=v,...` of the destination workload, for selector-scoped route sets")
	fs.Var(&headers, "header", "request header `k=v` (repeatable)")
	fs.StringVar(&format, "o", format, "output `format`: text or json")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return q, nil, "", err
	}
	if format != "text" && format != "json" {
		return q, nil, "", usageError(fmt.Errorf("explain: -o must be text or json, not %q", format))
	}
	if q.Namespace == "" {
		return q, nil, "", usageError(errors.New("explain: --namespace is required"))
	}
	if len(pos) < 2 {
		return q, nil, "", usageError(errors.New("explain: want METHOD and PATH_AND_QUERY after the manifest paths"))
	}
	if q.Labels, err = parseLabels(labels); err != nil {
		return q, nil, "", usageError(fmt.Errorf("explain: --labels: %w", err))
	}
	n := len(pos)
	if q.Request, err = parseRequest(pos[n-2], pos[n-1], headers); err != nil {
		return q, nil, "", usageError(fmt.Errorf("explain: %w", err))
	}
	return q, pos[:n-2], format, nil
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
	if method == "" || strings.ContainsAny(method, " \t/") {
		return attrgen.Request{}, fmt.Errorf("invalid METHOD %q", method)
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

// loadInventory reads the inventory of paths (the embedded example when
// there are none) with a new CEL environment, which it also returns for
// evaluating conditions. Unreadable input is a usage error.
func loadInventory(env *Env, paths []string) (*attrgen.Env, *inventory.Inventory, error) {
	aenv, err := attrgen.NewEnv()
	if err != nil {
		return nil, nil, err
	}
	inv, err := readInventory(env, aenv, paths)
	if err != nil {
		return nil, nil, usageError(err)
	}
	return aenv, inv, nil
}

// readInventory reads manifests from paths, or the embedded example.
func readInventory(env *Env, aenv *attrgen.Env, paths []string) (*inventory.Inventory, error) {
	res, err := readManifests(env, paths)
	if err != nil {
		return nil, err
	}
	b, err := inventory.NewBuilder(aenv)
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

// explanation is explain's result, rendered as text or JSON.
type explanation struct {
	Namespace  string            `json:"namespace"`
	Labels     map[string]string `json:"labels,omitempty"`
	Method     string            `json:"method"`
	Target     string            `json:"target"`
	RouteSets  []setExplanation  `json:"routeSets"`
	OutOfScope []outOfScope      `json:"outOfScope,omitempty"`
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
	Value     string           `json:"value"`
	Index     int              `json:"index"`
	Reason    string           `json:"reason"`
	Matches   []matchOutcome   `json:"matches"`
}

// matchOutcome is what happened to one match entry.
type matchOutcome struct {
	Index     int    `json:"index"`
	Value     string `json:"value"`
	Condition string `json:"condition,omitempty"`
	// Outcome is true, false, error or skipped (not evaluated).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

type outOfScope struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// explain classifies q.Request with every route set of inv that applies to it.
func explain(aenv *attrgen.Env, inv *inventory.Inventory, q explainQuery) explanation {
	x := explanation{Namespace: q.Namespace, Labels: q.Labels, Method: q.Request.Method, Target: q.Request.Target,
		RouteSets: []setExplanation{}}
	for i := range inv.RouteSets {
		rs := &inv.RouteSets[i]
		if why := outOfScopeReason(rs, q); why != "" {
			x.OutOfScope = append(x.OutOfScope, outOfScope{ID: rs.ID, Reason: why})
			continue
		}
		x.RouteSets = append(x.RouteSets, explainSet(aenv, inv, rs, q))
	}
	return x
}

// outOfScopeReason says why rs does not classify requests to q.Namespace
// (with q.Labels), or "" when it does.
func outOfScopeReason(rs *inventory.RouteSet, q explainQuery) string {
	s := rs.Scope
	if s.Kind == inventory.ScopeMesh {
		return ""
	}
	if s.Namespace != q.Namespace {
		return fmt.Sprintf("applies to namespace %s, not %s", s.Namespace, q.Namespace)
	}
	if s.Kind == inventory.ScopeWorkload {
		for k, want := range s.Selector {
			if v, ok := q.Labels[k]; !ok || v != want {
				return fmt.Sprintf("selector %s does not match --labels", formatLabels(s.Selector))
			}
		}
	}
	return ""
}

func explainSet(aenv *attrgen.Env, inv *inventory.Inventory, rs *inventory.RouteSet, q explainQuery) setExplanation {
	routes := make([]attrgen.Route, len(rs.Routes))
	for i, r := range rs.Routes {
		routes[i] = attrgen.Route{Value: r.Value, Condition: r.Condition}
	}
	res := aenv.Classify(routes, q.Request)
	proxy, notes := proxyOf(inv, rs, q.Namespace)
	se := setExplanation{
		ID: rs.ID, Objects: setObjects(rs), Tag: rs.Tag, Attribute: rs.Attribute,
		Scope: string(rs.Scope.Kind), Proxy: proxy, Notes: notes,
		Value: res.Value, Index: res.Index, Reason: res.Reason,
		Matches: make([]matchOutcome, len(routes)),
	}
	if rs.Attribute == "" {
		se.Reason = celReason(res, len(routes))
	}
	for i, r := range routes {
		m := matchOutcome{Index: i, Value: r.Value, Condition: r.Condition, Outcome: outcome(res, i)}
		if err := res.Errors[i]; err != nil {
			m.Error = err.Error()
		}
		se.Matches[i] = m
	}
	return se
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
	if rs.Plugin.Name != "" {
		objs = append(objs, rs.Plugin)
	}
	return append(objs, rs.Telemetry)
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
	if len(x.RouteSets) == 0 {
		b.WriteString("\nno route set applies: requests to this namespace carry no route tag\n")
	}
	for _, s := range x.RouteSets {
		s.writeText(&b)
	}
	if len(x.OutOfScope) > 0 {
		b.WriteString("\nnot in scope:\n")
		for _, o := range x.OutOfScope {
			fmt.Fprintf(&b, "  %s: %s\n", o.ID, o.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
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
	for _, n := range s.Notes {
		fmt.Fprintf(b, "  note:    %s\n", display(n))
	}
	fmt.Fprintf(b, "  value:   %s\n", strconv.Quote(s.Value))
	if s.Index >= 0 {
		fmt.Fprintf(b, "  match:   #%d %s\n", s.Index, displayCondition(s.Matches[s.Index].Condition))
	}
	fmt.Fprintf(b, "  why:     %s\n", display(s.Reason))
	for _, m := range s.Matches {
		fmt.Fprintf(b, "  #%-3d %-7s %s if %s\n", m.Index, m.Outcome, strconv.Quote(m.Value), displayCondition(m.Condition))
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
