package rules

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/series"
)

// Options is the `rules` section of the bundle config. Decode it onto
// DefaultOptions() so that omitted fields keep their defaults.
type Options struct {
	// Namespace of the PrometheusRule objects. Default "": each object goes
	// to the namespace of its route set.
	Namespace string `yaml:"namespace"`
	// Release is the value of the `release` label by which
	// kube-prometheus-stack selects PrometheusRules; "" omits the label.
	// Default "kube-prometheus-stack".
	Release string `yaml:"release"`
	// Labels are added to every PrometheusRule object. Default none.
	Labels map[string]string `yaml:"labels"`
	// ErrorSelector says which requests are errors: PromQL label matchers
	// applied to istio_requests_total, with or without braces. Default
	// `response_code=~"5.."`; gRPC services may want
	// `response_code=~"5..", grpc_response_status!~"0|"` style selectors.
	ErrorSelector string `yaml:"errorSelector"`
	// Interval is the evaluation interval of the generated groups; 0 uses
	// Prometheus' global evaluation_interval. Default 0.
	Interval model.Duration `yaml:"interval"`
	// LongInterval is the evaluation interval of the group that records
	// the 2h, 6h, 1d and 3d windows the burn-rate alerts read, never faster
	// than Interval. It must stay under Prometheus' lookback of 5m, so that
	// an instant query always finds a sample. Default 2m.
	LongInterval model.Duration `yaml:"longInterval"`
	// PeriodInterval is the evaluation interval of the group that records
	// the 30d rates of the error budget, never faster than Interval; under
	// 5m like LongInterval. Default 2m.
	PeriodInterval model.Duration `yaml:"periodInterval"`
	// GrafanaURL is the base URL of Grafana (https://grafana.example.com).
	// When set, and the bundle builder provides DashboardUID, every alert
	// gets a `dashboard` annotation linking to the route's dashboard.
	// Default "".
	GrafanaURL string `yaml:"grafanaURL"`
	// Severities are the `severity` labels of the alert kinds.
	Severities Severities `yaml:"severities"`
	// Defaults are the objectives, thresholds and alert switches of every
	// route that no annotation overrides (see package policy for the
	// annotations). Not read from the rules section: the bundle builder sets
	// it from the config's alerts section, which the dashboards share.
	// Default policy.DefaultPolicy().
	Defaults policy.Policy `yaml:"-"`
	// DashboardUID returns the UID of the Grafana dashboard that shows a
	// route set; set by the bundle builder from the dashboards package, not
	// from the config file. Nil: no dashboard links.
	DashboardUID func(rs *inventory.RouteSet) string `yaml:"-"`
}

// Severities are the values of the severity label per alert kind.
type Severities struct {
	// ErrorRatio of RouteErrorRatioHigh. Default "warning".
	ErrorRatio string `yaml:"errorRatio"`
	// Latency of RouteLatencyP99High. Default "warning".
	Latency string `yaml:"latency"`
	// Page of RouteErrorBudgetBurn (fast burn). Default "critical".
	Page string `yaml:"page"`
	// Ticket of RouteErrorBudgetSlowBurn (slow burn). Default "warning".
	Ticket string `yaml:"ticket"`
	// UnknownShare of WorkloadUnknownRouteShareHigh. Default "info".
	UnknownShare string `yaml:"unknownShare"`
}

// DefaultErrorSelector counts 5xx responses as errors.
const DefaultErrorSelector = `response_code=~"5.."`

// DefaultLongInterval is how often the 2h to 3d windows are evaluated by default.
const DefaultLongInterval = model.Duration(2 * time.Minute)

// DefaultPeriodInterval is how often the 30d rates are evaluated by default.
const DefaultPeriodInterval = model.Duration(2 * time.Minute)

// lookback is Prometheus' default lookback delta: a selector finds no
// sample older than this.
const lookback = model.Duration(5 * time.Minute)

// DefaultRelease is the Helm release name kube-prometheus-stack installs as by default.
const DefaultRelease = "kube-prometheus-stack"

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		Release:        DefaultRelease,
		ErrorSelector:  DefaultErrorSelector,
		LongInterval:   DefaultLongInterval,
		PeriodInterval: DefaultPeriodInterval,
		Severities: Severities{
			ErrorRatio: "warning", Latency: "warning", Page: "critical", Ticket: "warning", UnknownShare: "info",
		},
		Defaults: policy.DefaultPolicy(),
	}
}

// compiled is Options checked and turned into what the builders use.
type compiled struct {
	Options
	errorMatchers []*labels.Matcher
	grafanaURL    string
}

// compile validates the options; every problem is reported at once.
func (o Options) compile() (compiled, error) {
	c := compiled{Options: o}
	var errs []error
	ms, err := parseErrorSelector(o.ErrorSelector)
	if err != nil {
		errs = append(errs, fmt.Errorf("errorSelector: %w", err))
	}
	c.errorMatchers = ms
	if c.grafanaURL, err = checkGrafanaURL(o.GrafanaURL); err != nil {
		errs = append(errs, fmt.Errorf("grafanaURL: %w", err))
	}
	for _, iv := range []struct {
		name string
		v    model.Duration
	}{{"longInterval", o.LongInterval}, {"periodInterval", o.PeriodInterval}} {
		if iv.v <= 0 || iv.v >= lookback {
			errs = append(errs, fmt.Errorf("%s: %s: want more than 0s and less than %s", iv.name, iv.v, lookback))
		}
	}
	if err := o.Defaults.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("defaults: %w", err))
	}
	for _, s := range []struct{ name, v string }{
		{"errorRatio", o.Severities.ErrorRatio}, {"latency", o.Severities.Latency},
		{"page", o.Severities.Page}, {"ticket", o.Severities.Ticket}, {"unknownShare", o.Severities.UnknownShare},
	} {
		if s.v == "" {
			errs = append(errs, fmt.Errorf("severities.%s: must not be empty", s.name))
		}
	}
	return c, errors.Join(errs...)
}

// slowInterval is the interval of a group of long windows: its own
// interval, or the interval of the other groups where that is slower.
func (c *compiled) slowInterval(own model.Duration) model.Duration {
	return max(own, c.Interval)
}

// parseErrorSelector reads label matchers, with or without the braces.
func parseErrorSelector(s string) ([]*labels.Matcher, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		s = "{" + s + "}"
	}
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a list of label matchers: %w", s, err)
	}
	for _, m := range ms {
		if m.Name == labels.MetricName {
			return nil, fmt.Errorf("%q: the metric name is fixed (%s)", s, series.IstioRequestsTotal)
		}
	}
	return ms, nil
}

func checkGrafanaURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%q: want an absolute http(s) URL", s)
	}
	// The URL becomes part of an alert template: template delimiters in it
	// would be executed by Prometheus.
	if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
		return "", fmt.Errorf("%q: must not contain {{ or }}", s)
	}
	return strings.TrimRight(s, "/"), nil
}
