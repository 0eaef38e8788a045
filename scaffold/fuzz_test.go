package scaffold

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/routebundle/routebundle/attrgen"
)

// fuzzMaxRoutes keeps each fuzz input cheap to check.
const fuzzMaxRoutes = 12

func addSeeds(f *testing.F, files []string, extra ...string) {
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzParseOpenAPI(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input, and that costs time
	// in proportion to its size. The real-shaped files are unit-tested.
	addSeeds(f, []string{"inventory.json"},
		"openapi: 3.0.3\npaths:\n  /pets:\n    get: {operationId: listPets}\n    post: {}\n  /pets/{petId}:\n    get: {operationId: showPetById}\n",
		"openapi: 3.1.0\npaths:\n  /users/{id}: {get: {operationId: getUser}}\n  /users/me: {get: {}}\n  x-note: 1\n",
		"openapi: 3.1.0\npaths:\n  /a/{b}.{c}:\n    get: {operationId: \"x'\\\\y\"}\n",
		`{"openapi":"3.0.0","paths":{"/":{"get":{}},"/{x}":{"$ref":"#/components/pathItems/P"}},"components":{"pathItems":{"P":{"put":{}}}}}`,
		"swagger: '2.0'\n", "openapi: 3.0.0\npaths: &a\n  /x: *a\n", "")
	fuzzParser(f, "fuzz.yaml", ParseOpenAPI)
}

func FuzzParseRouteList(f *testing.F) {
	addSeeds(f, []string{"routes.txt"},
		"GET /users/{id}\nGET /users/me # me\npost /a.b/{x}.json it's \\ \"odd\"\n",
		"PUT /$^[({|})]*+?/x\n", "GET /{a}{b}/\n", "# only a comment\n", "GET /\xff\n")
	fuzzParser(f, "fuzz.txt", ParseRouteList)
}

// fuzzParser fuzzes parse and checks what generates from every input it accepts.
func fuzzParser(f *testing.F, name string, parse func(string, []byte, ParseOptions) ([]Route, error)) {
	env := newAttrgenEnv(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := parse(name, data, ParseOptions{MaxRoutes: fuzzMaxRoutes})
		if err != nil {
			return
		}
		checkGenerated(t, env, routes)
	})
}

// checkGenerated generates both forms for routes that parsed and checks
// what must hold for any input: conditions anchored and compiling, the CEL
// chain compiling, and YAML that reads back to the same objects.
func checkGenerated(t *testing.T, env *attrgen.Env, routes []Route) {
	for _, noWasm := range []bool{false, true} {
		out, err := Generate(routes, Options{Waypoint: "w", NoWasm: noWasm})
		if err != nil {
			t.Fatalf("routes parsed but do not generate (no-wasm %v): %v", noWasm, err)
		}
		if len(out.Matches) != len(routes) {
			t.Fatalf("%d matches for %d routes", len(out.Matches), len(routes))
		}
		checkConditions(t, env, out)
		checkYAMLRoundTrip(t, out)
	}
}

func checkYAMLRoundTrip(t *testing.T, out *Output) {
	data, err := out.YAML()
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if out.WasmPlugin != nil {
		var wp WasmPlugin
		if err := dec.Decode(&wp); err != nil {
			t.Fatalf("WasmPlugin does not read back: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(&wp, out.WasmPlugin) {
			t.Fatalf("WasmPlugin reads back as %+v\nwant %+v", wp, *out.WasmPlugin)
		}
	}
	var tel Telemetry
	if err := dec.Decode(&tel); err != nil {
		t.Fatalf("Telemetry does not read back: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(&tel, out.Telemetry) {
		t.Fatalf("Telemetry reads back as %+v\nwant %+v", tel, *out.Telemetry)
	}
}
