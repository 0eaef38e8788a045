package inventory

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/manifest"
)

// buildFiles builds the inventory of files under testdata/istio.
func buildFiles(t *testing.T, opts []Option, files ...string) *Inventory {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join("testdata", "istio", f)
	}
	res, err := manifest.ReadPaths(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDefaultBuilder(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b.FromManifests(res)
}

// tagSummary renders a tag on one line.
func tagSummary(tg Tag) string {
	var metrics []string
	for _, m := range tg.Metrics {
		metrics = append(metrics, string(m))
	}
	s := tg.Telemetry.String() + " " + tg.Name + " scope=" + string(tg.Scope.Kind) + "/" + tg.Scope.Namespace +
		" metrics=" + strings.Join(metrics, ",") + " mode=" + tg.Mode
	if tg.Unknown != "" {
		s += " unknown"
	}
	return s + " sets=[" + strings.Join(tg.RouteSets, " ") + "]"
}

// TestIstioSemantics builds manifests shaped like published ones and checks
// the route sets, tags and diagnostics against what Istio does with them.
// Each case cites the Istio source its expectation comes from.
func TestIstioSemantics(t *testing.T) {
	const (
		kialiT  = "Telemetry/istio-system/custom-tags"
		tagPath = "spec.metrics[0].overrides[0].tagOverrides.request_operation.value"
	)
	tests := []struct {
		name  string
		files []string
		opts  []Option
		sets  []string
		tags  []string
		diags []string
		// messages are substrings that some diagnostic's message must contain.
		messages []string
	}{
		{
			// Kiali's demo as published: the bare attribute makes every
			// request "unknown" (istio/istio releasenotes/notes/telemetry-cel.yaml:
			// "Wasm attributes must be fully qualified"). One finding for
			// it, not RB003 and RB004; the three plugins' selectors are
			// disjoint (pilot policyattachment.go isSelected: a selector
			// matches a workload whose labels include it), so no RB019. The
			// header lookups fail for requests without the user header
			// (istio/proxy attributegen plugin.cc stops at a failing match).
			name:  "Kiali travels as published",
			files: []string{"kiali-travels-as-published.yaml"},
			tags:  []string{kialiT + " request_operation scope=mesh/istio-system metrics=REQUEST_COUNT mode=CLIENT_AND_SERVER unknown sets=[]"},
			diags: []string{
				"RB024 WasmPlugin/istio-system/attribgen-travelagency-hotels spec.pluginConfig.attributes[0].match[0].condition",
				"RB024 WasmPlugin/istio-system/attribgen-travelagency-hotels spec.pluginConfig.attributes[0].match[1].condition",
				"RB024 WasmPlugin/istio-system/attribgen-travelagency-cars spec.pluginConfig.attributes[0].match[0].condition",
				"RB024 WasmPlugin/istio-system/attribgen-travelagency-cars spec.pluginConfig.attributes[0].match[1].condition",
				"RB003 " + kialiT + " " + tagPath,
				"RB007 " + kialiT + " " + tagPath,
			},
			messages: []string{
				"request.headers['user'] fails to evaluate for a request without header user, and attributegen stops there and leaves istio_operationId unset, skipping the matches after it: guard it, e.g. 'user' in request.headers && ...",
				"use filter_state['wasm.istio_operationId']",
			},
		},
		{
			// The root namespace's plugins apply to the matching workloads
			// of every namespace (push_context.go WasmPluginsByListenerInfo
			// looks plugins up in the proxy's and the root namespace): one
			// mesh route set per selector, none scoped to istio-system alone.
			name:  "Kiali travels fixed: one mesh-wide route set per disjoint selector",
			files: []string{"kiali-travels.yaml"},
			sets: []string{
				"istio-system/attribgen-travelagency-cars/custom-tags/request_operation scope=mesh/istio-system{app=cars} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[New|Registered]",
				"istio-system/attribgen-travelagency-hotels/custom-tags/request_operation scope=mesh/istio-system{app=hotels} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[New|Registered]",
				"istio-system/attribgen-travelagency-travels/custom-tags/request_operation scope=mesh/istio-system{app=travels} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[TravelQuote|ListCities]",
			},
			tags: []string{kialiT + " request_operation scope=mesh/istio-system metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[" +
				"istio-system/attribgen-travelagency-cars/custom-tags/request_operation istio-system/attribgen-travelagency-hotels/custom-tags/request_operation istio-system/attribgen-travelagency-travels/custom-tags/request_operation]"},
		},
		{
			// The same in the demo's namespace: disjoint selectors are
			// three classes of workloads, not one shadowing the others.
			name:  "Kiali travels in its namespace: disjoint selectors are not overlapping",
			files: []string{"kiali-travels-namespace.yaml"},
			sets: []string{
				"travel-agency/attribgen-travelagency-cars/custom-tags/request_operation scope=workload/travel-agency{app=cars} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[New|Registered]",
				"travel-agency/attribgen-travelagency-hotels/custom-tags/request_operation scope=workload/travel-agency{app=hotels} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[New|Registered]",
				"travel-agency/attribgen-travelagency-travels/custom-tags/request_operation scope=workload/travel-agency{app=travels} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[TravelQuote|ListCities]",
			},
			tags: []string{"Telemetry/travel-agency/custom-tags request_operation scope=namespace/travel-agency metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[" +
				"travel-agency/attribgen-travelagency-cars/custom-tags/request_operation travel-agency/attribgen-travelagency-hotels/custom-tags/request_operation travel-agency/attribgen-travelagency-travels/custom-tags/request_operation]"},
		},
		{
			// A root namespace other than istio-system (meshConfig.rootNamespace).
			name:  "the root namespace is configurable",
			files: []string{"kiali-travels.yaml"},
			opts:  []Option{WithRootNamespace("istio-config")},
			sets: []string{
				"istio-system/attribgen-travelagency-cars/custom-tags/request_operation scope=workload/istio-system{app=cars} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[New|Registered]",
				"istio-system/attribgen-travelagency-hotels/custom-tags/request_operation scope=workload/istio-system{app=hotels} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[New|Registered]",
				"istio-system/attribgen-travelagency-travels/custom-tags/request_operation scope=workload/istio-system{app=travels} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[TravelQuote|ListCities]",
			},
			tags: []string{kialiT + " request_operation scope=namespace/istio-system metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[" +
				"istio-system/attribgen-travelagency-cars/custom-tags/request_operation istio-system/attribgen-travelagency-hotels/custom-tags/request_operation istio-system/attribgen-travelagency-travels/custom-tags/request_operation]"},
		},
		{
			name:  "classify-metrics as published",
			files: []string{"classify-metrics-as-published.yaml"},
			tags:  []string{kialiT + " request_operation scope=mesh/istio-system metrics=REQUEST_COUNT mode=CLIENT_AND_SERVER unknown sets=[]"},
			diags: []string{"RB003 " + kialiT + " " + tagPath, "RB007 " + kialiT + " " + tagPath},
		},
		{
			name:  "classify-metrics fixed: the reviews workloads of every namespace",
			files: []string{"classify-metrics.yaml"},
			sets:  []string{"istio-system/istio-attributegen-filter/custom-tags/request_operation scope=mesh/istio-system{app=reviews} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[ListReviews|GetReview|CreateReview]"},
			tags:  []string{kialiT + " request_operation scope=mesh/istio-system metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[istio-system/istio-attributegen-filter/custom-tags/request_operation]"},
		},
		{
			// response_code is one of the stats filter's own tags
			// (istio/proxy istio_stats.cc): overriding it is no route tag,
			// but it changes what the error selector counts. 503 and 5xx
			// match 5..; unset requests read "unknown".
			name:  "classify-metrics by response: response_code replaced next to the route tag",
			files: []string{"classify-metrics-response.yaml"},
			sets:  []string{"istio-system/istio-attributegen-filter/custom-tags/request_operation scope=mesh/istio-system{app=productpage} tag=request_operation attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GetProductPage]"},
			tags:  []string{kialiT + " request_operation scope=mesh/istio-system metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[istio-system/istio-attributegen-filter/custom-tags/request_operation]"},
			diags: []string{"RB023 " + kialiT + " spec.metrics[0].overrides[0].tagOverrides.response_code.value"},
			messages: []string{
				`this Telemetry replaces Istio's response_code with filter_state['wasm.istio_responseClass'] on REQUEST_COUNT, which the route rules read: the error selector (response_code=~"5.." by default) now counts the requests istio_responseClass classifies as 503, 5xx; requests the attribute leaves unset read "unknown" and are never errors`,
			},
		},
		{
			// The stats filter builds its evaluator with cel-cpp's default
			// options (istio_stats.cc getOrCreateExpression): string() is
			// allowed in tag values, unlike attributegen conditions.
			name:  "customize-metrics: string(destination.port) is a valid tag value",
			files: []string{"customize-metrics.yaml"},
		},
		{
			name:  "Telemetry API task before 1.24: moved attributes",
			files: []string{"telemetry-api-pre-1.24.yaml"},
			diags: []string{
				"RB025 Telemetry/istio-system/custom-tags spec.metrics[0].overrides[0].tagOverrides.destination_x.value",
				"RB025 Telemetry/istio-system/custom-tags spec.metrics[0].overrides[1].tagOverrides.source_x.value",
				"RB025 Telemetry/istio-system/custom-tags spec.metrics[0].overrides[1].tagOverrides.source_node.value",
				"RB025 Telemetry/istio-system/custom-tags spec.metrics[0].overrides[1].tagOverrides.peer_ns.value",
			},
			messages: []string{
				"tag destination_x reads upstream_peer: Istio 1.24 moved it to filter_state.upstream_peer",
				"tag source_node reads node: Istio 1.24 moved it to xds.node, so it fails to evaluate and the tag reads \"unknown\": use xds.node",
				"tag peer_ns reads filter_state['wasm.downstream_peer']: Istio 1.24 moved it to filter_state.downstream_peer",
			},
		},
		{
			// mergeMetrics: ALL_METRICS disabled: true is dropped by any
			// later override of the same mode.
			name:  "disabled is not sticky",
			files: []string{"bookinfo-sidecar-plugin.yaml", "overrides-disabled-not-sticky.yaml"},
			sets:  []string{"default/reviews-routes/only-routes/route_name scope=workload/default{app=reviews} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[ListReviews|GetReview]"},
			tags:  []string{"Telemetry/default/only-routes route_name scope=namespace/default metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[default/reviews-routes/only-routes/route_name]"},
		},
		{
			name:     "a tag only on disabled metrics is reported",
			files:    []string{"bookinfo-sidecar-plugin.yaml", "overrides-disabled.yaml"},
			diags:    []string{"RB005 WasmPlugin/default/reviews-routes spec.pluginConfig.attributes[0].output_attribute", "RB022 Telemetry/default/routes-then-off spec.metrics[0].overrides[0].tagOverrides.route_name.value"},
			messages: []string{"tag route_name is written only on metrics this Telemetry disables"},
		},
		{
			// Two spellings of one reference are one tag on both metrics:
			// no RB007, and per-route latency.
			name:  "one tag, two spellings",
			files: []string{"bookinfo-sidecar-plugin.yaml", "overrides-two-spellings.yaml"},
			sets:  []string{"default/reviews-routes/route-tags/route_name scope=workload/default{app=reviews} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[ListReviews|GetReview]"},
			tags:  []string{"Telemetry/default/route-tags route_name scope=namespace/default metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[default/reviews-routes/route-tags/route_name]"},
		},
		{
			// getModes: CLIENT applies to the client side only, which
			// reports reporter="source"; the bundle reads the server side.
			name:     "mode CLIENT: no route set, and why",
			files:    []string{"bookinfo-sidecar-plugin.yaml", "overrides-client-only.yaml"},
			tags:     []string{"Telemetry/default/client-routes route_name scope=namespace/default metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT sets=[]"},
			diags:    []string{"RB022 Telemetry/default/client-routes spec.metrics[0].overrides[0].tagOverrides.route_name.value"},
			messages: []string{`tag route_name is only on client-side metrics (mode: CLIENT): the sending proxy writes it on reporter="source" series`},
		},
		{
			// A selector matches every workload whose labels include it
			// (isSelected: SubsetOf): app=reviews and version=v2 meet on
			// reviews-v2, where v2-routes runs first (priority 10).
			name:  "selectors that meet on some workloads shadow each other there",
			files: []string{"bookinfo-overlapping.yaml"},
			sets: []string{
				"default/reviews-routes/route-tags/route_name scope=workload/default{app=reviews} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[ListReviews]",
				"default/v2-routes/route-tags/route_name scope=workload/default{version=v2} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GetReviewV2]",
			},
			tags:     []string{"Telemetry/default/route-tags route_name scope=namespace/default metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[default/reviews-routes/route-tags/route_name default/v2-routes/route-tags/route_name]"},
			diags:    []string{"RB019 WasmPlugin/default/v2-routes spec.pluginConfig.attributes[0].output_attribute"},
			messages: []string{"attribute istio_operationId is also produced by WasmPlugin/default/reviews-routes spec.pluginConfig.attributes[0], which runs later on workloads labelled app=reviews,version=v2"},
		},
		{
			name:  "root and namespace plugins under a mesh-wide Telemetry",
			files: []string{"root-and-namespace.yaml"},
			sets: []string{
				"default/bookinfo-routes/istio-system:mesh-default/route_name scope=namespace/default tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /productpage]",
				"default/istio-system:istio-attributegen-filter/istio-system:mesh-default/route_name scope=workload/default{app=reviews} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[ListReviews|GET /productpage]",
				"istio-system/istio-attributegen-filter/mesh-default/route_name scope=mesh/istio-system{app=reviews} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[ListReviews]",
			},
			tags: []string{"Telemetry/istio-system/mesh-default route_name scope=mesh/istio-system metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[" +
				"default/bookinfo-routes/istio-system:mesh-default/route_name default/istio-system:istio-attributegen-filter/istio-system:mesh-default/route_name istio-system/istio-attributegen-filter/mesh-default/route_name]"},
			diags:    []string{"RB019 WasmPlugin/default/bookinfo-routes spec.pluginConfig.attributes[0].output_attribute"},
			messages: []string{"also produced by WasmPlugin/istio-system/istio-attributegen-filter spec.pluginConfig.attributes[0], which runs later on workloads labelled app=reviews"},
		},
		{
			name:  "a root Telemetry with a selector reaches only root-namespace workloads",
			files: []string{"bookinfo-sidecar-plugin.yaml", "root-telemetry-selector.yaml"},
			tags:  []string{"Telemetry/istio-system/reviews-tags route_name scope=workload/istio-system metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER unknown sets=[]"},
			diags: []string{
				"RB005 WasmPlugin/default/reviews-routes spec.pluginConfig.attributes[0].output_attribute",
				"RB004 Telemetry/istio-system/reviews-tags spec.metrics[0].overrides[0].tagOverrides.route_name.value",
			},
			messages: []string{"produced by WasmPlugin/default/reviews-routes, which runs on other proxies"},
		},
		{
			name:     "a CEL classification reading a moved attribute always reads unknown",
			files:    []string{"cel-node-chain.yaml"},
			tags:     []string{"Telemetry/shop/cel-routes route_name scope=namespace/shop metrics=REQUEST_COUNT,REQUEST_DURATION,REQUEST_SIZE,RESPONSE_SIZE mode=CLIENT_AND_SERVER unknown sets=[]"},
			diags:    []string{"RB025 Telemetry/shop/cel-routes spec.metrics[0].overrides[0].tagOverrides.route_name.value"},
			messages: []string{"tag route_name reads node: Istio 1.24 moved it to xds.node"},
		},
		{
			name:  "a header lookup that fails for ordinary requests",
			files: []string{"beta-header.yaml"},
			sets:  []string{"shop/cart-routes/shop-telemetry/route_name scope=workload/shop{app=cart} tag=route_name attr=istio_operationId metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER routes=[GET /cart/me (beta)|GET /cart/me|GET /cart/{id}|referred]"},
			tags:  []string{"Telemetry/shop/shop-telemetry route_name scope=namespace/shop metrics=REQUEST_COUNT,REQUEST_DURATION mode=CLIENT_AND_SERVER sets=[shop/cart-routes/shop-telemetry/route_name]"},
			// Matches 2 and 3 guard their lookups.
			diags:    []string{"RB024 WasmPlugin/shop/cart-routes spec.pluginConfig.attributes[0].match[0].condition"},
			messages: []string{"request.headers['x-beta'] fails to evaluate for a request without header x-beta, and attributegen stops there and leaves istio_operationId unset, skipping the matches after it: guard it, e.g. 'x-beta' in request.headers && ..."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := buildFiles(t, tt.opts, tt.files...)
			var sets, tags []string
			for _, rs := range inv.RouteSets {
				sets = append(sets, summary(rs))
			}
			for _, tg := range inv.Tags {
				tags = append(tags, tagSummary(tg))
			}
			check := func(what string, got, want []string) {
				if !slices.Equal(got, want) {
					t.Errorf("%s:\n%s\nwant:\n%s\ndiagnostics:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"), fullText(inv.Diagnostics))
				}
			}
			check("route sets", sets, tt.sets)
			check("tags", tags, tt.tags)
			check("diagnostics", briefs(inv.Diagnostics), tt.diags)
			for _, m := range tt.messages {
				if !strings.Contains(fullText(inv.Diagnostics), m) {
					t.Errorf("no diagnostic says %q:\n%s", m, fullText(inv.Diagnostics))
				}
			}
		})
	}
}
