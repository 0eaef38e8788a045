package scaffold

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// ruleName is the pattern of a Gateway API rule's name (SectionName).
var ruleName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// FuzzFromRoutes runs init --from-routes on arbitrary route objects, on
// every side: it must never panic, and what it writes must be Telemetries
// the Telemetry CRD accepts, read back without an error, with suggested
// names the route CRDs accept.
func FuzzFromRoutes(f *testing.F) {
	for _, dir := range []string{filepath.Join("..", "routing", "testdata"), filepath.Join("..", "examples", "httproute")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: 'a b'}\nspec:\n  parentRefs: [{group: '', kind: Service, name: \"s\\nx\"}, {name: gw, namespace: o}]\n  rules: [{matches: [{path: {type: Exact, value: \"/\\u0085{{x}}\"}, method: GET}]}, {}, {name: ''}]\n"))
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		f.Fatal(err)
	}
	var once sync.Once
	var schema crdSchema
	f.Fuzz(func(t *testing.T, data []byte) {
		once.Do(func() { schema = istioSchemas(t)[TelemetryAPIVersion+"/"+TelemetryKind] })
		objs, diags := manifest.Decode("fuzz.yaml", data)
		inv := b.FromManifests(&manifest.Result{Objects: objs, Diagnostics: diags})
		for _, side := range []Side{SideWaypoint, SideGateway, SideClient} {
			out, err := FromRoutes(inv, RouteNamesOptions{Side: side, Source: "fuzz.yaml"})
			if err != nil {
				continue
			}
			for _, s := range out.Suggestions {
				if !ruleName.MatchString(s.Name) || len(s.Name) > 253 {
					t.Errorf("%s %s: suggested name %q is not a valid rule name", s.Object, s.Field, s.Name)
				}
			}
			yml, err := out.YAML()
			if err != nil {
				t.Fatal(err)
			}
			tels, diags := manifest.Decode("telemetry.yaml", yml)
			if len(diags) > 0 || len(tels) != len(out.Telemetries) {
				t.Fatalf("%s side: %d Telemetries read back of %d, %v:\n%s", side, len(tels), len(out.Telemetries), diags, yml)
			}
			for _, doc := range yamlDocuments(t, yml) {
				var obj map[string]any
				if err := json.Unmarshal(doc, &obj); err != nil {
					t.Fatal(err)
				}
				for _, p := range schema.validate(obj) {
					t.Errorf("%s side: %s\n%s", side, p, yml)
				}
			}
			back := b.Build(tels)
			for _, d := range back.Diagnostics {
				if d.Severity == diag.Error {
					t.Errorf("%s side: the Telemetry alone reads back with %s %s: %s", side, d.Code, d.Field, d.Message)
				}
			}
		}
	})
}
