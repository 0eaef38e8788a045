package routing

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// anySummary describes a match without conditions.
const anySummary = "any"

// Summary is a readable account of a rule's matches, ORed: "GET /healthz",
// "POST /echo or PUT /echo", "header user=new".
func (r *Rule) Summary() string {
	if len(r.Matches) == 0 {
		return anySummary
	}
	parts := make([]string, len(r.Matches))
	for i := range r.Matches {
		parts[i] = r.Matches[i].Summary()
	}
	return strings.Join(slices.Compact(parts), " or ")
}

// Summary is a readable account of one match, its conditions ANDed:
//
//	GET /healthz          exact path, method
//	/api/*                path prefix (whole segments)
//	/api*                 string prefix (VirtualService)
//	path~/users/[0-9]+    path regex
//	header user=new       header (= exact, ^= prefix, ~ regex; no operator: present)
//	!header debug         header absent (VirtualService withoutHeaders)
//	query page~[0-9]+     query parameter
//	grpc shop.Cart/Get    gRPC method (* for any service or method)
//
// A path prefix "/" beside other conditions is left out; a match with no
// condition at all reads "any".
func (m *Match) Summary() string {
	var parts []string
	if m.Method != nil {
		if m.Method.Type == Exact {
			parts = append(parts, m.Method.Value)
		} else {
			parts = append(parts, "method"+operand(*m.Method))
		}
	}
	switch {
	case m.GRPC != nil:
		parts = append(parts, "grpc "+m.GRPC.summary())
	case m.Path != nil:
		parts = append(parts, pathSummary(*m.Path, m.IgnoreURICase))
	}
	parts = appendKeys(parts, "header ", m.Headers)
	parts = appendKeys(parts, "!header ", m.WithoutHeaders)
	parts = appendKeys(parts, "query ", m.QueryParams)
	if m.Authority != nil {
		parts = append(parts, "host"+operand(*m.Authority))
	}
	if m.Scheme != nil {
		parts = append(parts, "scheme"+operand(*m.Scheme))
	}
	if m.Port != 0 {
		parts = append(parts, "port "+strconv.FormatUint(uint64(m.Port), 10))
	}
	if len(m.SourceLabels) > 0 {
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(m.SourceLabels)) {
			labels = append(labels, k+"="+quoteIfNeeded(m.SourceLabels[k]))
		}
		parts = append(parts, "from "+strings.Join(labels, ","))
	}
	if m.SourceNamespace != "" {
		parts = append(parts, "from namespace "+m.SourceNamespace)
	}
	if m.Method == nil && len(parts) > 0 && parts[0] == "/*" {
		parts = parts[1:]
	}
	if len(parts) == 0 {
		return anySummary
	}
	return strings.Join(parts, " ")
}

func pathSummary(p StringMatch, ignoreCase bool) string {
	var s string
	switch p.Type {
	case Exact:
		s = p.Value
	case PathPrefix:
		s = strings.TrimSuffix(p.Value, "/") + "/*"
	case Prefix:
		s = p.Value + "*"
	default:
		s = "path" + operand(p)
	}
	if ignoreCase {
		s += " (any case)"
	}
	return s
}

func (g *GRPCMethod) summary() string {
	svc, method := g.Service, g.Method
	if svc == "" {
		svc = "*"
	}
	if method == "" {
		method = "*"
	}
	s := svc + "/" + method
	if g.Regex {
		s = "~" + s
	}
	return s
}

func appendKeys(parts []string, prefix string, keys []KeyMatch) []string {
	for _, k := range keys {
		name := k.Name
		if claim, ok := jwtClaim(name); ok {
			parts = append(parts, strings.Replace(prefix, "header", "claim", 1)+claim+operand(k.StringMatch))
			continue
		}
		parts = append(parts, prefix+quoteIfNeeded(name)+operand(k.StringMatch))
	}
	return parts
}

// operand renders a matcher after a name: "=v", "^=v", "~re", or nothing
// for Present.
func operand(s StringMatch) string {
	switch s.Type {
	case Exact:
		return "=" + quoteIfNeeded(s.Value)
	case Prefix, PathPrefix:
		return "^=" + quoteIfNeeded(s.Value)
	case Regex:
		return "~" + quoteIfNeeded(s.Value)
	}
	return ""
}

// quoteIfNeeded quotes values that would not read as one word.
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"") {
		return strconv.Quote(s)
	}
	return s
}
