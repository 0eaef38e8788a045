package routing

import (
	"maps"
	"net/url"
	"regexp"
	"strings"
)

// Request is what a route match looks at.
type Request struct {
	Method string
	// Path is the request target: the path and an optional ?query.
	Path string
	// Host is the :authority (Host header).
	Host string
	// Scheme is "http" when empty.
	Scheme string
	// Port is the destination port; 0 when unknown, which matches any
	// match port.
	Port uint32
	// Headers are matched by name case-insensitively, as HTTP has it.
	Headers map[string]string
	// ProxyLabels and ProxyNamespace describe the proxy evaluating the
	// routes, which a VirtualService's sourceLabels and sourceNamespace
	// select (a client sidecar's own labels; at a waypoint, the waypoint's).
	ProxyLabels    map[string]string
	ProxyNamespace string
}

// header returns a header's value, the pseudo-headers Envoy matches
// method, authority and scheme as included.
func (r *Request) header(name string) (string, bool) {
	switch strings.ToLower(name) {
	case ":method":
		return r.Method, true
	case ":authority", "host":
		return r.Host, r.Host != ""
	case ":scheme":
		if r.Scheme == "" {
			return "http", true
		}
		return r.Scheme, true
	case ":path":
		return r.Path, true
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func (r *Request) pathAndQuery() (string, string) {
	p, q, _ := strings.Cut(r.Path, "?")
	return p, q
}

// Matches reports whether the request meets every condition of m, as
// Envoy evaluates the route match istiod generates (route.go
// TranslateRouteMatch; conditions that select proxies per sourceMatchHTTP
// and TranslateRoute's port check). Matches on JWT claims
// (@request.auth.claims) never match here: the request's token is unknown.
func (m *Match) Matches(req Request) bool {
	path, query := req.pathAndQuery()
	if m.Port != 0 && req.Port != 0 && m.Port != req.Port {
		return false
	}
	if m.SourceNamespace != "" && m.SourceNamespace != req.ProxyNamespace {
		return false
	}
	for k, v := range m.SourceLabels {
		if lv, ok := req.ProxyLabels[k]; !ok || lv != v {
			return false
		}
	}
	if m.Path != nil && !matchPath(*m.Path, path, m.IgnoreURICase) {
		return false
	}
	for _, s := range []struct {
		name string
		m    *StringMatch
	}{{":method", m.Method}, {":authority", m.Authority}, {":scheme", m.Scheme}} {
		if s.m != nil && !matchHeader(&req, KeyMatch{Name: s.name, StringMatch: *s.m}, false) {
			return false
		}
	}
	for _, h := range m.Headers {
		if !matchHeader(&req, h, false) {
			return false
		}
	}
	for _, h := range m.WithoutHeaders {
		if !matchHeader(&req, h, true) {
			return false
		}
	}
	if len(m.QueryParams) > 0 {
		params := parseQuery(query)
		for _, q := range m.QueryParams {
			v, ok := params[q.Name]
			if !ok || !matchString(q.StringMatch, v) {
				return false
			}
		}
	}
	return true
}

// matchPath applies Envoy's path specifiers to the path without query:
// path (exact), prefix, path_separated_prefix (the prefix followed by the
// end of the path or "/") and safe_regex (the whole path). case_sensitive
// does not apply to regexes.
func matchPath(p StringMatch, path string, ignoreCase bool) bool {
	value := p.Value
	if ignoreCase && p.Type != Regex {
		path, value = strings.ToLower(path), strings.ToLower(value)
	}
	switch p.Type {
	case PathPrefix:
		if value == "/" {
			return strings.HasPrefix(path, "/")
		}
		rest, ok := strings.CutPrefix(path, value)
		return ok && (rest == "" || rest[0] == '/')
	case Present:
		return true
	}
	return matchString(StringMatch{Type: p.Type, Value: value}, path)
}

// matchHeader applies one header matcher. An inverted matcher (a
// VirtualService withoutHeaders entry) treats a missing header as empty
// unless it only asks for presence, as route.go TranslateRouteMatch sets
// TreatMissingHeaderAsEmpty.
func matchHeader(req *Request, h KeyMatch, invert bool) bool {
	if _, ok := jwtClaim(h.Name); ok {
		return false
	}
	v, ok := req.header(h.Name)
	if h.Type == Present {
		return ok != invert
	}
	if !ok && !invert {
		return false
	}
	return matchString(h.StringMatch, v) != invert
}

func matchString(s StringMatch, v string) bool {
	switch s.Type {
	case Exact:
		return v == s.Value
	case Prefix, PathPrefix:
		return strings.HasPrefix(v, s.Value)
	case Regex:
		// Envoy's safe_regex matches the whole value. A pattern Go's RE2
		// rejects is one Envoy rejects too (the inventory reports it,
		// RB112); here it matches nothing.
		re, err := regexp.Compile(`^(?:` + s.Value + `)$`)
		return err == nil && re.MatchString(v)
	case Present:
		return true
	}
	return false
}

// parseQuery splits a query string as Envoy's route matcher sees it: the
// first value of each parameter, decoded; a parameter without "=" has the
// empty value.
func parseQuery(q string) map[string]string {
	out := make(map[string]string)
	for part := range strings.SplitSeq(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if _, seen := out[k]; !seen {
			out[k] = v
		}
	}
	return out
}

// jwtClaim recognises a header name istiod turns into a JWT claim matcher
// (pkg/jwt/routing.go ToRoutingClaim): @request.auth.claims.a.b or
// @request.auth.claims[a][b]. It returns the claim path a.b.
func jwtClaim(name string) (string, bool) {
	const prefix = "@request.auth.claims"
	if len(name) < len(prefix) || !strings.EqualFold(name[:len(prefix)], prefix) {
		return "", false
	}
	rest := name[len(prefix):]
	switch {
	case strings.HasPrefix(rest, ".") && len(rest) > 1:
		return rest[1:], true
	case strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") && len(rest) > 2:
		return strings.ReplaceAll(rest[1:len(rest)-1], "][", "."), true
	}
	return "", false
}

// cloneMatch copies m deeply enough to change its maps and lists.
func cloneMatch(m *Match) *Match {
	c := *m
	c.Headers = append([]KeyMatch(nil), m.Headers...)
	c.WithoutHeaders = append([]KeyMatch(nil), m.WithoutHeaders...)
	c.QueryParams = append([]KeyMatch(nil), m.QueryParams...)
	c.SourceLabels = maps.Clone(m.SourceLabels)
	c.Gateways = append([]string(nil), m.Gateways...)
	return &c
}
