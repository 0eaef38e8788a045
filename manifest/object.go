// Package manifest reads Kubernetes objects from YAML and JSON files,
// directories, stdin or an fs.FS, keeping the file and line of every object
// and field so that diagnostics can point at them. Objects from the API
// server enter through FromUnstructured and carry no file.
package manifest

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/routebundle/routebundle/diag"
)

// Object is one Kubernetes object. Content is the decoded object: maps with
// string keys, slices, strings, numbers, booleans and nil, as
// encoding/json or yaml produce them.
type Object struct {
	APIVersion string
	Kind       string
	// Namespace and Name are empty when metadata lacks them or has them
	// with the wrong type; the inventory reports that.
	Namespace string
	Name      string
	Content   map[string]any
	// Source is where the object starts; File is empty for objects from the
	// API server.
	Source diag.Source

	// node is the parsed YAML of the object, nil for API server objects. It
	// answers FieldSource without a line table per field.
	node *yaml.Node
	// lineOffset turns node lines (relative to the document) into file lines.
	lineOffset int
}

// FromUnstructured wraps an object read from the API server (for example
// unstructured.Unstructured.Object). It has no file and no lines.
func FromUnstructured(content map[string]any) Object {
	o := Object{Content: content}
	o.APIVersion, _ = content["apiVersion"].(string)
	o.Kind, _ = content["kind"].(string)
	if md, ok := content["metadata"].(map[string]any); ok {
		o.Namespace, _ = md["namespace"].(string)
		o.Name, _ = md["name"].(string)
	}
	return o
}

// Ref names the object for diagnostics.
func (o *Object) Ref() diag.ObjectRef {
	return diag.ObjectRef{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// Group is the API group of APIVersion ("" for the core group).
func (o *Object) Group() string {
	if g, _, ok := strings.Cut(o.APIVersion, "/"); ok {
		return g
	}
	return ""
}

// FieldSource is where the field at path (see Path) was written: the line of
// its key, or of the closest ancestor that exists, or the object's own
// Source. Objects from the API server always answer their Source.
func (o *Object) FieldSource(path Path) diag.Source {
	n, _ := o.lookup(path)
	if n == nil {
		return o.Source
	}
	return o.at(n.Line)
}

// TextSource is where line textLine (1-based) of the string at path was
// written, so that an error inside a multi-line CEL condition points at its
// own line. It falls back to FieldSource when the layout is not known.
func (o *Object) TextSource(path Path, textLine int) diag.Source {
	return o.TextLayout(path).Source(textLine)
}

// TextLayout is where a string value and its lines were written: enough to
// answer TextSource after the object's YAML tree is gone.
type TextLayout struct {
	// field is FieldSource's answer; value the line of the value itself.
	field diag.Source
	value int
	style yaml.Style
	// lines is the number of lines of a literal block.
	lines int
}

// TextLayout returns the layout of the string at path, for TextSource.
func (o *Object) TextLayout(path Path) TextLayout {
	l := TextLayout{field: o.FieldSource(path)}
	n, value := o.lookup(path)
	if n == nil || value == nil {
		return l
	}
	l.value, l.style = value.Line+o.lineOffset, value.Style
	l.lines = strings.Count(strings.TrimRight(value.Value, "\n"), "\n") + 1
	return l
}

// Field is where the field (its key) was written, as FieldSource says.
func (l TextLayout) Field() diag.Source { return l.field }

// Source is where line textLine (1-based) of the string was written.
func (l TextLayout) Source(textLine int) diag.Source {
	if l.value == 0 {
		return l.field
	}
	at := func(line int) diag.Source { return diag.Source{File: l.field.File, Line: line} }
	switch {
	case l.style&yaml.LiteralStyle != 0 && textLine >= 1:
		// A literal block starts on the line after its indicator and keeps
		// every line break. A position at the very end (after the final
		// line break) belongs to the last line.
		return at(l.value + min(textLine, l.lines))
	case l.style&yaml.FoldedStyle != 0:
		return at(l.value + 1)
	}
	return at(l.value)
}

func (o *Object) at(line int) diag.Source {
	return diag.Source{File: o.Source.File, Line: line + o.lineOffset}
}

// lookup walks path down the YAML tree. It returns the node whose line best
// names the field (the key of a mapping entry, the item of a sequence) and the
// value node when the whole path resolved.
func (o *Object) lookup(path Path) (best, value *yaml.Node) {
	if o.node == nil {
		return nil, nil
	}
	cur := o.node
	best = cur
	for _, seg := range path.segments() {
		cur = resolveAlias(cur)
		next, label := child(cur, seg)
		if next == nil {
			return best, nil
		}
		best = label
		cur = next
	}
	return best, resolveAlias(cur)
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	// Aliases can chain; a bound keeps a malicious document from looping.
	for i := 0; i < 16 && n != nil && n.Kind == yaml.AliasNode; i++ {
		n = n.Alias
	}
	return n
}

// child returns the value for seg in n and the node that names it.
func child(n *yaml.Node, seg segment) (value, label *yaml.Node) {
	if n == nil {
		return nil, nil
	}
	switch {
	case n.Kind == yaml.MappingNode && !seg.isIndex:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg.key {
				return n.Content[i+1], n.Content[i]
			}
		}
	case n.Kind == yaml.SequenceNode && seg.isIndex:
		if seg.index >= 0 && seg.index < len(n.Content) {
			return n.Content[seg.index], n.Content[seg.index]
		}
	}
	return nil, nil
}

// Path is a field path into an object, such as
// spec.pluginConfig.attributes[0].match[1].condition or
// metadata.labels["istio.io/use-waypoint"]. Build it with Key and Index so
// that keys with dots or brackets stay unambiguous.
type Path string

// Key appends a mapping key.
func (p Path) Key(k string) Path {
	if isPlainKey(k) {
		if p == "" {
			return Path(k)
		}
		return p + "." + Path(k)
	}
	return p + "[" + Path(strconv.Quote(k)) + "]"
}

// Index appends a sequence index.
func (p Path) Index(i int) Path { return p + "[" + Path(strconv.Itoa(i)) + "]" }

func (p Path) String() string { return string(p) }

func isPlainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r == '.' || r == '[' || r == ']' || r == '"' || r == ' ' {
			return false
		}
	}
	return true
}

type segment struct {
	key     string
	index   int
	isIndex bool
}

// segments parses p; a malformed tail ends the walk early, which only makes
// FieldSource less precise.
func (p Path) segments() []segment {
	s := string(p)
	var out []segment
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
		case '[':
			seg, rest, ok := bracket(s)
			if !ok {
				return out
			}
			out = append(out, seg)
			s = rest
		default:
			end := 0
			for end < len(s) && s[end] != '.' && s[end] != '[' {
				end++
			}
			out = append(out, segment{key: s[:end]})
			s = s[end:]
		}
	}
	return out
}

// bracket parses a leading [N] or ["key"].
func bracket(s string) (segment, string, bool) {
	if len(s) > 1 && s[1] == '"' {
		q, err := strconv.QuotedPrefix(s[1:])
		if err != nil || len(s) < 2+len(q) || s[1+len(q)] != ']' {
			return segment{}, "", false
		}
		k, err := strconv.Unquote(q)
		if err != nil {
			return segment{}, "", false
		}
		return segment{key: k}, s[2+len(q):], true
	}
	end := 1
	for end < len(s) && s[end] != ']' {
		end++
	}
	if end == len(s) {
		return segment{}, "", false
	}
	i, err := strconv.Atoi(s[1:end])
	if err != nil {
		return segment{}, "", false
	}
	return segment{index: i, isIndex: true}, s[end+1:], true
}
