package bundle

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestConfigMapYAMLRoundTrips checks the general ConfigMap rendering against
// kubectl's YAML decoder: whatever the data, it must read back unchanged.
// (Dashboards take a literal block when literalLines allows it; see
// TestRenderedObjectsReadBackUnchanged.)
func TestConfigMapYAMLRoundTrips(t *testing.T) {
	for name, value := range map[string]string{
		"dashboard":         "{\n  \"title\": \"a \\\"b\\\" {c} \\\\ d: # e\",\n  \"x\": [\n    1\n  ]\n}\n",
		"no final newline":  "{\n  \"a\": 1\n}",
		"two final newline": "{}\n\n",
		"blank line":        "{\n\n}\n",
		"space line":        "{\n   \n}\n",
		"leading space":     "  {}\n",
		"leading newline":   "\n{}\n",
		"trailing spaces":   "{  \n}  \n",
		"tab":               "{\t}\n",
		"unicode":           "{\"v\": \"GET /caf\u00e9 \u2028 \u0085 \ufeff\"}\n",
		"nel alone":         "a\u0085b",
		"c1 controls":       "\u0080\u009f\ufffe\uffff x",
		"yaml 1.1 bool":     "Y",
		"sexagesimal":       "1:20",
		"underscore int":    "1_000",
		"timestamp":         "2001-12-14",
		"empty":             "",
		"document markers":  "---\n...\n",
		"yaml-looking":      "key: value\n- item\n",
	} {
		t.Run(name, func(t *testing.T) {
			cm := &corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "d", Labels: map[string]string{"grafana_dashboard": "1"}},
			}
			out, err := configMapYAML(cm, "d.json", []byte(value))
			cm.Data = map[string]string{"d.json": value}
			if err != nil {
				t.Fatal(err)
			}
			var back corev1.ConfigMap
			if err := yaml.UnmarshalStrict(out, &back); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !reflect.DeepEqual(back.Data, cm.Data) || !reflect.DeepEqual(back.ObjectMeta, cm.ObjectMeta) || back.TypeMeta != cm.TypeMeta {
				t.Errorf("round trip changed the ConfigMap:\n%s", out)
			}
		})
	}
}

func TestLiteralLines(t *testing.T) {
	for _, tc := range []struct {
		s, prefix string
		want      int // -1: not literal-safe
	}{
		{"{}\n", "", 1}, {"{}", "", 1}, {"a\nb\n", "", 2}, {"a\n b", "", 2},
		{"", "", -1}, {"\n", "", -1}, {" a", "", -1}, {"a\n\nb", "", -1}, {"a\n \nb", "", -1},
		{"a\n\n", "", -1}, {"\u00e9", "", -1}, {"a\tb", "", -1},
		{"    {\n      x\n    }\n", "    ", 3},
		{"    {\n  x\n", "    ", -1},         // a line without the prefix
		{"     {\n", "    ", -1},             // first line starts with a space
		{"    {\n    \n    }\n", "    ", -1}, // blank after the prefix
	} {
		lines, safe := literalLines([]byte(tc.s), tc.prefix)
		if !safe {
			lines = -1
		}
		if lines != tc.want {
			t.Errorf("literalLines(%q, %q) = %d lines, safe %v; want %d", tc.s, tc.prefix, lines, safe, tc.want)
		}
	}
}

// FuzzConfigMapYAML: whatever a dashboard or route value holds, the rendered
// object must read back unchanged with the decoder kubectl uses.
func FuzzConfigMapYAML(f *testing.F) {
	for _, s := range []string{"{}\n", "a\u0085b", "  x\n\n", "\ufeff", "k: v\n- x", "\"\\}\n"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, value, label string) {
		cm := &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: "d", Annotations: map[string]string{"grafana_folder": label}},
		}
		out, err := configMapYAML(cm, "d.json", []byte(value))
		if err != nil {
			t.Fatal(err)
		}
		var back corev1.ConfigMap
		if err := yaml.UnmarshalStrict(out, &back); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		// JSON, like a []rune conversion, turns each invalid byte into U+FFFD.
		if string([]rune(value)) != back.Data["d.json"] || string([]rune(label)) != back.Annotations["grafana_folder"] {
			t.Errorf("round trip changed %q / %q:\n%s", value, label, out)
		}
	})
}
