package manifest

import (
	"bytes"
	"io/fs"
	"testing"

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
