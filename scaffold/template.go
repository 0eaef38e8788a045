package scaffold

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// template is a parsed path template: segments between slashes, each a
// sequence of literal text and {parameters}.
type template struct {
	segments []segment
}

type segment []part

// part is literal text, or a parameter when param is set (text is then the
// parameter's name).
type part struct {
	text  string
	param bool
}

// Segment kinds by specificity, most specific first: at the first position
// where two templates differ in kind, the more specific one is tried first.
const (
	kindLiteral = iota // users
	kindMixed          // {name}.json
	kindParam          // {id}
)

func (s segment) kind() int {
	params := 0
	for _, p := range s {
		if p.param {
			params++
		}
	}
	switch {
	case params == 0:
		return kindLiteral
	case params == len(s):
		return kindParam
	}
	return kindMixed
}

// parseTemplate parses an OpenAPI path template. The path must be absolute,
// carry no query or fragment (Envoy's request.url_path has neither), and have
// balanced, named parameters.
func parseTemplate(path string) (template, error) {
	if !strings.HasPrefix(path, "/") {
		return template{}, errors.New("must start with /")
	}
	if !utf8.ValidString(path) {
		return template{}, errors.New("is not valid UTF-8")
	}
	if i := strings.IndexFunc(path, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return template{}, fmt.Errorf("contains whitespace or a control character at offset %d", i)
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		return template{}, fmt.Errorf("contains %q: a route path has no query or fragment", path[i:i+1])
	}
	raw := strings.Split(path[1:], "/")
	t := template{segments: make([]segment, 0, len(raw))}
	for i, r := range raw {
		if r == "" && i < len(raw)-1 {
			return template{}, errors.New("contains an empty segment (//)")
		}
		seg, err := parseSegment(r)
		if err != nil {
			return template{}, fmt.Errorf("segment %d %q: %w", i+1, r, err)
		}
		t.segments = append(t.segments, seg)
	}
	return t, nil
}

func parseSegment(s string) (segment, error) {
	var seg segment
	for s != "" {
		open := strings.IndexByte(s, '{')
		if close := strings.IndexByte(s, '}'); close >= 0 && (open < 0 || close < open) {
			return nil, errors.New("unbalanced }")
		}
		if open < 0 {
			return append(seg, part{text: s}), nil
		}
		if open > 0 {
			seg = append(seg, part{text: s[:open]})
		}
		rest := s[open+1:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return nil, errors.New("unbalanced {")
		}
		name := rest[:end]
		if name == "" || strings.ContainsRune(name, '{') {
			return nil, fmt.Errorf("bad parameter name %q", name)
		}
		seg = append(seg, part{text: name, param: true})
		s = rest[end+1:]
	}
	return seg, nil
}

// shape is the template with parameter names erased: two templates with the
// same shape match exactly the same paths.
func (t template) shape() string {
	return t.render(func(string) string { return "{}" }, func(s string) string { return s })
}

// hasParams reports whether any segment has a parameter.
func (t template) hasParams() bool {
	for _, s := range t.segments {
		if s.kind() != kindLiteral {
			return true
		}
	}
	return false
}

// regex is the anchored RE2 expression matching the paths of t: a parameter
// matches one or more characters within its segment, literals match
// themselves.
func (t template) regex() string {
	return "^" + t.render(func(string) string { return "[^/]+" }, regexp.QuoteMeta) + "$"
}

// sample is a concrete path matching t, each parameter replaced by value.
func (t template) sample(value string) string {
	return t.render(func(string) string { return value }, func(s string) string { return s })
}

func (t template) render(param, literal func(string) string) string {
	var b strings.Builder
	for _, seg := range t.segments {
		b.WriteByte('/')
		for _, p := range seg {
			if p.param {
				b.WriteString(param(p.text))
			} else {
				b.WriteString(literal(p.text))
			}
		}
	}
	return b.String()
}

// compareSpecificity orders templates so that first-match classification is
// right: at the first segment where the kinds differ, the more literal
// template comes first. Templates of equal kinds compare by segment count,
// which keeps the order total; those can never overlap.
func compareSpecificity(a, b template) int {
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		if ka, kb := a.segments[i].kind(), b.segments[i].kind(); ka != kb {
			return ka - kb
		}
	}
	return len(a.segments) - len(b.segments)
}
