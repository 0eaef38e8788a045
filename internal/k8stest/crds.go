package k8stest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// IstioCRDs reads Istio's CRDs from the module cache, at the istio.io/api
// version routebundle builds with, keyed by group/Kind.
func IstioCRDs(ctx context.Context) (map[string]apiextensionsv1.CustomResourceDefinition, error) {
	dir, err := ModuleDir(ctx, IstioAPIModule)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	objs, err := DecodeObjects(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	out := make(map[string]apiextensionsv1.CustomResourceDefinition, len(objs))
	for _, u := range objs {
		js, err := u.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := json.Unmarshal(js, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out[crd.Spec.Group+"/"+crd.Spec.Names.Kind] = crd
	}
	return out, nil
}
