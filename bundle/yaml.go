package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

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
	js, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber() // keep integers exact; yaml.v3 writes json.Number as a number
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// configMapYAML renders a dashboard ConfigMap. objectYAML goes through JSON
// and re-scans every character of the embedded dashboards twice, which made
// it most of `generate`'s time at a thousand dashboards;
// dashboard JSON is plain printable text, so it is written as literal block
// scalars directly. Values that are not safe for that take the general path.
func configMapYAML(cm *corev1.ConfigMap) ([]byte, error) {
	keys := make([]string, 0, len(cm.Data))
	for k, v := range cm.Data {
		if !plainKey.MatchString(k) || !literalSafe(v) {
			return objectYAML(cm)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	meta := cm.DeepCopy()
	meta.Data = nil
	head, err := objectYAML(meta)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(head) + 16 + dataSize(cm.Data))
	b.Write(head)
	if len(keys) > 0 {
		b.WriteString("data:\n")
	}
	for _, k := range keys {
		writeLiteral(&b, k, cm.Data[k])
	}
	return b.Bytes(), nil
}

// plainKey is a ConfigMap key that needs no quoting in YAML.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// literalSafe reports whether s reads back unchanged from a literal block
// scalar with clip or strip chomping: printable ASCII lines, none of them
// blank (blank and space-only lines interact with indentation and chomping),
// not starting with a space, and at most one final newline.
func literalSafe(s string) bool {
	body := strings.TrimSuffix(s, "\n")
	if body == "" || body[0] == ' ' {
		return false
	}
	lineStart := true
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\n':
			if lineStart {
				return false
			}
			lineStart = true
		case c < 0x20 || c > 0x7e:
			return false
		case c != ' ':
			lineStart = false
		}
	}
	return !lineStart
}

func writeLiteral(b *bytes.Buffer, key, value string) {
	chomp := "|"
	if !strings.HasSuffix(value, "\n") {
		chomp = "|-"
	}
	fmt.Fprintf(b, "  %s: %s\n", key, chomp)
	for line := range strings.SplitSeq(strings.TrimSuffix(value, "\n"), "\n") {
		b.WriteString("    ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

func dataSize(data map[string]string) int {
	n := 0
	for _, v := range data {
		n += len(v) + len(v)/8 // indentation
	}
	return n
}
