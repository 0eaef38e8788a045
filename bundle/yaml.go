package bundle

import (
	"bytes"
	"encoding/json"
	"regexp"

	corev1 "k8s.io/api/core/v1"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/internal/yamlw"
)

// objectYAML renders a Kubernetes object as YAML through its JSON form, so
// that the API types' json tags and omitempty rules apply. It writes with
// yamlw rather than sigs.k8s.io/yaml, which writes U+0085 (NEL) unescaped
// (YAML readers fold it into a space), or yaml.v3, whose generic emitter
// was a tenth of generate's time at a thousand objects. yamlw quotes
// strings that YAML 1.1 readers (kubectl's) would take for booleans or
// numbers (y, on, 1_000, 1:20). Route values are user input; the fuzz tests
// read every rendering back with kubectl's decoder.
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
	dec.UseNumber() // keep integers exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	return yamlw.Document(b, v)
}

// configMapYAML renders, header first, a ConfigMap holding one file: meta
// is the object without its data, value the content of data[key]. This is
// the general path; dashboardConfigMapYAML writes the usual dashboard as a
// literal block directly.
func configMapYAML(meta *corev1.ConfigMap, key string, value []byte) ([]byte, error) {
	cm := meta.DeepCopy()
	cm.Data = map[string]string{key: string(value)}
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	err := appendObjectYAML(&b, cm)
	return b.Bytes(), err
}

// dashboardConfigMapYAML is configMapYAML for a dashboard, key d.FileName,
// appended to dst. Going through objectYAML would copy the dashboard into a
// string and re-scan every character of it twice, which made it most of
// `generate`'s time at a thousand dashboards. Dashboard JSON is plain
// printable text, so it is indented straight into a literal block scalar;
// JSON that is not safe for that (non-ASCII route values) takes the
// general path.
func dashboardConfigMapYAML(enc *dashboards.Encoder, dst []byte, meta *corev1.ConfigMap, d dashboards.Dashboard) ([]byte, error) {
	if !plainKey.MatchString(d.FileName) {
		return generalDashboardConfigMapYAML(meta, d)
	}
	b := bytes.NewBuffer(dst)
	b.WriteString(Header + "\n")
	if err := appendObjectYAML(b, meta); err != nil {
		return nil, err
	}
	// Clip chomping (|) keeps the one final newline the JSON ends with.
	b.WriteString("data:\n  " + d.FileName + ": |\n")
	out := b.Bytes()
	start := len(out)
	out, err := enc.AppendJSON(out, d, literalIndent)
	if err != nil {
		return nil, err
	}
	lines, safe := literalLines(out[start:], literalIndent)
	if !safe {
		return generalDashboardConfigMapYAML(meta, d)
	}
	if err := d.FitsConfigMap(len(out) - start - len(literalIndent)*lines); err != nil {
		return nil, err
	}
	return out, nil
}

func generalDashboardConfigMapYAML(meta *corev1.ConfigMap, d dashboards.Dashboard) ([]byte, error) {
	data, err := d.ConfigMapJSON()
	if err != nil {
		return nil, err
	}
	return configMapYAML(meta, d.FileName, data)
}

// literalIndent indents a literal block scalar under data.
const literalIndent = "    "

// plainKey is a ConfigMap key that needs no quoting in YAML.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// literalLines reports whether s, every line of it preceded by prefix, reads
// back unchanged (prefixes removed) from a literal block scalar indented by
// prefix, with clip or strip chomping: printable ASCII lines, none of them
// blank (blank and space-only lines interact with indentation and chomping),
// the first not starting with a space, and at most one final newline. It
// also returns the number of lines.
func literalLines(s []byte, prefix string) (int, bool) {
	body := bytes.TrimSuffix(s, []byte("\n"))
	if len(body) == 0 {
		return 0, false
	}
	lines := 0
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		content, ok := bytes.CutPrefix(line, []byte(prefix))
		if !ok || !printableNonBlank(content) || lines == 0 && content[0] == ' ' {
			return 0, false
		}
		lines++
	}
	return lines, true
}

// printableNonBlank reports whether line is printable ASCII with at least
// one character that is not a space.
func printableNonBlank(line []byte) bool {
	blank := true
	for _, c := range line {
		if c < 0x20 || c > 0x7e {
			return false
		}
		if c != ' ' {
			blank = false
		}
	}
	return !blank
}
