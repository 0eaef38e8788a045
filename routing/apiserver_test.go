package routing_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// manifestDirs hold the route objects the tests of routing and of the
// inventory's route reading use, and the embedded httproute example.
var manifestDirs = []string{"testdata", filepath.Join("..", "inventory", "testdata", "routes"), filepath.Join("..", "examples", "httproute")}

// TestAPIServer is the package's only test with a server: every route
// object the tests use must pass the Gateway API's and Istio's CRD schemas
// in a real kube-apiserver (strict field validation), so that the names
// and orders tested are those of objects a cluster would accept; and the
// objects the CRDs reject, the reader rejects too.
func TestAPIServer(t *testing.T) {
	srv := k8stest.Start(t)
	t.Run("test manifests", func(t *testing.T) {
		n, files := 0, 0
		for _, dir := range manifestDirs {
			names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			files += len(names)
			for _, file := range names {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				objs, err := k8stest.DecodeObjects(data)
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				rt := make([]runtime.Object, len(objs))
				for i, o := range objs {
					rt[i] = o
				}
				if err := k8stest.DryRunApply(t.Context(), srv.Config, rt...); err != nil {
					t.Errorf("%s: %v", file, err)
				}
				n += len(objs)
			}
		}
		if files < 2*len(manifestDirs) || n < files {
			t.Errorf("%d objects in %d files checked: test manifests missing", n, files)
		}
	})
	t.Run("rejected by both", func(t *testing.T) {
		for _, tc := range []struct{ name, yaml, field string }{
			{"gRPC method without service or method", `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: bad, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart}]
  rules:
  - matches:
    - method: {type: Exact}
`, "spec.rules[0].matches[0].method"},
			{"unknown path type", `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: shop}
spec:
  rules:
  - matches:
    - path: {type: Glob, value: /x}
`, "spec.rules[0].matches[0].path.type"},
			{"unknown method", `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: shop}
spec:
  rules:
  - matches:
    - method: FETCH
`, "spec.rules[0].matches[0].method"},
			{"header name not a string", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad, namespace: shop}
spec:
  hosts: [cart]
  http:
  - name: [x]
    route: [{destination: {host: cart}}]
`, "spec.http[0].name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				objs, err := k8stest.DecodeObjects([]byte(tc.yaml))
				if err != nil {
					t.Fatal(err)
				}
				err = k8stest.DryRunApply(t.Context(), srv.Config, objs[0])
				if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
					t.Errorf("API server: %v, want the object rejected", err)
				}
				mobjs, _ := manifest.Decode("bad.yaml", []byte(tc.yaml))
				inv, err := inventory.Build(mobjs)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, d := range inv.Routes.Diagnostics {
					found = found || d.Code == "RB002" && strings.HasPrefix(d.Field, tc.field)
				}
				if !found {
					t.Errorf("reader: %v, want RB002 at %s", inv.Routes.Diagnostics, tc.field)
				}
			})
		}
	})
}
