package manifest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/diag"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		input string
		// want lists kind/namespace/name@line of each object.
		want      []string
		wantDiags []string // file:line code substring
	}{
		{
			name: "multi-document with leading marker and comments",
			input: `# comment
---
apiVersion: v1
kind: Namespace
metadata:
  name: a
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
`,
			want: []string{"Namespace/a@3", "Namespace/b@8"},
		},
		{
			name: "malformed document does not hide the next one",
			input: `apiVersion: v1
kind: Namespace
metadata:
  name: a
---
kind: Namespace
metadata:
  name: [b
---
apiVersion: v1
kind: Namespace
metadata:
  name: c
`,
			want:      []string{"Namespace/a@1", "Namespace/c@10"},
			wantDiags: []string{"f.yaml:8: RB001 malformed YAML: line 8: did not find expected ',' or ']'"},
		},
		{
			name: "kind List and typed list",
			input: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: a}
- apiVersion: extensions.istio.io/v1alpha1
  kind: WasmPluginList
  items:
  - apiVersion: extensions.istio.io/v1alpha1
    kind: WasmPlugin
    metadata: {name: w, namespace: ns}
- not an object
`,
			want: []string{"Namespace/a@4", "WasmPlugin/ns/w@10"},
		},
		{
			name:  "json",
			input: "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Namespace\",\n  \"metadata\": {\"name\": \"j\"}\n}\n",
			want:  []string{"Namespace/j@1"},
		},
		{
			name:  "documents without kind, scalars and empty documents are skipped",
			input: "replicas: 3\n---\n---\njust a string\n---\n- a\n- b\n",
		},
		{
			name:      "duplicate key",
			input:     "kind: Namespace\nmetadata:\n  name: a\n  name: b\n",
			wantDiags: []string{"f.yaml:4: RB001 malformed YAML: unmarshal errors: line 4: mapping key \"name\" already defined at line 3"},
		},
		{
			name:      "tabs",
			input:     "kind: Namespace\nmetadata:\n\tname: a\n",
			wantDiags: []string{"f.yaml:3: RB001"},
		},
		{
			name:  "byte order mark and CRLF",
			input: "\xef\xbb\xbfapiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: crlf\r\n---\r\nkind: Namespace\r\nmetadata: {name: two}\r\n",
			want:  []string{"Namespace/crlf@1", "Namespace/two@6"},
		},
		{
			name:  "non-string keys",
			input: "kind: Namespace\nmetadata: {name: a}\n1: one\ntrue: yes\n",
			want:  []string{"Namespace/a@1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, diags := Decode("f.yaml", []byte(tt.input))
			var got []string
			for _, o := range objs {
				got = append(got, o.Ref().String()+"@"+strconv.Itoa(o.Source.Line))
				if o.Source.File != "f.yaml" {
					t.Errorf("object %s has file %q", o.Ref(), o.Source.File)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
			if len(diags) != len(tt.wantDiags) {
				t.Fatalf("diagnostics = %v, want %v", diags, tt.wantDiags)
			}
			for i, d := range diags {
				s := d.Source.String() + ": " + d.Code + " " + d.Message
				if !strings.HasPrefix(s, tt.wantDiags[i]) {
					t.Errorf("diagnostic %d = %q, want prefix %q", i, s, tt.wantDiags[i])
				}
				if d.Severity != diag.Error {
					t.Errorf("diagnostic %d severity = %v", i, d.Severity)
				}
			}
		})
	}
}

func TestFieldSource(t *testing.T) {
	input := `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: w
  annotations:
    routebundle.io/slo: "99.9"
spec:
  pluginConfig:
    attributes:
    - output_attribute: op
      match:
      - value: a
        condition: request.method == 'GET'
      - value: b
        condition: |
          request.method == 'POST' &&
          request.url_path == '/x'
      - value: c
        condition: >
          true
`
	objs, diags := Decode("w.yaml", []byte("---\n"+input))
	if len(diags) != 0 || len(objs) != 1 {
		t.Fatalf("Decode: %v %v", objs, diags)
	}
	o := objs[0]
	match := Path("spec").Key("pluginConfig").Key("attributes").Index(0).Key("match")
	tests := []struct {
		path     Path
		textLine int
		want     int
	}{
		{"", 0, 2},
		{"metadata.name", 0, 5},
		{Path("metadata").Key("annotations").Key("routebundle.io/slo"), 0, 7},
		{match.Index(0).Key("condition"), 0, 14},
		{match.Index(1), 0, 15},
		{match.Index(1).Key("condition"), 0, 16},
		{match.Index(1).Key("condition"), 2, 18},
		{match.Index(2).Key("condition"), 1, 21},
		{match.Index(7).Key("condition"), 0, 12},          // closest ancestor: match
		{"spec.nothing.here", 0, 8},                       // spec
		{"spec.pluginConfig.attributes[zz]", 0, 10},       // malformed index stops the walk
		{`metadata["unterminated`, 0, 4},                  // malformed key
		{Path("metadata").Key("a.b").Key("c"), 0, 4},      // missing quoted key
		{Path("spec").Key("pluginConfig").Index(0), 0, 9}, // index into a mapping
	}
	for _, tt := range tests {
		var got int
		if tt.textLine > 0 {
			got = o.TextSource(tt.path, tt.textLine).Line
		} else {
			got = o.FieldSource(tt.path).Line
		}
		if got != tt.want {
			t.Errorf("line of %q (text line %d) = %d, want %d", tt.path, tt.textLine, got, tt.want)
		}
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		path Path
		want string
	}{
		{Path("").Key("spec").Key("targetRefs").Index(2).Key("name"), "spec.targetRefs[2].name"},
		{Path("metadata").Key("labels").Key("istio.io/use-waypoint"), `metadata.labels["istio.io/use-waypoint"]`},
		{Path("x").Key(""), `x[""]`},
	}
	for _, tt := range tests {
		if tt.path.String() != tt.want {
			t.Errorf("path = %s, want %s", tt.path, tt.want)
		}
	}
}

func TestFromUnstructured(t *testing.T) {
	o := FromUnstructured(map[string]any{
		"apiVersion": "telemetry.istio.io/v1",
		"kind":       "Telemetry",
		"metadata":   map[string]any{"name": "t", "namespace": "ns"},
	})
	if o.Ref().String() != "Telemetry/ns/t" || o.Group() != "telemetry.istio.io" {
		t.Errorf("got %s group %q", o.Ref(), o.Group())
	}
	if src := o.FieldSource("spec.metrics"); src != (diag.Source{}) {
		t.Errorf("API object has source %v", src)
	}
	if src := o.TextSource("spec.metrics", 3); src != (diag.Source{}) {
		t.Errorf("API object has text source %v", src)
	}
}
