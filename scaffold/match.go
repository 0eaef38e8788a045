package scaffold

import (
	"fmt"
	"slices"
	"strings"
)

// Match is one classification entry as attributegen runs it: the first
// match whose Condition holds gives the request its Value.
type Match struct {
	Value     string
	Condition string
	// Route is the route the match was made from.
	Route Route
}

// Matches orders routes most specific first (so that /users/me is tried
// before /users/{id}) and builds each one's CEL condition. Routes of equal
// specificity keep their input order. The routes must come from
// ParseOpenAPI or ParseRouteList, which validate their templates.
func Matches(routes []Route) ([]Match, error) {
	type parsed struct {
		route Route
		tmpl  template
	}
	ps := make([]parsed, 0, len(routes))
	for _, r := range routes {
		t, err := parseTemplate(r.Template)
		if err != nil {
			return nil, &Error{Pos: r.Pos, Msg: fmt.Sprintf("path %q: %v", r.Template, err)}
		}
		ps = append(ps, parsed{route: r, tmpl: t})
	}
	slices.SortStableFunc(ps, func(a, b parsed) int { return compareSpecificity(a.tmpl, b.tmpl) })
	ms := make([]Match, len(ps))
	for i, p := range ps {
		ms[i] = Match{Value: p.route.Value, Condition: condition(p.route.Method, p.tmpl), Route: p.route}
	}
	return ms, nil
}

// condition is the CEL test for method and path. Literal paths compare
// exactly; templates use an anchored RE2 match.
func condition(method string, t template) string {
	m := "request.method == " + celString(method)
	if !t.hasParams() {
		return m + " && request.url_path == " + celString(t.sample(""))
	}
	return m + " && request.url_path.matches(" + celString(t.regex()) + ")"
}

// ChainExpression is the Wasm-free classification: a CEL conditional chain
// `c1 ? 'v1' : (c2 ? 'v2' : 'unknown')` that a Telemetry tag override can
// evaluate directly. The final 'unknown' is what Istio writes when
// attributegen matches nothing, so both forms classify alike.
func ChainExpression(ms []Match, unknown string) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteByte('(')
		}
		b.WriteString(m.Condition)
		b.WriteString(" ? ")
		b.WriteString(celString(m.Value))
		b.WriteString(" : ")
	}
	b.WriteString(celString(unknown))
	if len(ms) > 1 {
		b.WriteString(strings.Repeat(")", len(ms)-1))
	}
	return b.String()
}

// celString quotes s as a single-quoted CEL string literal. Backslashes and
// quotes are escaped, and so is every non-printable character, so that any
// route value or regular expression survives.
func celString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('\'')
	return b.String()
}
