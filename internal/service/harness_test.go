package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/service"
	"github.com/routebundle/routebundle/internal/testutil"
)

// instance is one running service, restarted like a kubelet would when it
// exits on a lost leader election.
type instance struct {
	t    testing.TB
	logs *testutil.SyncBuffer

	mu     sync.Mutex
	svc    *service.Service
	cancel context.CancelFunc
	done   chan error
}

// startService runs the service with opts until stop or the end of the test.
func startService(t testing.TB, opts service.Options) *instance {
	t.Helper()
	in := &instance{t: t, logs: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	opts.MetricsAddr, opts.ProbeAddr = "127.0.0.1:0", "127.0.0.1:0"
	if opts.LogLevel == 0 {
		opts.LogLevel = -4 // debug: the pass summaries
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	first := make(chan error, 1)
	go func() {
		report := first
		for {
			svc, err := service.New(opts, in.logs)
			if err == nil {
				// Before reporting: the test reads in.svc as soon as
				// startService returns.
				in.mu.Lock()
				in.svc = svc
				in.mu.Unlock()
			}
			if report != nil {
				report <- err
				report = nil
			}
			if err != nil {
				in.done <- err
				return
			}
			err = svc.Start(ctx)
			if ctx.Err() != nil || err == nil || !strings.Contains(err.Error(), "leader election lost") {
				in.done <- err
				return
			}
			fmt.Fprintf(in.logs, "{\"test\":\"restarting after %v\"}\n", err)
		}
	}()
	if err := <-first; err != nil {
		t.Fatalf("service.New: %v", err)
	}
	t.Cleanup(func() { in.stop() })
	return in
}

// stop ends the service and returns what Start returned.
func (in *instance) stop() error {
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err // for a second stop
		return err
	case <-time.After(time.Minute):
		return errors.New("the service did not stop within a minute")
	}
}

// passes is how many passes of scope the running service has made, as its
// exporter counts them (routebundle_reconciles_total).
func (in *instance) passes(scope string) int {
	in.t.Helper()
	fams, err := in.service().Registry().Gather()
	if err != nil {
		in.t.Fatal(err)
	}
	n := 0.0
	for _, f := range fams {
		if f.GetName() != "routebundle_reconciles_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pass" && l.GetValue() == scope {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(n)
}

func (in *instance) service() *service.Service {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.svc
}

// probe GETs a health endpoint and returns its status and body.
func (in *instance) get(path string, probe bool) (int, string, error) {
	addr := in.service().MetricsAddr()
	if probe {
		addr = in.service().ProbeAddr()
	}
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// eventually retries check until it succeeds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitTimeout bounds every wait for the service: generous, for a loaded
// 2-core machine.
const waitTimeout = 90 * time.Second

var (
	prometheusRuleGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}
	configMapGVK      = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	podMonitorGVK     = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PodMonitor"}
	wasmPluginGVK     = schema.GroupVersionKind{Group: "extensions.istio.io", Version: "v1alpha1", Kind: "WasmPlugin"}
)

// cluster is the test's own access to the API server.
type cluster struct {
	t   testing.TB
	c   client.Client
	cfg *rest.Config
}

func newCluster(t testing.TB, cfg *rest.Config) *cluster {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, c: c, cfg: cfg}
}

// apply server-side applies every object of a YAML stream as "test".
func (k *cluster) apply(manifests string) {
	k.t.Helper()
	objs, err := k8stest.DecodeObjects([]byte(manifests))
	if err != nil {
		k.t.Fatal(err)
	}
	for _, u := range objs {
		if err := k.c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u),
			client.FieldOwner("test"), client.ForceOwnership); err != nil {
			k.t.Fatalf("apply %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
}

// get reads an object, nil when it does not exist.
func (k *cluster) get(gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err := k.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	if client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	if err != nil {
		return nil, nil
	}
	return u, nil
}

// mustGet waits for an object to exist and returns it.
func (k *cluster) mustGet(gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	k.t.Helper()
	var u *unstructured.Unstructured
	eventually(k.t, waitTimeout, fmt.Sprintf("%s %s/%s exists", gvk.Kind, ns, name), func() error {
		var err error
		u, err = k.get(gvk, ns, name)
		if err == nil && u == nil {
			err = errors.New("not found")
		}
		return err
	})
	return u
}

func (k *cluster) delete(gvk schema.GroupVersionKind, ns, name string) {
	k.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	if err := k.c.Delete(context.Background(), u); client.IgnoreNotFound(err) != nil {
		k.t.Fatal(err)
	}
}

// dashboardOf returns the name of the dashboard ConfigMap made from the
// WasmPlugin ns/plugin ("" when there is none).
func (k *cluster) dashboardOf(ns, plugin string) (string, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(configMapGVK.GroupVersion().WithKind("ConfigMapList"))
	if err := k.c.List(context.Background(), list, client.InNamespace("monitoring"),
		client.MatchingLabels{"app.kubernetes.io/managed-by": "routebundle"}); err != nil {
		return "", err
	}
	for _, cm := range list.Items {
		for _, s := range strings.Split(cm.GetAnnotations()["routebundle.io/sources"], ",") {
			if s == "WasmPlugin/"+ns+"/"+plugin {
				return cm.GetName(), nil
			}
		}
	}
	return "", nil
}

// plugin is an attributegen WasmPlugin for the workloads app=app of ns
// with one match per route (request.url_path == '/<route>', value
// "GET /<route>"), annotated as given.
func plugin(ns, name, app string, annotations map[string]string, routes ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: %s\n  namespace: %s\n", name, ns)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range annotations {
			fmt.Fprintf(&b, "    %s: %q\n", k, v)
		}
	}
	fmt.Fprintf(&b, `spec:
  selector: {matchLabels: {app: %s}}
  url: file:///etc/istio/extensions/attributegen.wasm
  phase: STATS
  pluginConfig:
    attributes:
    - output_attribute: istio_operationId
      match:
`, app)
	for _, r := range routes {
		fmt.Fprintf(&b, "      - value: GET /%s\n        condition: \"request.url_path == '/%s'\"\n", r, r)
	}
	return b.String()
}

// telemetry copies istio_operationId onto route_name for app=app of ns.
func telemetry(ns, name, app string) string {
	return fmt.Sprintf(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: %s, namespace: %s}
spec:
  selector: {matchLabels: {app: %s}}
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides: {route_name: {value: "filter_state['wasm.istio_operationId']"}}
    - match: {metric: REQUEST_DURATION}
      tagOverrides: {route_name: {value: "filter_state['wasm.istio_operationId']"}}
`, name, ns, app)
}

func namespace(name string) string {
	return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + "}\n"
}

func docs(parts ...string) string { return strings.Join(parts, "---\n") }

// writeFile writes a config file atomically, as the kubelet swaps a
// ConfigMap volume's files.
func writeFile(t testing.TB, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
