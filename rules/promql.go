package rules

import (
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Expressions are built as PromQL syntax trees and printed by the parser's
// own printer, so label values (route values are user input) are always
// quoted the way the lexer reads them back, and operator precedence is made
// explicit with parentheses. Tests parse every printed expression again.

func eq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

func neq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchNotEqual, name, value)
}

// vector selects metric name with matchers; the matchers are copied so
// that callers may share a slice.
func vector(name string, ms ...*labels.Matcher) *parser.VectorSelector {
	all := make([]*labels.Matcher, 0, len(ms)+1)
	all = append(all, eq(labels.MetricName, name))
	all = append(all, ms...)
	return &parser.VectorSelector{Name: name, LabelMatchers: all}
}

func call(fn string, args ...parser.Expr) *parser.Call {
	return &parser.Call{Func: parser.MustGetFunction(fn), Args: args}
}

// rangeCall applies a range-vector function (rate, avg_over_time) to v over w.
func rangeCall(fn string, v *parser.VectorSelector, w time.Duration) *parser.Call {
	return call(fn, &parser.MatrixSelector{VectorSelector: v, Range: w})
}

func sumBy(e parser.Expr, by ...string) *parser.AggregateExpr {
	return &parser.AggregateExpr{Op: parser.SUM, Expr: e, Grouping: by}
}

func number(v float64) *parser.NumberLiteral { return &parser.NumberLiteral{Val: v} }

// round12 trims the noise of float arithmetic (1-0.999 = 0.0010000000000000009)
// from thresholds so that the rule files read as intended.
func round12(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// paren wraps binary operands so that the printed expression means what the
// tree means whatever the operator precedence.
func paren(e parser.Expr) parser.Expr {
	if _, ok := e.(*parser.BinaryExpr); ok {
		return &parser.ParenExpr{Expr: e}
	}
	return e
}

// binary joins two vectors with op, matching on the given labels (all
// labels when on is empty).
func binary(op parser.ItemType, lhs, rhs parser.Expr, on ...string) *parser.BinaryExpr {
	card := parser.CardOneToOne
	if op.IsSetOperator() {
		card = parser.CardManyToMany
	}
	return &parser.BinaryExpr{
		Op: op, LHS: paren(lhs), RHS: paren(rhs),
		VectorMatching: &parser.VectorMatching{Card: card, MatchingLabels: on, On: len(on) > 0},
	}
}

// compare filters a vector by a scalar threshold (vector > 0.05).
func compare(op parser.ItemType, lhs parser.Expr, threshold float64) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: op, LHS: paren(lhs), RHS: number(round12(threshold))}
}

// scale multiplies a vector by a scalar (0 * vector).
func scale(factor float64, e parser.Expr) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: parser.MUL, LHS: number(factor), RHS: paren(e)}
}

// and returns lhs where rhs has a series with the same on labels; a nil rhs
// leaves lhs alone, so optional gates compose.
func and(lhs, rhs parser.Expr, on ...string) parser.Expr {
	if rhs == nil {
		return lhs
	}
	return binary(parser.LAND, lhs, rhs, on...)
}

func or(lhs, rhs parser.Expr, on ...string) parser.Expr {
	return binary(parser.LOR, lhs, rhs, on...)
}
