package strictfields

import (
	"fmt"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/routebundle/routebundle/internal/k8stest"
)

// TestSchemasMatchTheCRDs holds the schemas built from istio.io/api's Go
// types against the CRD file of the same module: the same served
// versions, and at every path the same fields, lists, maps and preserved
// unknown fields.
func TestSchemasMatchTheCRDs(t *testing.T) {
	crds, err := k8stest.IstioCRDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range New().Kinds() {
		crd, ok := crds[k.Group+"/"+k.Kind]
		if !ok {
			t.Errorf("no CRD for %s/%s", k.Group, k.Kind)
			continue
		}
		var served []string
		for _, v := range crd.Spec.Versions {
			if v.Served {
				served = append(served, v.Name)
			}
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				t.Errorf("%s %s: no schema", k.Kind, v.Name)
				continue
			}
			props := v.Schema.OpenAPIV3Schema.Properties
			for _, field := range []string{"spec", "status"} {
				crdField, ok := props[field]
				if !ok {
					t.Errorf("%s %s: the CRD has no %s", k.Kind, v.Name, field)
					continue
				}
				for _, d := range diff(k.Schema.fields[field], fromCRD(&crdField), field) {
					t.Errorf("%s %s: %s", k.Kind, v.Name, d)
				}
			}
			for name := range props {
				if _, ok := k.Schema.fields[name]; !ok {
					t.Errorf("%s %s: the CRD declares %s at the top level", k.Kind, v.Name, name)
				}
			}
		}
		slices.Sort(served)
		want := slices.Sorted(slices.Values(k.Versions))
		if !slices.Equal(served, want) {
			t.Errorf("%s: the CRD serves %v, the checker %v", k.Kind, served, want)
		}
	}
}

// fromCRD turns a structural schema into the checker's form.
func fromCRD(p *apiextensionsv1.JSONSchemaProps) *Schema {
	switch {
	case p.XPreserveUnknownFields != nil && *p.XPreserveUnknownFields:
		return &Schema{shape: anything}
	case p.Type == "object" && p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil:
		return &Schema{shape: mapOf, elem: fromCRD(p.AdditionalProperties.Schema)}
	case p.Type == "object":
		s := &Schema{shape: object, fields: map[string]*Schema{}}
		for name, prop := range p.Properties {
			s.fields[name] = fromCRD(&prop)
		}
		return s
	case p.Type == "array" && p.Items != nil && p.Items.Schema != nil:
		return &Schema{shape: array, elem: fromCRD(p.Items.Schema)}
	}
	return &Schema{shape: scalar}
}

var shapeNames = map[shape]string{scalar: "a scalar", object: "an object", array: "a list", mapOf: "a map", anything: "preserved unknown fields"}

// diff lists where got and want differ.
func diff(got, want *Schema, path string) []string {
	if got.shape != want.shape {
		return []string{fmt.Sprintf("%s: the checker has %s, the CRD %s", path, shapeNames[got.shape], shapeNames[want.shape])}
	}
	var out []string
	switch got.shape {
	case object:
		for _, name := range got.Fields() {
			w, ok := want.fields[name]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: the checker declares it, the CRD does not", path, name))
				continue
			}
			out = append(out, diff(got.fields[name], w, path+"."+name)...)
		}
		for _, name := range want.Fields() {
			if _, ok := got.fields[name]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: the CRD declares it, the checker does not", path, name))
			}
		}
	case array, mapOf:
		out = append(out, diff(got.elem, want.elem, path+"[]")...)
	}
	return out
}

// TestDiffFindsDifferences keeps the comparison honest: it must see a
// field the CRD lacks, a missing one and a changed shape.
func TestDiffFindsDifferences(t *testing.T) {
	a := &Schema{shape: object, fields: map[string]*Schema{"x": {shape: scalar}, "y": {shape: array, elem: &Schema{shape: scalar}}}}
	b := &Schema{shape: object, fields: map[string]*Schema{"y": {shape: array, elem: &Schema{shape: object}}, "z": {shape: scalar}}}
	if d := diff(a, b, "spec"); len(d) != 3 {
		t.Errorf("diff = %q, want 3 differences", d)
	}
}
