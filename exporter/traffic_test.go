package exporter

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/internal/meshsim"
	"github.com/routebundle/routebundle/internal/promapi"
	"github.com/routebundle/routebundle/internal/promtest"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/series"
)

// The route sets of testdata/traffic.yaml.
const (
	gatewaySet  = "istio-ingress/bookinfo-gateway/gateway-route-names/route_name"
	frontendSet = "frontend/client-route-names/route_name"
	reviewsSet  = "istio-system/istio-attributegen-filter/custom-tags/request_operation"
)

var (
	ingressGateway = meshsim.Workload{Namespace: "istio-ingress", Name: "bookinfo-gateway-istio"}
	productpage    = meshsim.Workload{Namespace: "bookinfo", Name: "productpage-v1", App: "productpage", Version: "v1"}
	reviewsV1      = meshsim.Workload{Namespace: "bookinfo", Name: "reviews-v1", App: "reviews", Version: "v1"}
	reviewsV2      = meshsim.Workload{Namespace: "bookinfo", Name: "reviews-v2", App: "reviews", Version: "v2"}
	frontendApp    = meshsim.Workload{Namespace: "frontend", Name: "frontend-v1", App: "frontend", Version: "v1"}
	// storefront is a client no route set reads: its sidecar, in a
	// namespace without a Telemetry, reports requests to bookinfo without
	// route_name.
	storefront = meshsim.Workload{Namespace: "shop", Name: "storefront-v1", App: "storefront", Version: "v1"}
)

