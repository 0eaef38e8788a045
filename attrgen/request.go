package attrgen

import (
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
)

// Request is the HTTP request (and optionally response) to classify. An
// attribute whose field is empty is absent, as it is in Envoy: a condition
// reading it fails to evaluate.
type Request struct {
	// Method is the :method, e.g. GET.
	Method string
	// Target is the :path: path and query string. request.path is Target;
	// request.url_path is Target without its query string.
	Target string
	// Host is the :authority. When empty, a "host" or ":authority" header is used.
	Host string
	// Scheme is the :scheme; empty means "http".
	Scheme string
	// Protocol is request.protocol; empty means "HTTP/1.1".
	Protocol string
	// Headers are request headers; names are case-insensitive, as in Envoy.
	Headers map[string]string
	// ResponseCode is response.code; 0 means no response yet.
	ResponseCode int
	// ResponseHeaders are response headers; response.headers exists (maybe
	// empty) once there is a response code or a header.
	ResponseHeaders map[string]string
	// Attributes sets or overrides any attribute by its dotted name, e.g.
	// "source.address", "response.grpc_status", "filter_state".
	Attributes map[string]any
}

// splitTarget returns the path without query and the query without '?'.
func splitTarget(target string) (path, query string) {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		return target[:i], target[i+1:]
	}
	return target, ""
}

// attributeValues returns the request's attributes by dotted name, as Envoy
// would expose them.
func (r Request) attributeValues() map[string]any {
	headers := make(map[string]string, len(r.Headers)+4)
	for k, v := range r.Headers {
		headers[strings.ToLower(k)] = v
	}
	host := r.Host
	if host == "" {
		host = firstNonEmpty(headers[":authority"], headers["host"])
	}
	scheme := firstNonEmpty(r.Scheme, "http")
	vars := map[string]any{
		"request.scheme":   scheme,
		"request.protocol": firstNonEmpty(r.Protocol, "HTTP/1.1"),
		"request.query":    "",
	}
	pseudo := map[string]string{":method": r.Method, ":path": r.Target, ":authority": host, ":scheme": scheme}
	for k, v := range pseudo {
		if v != "" {
			headers[k] = v
		}
	}
	setIf(vars, "request.method", r.Method)
	setIf(vars, "request.host", host)
	if r.Target != "" {
		path, query := splitTarget(r.Target)
		vars["request.path"] = r.Target
		vars["request.url_path"] = path
		vars["request.query"] = query
	}
	setIf(vars, "request.referer", headers["referer"])
	setIf(vars, "request.useragent", headers["user-agent"])
	setIf(vars, "request.id", headers["x-request-id"])
	vars["request.headers"] = newHeaderMap(headers)
	// Envoy's filter_state is a map whatever is in it; a lookup of a key
	// nothing set fails.
	vars["filter_state"] = types.NewStringInterfaceMap(types.DefaultTypeAdapter, map[string]any{})
	if r.ResponseCode != 0 {
		vars["response.code"] = int64(r.ResponseCode)
	}
	if r.ResponseCode != 0 || r.ResponseHeaders != nil {
		vars["response.headers"] = newHeaderMap(r.ResponseHeaders)
	}
	for k, v := range r.Attributes {
		if m, ok := v.(map[string]string); ok && strings.HasSuffix(k, "headers") {
			v = newHeaderMap(m)
		}
		vars[k] = v
	}
	return vars
}

func setIf(vars map[string]any, name, v string) {
	if v != "" {
		vars[name] = v
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// activation resolves dotted attribute names (what a type-checked
// expression asks for) and top-level objects such as request (what an
// unchecked one may ask for, e.g. request['method']).
type activation struct {
	vars map[string]any
}

func newActivation(r Request) *activation {
	vars := r.attributeValues()
	roots := make(map[string]map[string]any)
	for name, v := range vars {
		root, field, ok := strings.Cut(name, ".")
		if !ok {
			continue
		}
		if roots[root] == nil {
			roots[root] = make(map[string]any)
		}
		roots[root][field] = v
	}
	for root, fields := range roots {
		if _, set := vars[root]; !set {
			vars[root] = fields
		}
	}
	return &activation{vars: vars}
}

func (a *activation) ResolveName(name string) (any, bool) {
	v, ok := a.vars[name]
	return v, ok
}

func (a *activation) Parent() interpreter.Activation { return nil }

// headerMap is a header map whose lookups ignore case, as Envoy's do.
type headerMap struct {
	traits.Mapper
}

func newHeaderMap(h map[string]string) headerMap {
	lower := make(map[string]string, len(h))
	for k, v := range h {
		lower[strings.ToLower(k)] = v
	}
	return headerMap{types.NewStringStringMap(types.DefaultTypeAdapter, lower)}
}

func lowerKey(key ref.Val) ref.Val {
	if s, ok := key.(types.String); ok {
		return types.String(strings.ToLower(string(s)))
	}
	return key
}

// Contains implements traits.Container.
func (h headerMap) Contains(key ref.Val) ref.Val { return h.Mapper.Contains(lowerKey(key)) }

// Get implements traits.Indexer.
func (h headerMap) Get(key ref.Val) ref.Val { return h.Mapper.Get(lowerKey(key)) }

// Find implements traits.Mapper.
func (h headerMap) Find(key ref.Val) (ref.Val, bool) { return h.Mapper.Find(lowerKey(key)) }

// Missing returns what an evaluation error says is absent: an attribute
// (response.code) or a map key (x-beta). Both are empty for other errors.
func Missing(err error) (attribute, key string) {
	if err == nil {
		return "", ""
	}
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "no such attribute(s): "); ok {
		attribute, _, _ = strings.Cut(rest, ",")
		attribute, _, _ = strings.Cut(attribute, ";")
		return strings.TrimSpace(attribute), ""
	}
	if _, rest, ok := strings.Cut(msg, "no such key: "); ok {
		key, _, _ = strings.Cut(rest, ";")
		return "", strings.TrimSpace(key)
	}
	return "", ""
}
