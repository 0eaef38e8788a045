package yamlw

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	yaml3 "go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

func TestDocumentLayout(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"X","metadata":{"labels":{"a":"1"},"name":"n"},
		"spec":{"groups":[{"name":"g","rules":[{"expr":"a > 0","for":"5m"}],"empty":{},"none":[]}],"n":[[1,2],[]],"b":true,"z":null}}`
	want := `apiVersion: v1
kind: X
metadata:
  labels:
    a: '1'
  name: 'n'
spec:
  b: true
  groups:
    - empty: {}
      name: g
      none: []
      rules:
        - expr: 'a > 0'
          for: 5m
  'n':
    -
      - 1
      - 2
    - []
  z: null
`
	var buf bytes.Buffer
	if err := Document(&buf, decode(t, in)); err != nil {
		t.Fatal(err)
	}
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// FuzzDocument checks that any JSON document, written as YAML, reads back
// as the same value with yaml.v3 and with kubectl's sigs.k8s.io/yaml.
func FuzzDocument(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `"s"`, `1`, `null`, `{"a":[{"b":[[]],"c":{}},"y",{"":""}]}`,
		`{"on":"yes","n":["1_000","1:20","\u0085"," x","#"],"k: v":{"- a":"b: c"}}`, `[[[1]],{"a":{"b":{"c":[true,false,null]}}}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil || !integersOnly(v) {
			t.Skip("not JSON, or a number YAML 1.1 reads differently (objects hold integers)")
		}
		var buf bytes.Buffer
		if err := Document(&buf, v); err != nil {
			t.Fatal(err)
		}
		want := canonical(t, v)
		var v3 any
		if err := yaml3.Unmarshal(buf.Bytes(), &v3); err != nil || !reflect.DeepEqual(canonical(t, v3), want) {
			t.Fatalf("%s written as\n%s\nreads back with yaml.v3 as %v (%v)", data, buf.Bytes(), v3, err)
		}
		js, err := k8syaml.YAMLToJSON(buf.Bytes())
		if err != nil || !reflect.DeepEqual(canonical(t, decode(t, string(js))), want) {
			t.Fatalf("%s written as\n%s\nreads back with sigs.k8s.io/yaml as %s (%v)", data, buf.Bytes(), js, err)
		}
	})
}

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// canonical passes v through JSON into float64 numbers and string-keyed maps.
func canonical(t *testing.T, v any) any {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(js, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func integersOnly(v any) bool {
	switch t := v.(type) {
	case json.Number:
		_, err := t.Int64()
		return err == nil
	case map[string]any:
		for _, e := range t {
			if !integersOnly(e) {
				return false
			}
		}
	case []any:
		for _, e := range t {
			if !integersOnly(e) {
				return false
			}
		}
	}
	return true
}
