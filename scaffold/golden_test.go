package scaffold

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// parseFile parses a testdata input by its extension: .txt is a route list,
// anything else an OpenAPI document.
func parseFile(t testing.TB, name string, opts ParseOptions) []Route {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	parse := ParseOpenAPI
	if strings.HasSuffix(name, ".txt") {
		parse = ParseRouteList
	}
	routes, err := parse(name, data, opts)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return routes
}

// goldenCase is one real-shaped input rendered with one set of options.
type goldenCase struct {
	name   string
	input  string
	parse  ParseOptions
	opts   Options
	golden string
}

func goldenCases() []goldenCase {
	waypoint := Options{Namespace: "shop", Waypoint: "shop-waypoint"}
	sidecars := Options{Namespace: "shop", Selector: map[string]string{"app": "shop", "app.kubernetes.io/part-of": "store"}}
	noWasm := sidecars
	noWasm.NoWasm = true
	noWasmWaypoint := waypoint
	noWasmWaypoint.NoWasm = true
	custom := Options{Name: "users", Namespace: "users", Waypoint: "users-waypoint",
		Tag: "request_operation", Attribute: "users_route", PluginURL: "oci://registry.local/attributegen:1.24"}
	return []goldenCase{
		{"petstore waypoint", "petstore.yaml", ParseOptions{BasePath: "/v1"}, waypoint, "petstore.waypoint.yaml"},
		{"petstore no-wasm", "petstore.yaml", ParseOptions{BasePath: "/v1"}, noWasm, "petstore.nowasm.yaml"},
		{"users waypoint", "users.yaml", ParseOptions{}, waypoint, "users.waypoint.yaml"},
		{"users no-wasm waypoint", "users.yaml", ParseOptions{}, noWasmWaypoint, "users.nowasm.yaml"},
		{"users custom names", "users.yaml", ParseOptions{}, custom, "users.custom.yaml"},
		{"inventory json sidecars", "inventory.json", ParseOptions{}, sidecars, "inventory.sidecars.yaml"},
		{"routes waypoint", "routes.txt", ParseOptions{}, waypoint, "routes.waypoint.yaml"},
		{"routes no-wasm", "routes.txt", ParseOptions{}, noWasm, "routes.nowasm.yaml"},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			routes := parseFile(t, tc.input, tc.parse)
			tc.opts.Source = tc.input
			out, err := Generate(routes, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := out.YAML()
			if err != nil {
				t.Fatal(err)
			}
			again, err := out.YAML()
			if err != nil || !bytes.Equal(got, again) {
				t.Fatalf("YAML is not deterministic (err %v)", err)
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", tc.golden), string(got), *update)
		})
	}
}
