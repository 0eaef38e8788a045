package scaffold

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/routebundle/routebundle/internal/k8stest"
)

// crdSchema is one served version of a CRD, ready to validate objects as
// the API server would: OpenAPI schema, unknown-field pruning and CEL rules.
type crdSchema struct {
	props      *apiextensions.JSONSchemaProps
	structural *structuralschema.Structural
}

// istioSchemas reads the CRDs of the Istio API version routebundle is built
// with (k8stest.IstioAPIModule) from the Go module cache, keyed by
// apiVersion/kind.
func istioSchemas(t *testing.T) map[string]crdSchema {
	t.Helper()
	dir, err := k8stest.ModuleDir(t.Context(), k8stest.IstioAPIModule)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]crdSchema{}
	for _, doc := range yamlDocuments(t, data) {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := json.Unmarshal(doc, &crd); err != nil {
			t.Fatal(err)
		}
		for _, v := range crd.Spec.Versions {
			var props apiextensions.JSONSchemaProps
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &props, nil); err != nil {
				t.Fatal(err)
			}
			st, err := structuralschema.NewStructural(&props)
			if err != nil {
				t.Fatal(err)
			}
			schemas[crd.Spec.Group+"/"+v.Name+"/"+crd.Spec.Names.Kind] = crdSchema{props: &props, structural: st}
		}
	}
	return schemas
}

// yamlDocuments returns each document of a YAML stream as JSON.
func yamlDocuments(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var docs [][]byte
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		j, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, j)
	}
}

// validate returns what the API server would reject or drop in obj.
func (s crdSchema) validate(obj map[string]any) []string {
	var problems []string
	v, _, err := validation.NewSchemaValidator(s.props)
	if err != nil {
		return []string{err.Error()}
	}
	for _, e := range validation.ValidateCustomResource(nil, obj, v) {
		problems = append(problems, e.Error())
	}
	for _, u := range pruning.PruneWithOptions(obj, s.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		problems = append(problems, "unknown field "+u)
	}
	rules := cel.NewValidator(s.structural, true, celconfig.PerCallLimit)
	errs, _ := rules.Validate(context.Background(), field.NewPath(""), s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	for _, e := range errs {
		problems = append(problems, e.Error())
	}
	return problems
}

// TestOutputMatchesIstioCRDs validates every generated object against the
// CRDs of the Istio API version routebundle is built with: schema, unknown
// fields (which the API server would silently drop) and the CRDs' CEL rules.
func TestOutputMatchesIstioCRDs(t *testing.T) {
	schemas := istioSchemas(t)
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Generate(parseFile(t, tc.input, tc.parse), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			data, err := out.YAML()
			if err != nil {
				t.Fatal(err)
			}
			docs := yamlDocuments(t, data)
			if want := 1 + btoi(!tc.opts.NoWasm); len(docs) != want {
				t.Fatalf("%d documents, want %d", len(docs), want)
			}
			for _, doc := range docs {
				var obj map[string]any
				if err := json.Unmarshal(doc, &obj); err != nil {
					t.Fatal(err)
				}
				key, _ := obj["apiVersion"].(string)
				kind, _ := obj["kind"].(string)
				s, ok := schemas[key+"/"+kind]
				if !ok {
					t.Fatalf("Istio %s serves no %s/%s", k8stest.IstioAPIModule, key, kind)
				}
				for _, p := range s.validate(obj) {
					t.Errorf("%s: %s", kind, p)
				}
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCRDValidationCatchesMistakes makes sure the check above can fail: a
// wrong phase, an unknown field and both targetRefs and selector are each
// reported.
func TestCRDValidationCatchesMistakes(t *testing.T) {
	schemas := istioSchemas(t)
	out, err := Generate(routesOf("GET /a"), Options{Waypoint: "w"})
	if err != nil {
		t.Fatal(err)
	}
	wp, tel := *out.WasmPlugin, *out.Telemetry
	wp.Spec.Phase = "LATER"
	tel.Spec.Selector = &Selector{MatchLabels: map[string]string{"app": "a"}}
	tests := []struct {
		obj  any
		key  string
		want int
	}{
		{&wp, WasmPluginAPIVersion + "/" + WasmPluginKind, 1},
		{&tel, TelemetryAPIVersion + "/" + TelemetryKind, 1},
	}
	for _, tc := range tests {
		y, err := yaml.Marshal(tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal(yamlDocuments(t, y)[0], &obj); err != nil {
			t.Fatal(err)
		}
		obj["spec"].(map[string]any)["extra"] = true
		if got := schemas[tc.key].validate(obj); len(got) != tc.want+1 {
			t.Errorf("%s: problems %q, want %d plus the unknown field", tc.key, got, tc.want)
		}
	}
}
