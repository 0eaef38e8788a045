package inventory

import (
	"fmt"
	"maps"
	"slices"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
)

// collector accumulates diagnostics; the severity of each comes from its code.
type collector struct {
	severity map[string]diag.Severity
	list     diag.List
}

func newCollector() *collector {
	c := &collector{severity: make(map[string]diag.Severity)}
	for _, ci := range diag.Codes() {
		c.severity[ci.Code] = ci.Severity
	}
	return c
}

// child returns an empty collector sharing c's severities, for a goroutine
// of its own.
func (c *collector) child() *collector {
	return &collector{severity: c.severity}
}

// add reports code about field of obj, at the line where field was written.
func (c *collector) add(code string, obj *manifest.Object, field manifest.Path, format string, args ...any) {
	c.addAt(code, obj, field, obj.FieldSource(field), format, args...)
}

// addAt is add with an explicit source (a line inside a multi-line value).
func (c *collector) addAt(code string, obj *manifest.Object, field manifest.Path, src diag.Source, format string, args ...any) {
	c.list = append(c.list, diag.Diagnostic{
		Severity: c.severity[code],
		Code:     code,
		Object:   refOf(obj),
		Field:    field.String(),
		Message:  fmt.Sprintf(format, args...),
		Source:   src,
	})
}

// fields reads typed values out of an object's content, reporting every
// wrong type as CodeInvalidField at the offending field. Getters return the
// zero value for absent or wrong-typed fields so that reading goes on.
type fields struct {
	obj *manifest.Object
	c   *collector
	// bad counts wrong-typed or missing required fields seen so far.
	bad int
}

func (f *fields) invalid(path manifest.Path, format string, args ...any) {
	f.bad++
	f.c.add(diag.CodeInvalidField, f.obj, path, format, args...)
}

func (f *fields) wrongType(path manifest.Path, want string, got any) {
	f.invalid(path, "%s: want %s, got %s", path, want, describe(got))
}

// describe names a decoded value's type for messages, with a short excerpt.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		if len(t) > 40 {
			t = t[:37] + "..."
		}
		return fmt.Sprintf("string %q", t)
	case bool:
		return fmt.Sprintf("boolean %v", t)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("number %v", v)
}

// asMapping returns v as a mapping, reporting it at path when it is not.
func (f *fields) asMapping(v any, path manifest.Path) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		f.wrongType(path, "a mapping", v)
	}
	return m, ok
}

func (f *fields) mapping(m map[string]any, key string, path manifest.Path) (map[string]any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, false
	}
	return f.asMapping(v, path)
}

func (f *fields) list(m map[string]any, key string, path manifest.Path) ([]any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, false
	}
	lv, ok := v.([]any)
	if !ok {
		f.wrongType(path, "a list", v)
		return nil, false
	}
	return lv, true
}

func (f *fields) str(m map[string]any, key string, path manifest.Path) (string, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		f.wrongType(path, "a string", v)
		return "", false
	}
	return s, true
}

// requiredStr is str for a field that must be a non-empty string.
func (f *fields) requiredStr(m map[string]any, key string, path manifest.Path) string {
	s, ok := f.str(m, key, path)
	if !ok && m[key] == nil {
		f.invalid(path, "%s: required field is missing", path)
	}
	if ok && s == "" {
		f.invalid(path, "%s: must not be empty", path)
	}
	return s
}

// enum reads a string field that must be one of allowed.
func (f *fields) enum(m map[string]any, key string, path manifest.Path, allowed ...string) (string, bool) {
	s, ok := f.str(m, key, path)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		f.invalid(path, "%s: %q is not one of %v", path, s, allowed)
		return "", false
	}
	return s, true
}

func (f *fields) boolean(m map[string]any, key string, path manifest.Path) bool {
	v, ok := m[key]
	if !ok || v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		f.wrongType(path, "a boolean", v)
	}
	return b
}

func (f *fields) integer(m map[string]any, key string, path manifest.Path) int64 {
	v, ok := m[key]
	if !ok || v == nil {
		return 0
	}
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case float64:
		if n == float64(int64(n)) {
			return int64(n)
		}
	}
	f.wrongType(path, "an integer", v)
	return 0
}

// stringMap reads a map of strings (labels, matchLabels, annotations).
func (f *fields) stringMap(m map[string]any, key string, path manifest.Path) map[string]string {
	mv, ok := f.mapping(m, key, path)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(mv))
	for _, k := range slices.Sorted(maps.Keys(mv)) {
		s, ok := mv[k].(string)
		if !ok {
			f.wrongType(path.Key(k), "a string", mv[k])
			continue
		}
		out[k] = s
	}
	return out
}
