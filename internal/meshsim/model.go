// Package meshsim is a synthetic Istio mesh for tests and demos: HTTP
// endpoints on loopback that serve istio_requests_total and
// istio_request_duration_milliseconds the way an Envoy sidecar or waypoint
// does on /stats/prometheus, driven by a small traffic model.
//
// The label set and its order are those of istio/proxy's own test
// expectations (testdata/metric/server_request_total.yaml.tmpl and
// server_waypoint_proxy_request_total.yaml.tmpl); the duration buckets are
// Envoy's defaults (source/common/stats/histogram_impl.cc), in milliseconds.
// A route tag the Telemetry adds is appended after the standard labels. A
// flow marked Mangled reports its tag the way Envoy does when the tag was
// never declared to its tag extractor: as part of the metric name,
// envoy_<tag>___<value>___istio_requests_total, with no label.
//
// Counters grow with wall-clock time at each flow's rate, so that rate()
// over the scraped series reads back the model's requests per second.
package meshsim

import (
	"fmt"
	"strings"

	"github.com/routebundle/routebundle/series"
)

// Reporters, as the reporter label spells them.
const (
	ReporterSource      = "source"
	ReporterDestination = "destination"
	ReporterWaypoint    = "waypoint"
)

// DurationBucketsMs are Envoy's default histogram bounds (milliseconds).
var DurationBucketsMs = []float64{
	0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
	60000, 300000, 600000, 1800000, 3600000,
}

// Workload is a peer as Istio's metadata exchange describes it.
type Workload struct {
	Namespace string
	// Name is the workload name (a Deployment's name).
	Name string
	// App and Version are the canonical service and revision; empty App is
	// Name, empty Version is "latest" (Istio's defaults).
	App, Version string
	// ServiceAccount; empty is "default".
	ServiceAccount string
}

func (w Workload) app() string {
	if w.App == "" {
		return w.Name
	}
	return w.App
}

func (w Workload) version() string {
	if w.Version == "" {
		return "latest"
	}
	return w.Version
}

func (w Workload) principal() string {
	sa := w.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	return "spiffe://cluster.local/ns/" + w.Namespace + "/sa/" + sa
}

// Flow is steady traffic of one route from a source to a destination.
type Flow struct {
	Source, Destination Workload
	// Service is the destination Service's name; empty is Destination's app.
	Service string
	// Route is the route tag's value; empty means no match fired, which
	// Istio reports as "unknown".
	Route string
	// RPS is the request rate.
	RPS float64
	// ErrorRatio of the requests (0..1) are answered with ErrorCode
	// (default "503"), the others with "200".
	ErrorRatio float64
	ErrorCode  string
	// LatencyMs are the request durations, used in turn; empty is {10}.
	LatencyMs []float64
	// Mangled reports the route tag as a metric-name prefix instead of a
	// label, as Envoy does with an undeclared tag.
	Mangled bool
}

func (f *Flow) route() string {
	if f.Route == "" {
		return series.UnknownRoute
	}
	return f.Route
}

func (f *Flow) service() string {
	if f.Service == "" {
		return f.Destination.app()
	}
	return f.Service
}

func (f *Flow) errorCode() string {
	if f.ErrorCode == "" {
		return "503"
	}
	return f.ErrorCode
}

func (f *Flow) latencies() []float64 {
	if len(f.LatencyMs) == 0 {
		return []float64{10}
	}
	return f.LatencyMs
}

// Proxy is one Envoy and the traffic it reports.
type Proxy struct {
	// Reporter is ReporterSource, ReporterDestination or ReporterWaypoint.
	Reporter string
	// Tag is the route tag a Telemetry puts on REQUEST_COUNT (route_name);
	// empty: the proxy reports no route.
	Tag string
	// TagOnDuration says the tag is also on REQUEST_DURATION.
	TagOnDuration bool
	Flows         []Flow
}

// Validate reports a model the endpoint cannot serve.
func (p *Proxy) Validate() error {
	switch p.Reporter {
	case ReporterSource, ReporterDestination, ReporterWaypoint:
	default:
		return fmt.Errorf("reporter %q: want source, destination or waypoint", p.Reporter)
	}
	if p.Tag != "" && !validLabelName(p.Tag) {
		return fmt.Errorf("tag %q is not a Prometheus label name", p.Tag)
	}
	for i, f := range p.Flows {
		if f.RPS < 0 || f.ErrorRatio < 0 || f.ErrorRatio > 1 {
			return fmt.Errorf("flow %d: RPS must be >= 0 and ErrorRatio within 0..1", i)
		}
		if f.Mangled && p.Tag == "" {
			return fmt.Errorf("flow %d: Mangled needs the proxy's Tag", i)
		}
	}
	return nil
}

func validLabelName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// MangledName is the metric name Envoy exports for metric when tag, with
// value, was not declared: "route_name=.=GET /x;.;istio_requests_total"
// sanitised to [a-zA-Z0-9_] and prefixed with envoy_.
func MangledName(tag, value, metric string) string {
	return "envoy_" + sanitize(tag+"=.="+value+";.;") + metric
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// Podinfo workloads: the destination of examples/podinfo and a load
// generator calling it.
var (
	PodinfoWorkload = Workload{Namespace: "podinfo", Name: "podinfo", App: "podinfo", Version: "6.7.0"}
	PodinfoClient   = Workload{Namespace: "podinfo", Name: "loadgen", App: "loadgen", Version: "v1"}
)

// PodinfoWaypoint is the traffic examples/podinfo classifies, as its
// waypoint reports it: steady GET /healthz (5/s), POST /echo (2/s, half of
// it 503), and 1/s matching no route (unknown). Durations are spread over
// a few buckets so that quantiles are meaningful.
func PodinfoWaypoint() Proxy {
	flow := func(route string, rps, errs float64, lat ...float64) Flow {
		return Flow{Source: PodinfoClient, Destination: PodinfoWorkload, Route: route, RPS: rps, ErrorRatio: errs, LatencyMs: lat}
	}
	return Proxy{
		Reporter: ReporterWaypoint, Tag: "route_name", TagOnDuration: true,
		Flows: []Flow{
			flow("GET /healthz", 5, 0, 2, 3, 4, 8),
			flow("POST /echo", 2, 0.5, 20, 40, 80, 400),
			flow("", 1, 0, 10),
		},
	}
}