func trafficInventory(t testing.TB) *inventory.Inventory {
	t.Helper()
	data, err := os.ReadFile("testdata/traffic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, diags := manifest.Decode("testdata/traffic.yaml", data)
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	inv := b.FromManifests(&manifest.Result{Objects: objs, Diagnostics: diags})
	if got := len(inv.RouteSets); got != 3 {
		t.Fatalf("%d route sets in testdata/traffic.yaml, want 3", got)
	}
	return inv
}

// startTrafficWorld is Prometheus scraping the proxies of
// testdata/traffic.yaml, with the bundle's rules loaded:
//
//   - the ingress gateway reports, as the client, productpage (2/s) and
//     requests no route matched (1/s) to bookinfo; login gets none;
//   - frontend's sidecar reports, as the client, jason (1/s) to reviews-v2
//     and everyone (2/s) to reviews-v1;
//   - the reviews sidecars report, as the server, ListReviews (2/s on v1,
//     1/s on v2), GetReview (1/s) and unknown (1/s on v1); CreateReview
//     gets none;
//   - productpage's sidecar reports request_operation too, all of it
//     "unknown" (3/s): the root Telemetry tags every workload, and these
//     requests are not the reviews classification's;
//   - storefront's sidecar, in shop, reports as the client requests to
//     productpage and reviews-v1 without route_name: a client of the
//     gateway's and frontend's destinations that is neither set's proxy
//     (its requests' server-side reports are left out, so that the
//     reviews set's figures are those of its own proxies' flows).
func startTrafficWorld(t *testing.T) (*promtest.Server, *inventory.Inventory) {
	t.Helper()
	inv := trafficInventory(t)
	flow := func(src, dst meshsim.Workload, route string, rps float64) meshsim.Flow {
		return meshsim.Flow{Source: src, Destination: dst, Route: route, RPS: rps}
	}
	proxies := []meshsim.Proxy{
		{Reporter: meshsim.ReporterSource, Tag: "route_name", Flows: []meshsim.Flow{
			flow(ingressGateway, productpage, "productpage", 2), flow(ingressGateway, productpage, "", 1)}},
		{Reporter: meshsim.ReporterSource, Tag: "route_name", Flows: []meshsim.Flow{
			flow(frontendApp, reviewsV2, "jason", 1), flow(frontendApp, reviewsV1, "everyone", 2)}},
		{Reporter: meshsim.ReporterDestination, Tag: "request_operation", Flows: []meshsim.Flow{
			flow(frontendApp, reviewsV1, "ListReviews", 2), flow(frontendApp, reviewsV1, "GetReview", 1),
			flow(frontendApp, reviewsV1, "", 1), flow(frontendApp, reviewsV2, "ListReviews", 1)}},
		{Reporter: meshsim.ReporterDestination, Tag: "request_operation", Flows: []meshsim.Flow{
			flow(ingressGateway, productpage, "", 3)}},
		{Reporter: meshsim.ReporterSource, Flows: []meshsim.Flow{
			flow(storefront, productpage, "", 1), flow(storefront, reviewsV1, "", 1)}},
	}
	var targets []string
	for _, p := range proxies {
		targets = append(targets, meshsim.Start(t, p).Addr())
	}
	prom := promtest.Start(t, promtest.Options{
		Config:    promtest.Config(promtest.StaticScrapeConfig{Job: "envoy", Targets: targets, MetricsPath: meshsim.MetricsPath}),
		RuleFiles: bundleRules(t, inv),
	})
	prom.WaitForTargets(t, len(targets), 30*time.Second)
	return prom, inv
}

// TestExporterFollowsTheTrafficOfRouteSets: a route set's series are those
// of its traffic (inventory.Traffic), as the recording rules read it: the
// client side of any destination namespace for route names read at a
// gateway or at client sidecars, only the reviews workloads for a
// mesh-wide classification of app=reviews.
func TestExporterFollowsTheTrafficOfRouteSets(t *testing.T) {
	prom, inv := startTrafficWorld(t)
	e := newExporter(t, prom.URL, Options{SeenWindow: 10 * time.Minute})
	e.SetInventory(inv)
	shares := map[[3]string]float64{
		{"reviews-v1", "request_operation", "server"}: 0.25,
		{"reviews-v2", "request_operation", "server"}: 0,
		{"productpage-v1", "route_name", "client"}:    1.0 / 3,
		{"reviews-v1", "route_name", "client"}:        0,
		{"reviews-v2", "route_name", "client"}:        0,
	}
	recorded := map[string][]string{
		"route_name":        {"everyone", "jason", "productpage", "unknown"},
		"request_operation": {"GetReview", "ListReviews", "unknown"},
	}
	promtest.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		if err := e.Cycle(ctx); err != nil {
			return err
		}
		for k, want := range shares {
			got, ok := value(t, e, "routebundle_workload_unknown_route_ratio",
				map[string]string{"destination_workload": k[0], "route_tag": k[1], "side": k[2]})
			if !ok || math.Abs(got-want) > 0.04 {
				return fmt.Errorf("unknown share of %v = %g (%v), want ≈ %g", k, got, ok, want)
			}
		}
		// The rules read the same traffic (and have been evaluated).
		for tag, want := range recorded {
			got, err := recordedRoutes(ctx, prom, tag)
			if err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("the rules record routes %q of tag %s, want %q", got, tag, want)
			}
		}
		return nil
	})

	const want = `
# HELP routebundle_route_series Series in Prometheus of one configured route (and of unknown) of a route set.
# TYPE routebundle_route_series gauge
routebundle_route_series{metric="istio_requests_total",route="CreateReview",route_set="istio-system/istio-attributegen-filter/custom-tags/request_operation"} 0
routebundle_route_series{metric="istio_requests_total",route="GetReview",route_set="istio-system/istio-attributegen-filter/custom-tags/request_operation"} 1
routebundle_route_series{metric="istio_requests_total",route="ListReviews",route_set="istio-system/istio-attributegen-filter/custom-tags/request_operation"} 2
routebundle_route_series{metric="istio_requests_total",route="everyone",route_set="frontend/client-route-names/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="jason",route_set="frontend/client-route-names/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="login",route_set="istio-ingress/bookinfo-gateway/gateway-route-names/route_name"} 0
routebundle_route_series{metric="istio_requests_total",route="productpage",route_set="istio-ingress/bookinfo-gateway/gateway-route-names/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="unknown",route_set="frontend/client-route-names/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="unknown",route_set="istio-ingress/bookinfo-gateway/gateway-route-names/route_name"} 1
routebundle_route_series{metric="istio_requests_total",route="unknown",route_set="istio-system/istio-attributegen-filter/custom-tags/request_operation"} 1
# HELP routebundle_route_set_series Series in Prometheus carrying a route set's tag in its traffic (its side, destination namespaces and apps).
# TYPE routebundle_route_set_series gauge
routebundle_route_set_series{metric="istio_requests_total",route_set="frontend/client-route-names/route_name"} 4
routebundle_route_set_series{metric="istio_requests_total",route_set="istio-ingress/bookinfo-gateway/gateway-route-names/route_name"} 4
routebundle_route_set_series{metric="istio_requests_total",route_set="istio-system/istio-attributegen-filter/custom-tags/request_operation"} 4
# HELP routebundle_route_set_unconfigured_series Series of a route set's tag whose value is neither configured nor unknown.
# TYPE routebundle_route_set_unconfigured_series gauge
routebundle_route_set_unconfigured_series{metric="istio_requests_total",route_set="frontend/client-route-names/route_name"} 0
routebundle_route_set_unconfigured_series{metric="istio_requests_total",route_set="istio-ingress/bookinfo-gateway/gateway-route-names/route_name"} 0
routebundle_route_set_unconfigured_series{metric="istio_requests_total",route_set="istio-system/istio-attributegen-filter/custom-tags/request_operation"} 0
# HELP routebundle_route_unseen 1 for a configured route with no request over the seen window.
# TYPE routebundle_route_unseen gauge
routebundle_route_unseen{route="CreateReview",route_set="istio-system/istio-attributegen-filter/custom-tags/request_operation"} 1
routebundle_route_unseen{route="login",route_set="istio-ingress/bookinfo-gateway/gateway-route-names/route_name"} 1
`
	names := []string{"routebundle_route_series", "routebundle_route_set_series",
		"routebundle_route_set_unconfigured_series", "routebundle_route_unseen"}
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// productpage's requests are tagged, but not the reviews set's: no
	// unknown share, no prediction.
	if v, ok := value(t, e, "routebundle_workload_unknown_route_ratio", map[string]string{"destination_workload": "productpage-v1", "route_tag": "request_operation"}); ok {
		t.Errorf("productpage's unknown share of request_operation is exported (%g): no route set classifies it", v)
	}
	// (3 routes + unknown) x 1 code x 1 server-side peer, for each of the
	// two reviews workloads.
	if got, _ := value(t, e, "routebundle_route_set_predicted_series", map[string]string{"route_set": reviewsSet, "metric": series.IstioRequestsTotal}); got != 8 {
		t.Errorf("predicted series of the reviews set = %g, want 8", got)
	}
	// A client-side set's tag is on its own proxies' reports only: the
	// peers are the clients in its namespace, not every client of the
	// destinations its traffic covers (productpage-v1, reviews-v1 and
	// reviews-v2, one response code each). Counting every client would
	// be 3 routes x (2 + 2 + 1) peers = 15 for either set.
	for id, want := range map[string]float64{
		// (productpage, login + unknown) x 1 code x 1 peer in
		// istio-ingress (the gateway, to productpage-v1; storefront is
		// in shop, frontend in frontend).
		gatewaySet: 3 * 1 * 1,
		// (jason, everyone + unknown) x 1 code x 1 peer in frontend, for
		// each of reviews-v1 and reviews-v2 (none to productpage-v1).
		frontendSet: 3 * 1 * (1 + 1),
	} {
		if got, _ := value(t, e, "routebundle_route_set_predicted_series", map[string]string{"route_set": id, "metric": series.IstioRequestsTotal}); got != want {
			t.Errorf("predicted series of %s = %g, want %g", id, got, want)
		}
	}

	// What the rules record per route is what the exporter saw.
	for tag, sets := range map[string][]string{"route_name": {gatewaySet, frontendSet}, "request_operation": {reviewsSet}} {
		var seen []string
		for _, id := range sets {
			for _, s := range seenRoutes(t, e, id) {
				if !slices.Contains(seen, s) {
					seen = append(seen, s)
				}
			}
		}
		slices.Sort(seen)
		if !slices.Equal(recorded[tag], seen) {
			t.Errorf("tag %s: the rules record routes %q, the exporter sees %q", tag, recorded[tag], seen)
		}
	}
}

