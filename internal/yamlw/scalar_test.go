package yamlw

import (
	"bytes"
	"testing"
	"unicode/utf8"

	yaml3 "go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

// FuzzScalar checks that a string written by Scalar reads back unchanged
// with a YAML 1.2 reader (yaml.v3: Prometheus, promtool) and with kubectl's
// YAML 1.1 one (sigs.k8s.io/yaml), which takes y, on and 1_000 for other
// types.
func FuzzScalar(f *testing.F) {
	for _, s := range []string{"", "plain", "yes", "Y", "on", "a: b", "it's", "two\nlines", "tab\there", " lead", "trail ",
		"#x", "- x", "5m", "1h30m", "5", "5e3", "0x10", "1_000", "1:20", "2001-12-14", "x:", "{{ $labels.x }}",
		"\u2028", "\u0085", "\ufeff", "é×", "0.5", "~", "&a", "*a", "!t", "%x", "@x", "`x", "<<", "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip("callers pass valid UTF-8 (label values, JSON-decoded strings)")
		}
		var buf bytes.Buffer
		buf.WriteString("k: ")
		Scalar(&buf, s)
		buf.WriteByte('\n')
		var v3 map[string]string
		if err := yaml3.Unmarshal(buf.Bytes(), &v3); err != nil || v3["k"] != s {
			t.Fatalf("%q written as %s reads back with yaml.v3 as %q (%v)", s, buf.Bytes(), v3["k"], err)
		}
		var k8s map[string]string
		if err := k8syaml.UnmarshalStrict(buf.Bytes(), &k8s); err != nil || k8s["k"] != s {
			t.Fatalf("%q written as %s reads back with sigs.k8s.io/yaml as %q (%v)", s, buf.Bytes(), k8s["k"], err)
		}
	})
}
