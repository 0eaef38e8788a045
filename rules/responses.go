package rules

import (
	"slices"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/routebundle/routebundle/internal/pql"
	"github.com/routebundle/routebundle/series"
)

// responsesRule records each route's request rate split by response code,
// which the dashboards' "Response codes by route" panel stacks. It is one
// rule per unit like the others; its series are one per route, workload
// and response code seen, a handful of codes per route in practice.
func responsesRule(u *unit) rulefmt.Rule {
	by := append(slices.Clip(u.by()), series.LabelResponseCode)
	return u.record(series.ResponsesRate5m,
		sumBy(pql.RangeCall("rate", u.raw(series.IstioRequestsTotal), duration(shortWindow)), by...))
}
