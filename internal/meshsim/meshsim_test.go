package meshsim

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/internal/promtest"
	"github.com/routebundle/routebundle/series"
)

var (
	frontend = Workload{Namespace: "shop", Name: "frontend-v1", App: "frontend", Version: "v1"}
	cart     = Workload{Namespace: "shop", Name: "cart-v1", App: "cart", Version: "v1"}
)

func waypointModel() Proxy {
	return Proxy{
		Reporter: ReporterWaypoint, Tag: "route_name", TagOnDuration: true,
		Flows: []Flow{
			{Source: frontend, Destination: cart, Route: "GET /cart", RPS: 10, LatencyMs: []float64{4, 20, 200}},
			{Source: frontend, Destination: cart, Route: "POST /cart", RPS: 4, ErrorRatio: 0.25},
			{Source: frontend, Destination: cart, RPS: 2},
			{Source: frontend, Destination: cart, Route: "GET /healthz", RPS: 1, Mangled: true},
		},
	}
}

// clock is a manual time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func parse(t *testing.T, e *Endpoint) map[string]*dto.MetricFamily {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Render(&buf); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.Label {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestExpositionFollowsTheModel(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	e, err := newEndpoint(waypointModel(), c.now)
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(10 * time.Second)
	fams := parse(t, e)

	req := fams[series.IstioRequestsTotal]
	if req == nil || req.GetType() != dto.MetricType_COUNTER {
		t.Fatalf("no counter %s in %v", series.IstioRequestsTotal, fams)
	}
	got := map[string]float64{}
	for _, m := range req.Metric {
		l := labels(m)
		if len(l) != 26 {
			t.Errorf("want Istio's 25 labels and the route tag, got %d: %v", len(l), l)
		}
		got[l["route_name"]+" "+l[series.LabelResponseCode]] = m.GetCounter().GetValue()
		if l[series.LabelReporter] != "waypoint" || l[series.LabelWorkload] != "cart-v1" || l["destination_service"] != "cart.shop.svc.cluster.local" {
			t.Errorf("labels %v", l)
		}
	}
	want := map[string]float64{"GET /cart 200": 100, "POST /cart 200": 30, "POST /cart 503": 10, "unknown 200": 20}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counters = %v, want %v", got, want)
	}
	mangled := MangledName("route_name", "GET /healthz", series.IstioRequestsTotal)
	if mangled != "envoy_route_name___GET__healthz___istio_requests_total" {
		t.Errorf("mangled name %q", mangled)
	}
	if m := fams[mangled]; m == nil || len(m.Metric) != 1 || m.Metric[0].GetCounter().GetValue() != 10 {
		t.Errorf("mangled series: %v", m)
	} else if _, ok := labels(m.Metric[0])["route_name"]; ok {
		t.Error("a mangled series carries the tag as a label")
	}

	dur := fams["istio_request_duration_milliseconds"]
	if dur == nil || dur.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatal("no duration histogram")
	}
	for _, m := range dur.Metric {
		if labels(m)["route_name"] != "GET /cart" {
			continue
		}
		h := m.GetHistogram()
		// 100 requests: 34 of 4ms, 33 of 20ms, 33 of 200ms.
		if h.GetSampleCount() != 100 || math.Abs(h.GetSampleSum()-(34*4+33*20+33*200)) > 1e-9 {
			t.Errorf("count %d sum %g", h.GetSampleCount(), h.GetSampleSum())
		}
		for _, b := range h.Bucket {
			var want uint64
			switch ub := b.GetUpperBound(); {
			case ub >= 200:
				want = 100
			case ub >= 20:
				want = 67
			case ub >= 5:
				want = 34
			}
			if b.GetCumulativeCount() != want {
				t.Errorf("le=%g: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
			}
		}
	}
}

func TestBucketBoundsAreWrittenAsEnvoyWritesThem(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	e, err := newEndpoint(Proxy{Reporter: ReporterDestination, Flows: []Flow{{Source: frontend, Destination: cart, RPS: 1}}}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Second)
	var buf bytes.Buffer
	if err := e.Render(&buf); err != nil {
		t.Fatal(err)
	}
	for _, le := range []string{`le="0.5"`, `le="300000"`, `le="1.8e+06"`, `le="3.6e+06"`, `le="+Inf"`} {
		if !strings.Contains(buf.String(), le) {
			t.Errorf("no bucket %s", le)
		}
	}
	if strings.Contains(buf.String(), "route_name") {
		t.Error("a proxy without a tag reports one")
	}
}

func TestUpdateKeepsCounters(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	e, err := newEndpoint(waypointModel(), c.now)
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Second)
	if err := e.Update(func(p *Proxy) { p.Flows[0].RPS = 0 }); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Second)
	for _, m := range parse(t, e)[series.IstioRequestsTotal].Metric {
		if labels(m)["route_name"] == "GET /cart" && m.GetCounter().GetValue() != 10 {
			t.Errorf("GET /cart = %g, want the 10 requests before the update", m.GetCounter().GetValue())
		}
	}
	if err := e.Update(func(p *Proxy) { p.Reporter = "client" }); err == nil {
		t.Error("an invalid update was accepted")
	}
}

// TestPrometheusReadsTheModelBack scrapes the endpoint with the real
// Prometheus: the rate of each route is the model's.
func TestPrometheusReadsTheModelBack(t *testing.T) {
	e := Start(t, waypointModel())
	prom := promtest.Start(t, promtest.Options{Config: promtest.Config(promtest.StaticScrapeConfig{
		Job: "waypoint", Targets: []string{e.Addr()}, MetricsPath: MetricsPath, Interval: "500ms",
	})})
	prom.WaitForTargets(t, 1, 30*time.Second)
	api := prom.API(t)
	q := `sum by (route_name) (rate(istio_requests_total{reporter="waypoint"}[3s]))`
	promtest.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		v, _, _, err := api.Query(ctx, q, time.Now())
		if err != nil {
			return err
		}
		got := map[string]float64{}
		for _, s := range v.(model.Vector) {
			got[string(s.Metric["route_name"])] = float64(s.Value)
		}
		for route, rps := range map[string]float64{"GET /cart": 10, "POST /cart": 4, "unknown": 2} {
			if math.Abs(got[route]-rps) > 0.2*rps {
				return fmt.Errorf("rate by route = %v, want %s ≈ %g", got, route, rps)
			}
		}
		return nil
	})
	v, _, _, err := api.Query(t.Context(), `count({__name__=~"envoy_route_name___.+___istio_requests_total"})`, time.Now())
	if err != nil || len(v.(model.Vector)) != 1 || v.(model.Vector)[0].Value != 1 {
		t.Errorf("the prefix-mangled series: %v %v", v, err)
	}
}
