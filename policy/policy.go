// Package policy resolves the alerting objectives and thresholds of each
// route: global defaults from the bundle config, overridden per WasmPlugin and
// per route by annotations on the WasmPlugin (or on the Telemetry for route
// sets classified by CEL alone).
//
// # Annotations
//
// Set-wide keys (value syntax in brackets):
//
//	routebundle.io/objective         SLO objective: "0.999" or "99.9%"; "0" or "none" disables the SLO
//	routebundle.io/error-ratio       error-ratio alert threshold: "0.05" or "5%"
//	routebundle.io/error-for         how long the error ratio must stay above it: "5m"
//	routebundle.io/latency-p99       p99 latency alert threshold: "500ms", "1.5s" or "500" (milliseconds)
//	routebundle.io/latency-for       how long p99 must stay above it: "10m"
//	routebundle.io/min-request-rate  requests/s below which a route does not alert: "0.1"
//	routebundle.io/unknown-ratio     share of "unknown" traffic per workload that alerts: "0.1" or "10%"
//	routebundle.io/unknown-for       how long the unknown share must stay above it: "15m"
//	routebundle.io/disable-alerts    alert kinds switched off: "latency,burn-rate-ticket" or "all"
//
// Per-route overrides live in one annotation whose value is a YAML (or JSON)
// mapping keyed by route value, because route values ("GET /users/{id}") are
// not valid in annotation keys. Each entry takes the set-wide keys above
// without the prefix, except unknown-ratio and unknown-for, which are per
// workload:
//
//	routebundle.io/routes: |
//	  "GET /healthz": {disable-alerts: all}
//	  "POST /echo": {objective: "99.9%", latency-p99: 300ms}
//
// A malformed or out-of-range value is a diagnostic on the annotation's line
// and leaves the inherited value in place: a value is applied whole or not
// at all ("latency,bogus" disables nothing; one rejected value in the routes
// annotation drops all of its overrides). It never stops the other
// annotations or route sets from being resolved.
//
// Alert switches in the defaults are global: an annotation can switch an
// alert kind off for a set or a route, but not back on.
package policy

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
)

// Policy is the alerting policy of one route (or the defaults of all routes).
// Its yaml form is the `defaults` section of the bundle config.
type Policy struct {
	// Objective is the SLO objective: the share of requests that must not be
	// errors over 30 days (0.999 = 99.9%). 0 means no SLO and no burn-rate
	// alerts. Default 0.
	Objective float64 `yaml:"objective" json:"objective,omitempty"`
	// ErrorRatio is the error-ratio alert threshold, 0 < x <= 1. Default 0.05 (5%).
	ErrorRatio float64 `yaml:"errorRatio" json:"errorRatio"`
	// ErrorFor is how long the 5m error ratio must stay above ErrorRatio
	// before the alert fires. Default 5m.
	ErrorFor model.Duration `yaml:"errorFor" json:"errorFor"`
	// LatencyP99Ms is the p99 latency alert threshold in milliseconds. Default 1000.
	LatencyP99Ms float64 `yaml:"latencyP99Ms" json:"latencyP99Ms"`
	// LatencyFor is how long p99 must stay above LatencyP99Ms. Default 10m.
	LatencyFor model.Duration `yaml:"latencyFor" json:"latencyFor"`
	// MinRequestRate (requests/s) gates every per-route alert: a route that
	// serves less over the alert's window does not alert, so that one failed
	// request out of three does not page. Default 0.1 (6 per minute).
	MinRequestRate float64 `yaml:"minRequestRate" json:"minRequestRate"`
	// UnknownRatio is the share of a workload's requests classified
	// "unknown" above which the classification-gap alert fires. Per route
	// set, not per route. Default 0.1 (10%).
	UnknownRatio float64 `yaml:"unknownRatio" json:"unknownRatio"`
	// UnknownFor is how long the unknown share must stay above UnknownRatio. Default 15m.
	UnknownFor model.Duration `yaml:"unknownFor" json:"unknownFor"`
	// Alerts switches each alert kind on or off. Default: all on.
	Alerts Alerts `yaml:"alerts" json:"alerts"`
}

// Defaults is the Policy of the bundle config: it applies wherever no
// annotation overrides it.
type Defaults = Policy

// Alerts switches alert kinds on or off.
type Alerts struct {
	// ErrorRatio: the 5m error ratio of a route above Policy.ErrorRatio. Default true.
	ErrorRatio bool `yaml:"errorRatio" json:"errorRatio"`
	// Latency: p99 of a route above Policy.LatencyP99Ms (only where latency is recorded). Default true.
	Latency bool `yaml:"latency" json:"latency"`
	// BurnRatePage: fast error-budget burn (14.4× over 1h and 5m, or 6× over 6h and 30m),
	// only when an objective is set. Default true.
	BurnRatePage bool `yaml:"burnRatePage" json:"burnRatePage"`
	// BurnRateTicket: slow error-budget burn (3× over 1d and 2h, or 1× over 3d and 6h),
	// only when an objective is set. Default true.
	BurnRateTicket bool `yaml:"burnRateTicket" json:"burnRateTicket"`
	// UnknownShare: the share of "unknown" traffic of a workload above Policy.UnknownRatio. Default true.
	UnknownShare bool `yaml:"unknownShare" json:"unknownShare"`
}

// DefaultPolicy returns the documented defaults.
func DefaultPolicy() Policy {
	return Policy{
		ErrorRatio:     0.05,
		ErrorFor:       model.Duration(5 * time.Minute),
		LatencyP99Ms:   1000,
		LatencyFor:     model.Duration(10 * time.Minute),
		MinRequestRate: 0.1,
		UnknownRatio:   0.1,
		UnknownFor:     model.Duration(15 * time.Minute),
		Alerts: Alerts{
			ErrorRatio: true, Latency: true, BurnRatePage: true, BurnRateTicket: true, UnknownShare: true,
		},
	}
}

// Validate reports the first field of the defaults that is out of range, so
// that a bad bundle config fails before any rule is generated.
func (p Policy) Validate() error {
	for _, k := range settingKeys() {
		if k.check == nil {
			continue
		}
		if err := k.check(k.get(&p)); err != nil {
			return fieldError(k.yamlName, err)
		}
	}
	return nil
}

// SetPolicy is the resolved policy of one route set.
type SetPolicy struct {
	// Set is the policy of every route without its own override.
	Set Policy
	// Routes holds the full policy of each route that has an entry in the
	// routes annotation, keyed by route value.
	Routes map[string]Policy
}

// Route returns the policy of one route value.
func (s SetPolicy) Route(value string) Policy {
	if p, ok := s.Routes[value]; ok {
		return p
	}
	return s.Set
}

// Overrides returns, sorted, the route values whose policy differs from the
// set's: the routes that need rules of their own.
func (s SetPolicy) Overrides() []string {
	out := make([]string, 0, len(s.Routes))
	for _, v := range slices.Sorted(maps.Keys(s.Routes)) {
		if s.Routes[v] != s.Set {
			out = append(out, v)
		}
	}
	return out
}

// Resolve applies the annotations of rs over the defaults d. The diagnostics
// name the annotation; values they reject are left at their inherited value.
func Resolve(rs *inventory.RouteSet, d Policy) (SetPolicy, diag.List) {
	r := resolver{rs: rs}
	sp := SetPolicy{Set: d}
	r.applySet(&sp.Set)
	sp.Routes = r.applyRoutes(sp.Set)
	r.diags.Sort()
	return sp, r.diags
}
