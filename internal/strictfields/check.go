package strictfields

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/internal/suggest"
	"github.com/routebundle/routebundle/manifest"
)

// Checker checks objects against the schemas of the kinds it knows. It is
// immutable and safe for concurrent use.
type Checker struct {
	kinds []Kind
	// byGroupKind indexes kinds by "group/Kind".
	byGroupKind map[string]*Kind
}

// New builds the schemas of Istio's WasmPlugin and Telemetry.
func New() *Checker {
	c := &Checker{kinds: kinds(), byGroupKind: map[string]*Kind{}}
	for i := range c.kinds {
		k := &c.kinds[i]
		c.byGroupKind[k.Group+"/"+k.Kind] = k
	}
	return c
}

// Kinds lists the kinds checked.
func (c *Checker) Kinds() []Kind { return c.kinds }

// UnknownField is a field the schema does not declare.
type UnknownField struct {
	// Path is where it is, for manifest.Object.FieldSource.
	Path manifest.Path
	// Key is the field's own name, the last element of Path.
	Key string
	// Suggestion is a declared field one edit away, or "".
	Suggestion string
}

// Message says what the API server would: the field is unknown and a
// strict apply rejects it (a lax one drops it, so it does nothing).
func (u UnknownField) Message() string {
	hint := ""
	if u.Suggestion != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", u.Suggestion)
	}
	return fmt.Sprintf("unknown field %q%s: the API server rejects it under strict field validation (kubectl apply's default) or drops it, so it has no effect", u.Key, hint)
}

// Check returns the unknown fields of o, in document order of paths; nil
// for kinds it does not know.
func (c *Checker) Check(o *manifest.Object) []UnknownField {
	k, ok := c.byGroupKind[o.Group()+"/"+o.Kind]
	if !ok {
		return nil
	}
	var out []UnknownField
	walk(k.Schema, o.Content, "", &out)
	return out
}

func walk(s *Schema, v any, path manifest.Path, out *[]UnknownField) {
	switch s.shape {
	case object:
		m, ok := v.(map[string]any)
		if !ok {
			return // a wrong type is another check's business
		}
		for _, key := range slices.Sorted(maps.Keys(m)) {
			p := path.Key(key)
			f, ok := s.fields[key]
			if !ok {
				*out = append(*out, UnknownField{Path: p, Key: key, Suggestion: suggest.Closest(key, s.Fields())})
				continue
			}
			walk(f, m[key], p, out)
		}
	case array:
		items, _ := v.([]any)
		for i, item := range items {
			walk(s.elem, item, path.Index(i), out)
		}
	case mapOf:
		m, _ := v.(map[string]any)
		for _, key := range slices.Sorted(maps.Keys(m)) {
			walk(s.elem, m[key], path.Key(key), out)
		}
	}
}

// KindProblem says what is wrong with an object's kind and apiVersion when
// they look like one of the checked kinds but are not served: the kind's
// case (WASMPlugin), a misspelt group, an unserved version. "" when the
// object is one of them as served, or has nothing to do with them.
func (c *Checker) KindProblem(apiVersion, kind string) string {
	group, version, hasGroup := strings.Cut(apiVersion, "/")
	if !hasGroup {
		group, version = "", apiVersion
	}
	for i := range c.kinds {
		k := &c.kinds[i]
		sameKind := kind == k.Kind
		if !sameKind && !strings.EqualFold(kind, k.Kind) {
			continue
		}
		want := k.Group + "/" + k.latest()
		switch {
		case group != k.Group && suggest.Closest(group, []string{k.Group}) == "":
			continue // another API's kind of the same name
		case !sameKind:
			return fmt.Sprintf("kind %q is not served by %s: kinds are case-sensitive; did you mean %q? The object is ignored", kind, group, k.Kind)
		case group != k.Group:
			return fmt.Sprintf("API group %q is not Istio's; did you mean apiVersion: %s? The object is ignored", group, want)
		case !slices.Contains(k.Versions, version):
			return fmt.Sprintf("%s %s is not served (Istio serves %s: %s); the API server rejects the object", apiVersion, kind, k.Kind, strings.Join(k.Versions, ", "))
		}
		return ""
	}
	return ""
}

// latest is the version to suggest: the first (Versions lists v1 first).
func (k *Kind) latest() string { return k.Versions[0] }
