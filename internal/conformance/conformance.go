// Package conformance holds the requests of the Gateway API's conformance
// tests of path, method, header and query matching (sigs.k8s.io/gateway-api
// conformance tests/*.yaml and the requests of their *.go files), and the
// backend each must reach, for the tests of routing and of explain: the
// route a request gets must be the one whose rule has that backend.
package conformance

import (
	"fmt"
	"maps"
	"slices"

	"github.com/routebundle/routebundle/manifest"
)

// Module holds the conformance tests, at the version whose CRDs
// internal/k8stest installs.
const Module = "sigs.k8s.io/gateway-api/conformance@v1.6.3"

// The Gateway every conformance route of these tests attaches to.
const (
	GatewayNamespace = "gateway-conformance-infra"
	GatewayName      = "same-namespace"
)

// Case is one request of a conformance test and the backend it must reach
// ("" for a 404 or, for gRPC, Unimplemented). Method is GET when empty.
type Case struct {
	Method, Host, Path string
	Headers            map[string]string
	Backend            string
}

// Tests lists the test names (the YAML files under tests/), sorted.
func Tests() []string { return slices.Sorted(maps.Keys(Cases())) }

func h(kv ...string) map[string]string {
	m := make(map[string]string)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Cases returns the requests of each test.
func Cases() map[string][]Case {
	v1, v2, v3 := "infra-backend-v1", "infra-backend-v2", "infra-backend-v3"
	tests := map[string][]Case{
		"httproute-path-match-order": {
			{Path: "/match/exact/one", Backend: v3}, {Path: "/match/exact", Backend: v2}, {Path: "/match", Backend: v1},
			{Path: "/match/prefix/one/any", Backend: v2}, {Path: "/match/prefix/any", Backend: v1}, {Path: "/match/any", Backend: v3},
		},
		"httproute-exact-path-matching": {
			{Path: "/one", Backend: v1}, {Path: "/two", Backend: v2}, {Path: "/"}, {Path: "/one/example"}, {Path: "/two/"}, {Path: "/Two"},
		},
		"httproute-matching": {
			{Path: "/", Backend: v1}, {Path: "/example", Backend: v1}, {Path: "/", Headers: h("Version", "one"), Backend: v1},
			{Path: "/v2", Backend: v2}, {Path: "/v2/example", Backend: v2}, {Path: "/", Headers: h("Version", "two"), Backend: v2},
			{Path: "/v2/", Backend: v2}, {Path: "/v2example", Backend: v1}, {Path: "/foo/v2/example", Backend: v1},
		},
		"httproute-matching-across-routes": {
			{Host: "example.com", Path: "/", Backend: v1}, {Host: "example.com", Path: "/example", Backend: v1},
			{Host: "example.net", Path: "/example", Backend: v1},
			{Host: "example.com", Path: "/example", Headers: h("Version", "one"), Backend: v1},
			{Host: "example.com", Path: "/v2", Backend: v2}, {Host: "example.net", Path: "/v2", Backend: v1},
			{Host: "example.com", Path: "/v2/example", Backend: v2},
			{Host: "example.com", Path: "/", Headers: h("Version", "two"), Backend: v2},
		},
		"httproute-header-matching": {
			{Path: "/", Headers: h("Version", "one"), Backend: v1}, {Path: "/", Headers: h("Version", "two"), Backend: v2},
			{Path: "/", Headers: h("Version", "two", "Color", "orange"), Backend: v1},
			{Path: "/", Headers: h("Version", "two", "Color", "blue"), Backend: v2},
			{Path: "/", Headers: h("Color", "orange")}, {Path: "/", Headers: h("Some-Other-Header", "one")},
			{Path: "/", Headers: h("Color", "blue"), Backend: v1}, {Path: "/", Headers: h("Color", "green"), Backend: v1},
			{Path: "/", Headers: h("Color", "red"), Backend: v2}, {Path: "/", Headers: h("Color", "yellow"), Backend: v2},
			{Path: "/", Headers: h("Color", "purple")},
		},
		"httproute-method-matching": {
			{Method: "POST", Path: "/", Backend: v1}, {Method: "GET", Path: "/", Backend: v2}, {Method: "HEAD", Path: "/"},
			{Method: "GET", Path: "/path1", Backend: v1}, {Method: "PUT", Path: "/", Headers: h("version", "one"), Backend: v2},
			{Method: "POST", Path: "/path2", Headers: h("version", "two"), Backend: v3},
			{Method: "PATCH", Path: "/path3", Backend: v1}, {Method: "DELETE", Path: "/path4", Headers: h("version", "three"), Backend: v1},
			{Method: "PUT", Path: "/"}, {Method: "DELETE", Path: "/path4"},
			{Method: "PATCH", Path: "/path5", Backend: v1}, {Method: "PATCH", Path: "/", Headers: h("version", "four"), Backend: v2},
		},
		"httproute-query-param-matching": {
			{Path: "/?animal=whale", Backend: v1}, {Path: "/?animal=dolphin", Backend: v2},
			{Path: "/?animal=dolphin&color=blue", Backend: v3}, {Path: "/?ANIMAL=Whale", Backend: v3},
			{Path: "/?animal=whale&otherparam=irrelevant", Backend: v1}, {Path: "/?animal=dolphin&color=yellow", Backend: v2},
			{Path: "/?color=blue"}, {Path: "/?animal=dog"}, {Path: "/?animal=whaledolphin"}, {Path: "/"},
			{Path: "/path1?animal=whale", Backend: v1}, {Path: "/?animal=whale", Headers: h("version", "one"), Backend: v2},
			{Path: "/path2?animal=whale", Headers: h("version", "two"), Backend: v3},
			{Path: "/path3?animal=shark", Backend: v1}, {Path: "/path4?animal=kraken", Headers: h("version", "three"), Backend: v1},
			{Path: "/?animal=shark"}, {Path: "/path4?animal=kraken"},
			{Path: "/path5?animal=hydra", Backend: v1}, {Path: "/?animal=hydra", Headers: h("version", "four"), Backend: v3},
		},
		"grpcroute-exact-method-matching": {
			{Method: "POST", Path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo", Backend: "grpc-infra-backend-v1"},
			{Method: "POST", Path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoTwo", Backend: "grpc-infra-backend-v2"},
			{Method: "POST", Path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoThree"},
		},
		"grpcroute-named-rule": {
			{Method: "POST", Path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo", Backend: "grpc-infra-backend-v1"},
			{Method: "POST", Path: "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoTwo", Backend: "grpc-infra-backend-v2"},
		},
	}
	g1, g2 := "grpc-infra-backend-v1", "grpc-infra-backend-v2"
	echo := "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo"
	for _, c := range []Case{
		{Headers: h("Version", "one"), Backend: g1}, {Headers: h("Version", "two"), Backend: g2},
		{Headers: h("Version", "two", "Color", "orange"), Backend: g1}, {Headers: h("Version", "two", "Color", "blue"), Backend: g2},
		{Headers: h("Color", "orange")}, {Headers: h("Some-Other-Header", "one")},
		{Headers: h("Color", "blue"), Backend: g1}, {Headers: h("Color", "green"), Backend: g1},
		{Headers: h("Color", "red"), Backend: g2}, {Headers: h("Color", "yellow"), Backend: g2}, {Headers: h("Color", "purple")},
	} {
		c.Method, c.Path = "POST", echo
		tests["grpcroute-header-matching"] = append(tests["grpcroute-header-matching"], c)
	}
	for name, cs := range tests {
		for i := range cs {
			if cs[i].Method == "" {
				cs[i].Method = "GET"
			}
		}
		tests[name] = cs
	}
	return tests
}

// Backend returns the first backendRef of rule i of the route object
// kind/namespace/name among objs.
func Backend(objs []manifest.Object, kind, namespace, name string, rule int) (string, error) {
	for _, o := range objs {
		if o.Kind != kind || o.Name != name || o.Namespace != namespace {
			continue
		}
		spec, _ := o.Content["spec"].(map[string]any)
		rules, _ := spec["rules"].([]any)
		if rule < 0 || rule >= len(rules) {
			return "", fmt.Errorf("%s %s/%s has no rule %d", kind, namespace, name, rule)
		}
		r, _ := rules[rule].(map[string]any)
		refs, _ := r["backendRefs"].([]any)
		if len(refs) == 0 {
			return "", fmt.Errorf("%s %s/%s rule %d has no backendRefs", kind, namespace, name, rule)
		}
		ref, _ := refs[0].(map[string]any)
		backend, _ := ref["name"].(string)
		return backend, nil
	}
	return "", fmt.Errorf("no object %s %s/%s", kind, namespace, name)
}
