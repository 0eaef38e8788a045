package attrgen

import (
	"strings"
)

// RefForm is how a Telemetry tag value refers to a Wasm attribute.
type RefForm int

// Reference forms.
const (
	// RefNone: the value is not an attribute reference (it is a CEL expression).
	RefNone RefForm = iota
	// FilterStateSingle is filter_state['wasm.X'], the form Istio ≥ 1.24 needs.
	FilterStateSingle
	// FilterStateDouble is filter_state["wasm.X"], equivalent to the single-quoted form.
	FilterStateDouble
	// Bare is the legacy bare X (e.g. istio_operationId), still in Istio's
	// docs; since Istio 1.24 it silently yields "unknown".
	Bare
)

func (f RefForm) String() string {
	switch f {
	case FilterStateSingle:
		return "filter_state['wasm.X']"
	case FilterStateDouble:
		return `filter_state["wasm.X"]`
	case Bare:
		return "bare"
	}
	return "none"
}

// wasmPrefix is the filter-state namespace of attributes set by Wasm plugins.
const wasmPrefix = "wasm."

// ParseAttributeRef recognises a tag value that references a Wasm attribute:
// filter_state['wasm.X'], filter_state["wasm.X"] or a bare identifier X that
// is neither a CEL keyword nor one of Envoy's own attributes. Whitespace
// around the tokens is ignored. ok is false for anything else, which is then
// a CEL expression.
func ParseAttributeRef(value string) (attr string, form RefForm, ok bool) {
	v := strings.TrimSpace(value)
	if rest, found := strings.CutPrefix(v, "filter_state"); found {
		return parseFilterState(rest)
	}
	if isIdent(v) && !reservedWord(v) && !envoyRoot(v) {
		return v, Bare, true
	}
	return "", RefNone, false
}

// parseFilterState parses `['wasm.X']` or `["wasm.X"]` (with optional spaces).
func parseFilterState(s string) (string, RefForm, bool) {
	s, ok := strings.CutPrefix(strings.TrimSpace(s), "[")
	if !ok {
		return "", RefNone, false
	}
	s, ok = strings.CutSuffix(strings.TrimSpace(s), "]")
	if !ok {
		return "", RefNone, false
	}
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != s[len(s)-1] {
		return "", RefNone, false
	}
	form := FilterStateSingle
	switch s[0] {
	case '\'':
	case '"':
		form = FilterStateDouble
	default:
		return "", RefNone, false
	}
	attr, ok := strings.CutPrefix(s[1:len(s)-1], wasmPrefix)
	if !ok || !isAttributeName(attr) {
		return "", RefNone, false
	}
	return attr, form, true
}

// isAttributeName accepts the names attributegen outputs (istio_operationId,
// istio.operationId, my-attr): no quotes, escapes, spaces or brackets.
func isAttributeName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !isIdentChar(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isIdent(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !isIdentChar(c) {
			return false
		}
	}
	return true
}

func isIdentChar(c rune) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// reservedWord reports CEL literals and reserved identifiers.
func reservedWord(s string) bool {
	switch s {
	case "true", "false", "null", "in", "as", "break", "const", "continue", "else",
		"for", "function", "if", "import", "let", "loop", "package", "namespace",
		"return", "var", "void", "while":
		return true
	}
	return false
}

// envoyRoot reports whether s names one of Envoy's own attributes or
// attribute groups (request, xds, route_name, ...), which a bare value
// refers to instead of a Wasm attribute.
func envoyRoot(s string) bool {
	for _, a := range attributes() {
		root, _, _ := strings.Cut(a.name, ".")
		if root == s {
			return true
		}
	}
	return false
}
