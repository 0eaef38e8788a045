package bundle

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/routebundle/routebundle/internal/suggest"
	"github.com/routebundle/routebundle/policy"
)

// A ConfigError is one problem of a bundle config file, in the user's
// words: the key's dotted path as written in the file (alerts.objective)
// and its line, never a Go type.
type ConfigError struct {
	File string
	// Line is 0 when the key was not written (a default, or a value spread
	// from the top-level release).
	Line int
	Path string
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s: %s", e.File, e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Path, e.Msg)
}

// configDecoder reads a YAML node tree onto a Config strictly: every key
// must be a field (by its yaml tag), every value of the field's kind.
type configDecoder struct {
	file string
	// lines holds the line of every key written, by dotted path.
	lines map[string]int
	errs  []error
	// visits counts the nodes decoded: aliases can make a small file a
	// huge tree ("billion laughs"), which a config never needs.
	visits int
}

// maxVisits bounds the nodes one config file may expand to.
const maxVisits = 100_000

func (d *configDecoder) fail(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &ConfigError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Types decoded by their own rules.
var (
	policyType   = reflect.TypeFor[policy.Policy]()
	durationType = reflect.TypeFor[model.Duration]()
	unmarshaler  = reflect.TypeFor[yaml.Unmarshaler]()
)

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 16 && n != nil && n.Kind == yaml.AliasNode; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// decode sets v from n; path names v in messages ("" for the whole file).
func (d *configDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if n == nil || isNull(n) {
		return // an empty section keeps its defaults
	}
	if d.visits++; d.visits > maxVisits {
		if d.visits == maxVisits+1 {
			d.fail(n.Line, path, "the file expands to more than %d values (aliases?); a bundle config is far smaller", maxVisits)
		}
		return
	}
	switch {
	case v.Type() == durationType:
		d.duration(n, v, path)
		return
	case reflect.PointerTo(v.Type()).Implements(unmarshaler):
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n.Line, path, "%s", stripLine(err.Error()))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			b, err := strconv.ParseBool(s)
			if err != nil || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				d.fail(n.Line, path, "want true or false, got %q", s)
				return
			}
			v.SetBool(b)
		}
	case reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				d.fail(n.Line, path, "want a number, got %q", s)
				return
			}
			v.SetFloat(f)
		}
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.Map:
		d.stringMap(n, v, path)
	default:
		d.fail(n.Line, path, "cannot be set in a config file")
	}
}

// scalar returns n's value when it is a scalar.
func (d *configDecoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, path, "want %s, got %s", want, nodeKind(n))
		return "", false
	}
	return n.Value, true
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (d *configDecoder) duration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a duration like 5m")
	if !ok {
		return
	}
	dur, err := model.ParseDuration(s)
	if err != nil {
		d.fail(n.Line, path, "want a duration like 5m or 1h30m, got %q", s)
		return
	}
	v.Set(reflect.ValueOf(dur))
}

// keys walks a mapping's entries, reporting duplicates and non-string keys.
func (d *configDecoder) keys(n *yaml.Node, path string, each func(key string, line int, val *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "want a mapping, got %s", nodeKind(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		kp := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "a key must be a string")
			continue
		}
		if seen[k.Value] {
			d.fail(k.Line, kp, "given twice")
			continue
		}
		seen[k.Value] = true
		d.lines[kp] = k.Line
		each(k.Value, k.Line, n.Content[i+1])
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping decodes a struct: every key must name a field.
func (d *configDecoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	fields := yamlFields(v.Type())
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	d.keys(n, path, func(key string, line int, val *yaml.Node) {
		kp := join(path, key)
		i, ok := fields[key]
		if !ok {
			msg := fmt.Sprintf("unknown key (known: %s)", strings.Join(names, ", "))
			if s := suggest.Closest(key, names); s != "" {
				msg = fmt.Sprintf("unknown key; did you mean %s?", s)
			}
			d.fail(line, kp, "%s", msg)
			return
		}
		if v.Type() == policyType && key != "alerts" {
			d.setting(val, v.Addr().Interface().(*policy.Policy), key, kp)
			return
		}
		d.decode(val, v.Field(i), kp)
	})
}

// setting sets one alerting default as the annotations parse it, so that
// "99.9%" and "300ms" mean the same in both places.
func (d *configDecoder) setting(n *yaml.Node, p *policy.Policy, key, path string) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	s, ok := d.scalar(n, path, "a value")
	if !ok {
		return
	}
	if _, err := p.Set(key, s); err != nil {
		d.fail(n.Line, path, "%v", err)
	}
}

// yamlFields maps the yaml names of t's fields to their index.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = i
	}
	return out
}

func (d *configDecoder) list(n *yaml.Node, v reflect.Value, path string) {
	if v.Type().Elem().Kind() != reflect.String {
		d.fail(n.Line, path, "cannot be set in a config file")
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "want a list of strings, got %s", nodeKind(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		item = resolve(item)
		ip := fmt.Sprintf("%s[%d]", path, i)
		d.lines[ip] = item.Line
		if s, ok := d.scalar(item, ip, "a string"); ok {
			out = reflect.Append(out, reflect.ValueOf(s).Convert(v.Type().Elem()))
		}
	}
	v.Set(out)
}

func (d *configDecoder) stringMap(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
		d.fail(n.Line, path, "cannot be set in a config file")
		return
	}
	m := reflect.MakeMap(t)
	d.keys(n, path, func(key string, _ int, val *yaml.Node) {
		if s, ok := d.scalar(resolve(val), join(path, key), "a string"); ok {
			m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), reflect.ValueOf(s).Convert(t.Elem()))
		}
	})
	v.Set(m)
}

// stripLine drops the "line N: " that yaml and Unmarshalers put first: the
// ConfigError carries the line.
func stripLine(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			return after
		}
	}
	return msg
}

// line returns the line of the key at path, or of its closest written
// ancestor (a problem with labels.x is on the labels key if x was never
// written), or 0.
func (d *configDecoder) line(path string) int {
	for p := path; p != ""; {
		if l, ok := d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// leafErrors flattens errors.Join trees.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// errorsAt turns a section validator's errors ("key: problem", each one
// its own error in an errors.Join) into ConfigErrors at the keys' lines.
func (d *configDecoder) errorsAt(section string, err error) {
	for _, e := range leafErrors(err) {
		key, msg, ok := strings.Cut(e.Error(), ": ")
		if !ok || strings.ContainsAny(key, " \"") {
			key, msg = "", e.Error()
		}
		path := join(section, key)
		if key == "" {
			path = section
		}
		d.errs = append(d.errs, &ConfigError{File: d.file, Line: d.line(path), Path: path, Msg: msg})
	}
}

func (d *configDecoder) err() error { return errors.Join(d.errs...) }
