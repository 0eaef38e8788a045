package rules

import (
	"strconv"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/internal/pql"
)

// Expressions are built as PromQL syntax trees with package pql and printed
// by the parser's own printer, so label values (route values are user
// input) are always quoted the way the lexer reads them back, and operator
// precedence is made explicit with parentheses. Tests parse every printed
// expression again. The helpers here are the rules' own conventions on top.

func sumBy(e parser.Expr, by ...string) *parser.AggregateExpr {
	return pql.Aggregate(parser.SUM, e, by...)
}

// round12 trims the noise of float arithmetic (1-0.999 = 0.0010000000000000009)
// from thresholds so that the rule files read as intended.
func round12(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// compare filters a vector by a scalar threshold (vector > 0.05).
func compare(op parser.ItemType, lhs parser.Expr, threshold float64) *parser.BinaryExpr {
	return pql.Compare(op, lhs, round12(threshold))
}

// and returns lhs where rhs has a series with the same on labels; a nil rhs
// leaves lhs alone, so optional gates compose.
func and(lhs, rhs parser.Expr, on ...string) parser.Expr {
	if rhs == nil {
		return lhs
	}
	return pql.Binary(parser.LAND, lhs, rhs, on...)
}

func or(lhs, rhs parser.Expr, on ...string) parser.Expr {
	return pql.Binary(parser.LOR, lhs, rhs, on...)
}
