package rules

import (
	"bytes"
	"maps"
	"slices"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/routebundle/routebundle/internal/yamlw"
)

// The plain rule files are written by hand rather than by a YAML library
// (see package yamlw): their shape is fixed. Tests read every file back
// with Prometheus' rule parser and compare it with the typed value.

func writeGroups(buf *bytes.Buffer, groups []rulefmt.RuleGroup) {
	buf.WriteString("groups:\n")
	for _, g := range groups {
		buf.WriteString("  - name: ")
		yamlw.Scalar(buf, g.Name)
		buf.WriteByte('\n')
		if g.Interval != 0 {
			buf.WriteString("    interval: ")
			yamlw.Scalar(buf, g.Interval.String())
			buf.WriteByte('\n')
		}
		buf.WriteString("    rules:\n")
		for _, r := range g.Rules {
			writeRule(buf, r)
		}
	}
}

func writeRule(buf *bytes.Buffer, r rulefmt.Rule) {
	const indent = "        "
	if r.Record != "" {
		buf.WriteString("      - record: ")
		yamlw.Scalar(buf, r.Record)
	} else {
		buf.WriteString("      - alert: ")
		yamlw.Scalar(buf, r.Alert)
	}
	buf.WriteString("\n" + indent + "expr: ")
	yamlw.Scalar(buf, r.Expr)
	buf.WriteByte('\n')
	if r.For != 0 {
		buf.WriteString(indent + "for: ")
		yamlw.Scalar(buf, r.For.String())
		buf.WriteByte('\n')
	}
	writeMap(buf, indent, "labels", r.Labels)
	writeMap(buf, indent, "annotations", r.Annotations)
}

func writeMap(buf *bytes.Buffer, indent, key string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	buf.WriteString(indent + key + ":\n")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		buf.WriteString(indent + "  ")
		yamlw.Scalar(buf, k)
		buf.WriteString(": ")
		yamlw.Scalar(buf, m[k])
		buf.WriteByte('\n')
	}
}
