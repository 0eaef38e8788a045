// Package pql builds PromQL expressions as syntax trees and prints them with
// the parser's own printer, so that label values (route values are user
// input) are always quoted the way the lexer reads them back and operator
// precedence is explicit. The exporter and `bundlegen routes` build every
// query with it; none is assembled by string concatenation.
package pql

import (
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Eq matches name="value".
func Eq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

// Neq matches name!="value".
func Neq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchNotEqual, name, value)
}

// Re matches name=~"pattern". The pattern must compile (the callers build it
// from constants or with OneOf); a bad one panics, as regexp.MustCompile.
func Re(name, pattern string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchRegexp, name, pattern)
}

// OneOf is a regular expression matching exactly the given literal values.
func OneOf(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}

// Vector selects metric name (empty: any name) with matchers, which are
// copied so that callers may share a slice.
func Vector(name string, ms ...*labels.Matcher) *parser.VectorSelector {
	all := make([]*labels.Matcher, 0, len(ms)+1)
	if name != "" {
		all = append(all, Eq(labels.MetricName, name))
	}
	all = append(all, ms...)
	return &parser.VectorSelector{Name: name, LabelMatchers: all}
}

// Offset returns a copy of v shifted back by d.
func Offset(v *parser.VectorSelector, d time.Duration) *parser.VectorSelector {
	c := *v
	c.OriginalOffset = d
	return &c
}

// Call applies function fn.
func Call(fn string, args ...parser.Expr) *parser.Call {
	return &parser.Call{Func: parser.MustGetFunction(fn), Args: args}
}

// RangeCall applies a range-vector function (rate, increase) to v over w.
func RangeCall(fn string, v *parser.VectorSelector, w time.Duration) *parser.Call {
	return Call(fn, &parser.MatrixSelector{VectorSelector: v, Range: w})
}

// Aggregate applies op (parser.SUM, parser.COUNT, parser.GROUP, ...) by the labels.
func Aggregate(op parser.ItemType, e parser.Expr, by ...string) *parser.AggregateExpr {
	if by == nil {
		by = []string{}
	}
	return &parser.AggregateExpr{Op: op, Expr: e, Grouping: by}
}

// Number is a scalar literal.
func Number(v float64) *parser.NumberLiteral { return &parser.NumberLiteral{Val: v} }

// Str is a string literal (label_replace arguments).
func Str(s string) *parser.StringLiteral { return &parser.StringLiteral{Val: s} }

// paren wraps binary operands so that the printed expression means what the
// tree means whatever the operator precedence.
func paren(e parser.Expr) parser.Expr {
	if _, ok := e.(*parser.BinaryExpr); ok {
		return &parser.ParenExpr{Expr: e}
	}
	return e
}

// Binary joins two vectors with op, matching on the given labels (all labels
// when on is empty).
func Binary(op parser.ItemType, lhs, rhs parser.Expr, on ...string) *parser.BinaryExpr {
	card := parser.CardOneToOne
	if op.IsSetOperator() {
		card = parser.CardManyToMany
	}
	return &parser.BinaryExpr{
		Op: op, LHS: paren(lhs), RHS: paren(rhs),
		VectorMatching: &parser.VectorMatching{Card: card, MatchingLabels: on, On: len(on) > 0},
	}
}

// Compare filters a vector by a scalar (vector > 0).
func Compare(op parser.ItemType, lhs parser.Expr, v float64) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: op, LHS: paren(lhs), RHS: Number(v)}
}

// Scale multiplies a vector by a scalar (0 * vector).
func Scale(factor float64, e parser.Expr) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: parser.MUL, LHS: Number(factor), RHS: paren(e)}
}
