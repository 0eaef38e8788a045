package bundle

import (
	"bytes"
	"encoding/json"
	"regexp"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
)

// objectYAML renders a Kubernetes object as YAML through its JSON form, so
// that the API types' json tags and omitempty rules apply. It uses yaml.v3's
// emitter on plain Go values rather than sigs.k8s.io/yaml: the latter writes
// U+0085 (NEL) unescaped, which YAML readers fold into a space. yaml.v3
// escapes it and quotes strings that YAML 1.1 readers (kubectl's) would take
// for booleans or numbers (y, on, 1_000, 1:20). Route values are user input;
// the fuzz test reads every rendering back with kubectl's decoder.
func objectYAML(obj any) ([]byte, error) {
	var b bytes.Buffer
	err := appendObjectYAML(&b, obj)
	return b.Bytes(), err
}

// appendObjectYAML is objectYAML writing to b.
func appendObjectYAML(b *bytes.Buffer, obj any) error {
	js, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber() // keep integers exact; yaml.v3 writes json.Number as a number
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	enc := yaml.NewEncoder(b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

// configMapYAML renders, header first, a ConfigMap holding one file: meta
// is the object without its data, value the content of data[key]. Going
// through objectYAML would copy a dashboard into a string and re-scan every
// character of it twice, which made it most of `generate`'s time at a
// thousand dashboards. Dashboard JSON is plain printable text, so it is
// written as a literal block scalar directly; values that are not safe for
// that take the general path.
func configMapYAML(meta *corev1.ConfigMap, key string, value []byte) ([]byte, error) {
	var b bytes.Buffer
	lines, safe := literalLines(value)
	if !safe || !plainKey.MatchString(key) {
		cm := meta.DeepCopy()
		cm.Data = map[string]string{key: string(value)}
		b.WriteString(Header + "\n")
		err := appendObjectYAML(&b, cm)
		return b.Bytes(), err
	}
	b.Grow(len(Header) + 1 + metaSizeHint + len(key) + len(value) + literalIndent*lines)
	b.WriteString(Header + "\n")
	if err := appendObjectYAML(&b, meta); err != nil {
		return nil, err
	}
	b.WriteString("data:\n")
	writeLiteral(&b, key, value)
	return b.Bytes(), nil
}

// metaSizeHint is room for a ConfigMap's metadata in YAML, to size buffers.
const metaSizeHint = 512

// literalIndent is the indentation of a literal block scalar under data.
const literalIndent = 4

// plainKey is a ConfigMap key that needs no quoting in YAML.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// literalLines reports whether s reads back unchanged from a literal block
// scalar with clip or strip chomping: printable ASCII lines, none of them
// blank (blank and space-only lines interact with indentation and chomping),
// not starting with a space, and at most one final newline. It also returns
// the number of lines.
func literalLines(s []byte) (int, bool) {
	body := bytes.TrimSuffix(s, []byte("\n"))
	if len(body) == 0 || body[0] == ' ' {
		return 0, false
	}
	lines := 1
	lineStart := true
	for _, c := range body {
		switch {
		case c == '\n':
			if lineStart {
				return 0, false
			}
			lineStart = true
			lines++
		case c < 0x20 || c > 0x7e:
			return 0, false
		case c != ' ':
			lineStart = false
		}
	}
	return lines, !lineStart
}

// writeLiteral writes key: value as a literal block scalar; value is
// literalLines-safe.
func writeLiteral(b *bytes.Buffer, key string, value []byte) {
	chomp := "|"
	if !bytes.HasSuffix(value, []byte("\n")) {
		chomp = "|-"
	}
	b.WriteString("  " + key + ": " + chomp + "\n")
	for line := range bytes.SplitSeq(bytes.TrimSuffix(value, []byte("\n")), []byte("\n")) {
		b.WriteString("    ")
		b.Write(line)
		b.WriteByte('\n')
	}
}