// seenRoutes are the routes of a set with series and no unseen flag.
func seenRoutes(t *testing.T, e *Exporter, set string) []string {
	t.Helper()
	var out []string
	fams := mustGather(t, e)
	unseen := map[string]bool{}
	for _, f := range fams {
		if f.GetName() != "routebundle_route_unseen" {
			continue
		}
		for _, m := range f.Metric {
			if labelOf(m.Label, lRouteSet) == set {
				unseen[labelOf(m.Label, lRoute)] = true
			}
		}
	}
	for _, f := range fams {
		if f.GetName() != "routebundle_route_series" {
			continue
		}
		for _, m := range f.Metric {
			r := labelOf(m.Label, lRoute)
			if labelOf(m.Label, lRouteSet) == set && labelOf(m.Label, lMetric) == series.IstioRequestsTotal &&
				m.GetGauge().GetValue() > 0 && !unseen[r] {
				out = append(out, r)
			}
		}
	}
	return out
}

func labelOf(ls []*dto.LabelPair, name string) string {
	for _, l := range ls {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// recordedRoutes are the route values the rules recorded a request rate
// for under tag.
func recordedRoutes(ctx context.Context, prom *promtest.Server, tag string) ([]string, error) {
	api, err := promapi.New(promapi.Options{URL: prom.URL})
	if err != nil {
		return nil, err
	}
	v, _, _, err := api.Query(ctx, fmt.Sprintf(`group by (%s) (%s{%s=%q})`, tag, series.RequestsRate5m, series.LabelRouteTag, tag), time.Now())
	if err != nil {
		return nil, err
	}
	routes := map[string]bool{}
	for _, s := range v.(model.Vector) {
		routes[string(s.Metric[model.LabelName(tag)])] = true
	}
	if len(routes) == 0 {
		return nil, fmt.Errorf("no %s recorded for tag %s yet", series.RequestsRate5m, tag)
	}
	return slices.Sorted(maps.Keys(routes)), nil
}
