// Package rules generates Prometheus recording rules and alerts per route
// from the route inventory: per-route request, error and latency series that
// dashboards query cheaply, and alerts on error ratio, latency, error-budget
// burn and unclassified traffic.
//
// A route set costs a fixed number of rules whatever its number of routes:
// every rule aggregates by the route tag. Only a route with its own alerting
// policy (see package policy) adds alert rules. Route sets that classify the
// same namespace under the same tag share one set of rules, since two rules
// recording the same series would collide.
//
// Build is pure: no I/O, deterministic output, sorted.
package rules

import (
	"bytes"
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
)

// Bundle is the generated rules.
type Bundle struct {
	// Files hold the rule groups of each unit of traffic, sorted by Name.
	Files []RuleFile
	// PrometheusRules hold the same groups as Kubernetes objects, in the order of Files.
	PrometheusRules []*monitoringv1.PrometheusRule
}

// RuleFile is the rules of one namespace (or the mesh) and route tag.
type RuleFile struct {
	// Name is a DNS-1123 label: the PrometheusRule's name and, with
	// ".yaml", the plain rule file's name.
	Name string
	// Namespace is the PrometheusRule's namespace.
	Namespace string
	// RouteSets are the IDs of the route sets the rules serve.
	RouteSets []string
	Groups    rulefmt.RuleGroups
}

// Group name suffixes.
const (
	groupRecording = "recording"
	groupSLO       = "slo"
	groupLong      = "slo-long"
	groupPeriod    = "slo-period"
	groupAlerts    = "alerts"
)

// Labels and annotations on every PrometheusRule.
const (
	LabelRelease        = "release"
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	ManagedBy           = "routebundle"
	AnnotationRouteSets = "routebundle.io/route-sets"
)

// Validate reports every problem of the options, for the config loader.
func (o Options) Validate() error {
	_, err := o.compile()
	return err
}

// Build generates the rules of every route set in inv. Invalid options
// yield an empty bundle and one error diagnostic; a route set that cannot
// have rules is reported and skipped without affecting the others.
func Build(inv *inventory.Inventory, opts Options) (*Bundle, diag.List) {
	c, err := opts.compile()
	if err != nil {
		return &Bundle{}, diag.List{{
			Severity: diag.Error, Code: CodeOptions, Field: "rules",
			Message: fmt.Sprintf("invalid rules options: %v", err),
		}}
	}
	b := &Bundle{}
	if inv == nil {
		return b, nil
	}
	units, diags := buildUnits(inv, &c)
	for _, u := range units {
		f := buildFile(u, &c)
		b.Files = append(b.Files, f)
		b.PrometheusRules = append(b.PrometheusRules, f.prometheusRule(&c))
	}
	diags.Sort()
	return b, diags
}

func buildFile(u *unit, c *compiled) RuleFile {
	f := RuleFile{Name: u.name, Namespace: u.objectNamespace}
	for _, rs := range u.Sets {
		f.RouteSets = append(f.RouteSets, rs.ID)
	}
	add := func(suffix string, interval model.Duration, rules []rulefmt.Rule) {
		if len(rules) > 0 {
			f.Groups.Groups = append(f.Groups.Groups, rulefmt.RuleGroup{
				Name: k8sName(u.name, suffix), Interval: interval, Rules: rules,
			})
		}
	}
	add(groupRecording, c.Interval, recordingRules(u, c))
	if u.hasObjective() {
		add(groupSLO, c.Interval, sloRules(u, c, groupSLO))
		add(groupLong, c.slowInterval(c.LongInterval), sloRules(u, c, groupLong))
		add(groupPeriod, c.slowInterval(c.PeriodInterval), sloRules(u, c, groupPeriod))
	}
	add(groupAlerts, c.Interval, alertRules(u, c))
	return f
}

// YAML renders the plain Prometheus rule file (for promtool, Thanos and
// Mimir rulers).
func (f *RuleFile) YAML() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(16 << 10)
	writeGroups(&buf, f.Groups.Groups)
	return buf.Bytes(), nil
}

func (f *RuleFile) prometheusRule(c *compiled) *monitoringv1.PrometheusRule {
	lbls := map[string]string{LabelManagedBy: ManagedBy}
	for k, v := range c.Labels {
		lbls[k] = v
	}
	if c.Release != "" {
		lbls[LabelRelease] = c.Release
	}
	pr := &monitoringv1.PrometheusRule{
		TypeMeta: metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusRuleKind},
		ObjectMeta: metav1.ObjectMeta{
			Name: f.Name, Namespace: f.Namespace, Labels: lbls,
			Annotations: map[string]string{AnnotationRouteSets: strings.Join(f.RouteSets, ",")},
		},
	}
	for _, g := range f.Groups.Groups {
		pr.Spec.Groups = append(pr.Spec.Groups, operatorGroup(g))
	}
	return pr
}

func operatorGroup(g rulefmt.RuleGroup) monitoringv1.RuleGroup {
	og := monitoringv1.RuleGroup{Name: g.Name, Rules: make([]monitoringv1.Rule, 0, len(g.Rules))}
	if g.Interval != 0 {
		d := monitoringv1.Duration(g.Interval.String())
		og.Interval = &d
	}
	for _, r := range g.Rules {
		or := monitoringv1.Rule{
			Record: r.Record, Alert: r.Alert, Expr: intstr.FromString(r.Expr),
			Labels: r.Labels, Annotations: r.Annotations,
		}
		if r.For != 0 {
			d := monitoringv1.Duration(r.For.String())
			or.For = &d
		}
		og.Rules = append(og.Rules, or)
	}
	return og
}
