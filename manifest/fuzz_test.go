package manifest

import (
	"bytes"
	"io/fs"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/routebundle/routebundle/examples"
)

// FuzzDecode feeds arbitrary bytes to the reader: it must never panic, every
// object must have a kind, and every line it reports must lie in the input.
func FuzzDecode(f *testing.F) {
	_ = fs.WalkDir(examples.Podinfo(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, rerr := fs.ReadFile(examples.Podinfo(), p); rerr == nil {
				f.Add(data)
			}
		}
		return nil
	})
	for _, s := range []string{
		"kind: List\nitems:\n- kind: A\n  metadata: {name: a}\n- 3\n",
		"a: &x [*x]\n",
		"kind: X\n---\n: [\n---\nkind: Y\n",
		"{\"kind\": \"Namespace\", \"metadata\": {\"name\": 1}}",
		"kind: XList\nitems: &i [{kind: XList, items: *i}]\n",
		"\xef\xbb\xbf---\r\nkind: A\r\n...\r\nkind: B\r\n",
		"kind: A\nmetadata:\n  labels: {1: 2, ? [a]: b}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// YAML breaks lines at \n, \r\n and a lone \r.
		lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n"))
		objs, diags := Decode("fuzz.yaml", data)
		for _, o := range objs {
			if o.Kind == "" {
				t.Errorf("object without kind: %+v", o)
			}
			checkLine(t, o.Source.Line, lines)
			checkLine(t, o.FieldSource("metadata.name").Line, lines)
			checkLine(t, o.TextSource("spec.x[0].condition", 3).Line, lines+3)
		}
		for _, d := range diags {
			if d.Source.File != "fuzz.yaml" || d.Code == "" || d.Message == "" {
				t.Errorf("incomplete diagnostic %+v", d)
			}
			checkLine(t, d.Source.Line, lines+1)
		}
	})
}

func checkLine(t *testing.T, line, max int) {
	t.Helper()
	if line < 0 || line > max {
		t.Errorf("line %d outside the input (%d lines)", line, max)
	}
}

// FuzzPlainValue checks that plainValue, when it takes a document, makes of
// it what Node.Decode and normalize make.
func FuzzPlainValue(f *testing.F) {
	for _, s := range []string{
		"kind: A\nmetadata: {name: a, labels: {x: 'y', n: 1, f: 1.5, b: true, z: ~, t: 2001-12-14}}\n",
		"a: [1, '2', \"3\", null, [], {}, {b: [c]}]\n", "a: !!binary aGk=\n", "a: !!str 1\n", "a: !x y\n",
		"a: 1\na: 2\n", "<<: {a: 1}\nb: 2\n", "a: &x [1]\nb: *x\n", "? [a]\n: b\n", "1: a\n", "on: off\n",
		"a: 0x10\nb: 1_000\nc: .inf\nd: -.5e3\ne: 0o17\n", "a: |\n  text\n", "'': x\n", "a: !!int '12'\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var root yaml.Node
		if yaml.Unmarshal([]byte(doc), &root) != nil || len(root.Content) == 0 {
			return
		}
		n := root.Content[0]
		fast, ok := plainValue(n, 0)
		if !ok {
			return
		}
		var slow any
		if err := n.Decode(&slow); err != nil {
			t.Fatalf("%q: plainValue took a document Node.Decode rejects: %v", doc, err)
		}
		if slow = normalize(slow, 0); !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: plainValue %#v, Node.Decode %#v", doc, fast, slow)
		}
	})
}
