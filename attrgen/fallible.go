package attrgen

import (
	"fmt"
	"strings"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
)

// Fallible is an access in an expression that fails to evaluate for
// ordinary requests: the lookup of a key that may be absent (a header,
// filter state) or an attribute Envoy sets only for some requests (the
// Referer header, a gRPC status, TLS details). A condition that fails to
// evaluate stops attributegen (istio/proxy extensions/attributegen/plugin.cc:
// AttributeGenerator::evaluate returns at the first match whose evaluation
// fails), so the attribute stays unset and every later match is skipped; a
// tag value that fails reads "unknown".
type Fallible struct {
	// Access is the access as it reads: request.headers['x-beta'].
	Access string
	// Guard is a test that makes it safe: 'x-beta' in request.headers.
	Guard string
	// When says for which requests it fails: "a request without header x-beta".
	When string
}

// keyedMaps are the map attributes whose keys come and go with the request.
func keyedMap(path string) bool {
	switch path {
	case "request.headers", "response.headers", "response.trailers", "filter_state", "upstream_filter_state":
		return true
	}
	return false
}

// optionalAttribute says when Envoy leaves attr unset, or "" when it is
// set for every HTTP request (Envoy's attribute reference and
// extensions/filters/common/expr/context.cc).
func optionalAttribute(attr string) string {
	switch attr {
	case "request.referer":
		return "a request without a Referer header"
	case "request.useragent":
		return "a request without a User-Agent header"
	case "response.grpc_status":
		return "a response that is not gRPC"
	case "connection.requested_server_name", "connection.tls_version",
		"connection.subject_local_certificate", "connection.subject_peer_certificate",
		"connection.dns_san_local_certificate", "connection.dns_san_peer_certificate",
		"connection.uri_san_local_certificate", "connection.uri_san_peer_certificate",
		"connection.sha256_peer_certificate_digest":
		return "a connection without TLS"
	}
	return ""
}

// access is one fallible access: a key of a map attribute, or an
// attribute (key empty).
type access struct {
	path, key string
	// keyed: the access is a map lookup; key may be "" (request.headers['']).
	keyed bool
}

func (a access) fallible() Fallible {
	if !a.keyed {
		return Fallible{Access: a.path, Guard: "has(" + a.path + ")", When: optionalAttribute(a.path)}
	}
	return Fallible{
		Access: fmt.Sprintf("%s[%s]", a.path, quoteCEL(a.key)),
		Guard:  fmt.Sprintf("%s in %s", quoteCEL(a.key), a.path),
		When:   keyWhen(a.path, a.key),
	}
}

// keyWhen says when key k of map attribute m is absent.
func keyWhen(m, k string) string {
	if k == "" {
		k = `""`
	}
	switch m {
	case "request.headers":
		return "a request without header " + k
	case "response.headers":
		return "a response without header " + k
	case "response.trailers":
		return "a response without trailer " + k
	}
	return "a request for which nothing set " + m + " " + k
}

// normalize makes header keys compare as Envoy compares them.
func (a access) normalize() access {
	if strings.HasSuffix(a.path, "headers") || strings.HasSuffix(a.path, "trailers") {
		a.key = strings.ToLower(a.key)
	}
	return a
}

