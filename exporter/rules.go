package exporter

import (
	"cmp"
	"slices"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/series"
)

// ruleGroup is the health of one rule group routebundle generated.
type ruleGroup struct {
	name string
	// rules by health (ok, err, unknown).
	health         map[string]int
	lastEvaluation time.Time
	// errors are the distinct (rule, error) pairs of failing rules.
	errors []ruleError
}

type ruleError struct{ rule, err string }

// maxErrorLen bounds an error message exported as a label value.
const maxErrorLen = 200

// generatedGroups picks routebundle's groups out of every group Prometheus
// (or a Thanos/Mimir ruler) evaluates: those with a recording rule labelled
// with route_tag, or an alert of routebundle's. It reads the rules'
// content rather than the group names, which depend on the bundle options
// and on how the prometheus-operator names files.
func generatedGroups(res promv1.RulesResult) []ruleGroup {
	alerts := map[string]bool{}
	for _, a := range []string{series.AlertRouteErrorRatioHigh, series.AlertRouteLatencyP99High,
		series.AlertRouteErrorBudgetBurn, series.AlertRouteErrorBudgetTicket, series.AlertWorkloadUnknownRoutes} {
		alerts[a] = true
	}
	var out []ruleGroup
	for _, g := range res.Groups {
		rg := ruleGroup{name: g.Name, health: map[string]int{}}
		ours := false
		seen := map[ruleError]bool{}
		note := func(name string, health promv1.RuleHealth, lastErr string, last time.Time) {
			h := cmp.Or(string(health), string(promv1.RuleHealthUnknown))
			rg.health[h]++
			if last.After(rg.lastEvaluation) {
				rg.lastEvaluation = last
			}
			if lastErr != "" {
				e := ruleError{name, truncate(lastErr, maxErrorLen)}
				if !seen[e] {
					seen[e] = true
					rg.errors = append(rg.errors, e)
				}
			}
		}
		for _, r := range g.Rules {
			switch r := r.(type) {
			case promv1.RecordingRule:
				_, tagged := r.Labels[model.LabelName(series.LabelRouteTag)]
				ours = ours || tagged
				note(r.Name, r.Health, r.LastError, r.LastEvaluation)
			case promv1.AlertingRule:
				ours = ours || alerts[r.Name]
				note(r.Name, r.Health, r.LastError, r.LastEvaluation)
			}
		}
		if ours {
			out = append(out, rg)
		}
	}
	// Two files may hold groups of the same name; keep the first of each
	// so that no series is exported twice.
	slices.SortStableFunc(out, func(a, b ruleGroup) int { return cmp.Compare(a.name, b.name) })
	return slices.CompactFunc(out, func(a, b ruleGroup) bool { return a.name == b.name })
}
