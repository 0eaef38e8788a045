package k8stest_test

import (
	"io/fs"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/monitors"
)

// TestAPIServer is the package's only test with a server: starting one
// costs seconds, so every check runs as a subtest against the same one.
func TestAPIServer(t *testing.T) {
	begin := time.Now()
	srv := k8stest.StartWith(t, k8stest.Options{AuditLog: true})
	t.Cleanup(func() { t.Logf("API server tests took %s", time.Since(begin).Round(time.Millisecond)) })

	t.Run("listens on loopback", func(t *testing.T) {
		u, err := url.Parse(srv.Config.Host)
		if err != nil {
			t.Fatal(err)
		}
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			t.Errorf("API server at %s, want 127.0.0.1", srv.Config.Host)
		}
	})
	t.Run("monitors", func(t *testing.T) { testMonitors(t, srv) })
	t.Run("invalid PodMonitor", func(t *testing.T) { testInvalidPodMonitor(t, srv) })
	t.Run("podinfo example", func(t *testing.T) { testPodinfo(t, srv) })
	t.Run("existing object", func(t *testing.T) {
		cm := &unstructured.Unstructured{}
		cm.SetAPIVersion("v1")
		cm.SetKind("ConfigMap")
		cm.SetNamespace("existing")
		cm.SetName("dashboards")
		ns := &unstructured.Unstructured{}
		ns.SetAPIVersion("v1")
		ns.SetKind("Namespace")
		ns.SetName("existing")
		// The ConfigMap makes its namespace exist; the Namespace is then applied.
		if err := k8stest.DryRunApply(t.Context(), srv.Config, cm, ns); err != nil {
			t.Error(err)
		}
		ns.SetLabels(map[string]string{"bad label": "x"})
		if err := k8stest.DryRunApply(t.Context(), srv.Config, ns); !apierrors.IsInvalid(err) {
			t.Errorf("invalid label on an existing namespace: %v, want Invalid", err)
		}
	})
	t.Run("audit log and users", func(t *testing.T) { testAudit(t, srv) })
	t.Run("missing TypeMeta", func(t *testing.T) {
		u := &unstructured.Unstructured{}
		u.SetName("x")
		err := k8stest.DryRunApply(t.Context(), srv.Config, u)
		if err == nil || !strings.Contains(err.Error(), "apiVersion and kind") {
			t.Errorf("DryRunApply without kind = %v", err)
		}
	})
}

// testMonitors pushes every shape of the generated monitors through the
// prometheus-operator CRD schemas.
func testMonitors(t *testing.T, srv *k8stest.Server) {
	custom := monitors.DefaultOptions()
	custom.Namespace = "observability"
	custom.Labels = map[string]string{"prometheus": "mesh"}
	custom.KeepMetrics = "envoy_server_live|envoy_cluster_.*"
	custom.Interval = "30s"
	keepAll := monitors.DefaultOptions()
	keepAll.DropEnvoyStats = false
	tests := []struct {
		name    string
		opts    monitors.Options
		ambient bool
		want    int // objects
	}{
		{"sidecar mesh", monitors.DefaultOptions(), false, 2},
		{"ambient mesh", monitors.DefaultOptions(), true, 3},
		{"custom", custom, true, 3},
		{"keep all", keepAll, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := monitors.Build(tt.opts, tt.ambient)
			if err != nil {
				t.Fatal(err)
			}
			objs := set.Objects()
			if len(objs) != tt.want {
				t.Fatalf("%d objects, want %d", len(objs), tt.want)
			}
			rt := make([]runtime.Object, len(objs))
			for i, o := range objs {
				rt[i] = o
			}
			if err := k8stest.DryRunApply(t.Context(), srv.Config, rt...); err != nil {
				t.Error(err)
			}
		})
	}
}