func quoteCEL(s string) string {
	if !strings.ContainsAny(s, `'\`) && !strings.ContainsAny(s, "\n\r") {
		return "'" + s + "'"
	}
	return fmt.Sprintf("%q", s)
}

// FallibleAccesses lists, in source order and once each, the accesses of a
// parsed expression that fail for ordinary requests and that no test in the
// expression guards. A guard is has(m.k), 'k' in m or has(attr) in a
// conjunction with the access (CEL's && is false as soon as one side is,
// whichever side errs), negated in a disjunction, or in the condition of
// a ?: whose branch holds the access.
func FallibleAccesses(a *celast.AST) []Fallible {
	if a == nil {
		return nil
	}
	w := &fallibleWalk{seen: make(map[access]bool)}
	w.walk(a.Expr(), nil)
	return w.found
}

type fallibleWalk struct {
	seen  map[access]bool
	found []Fallible
}

func (w *fallibleWalk) walk(e celast.Expr, guarded []access) {
	switch e.Kind() {
	case celast.CallKind:
		w.call(e.AsCall(), guarded)
		return
	case celast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return // has(...) is the guard itself
		}
		if acc, ok := accessOf(e); ok {
			w.report(acc, guarded)
		}
		w.walk(sel.Operand(), guarded)
		return
	case celast.ListKind:
		for _, el := range e.AsList().Elements() {
			w.walk(el, guarded)
		}
		return
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			if en.Kind() == celast.MapEntryKind {
				w.walk(en.AsMapEntry().Key(), guarded)
				w.walk(en.AsMapEntry().Value(), guarded)
			}
		}
		return
	case celast.ComprehensionKind:
		c := e.AsComprehension()
		w.walk(c.IterRange(), guarded)
		return
	}
	if acc, ok := accessOf(e); ok {
		w.report(acc, guarded)
	}
}

func (w *fallibleWalk) call(c celast.CallExpr, guarded []access) {
	args := c.Args()
	switch c.FunctionName() {
	case operators.LogicalAnd, operators.LogicalOr:
		and := c.FunctionName() == operators.LogicalAnd
		terms := flatten(c.FunctionName(), args, nil)
		g := guarded
		for _, t := range terms {
			g = append(g, guardsOf(t, and)...)
		}
		for _, t := range terms {
			w.walk(t, g)
		}
		return
	case operators.Conditional:
		if len(args) == 3 {
			w.walk(args[0], guarded)
			w.walk(args[1], append(guarded, guardsOf(args[0], true)...))
			w.walk(args[2], append(guarded, guardsOf(args[0], false)...))
			return
		}
	case operators.Index:
		if len(args) == 2 {
			if acc, ok := indexAccess(args[0], args[1]); ok {
				w.report(acc, guarded)
				w.walk(args[1], guarded)
				return
			}
		}
	}
	if c.IsMemberFunction() {
		w.walk(c.Target(), guarded)
	}
	for _, a := range args {
		w.walk(a, guarded)
	}
}

func (w *fallibleWalk) report(acc access, guarded []access) {
	acc = acc.normalize()
	for _, g := range guarded {
		if g == acc {
			return
		}
	}
	if !w.seen[acc] {
		w.seen[acc] = true
		w.found = append(w.found, acc.fallible())
	}
}

// flatten returns the operands of a chain of one logical operator.
func flatten(op string, args []celast.Expr, out []celast.Expr) []celast.Expr {
	for _, a := range args {
		if a.Kind() == celast.CallKind && a.AsCall().FunctionName() == op {
			out = flatten(op, a.AsCall().Args(), out)
			continue
		}
		out = append(out, a)
	}
	return out
}

// guardsOf returns what e being true (positive) or false (!positive)
// guarantees to be present.
func guardsOf(e celast.Expr, positive bool) []access {
	if e.Kind() == celast.CallKind {
		c := e.AsCall()
		switch c.FunctionName() {
		case operators.LogicalNot:
			if len(c.Args()) == 1 {
				return guardsOf(c.Args()[0], !positive)
			}
		case operators.LogicalAnd, operators.LogicalOr:
			// a && b being true makes both true; a || b being false makes both false.
			if (c.FunctionName() == operators.LogicalAnd) == positive {
				var out []access
				for _, t := range flatten(c.FunctionName(), c.Args(), nil) {
					out = append(out, guardsOf(t, positive)...)
				}
				return out
			}
			return nil
		}
	}
	if !positive {
		return nil
	}
	if g, ok := presenceTest(e); ok {
		return []access{g.normalize()}
	}
	return nil
}

// presenceTest recognises has(m.k), has(attr) and 'k' in m.
func presenceTest(e celast.Expr) (access, bool) {
	switch e.Kind() {
	case celast.SelectKind:
		sel := e.AsSelect()
		if !sel.IsTestOnly() {
			return access{}, false
		}
		base, ok := selectPath(sel.Operand())
		if !ok {
			return access{}, false
		}
		if keyedMap(base) {
			return access{path: base, key: sel.FieldName(), keyed: true}, true
		}
		return access{path: base + "." + sel.FieldName()}, true
	case celast.CallKind:
		c := e.AsCall()
		if c.FunctionName() != operators.In || len(c.Args()) != 2 {
			return access{}, false
		}
		key, isString := literalString(c.Args()[0])
		base, ok := selectPath(c.Args()[1])
		if isString && ok && keyedMap(base) {
			return access{path: base, key: key, keyed: true}, true
		}
	}
	return access{}, false
}

// accessOf recognises m.k on a keyed map and an optional attribute.
func accessOf(e celast.Expr) (access, bool) {
	path, ok := selectPath(e)
	if !ok {
		return access{}, false
	}
	if optionalAttribute(path) != "" {
		return access{path: path}, true
	}
	if i := strings.LastIndexByte(path, '.'); i > 0 && keyedMap(path[:i]) {
		return access{path: path[:i], key: path[i+1:], keyed: true}, true
	}
	return access{}, false
}

// indexAccess recognises m['k'] on a keyed map.
func indexAccess(m, k celast.Expr) (access, bool) {
	base, ok := selectPath(m)
	key, isString := literalString(k)
	if ok && isString && keyedMap(base) {
		return access{path: base, key: key, keyed: true}, true
	}
	return access{}, false
}

// selectPath renders request.url_path (a chain of selections on an
// identifier, none of them a presence test) and reports whether e is one.
func selectPath(e celast.Expr) (string, bool) {
	var parts []string
	for e.Kind() == celast.SelectKind {
		if e.AsSelect().IsTestOnly() {
			return "", false
		}
		parts = append(parts, e.AsSelect().FieldName())
		e = e.AsSelect().Operand()
	}
	if e.Kind() != celast.IdentKind {
		return "", false
	}
	parts = append(parts, e.AsIdent())
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "."), true
}

// Analysis is what the lint checks learn from an expression's syntax tree
// beyond compiling it.
type Analysis struct {
	// Fallible are its unguarded accesses that fail for ordinary requests.
	Fallible []Fallible
	// Moved and MovedTag are the attributes Istio 1.24 moved that it reads
	// as an attributegen condition and as a tag value.
	Moved, MovedTag []Move
}

// Analyze runs FallibleAccesses and MovedAttributes (for both dialects) on
// expr, parsed as a. Most expressions name none of the attributes these
// look for: a scan of the source skips the tree walks for them.
func Analyze(expr string, a *celast.AST) Analysis {
	var out Analysis
	if a == nil {
		return out
	}
	if mentionsAny(expr, fallibleHints) {
		out.Fallible = FallibleAccesses(a)
	}
	if mentionsAny(expr, movedHints) {
		out.Moved = MovedAttributes(a, Attributegen)
		out.MovedTag = MovedAttributes(a, TagValue)
	}
	return out
}

// The words an expression must contain for FallibleAccesses and
// MovedAttributes to find anything.
var (
	fallibleHints = []string{"headers", "trailers", "filter_state", "referer", "useragent", "grpc_status", "connection."}
	movedHints    = []string{"_peer", "node", "cluster_", "listener_", "route_", "plugin_", "upstream_host_metadata"}
)

func mentionsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
