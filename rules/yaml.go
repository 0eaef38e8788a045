package rules

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/rulefmt"
)

// The plain rule files are written by hand rather than by a YAML library:
// their shape is fixed, and a generic encoder spends most of the bundle's
// time on them (10,000 routes make 15 MB of rules). Tests read every file
// back with Prometheus' rule parser and compare it with the typed value, and
// a fuzz test checks the quoting of arbitrary strings.

func writeGroups(buf *bytes.Buffer, groups []rulefmt.RuleGroup) {
	buf.WriteString("groups:\n")
	for _, g := range groups {
		buf.WriteString("  - name: ")
		writeScalar(buf, g.Name)
		buf.WriteByte('\n')
		if g.Interval != 0 {
			buf.WriteString("    interval: ")
			writeScalar(buf, g.Interval.String())
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
		writeScalar(buf, r.Record)
	} else {
		buf.WriteString("      - alert: ")
		writeScalar(buf, r.Alert)
	}
	buf.WriteString("\n" + indent + "expr: ")
	writeScalar(buf, r.Expr)
	buf.WriteByte('\n')
	if r.For != 0 {
		buf.WriteString(indent + "for: ")
		writeScalar(buf, r.For.String())
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
		writeScalar(buf, k)
		buf.WriteString(": ")
		writeScalar(buf, m[k])
		buf.WriteByte('\n')
	}
}

// writeScalar writes s plain when YAML reads it back as the same string,
// single-quoted when it is printable on one line, double-quoted with
// escapes otherwise.
func writeScalar(buf *bytes.Buffer, s string) {
	switch {
	case plainSafe(s):
		buf.WriteString(s)
	case singleQuoteSafe(s):
		buf.WriteByte('\'')
		buf.WriteString(strings.ReplaceAll(s, "'", "''"))
		buf.WriteByte('\'')
	default:
		// Go's escapes (\n, \t, \xNN, \uNNNN, \UNNNNNNNN) are YAML's too.
		buf.WriteString(strconv.Quote(s))
	}
}

// plainSafe accepts identifiers such as route:istio_requests:rate5m or
// RouteErrorRatioHigh: a letter first, then letters, digits and _ : . / -,
// and none of YAML 1.1's boolean or null words.
func plainSafe(s string) bool {
	if isDuration(s) {
		return true
	}
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '/' || c == '-' || c == ':' && i+1 < len(s) && s[i+1] != ' '
		if !ok {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return !strings.HasSuffix(s, ":")
}

// singleQuoteSafe accepts valid UTF-8 of printable characters (spaces
// included), which a single-quoted scalar holds verbatim.
func singleQuoteSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != ' ' && !unicode.IsPrint(r) || r == '\ufeff' {
			return false
		}
	}
	return true
}

// isDuration accepts Prometheus durations (5m, 1h30m), which YAML reads as strings.
func isDuration(s string) bool {
	if s == "" {
		return false
	}
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return false
		}
		s = s[i:]
		unit := ""
		for _, u := range []string{"ms", "s", "m", "h", "d", "w", "y"} {
			if strings.HasPrefix(s, u) {
				unit = u
				break
			}
		}
		if unit == "" {
			return false
		}
		s = s[len(unit):]
	}
	return true
}
