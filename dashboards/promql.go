package dashboards

import (
	"regexp"
	"strconv"
	"strings"
)

// Queries are PromQL text with Grafana template variables in it. Two kinds of
// values end up inside label matchers and are escaped differently:
//   - literal values (namespaces, route values of SLO groups) are PromQL
//     string literals built by lit, safe from Grafana's interpolation;
//   - variable references ("$workload", `${route:regex}`) are left for Grafana
//     to substitute, in the quoting that matches the format Grafana applies.

// lit renders s as a PromQL double-quoted string literal (strconv.Quote's
// escapes are a subset of PromQL's) that Grafana's template interpolation
// leaves alone: '$' and '[' are written as \x24 and \x5b, so that no $var,
// ${var} or [[var]] appears in the query text even when a route value
// contains one.
func lit(s string) string {
	q := strconv.Quote(s)
	if !strings.ContainsAny(q, "$[") {
		return q
	}
	return strings.NewReplacer("$", `\x24`, "[", `\x5b`).Replace(q)
}

// literalRegex returns a regex matching exactly the given values (Prometheus
// anchors label regexes at both ends).
func literalRegex(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}

// matcher is one rendered label matcher, e.g. destination_workload=~"$workload".
type matcher string

func eqLit(label, value string) matcher { return matcher(label + "=" + lit(value)) }
func neLit(label, value string) matcher { return matcher(label + "!=" + lit(value)) }

// reLit matches any of the literal values.
func reLit(label string, values []string) matcher {
	return matcher(label + "=~" + lit(literalRegex(values)))
}

// reVar matches a template variable that Grafana substitutes with its
// Prometheus escaping: single values have \ escaped, multi-value and All
// selections become a regex alternation with metacharacters escaped for a
// double-quoted string. Right for names that are Kubernetes names.
func reVar(label, variable string) matcher { return matcher(label + `=~"$` + variable + `"`) }

// routeMatcher matches the route template variable on the tag label.
// Grafana's default Prometheus escaping does not escape '"' (unless a
// feature toggle is on) nor newlines, so route values containing them would
// break a double-quoted matcher. The regex format inside a raw string has no
// such gap: Grafana escapes the regex metacharacters and PromQL takes the
// raw string as is. Only a backtick cannot be written in a raw string; for
// route sets with such a value the double-quoted form is the lesser evil,
// and safe reports false so that the caller can warn about the values
// Grafana cannot select.
func routeMatcher(label string, values []string) (m matcher, safe bool) {
	if !containsAny(values, "`") {
		return matcher(label + "=~`${" + VarRoute + ":regex}`"), true
	}
	return reVar(label, VarRoute), !containsAny(values, "\"\n")
}

func containsAny(values []string, chars string) bool {
	for _, v := range values {
		if strings.ContainsAny(v, chars) {
			return true
		}
	}
	return false
}

// sel renders a vector selector.
func sel(metric string, ms ...matcher) string {
	var b strings.Builder
	b.WriteString(metric)
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(m))
	}
	b.WriteByte('}')
	return b.String()
}

// sumBy renders sum by (labels) (expr); no labels gives sum(expr).
func sumBy(expr string, labels ...string) string {
	if len(labels) == 0 {
		return "sum(" + expr + ")"
	}
	return "sum by (" + strings.Join(labels, ", ") + ") (" + expr + ")"
}

// legend renders a Grafana legend format naming the labels.
func legend(labels ...string) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = "{{" + l + "}}"
	}
	return strings.Join(parts, " ")
}

// labelName matches the label names PromQL takes without quoting; the route
// tag becomes a label name in queries, so anything else is refused.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
