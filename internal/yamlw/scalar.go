// Package yamlw writes YAML by hand for the shapes routebundle renders in
// bulk: rule files and Kubernetes objects. A generic encoder spent most of
// generate's time on them (10,000 routes make 15 MB of rules and a thousand
// objects). Strings are written plain only when every YAML reader,
// kubectl's YAML 1.1 included, reads them back as the same string, and
// quoted otherwise; the fuzz tests read every form back with both.
package yamlw

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Scalar writes s plain when YAML reads it back as the same string,
// single-quoted when it is printable on one line, double-quoted with
// escapes otherwise.
func Scalar(buf *bytes.Buffer, s string) {
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
