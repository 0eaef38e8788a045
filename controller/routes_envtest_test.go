package controller_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	crclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/routebundle/routebundle/controller"
	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/k8stest"
)

// routeCRDs are the CRD files of the route objects the test installs late.
var routeCRDs = []string{"gateway.networking.k8s.io_httproutes.yaml", "gateway.networking.k8s.io_grpcroutes.yaml"}

// TestRouteObjects runs the controller against a real API server whose
// HTTPRoute and GRPCRoute CRDs come after it starts: it serves the mesh
// without them, starts watching HTTPRoutes once they are installed, and the
// httproute example's Telemetry (tag xds.route_name) then gets a
// PrometheusRule carrying the HTTPRoute's rule names, and a renamed rule's
// new name.
func TestRouteObjects(t *testing.T) {
	srv := k8stest.StartWith(t, k8stest.Options{SkipCRDs: true})
	early, late := splitCRDs(t)
	if _, err := envtest.InstallCRDs(srv.Config, envtest.CRDInstallOptions{Paths: early, MaxTime: time.Minute}); err != nil {
		t.Fatal(err)
	}
	cl, err := crclient.New(srv.Config, crclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	objs := exampleObjects(t)
	route := objs["HTTPRoute"]
	create(t, cl, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "monitoring"}}})
	for _, k := range []string{"Namespace", "Gateway", "Telemetry"} {
		create(t, cl, objs[k])
	}
	client := decodeOne(t, clientSide)
	create(t, cl, decodeOne(t, clientNamespace))
	create(t, cl, client)
	c := startController(t, srv)

	// Without the HTTPRoute CRD the mesh is served, and the Telemetry
	// reads "default" only (RB110): no route set, no PrometheusRule.
	waitFor(t, "ready without the HTTPRoute CRD", func() error { return c.ReadyCheck(nil) })
	rules := func(ns string) (string, error) {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("monitoring.coreos.com/v1")
		list.SetKind("PrometheusRuleList")
		if err := cl.List(ctx, list, crclient.InNamespace(ns)); err != nil {
			return "", err
		}
		if len(list.Items) == 0 {
			return "", fmt.Errorf("no PrometheusRule in %s", ns)
		}
		data, err := list.MarshalJSON()
		return string(data), err
	}
	rule := func() (string, error) { return rules("podinfo") }
	for _, ns := range []string{"podinfo", "web"} {
		if r, err := rules(ns); err == nil {
			t.Fatalf("a PrometheusRule before any HTTPRoute is read: %s", r)
		}
	}

	if _, err := envtest.InstallCRDs(srv.Config, envtest.CRDInstallOptions{Paths: late, MaxTime: time.Minute}); err != nil {
		t.Fatal(err)
	}
	create(t, cl, route)
	routeMatch := func(name, match string) string {
		return `eq $route \"` + name + `\" }}` + match + ` (HTTPRoute podinfo/podinfo)`
	}
	waitFor(t, "the HTTPRoute's rule names in the PrometheusRule", func() error {
		r, err := rule()
		if err == nil && !strings.Contains(r, routeMatch("post-echo", "POST /echo")) {
			err = errors.New("no route post-echo")
		}
		return err
	})
	// The client sidecars of web read the routes of podinfo's Service
	// (reporter="source"): route objects of another namespace.
	waitFor(t, "the HTTPRoute's rule names in web's PrometheusRule", func() error {
		r, err := rules("web")
		if err == nil && !strings.Contains(r, routeMatch("post-echo", "POST /echo")) {
			err = errors.New("no route post-echo")
		}
		return err
	})
	if inv := c.Inventory(); inv == nil || len(inv.Routes.Index.Objects()) != 1 {
		t.Errorf("the inventory does not hold the HTTPRoute")
	}

	// Renaming a rule renames its route.
	if err := cl.Get(ctx, crclient.ObjectKeyFromObject(route), route); err != nil {
		t.Fatal(err)
	}
	specRules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	specRules[1].(map[string]any)["name"] = "echo"
	if err := unstructured.SetNestedSlice(route.Object, specRules, "spec", "rules"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Update(ctx, route); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the renamed rule in the PrometheusRule", func() error {
		r, err := rule()
		switch {
		case err != nil:
		case strings.Contains(r, "post-echo"):
			err = errors.New("still post-echo")
		case !strings.Contains(r, routeMatch("echo", "POST /echo")):
			err = errors.New("no route echo")
		}
		return err
	})
	waitFor(t, "the renamed rule in web's PrometheusRule", func() error {
		r, err := rules("web")
		if err == nil && !strings.Contains(r, routeMatch("echo", "POST /echo")) {
			err = errors.New("no route echo")
		}
		return err
	})

	// An edit of web's Telemetry alone (an objective: long windows) is a
	// namespace's change, whose route names still come from podinfo.
	if err := cl.Get(ctx, crclient.ObjectKeyFromObject(client), client); err != nil {
		t.Fatal(err)
	}
	client.SetAnnotations(map[string]string{"routebundle.io/objective": "99.9%"})
	if err := cl.Update(ctx, client); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web's objective", func() error {
		r, err := rules("web")
		switch {
		case err != nil:
		case !strings.Contains(r, "rate30d"):
			err = errors.New("no 30-day window")
		case !strings.Contains(r, routeMatch("echo", "POST /echo")):
			err = errors.New("no route echo")
		}
		return err
	})
}

