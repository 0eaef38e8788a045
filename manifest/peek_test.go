package manifest

import (
	"strings"
	"testing"
)

func TestPeekKind(t *testing.T) {
	for _, tc := range []struct {
		doc              string
		apiVersion, kind string
		ok               bool
	}{
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "v1", "ConfigMap", true},
		{"---\n# c\nkind: ConfigMap # the kind\napiVersion: \"v1\"\n", "v1", "ConfigMap", true},
		{"--- # marker comment\nkind: 'Config''Map'\n", "", "Config'Map", true},
		{"kind: ConfigMap\r\ndata:\r\n  a: |\r\n    kind: WasmPlugin\r\n", "", "ConfigMap", true},
		{"kind: ConfigMap\ndata: {a: \"}\", b: [1, 2]}\nother: [x] # c\n", "", "ConfigMap", true},
		{"\"kind\": ConfigMap\n", "", "ConfigMap", true},
		// Not certain: the parser decides.
		{"kind: ConfigMap\ndescription: \"two\nkind: WasmPlugin\"\n", "", "", false},
		{"kind: ConfigMap\ndescription: 'two\nkind: WasmPlugin'\n", "", "", false},
		{"kind: ConfigMap\nd: {a: 1,\nkind: WasmPlugin}\n", "", "", false},
		{"kind: ConfigMap\nd: [a,\nkind]\n", "", "", false},
		{"kind: ConfigMap\nkind: WasmPlugin\n", "", "", false},
		{"kind: &k ConfigMap\n", "", "", false},
		{"kind: !!str ConfigMap\n", "", "", false},
		{"kind: \"Config\\u004dap\"\n", "", "", false},
		{"? kind\n: ConfigMap\n", "", "", false},
		{"{\"kind\": \"ConfigMap\"}\n", "", "", false},
		{"  kind: ConfigMap\n", "", "", false},
		{"--- !!map\nkind: ConfigMap\n", "", "", false},
		{"kind: ConfigMap\n...\nkind: WasmPlugin\n", "", "", false},
		{"%YAML 1.2\n---\nkind: ConfigMap\n", "", "", false},
		{"metadata: {name: x}\n", "", "", false},
		{"- kind: ConfigMap\n", "", "", false},
	} {
		av, k, ok := peekKind([]byte(tc.doc))
		if ok != tc.ok || ok && (av != tc.apiVersion || k != tc.kind) {
			t.Errorf("%q: peekKind = %q, %q, %v; want %q, %q, %v", tc.doc, av, k, ok, tc.apiVersion, tc.kind, tc.ok)
		}
	}
}

// TestKeepSkipsUnparsed: documents of other kinds are skipped, and so are
// their syntax errors; the kept ones, Lists and documents peekKind cannot
// read are parsed.
func TestKeepSkipsUnparsed(t *testing.T) {
	data := `apiVersion: v1
kind: ConfigMap
data:
  broken: [unclosed
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: a}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Secret, metadata: {name: s}}
---
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}
`
	keep := func(_, kind string) bool { return kind == "WasmPlugin" }
	objs, diags, skipped := Options{Keep: keep}.decode("in.yaml", []byte(data))
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.Kind)
	}
	if got := strings.Join(kinds, ","); got != "WasmPlugin,Secret,Service" || skipped != 1 || len(diags) != 0 {
		t.Errorf("kinds %s, skipped %d, diagnostics %v", got, skipped, diags)
	}
	if objs[0].Source.Line != 6 {
		t.Errorf("WasmPlugin at line %d, want 6", objs[0].Source.Line)
	}
	// Without a filter the broken ConfigMap is reported.
	if _, diags := Decode("in.yaml", []byte(data)); len(diags) != 1 {
		t.Errorf("unfiltered: %v", diags)
	}
}

// FuzzPeekKind: whenever peekKind is sure, the parser agrees.
func FuzzPeekKind(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: ConfigMap\n",
		"kind: ConfigMap\ndescription: \"two\nkind: WasmPlugin\"\n",
		"kind: 'a''b'\nx: {a: [1, \"]\"]}\n",
		"kind: A # c\nkind2: |\n  kind: B\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		av, kind, ok := peekKind([]byte(doc))
		if !ok || len(splitDocuments([]byte(doc))) != 1 {
			return
		}
		objs, diags := Decode("f.yaml", []byte(doc))
		if len(diags) > 0 {
			return // a syntax error; skipping the document hides it, as documented
		}
		if strings.HasSuffix(kind, "List") {
			return // flattened into its items
		}
		// A value YAML reads as a number or boolean is no kind at all, and
		// neither is one that a plain scalar's indented next line continues
		// ("Config\n  Map" is "Config Map"): the object is ignored whether
		// it is skipped or parsed.
		agree := func(parsed, peeked string) bool {
			return parsed == peeked || parsed == "" || strings.ContainsAny(parsed, " \t\n")
		}
		if len(objs) > 1 || len(objs) == 1 && (!agree(objs[0].Kind, kind) || !agree(objs[0].APIVersion, av)) {
			var got []string
			for _, o := range objs {
				got = append(got, o.APIVersion+" "+o.Kind)
			}
			t.Fatalf("%q: peekKind says %q %q, the parser %q", doc, av, kind, got)
		}
	})
}