// testInvalidPodMonitor proves the CRD schema is enforced: each broken
// variant of a valid PodMonitor must be rejected as invalid, naming the field.
func testInvalidPodMonitor(t *testing.T, srv *k8stest.Server) {
	set, err := monitors.Build(monitors.DefaultOptions(), false)
	if err != nil {
		t.Fatal(err)
	}
	valid, err := runtime.DefaultUnstructuredConverter.ToUnstructured(set.PodMonitors[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := k8stest.DryRunApply(t.Context(), srv.Config, &unstructured.Unstructured{Object: valid}); err != nil {
		t.Fatalf("the unbroken PodMonitor is rejected: %v", err)
	}
	tests := []struct {
		name  string
		path  []string // under spec.podMetricsEndpoints[0]
		value any
		field string // in the error
	}{
		{"wrong type", []string{"path"}, int64(42), "path"},
		{"bad duration", []string{"interval"}, "15 seconds", "interval"},
		{"bad relabel action", []string{"relabelings"}, []any{map[string]any{"action": "explode"}}, "action"},
		{"unknown field", []string{"portName"}, "http-envoy-prom", "portName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(valid)}
			eps, _, _ := unstructured.NestedSlice(u.Object, "spec", "podMetricsEndpoints")
			if err := unstructured.SetNestedField(eps[0].(map[string]any), tt.value, tt.path...); err != nil {
				t.Fatal(err)
			}
			if err := unstructured.SetNestedSlice(u.Object, eps, "spec", "podMetricsEndpoints"); err != nil {
				t.Fatal(err)
			}
			err := k8stest.DryRunApply(t.Context(), srv.Config, u)
			if err == nil {
				t.Fatal("accepted")
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Errorf("not a validation error: %v", err)
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "PodMonitor monitoring/"+monitors.EnvoyMonitorName) {
				t.Errorf("error does not name the object and field %q: %v", tt.field, err)
			}
		})
	}
}

// testPodinfo creates the example's Namespace, Gateway, WasmPlugin and
// Telemetry: the Istio and Gateway API CRDs are installed and accept them.
func testPodinfo(t *testing.T, srv *k8stest.Server) {
	objs := readManifests(t, examples.Podinfo())
	kinds := map[string]bool{}
	rt := make([]runtime.Object, len(objs))
	for i, o := range objs {
		kinds[o.GetKind()] = true
		rt[i] = o
	}
	for _, k := range []string{"Namespace", "Gateway", "WasmPlugin", "Telemetry"} {
		if !kinds[k] {
			t.Errorf("example has no %s", k)
		}
	}
	if err := k8stest.DryRunApply(t.Context(), srv.Config, rt...); err != nil {
		t.Error(err)
	}
}

func readManifests(t *testing.T, fsys fs.FS) []*unstructured.Unstructured {
	t.Helper()
	files, err := fs.Glob(fsys, "*/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests (%v)", err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := k8stest.DecodeObjects(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		objs = append(objs, decoded...)
	}
	return objs
}

// testAudit writes as a user of its own, through a kubeconfig file, and
// finds the write in the audit log under that user's name.
func testAudit(t *testing.T, srv *k8stest.Server) {
	begin := time.Now()
	cfg, err := srv.AddUser("auditee")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := clientcmd.BuildConfigFromFlags("", k8stest.WriteKubeconfig(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(fromFile, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "audited"}}
	if err := c.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	if err := c.List(t.Context(), &corev1.NamespaceList{}); err != nil {
		t.Fatal(err)
	}
	writes, err := srv.Writes(begin)
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, w := range writes {
		if w.User == "auditee" {
			mine = append(mine, w.String())
		}
	}
	if len(mine) != 1 || mine[0] != "create namespaces /audited by auditee (201)" {
		t.Errorf("writes of auditee: %q, want only the namespace's creation (reads are not audited)", mine)
	}
	if w, err := srv.Writes(time.Now().Add(time.Hour)); err != nil || len(w) != 0 {
		t.Errorf("writes in the future: %v %v", w, err)
	}
}