// The client sidecars of namespace web tag their requests with the route
// that matched.
const (
	clientNamespace = `apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {istio-injection: enabled}}
`
	clientSide = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: client-routes, namespace: web}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS, mode: CLIENT}
      tagOverrides: {client_route: {value: xds.route_name}}
`
)

func decodeOne(t *testing.T, yaml string) *unstructured.Unstructured {
	t.Helper()
	objs, err := k8stest.DecodeObjects([]byte(yaml))
	if err != nil || len(objs) != 1 {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	return objs[0]
}

// splitCRDs returns the CRD paths without the route objects' CRDs, and
// those.
func splitCRDs(t *testing.T) (early, late []string) {
	t.Helper()
	paths, err := k8stest.CRDPaths(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() {
			early = append(early, p)
			continue
		}
		files, err := filepath.Glob(filepath.Join(p, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if isRouteCRD(f) {
				late = append(late, f)
			} else {
				early = append(early, f)
			}
		}
	}
	if len(late) != len(routeCRDs) {
		t.Fatalf("route CRDs %v not found in %v", routeCRDs, paths)
	}
	return early, late
}

func isRouteCRD(path string) bool {
	for _, name := range routeCRDs {
		if filepath.Base(path) == name {
			return true
		}
	}
	return false
}

// exampleObjects returns the objects of the embedded httproute example by
// kind.
func exampleObjects(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	files, err := fs.Glob(examples.HTTPRoute(), "*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*unstructured.Unstructured{}
	for _, f := range files {
		data, err := fs.ReadFile(examples.HTTPRoute(), f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := k8stest.DecodeObjects(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range objs {
			out[o.GetKind()] = o
		}
	}
	return out
}

func create(t *testing.T, cl crclient.Client, obj crclient.Object) {
	t.Helper()
	if err := cl.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating %s %s: %v", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
}

// startController runs a controller on a manager of its own until the
// test ends, looking for missing CRDs every 200ms.
func startController(t *testing.T, srv *k8stest.Server) *controller.Controller {
	t.Helper()
	mgr := newManager(t, srv.Config)
	// The controller's logs go to the test's output (shown when it fails);
	// the manager stops before the test ends.
	c, err := controller.New(mgr, quick(controller.Options{Logger: slog.New(slog.NewJSONHandler(t.Output(), nil))}))
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, mgr)
	return c
}

// quick shortens the controller's delays for tests.
func quick(o controller.Options) controller.Options {
	o.Coalesce, o.MeshDelay = 20*time.Millisecond, 100*time.Millisecond
	o.CRDRetry, o.CRDRetryMax = 50*time.Millisecond, 200*time.Millisecond
	return o
}

func newManager(t *testing.T, cfg *rest.Config) manager.Manager {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := manager.New(cfg, manager.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

// startManager runs mgr until stop is called or the test ends.
func startManager(t *testing.T, mgr manager.Manager) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls check until it returns nil, failing t after a minute.
func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
