package yamlw

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Document writes v, a value as encoding/json decodes into any with
// UseNumber (maps, slices, strings, json.Number, bool, nil), as a block
// YAML document: map keys sorted (see keys), sequences indented under
// their key.
// Kubernetes objects pass through JSON to here so that their json tags and
// omitempty rules apply.
func Document(buf *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case map[string]any:
		if len(t) > 0 {
			return mapping(buf, t, 0)
		}
	case []any:
		if len(t) > 0 {
			return sequence(buf, t, 0)
		}
	}
	if err := scalarValue(buf, v); err != nil {
		return err
	}
	buf.WriteByte('\n')
	return nil
}

// value writes v after a key or a dash already on the line: a scalar or an
// empty collection on the same line, any other collection on the next
// lines, indented by indent.
func value(buf *bytes.Buffer, v any, indent int) error {
	switch t := v.(type) {
	case map[string]any:
		if len(t) > 0 {
			buf.WriteByte('\n')
			return mapping(buf, t, indent)
		}
	case []any:
		if len(t) > 0 {
			buf.WriteByte('\n')
			return sequence(buf, t, indent)
		}
	}
	buf.WriteByte(' ')
	if err := scalarValue(buf, v); err != nil {
		return err
	}
	buf.WriteByte('\n')
	return nil
}

// leading are the keys that come first in a mapping, in this order: the
// fields of a Prometheus rule as Prometheus documents them and every rule
// file is written, so that a PrometheusRule's rules read `- record:` or
// `- alert:` first. No other object routebundle writes uses these keys.
var leading = map[string]int{"record": 1, "alert": 1, "expr": 2, "for": 3, "keep_firing_for": 4}

// keys returns m's keys: the leading ones first, then the others sorted.
func keys(m map[string]any) []string {
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, func(a, b string) int {
		ra, rb := leading[a], leading[b]
		switch {
		case ra != rb && ra != 0 && rb != 0:
			return cmp.Compare(ra, rb)
		case ra != rb:
			return cmp.Compare(rb, ra) // the ranked key first
		}
		return cmp.Compare(a, b)
	})
	return ks
}

func mapping(buf *bytes.Buffer, m map[string]any, indent int) error {
	for _, k := range keys(m) {
		pad(buf, indent)
		if err := entry(buf, k, m[k], indent); err != nil {
			return err
		}
	}
	return nil
}

// entry writes `k: v`, the key at column indent.
func entry(buf *bytes.Buffer, k string, v any, indent int) error {
	Scalar(buf, k)
	buf.WriteByte(':')
	return value(buf, v, indent+2)
}

func sequence(buf *bytes.Buffer, s []any, indent int) error {
	for _, item := range s {
		pad(buf, indent)
		buf.WriteByte('-')
		m, isMap := item.(map[string]any)
		if !isMap || len(m) == 0 {
			if err := value(buf, item, indent+2); err != nil {
				return err
			}
			continue
		}
		// A mapping starts on the dash's line; its keys line up after "- ".
		for i, k := range keys(m) {
			if i == 0 {
				buf.WriteByte(' ')
			} else {
				pad(buf, indent+2)
			}
			if err := entry(buf, k, m[k], indent+2); err != nil {
				return err
			}
		}
	}
	return nil
}

func scalarValue(buf *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case string:
		Scalar(buf, t)
	case map[string]any:
		buf.WriteString("{}")
	case []any:
		buf.WriteString("[]")
	case json.Number:
		buf.WriteString(t.String())
	case bool:
		if t {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case nil:
		buf.WriteString("null")
	default:
		return fmt.Errorf("yamlw: cannot write %T", v)
	}
	return nil
}

func pad(buf *bytes.Buffer, n int) {
	for range n {
		buf.WriteByte(' ')
	}
}
