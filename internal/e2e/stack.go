// Package e2e runs routebundle end to end with every consumer real: a
// kube-apiserver and etcd (envtest) with the Istio, Gateway API and
// prometheus-operator CRDs, routebundle itself (service.Run, the program's
// main, in-process), the real prometheus-operator turning what routebundle
// applied into a Prometheus configuration and rule files, a synthetic mesh
// whose Envoy endpoints Prometheus finds through Kubernetes discovery, and
// the real Prometheus running the operator's output.
//
// `make e2e` runs the test (build tag e2e); `make demo` starts the same
// stack and leaves it up until Ctrl-C.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/meshsim"
	"github.com/routebundle/routebundle/internal/operatortest"
	"github.com/routebundle/routebundle/internal/service"
	"github.com/routebundle/routebundle/internal/testproc"
	"github.com/routebundle/routebundle/internal/testutil"
)

// The kube-prometheus-stack install the stack imitates: a Helm release
// named Release in MonitoringNamespace. Its Prometheus selects only
// objects labelled release=Release, so a wrong label on anything
// routebundle applies leaves it out.
const (
	Release             = "kps"
	MonitoringNamespace = "monitoring"
	// PrometheusName is the Prometheus object the chart creates.
	PrometheusName = Release + "-prometheus"
	// RoutebundleNamespace holds routebundle's leader election Lease.
	RoutebundleNamespace = "routebundle"
	// UserFieldManager applies the Istio objects, as kubectl would.
	UserFieldManager = "kubectl"
)

// Intervals short enough for a test of a few minutes: Prometheus scrapes
// and evaluates every second; an alert fires after ErrorFor; routebundle's
// exporter queries Prometheus every ExporterInterval.
const (
	ScrapeInterval   = "1s"
	ErrorFor         = "10s"
	ExporterInterval = "2s"
)

// BundleConfig is routebundle's bundle config: the release label of the
// Prometheus above, and an error alert that needs ErrorFor, not 5m.
const BundleConfig = "release: " + Release + "\nalerts:\n  errorFor: " + ErrorFor + "\n"

// Stack is the running end-to-end setup.
type Stack struct {
	API *k8stest.Server
	// Client reaches the API server as a cluster admin.
	Client client.Client
	// Kubeconfig is a kubeconfig file for the API server.
	Kubeconfig  string
	Operator    *operatortest.Operator
	Prometheus  *OperatorPrometheus
	Mesh        *Mesh
	Routebundle *Routebundle
	// ConfigPath is routebundle's bundle config file.
	ConfigPath string
}

// Options change what Start sets up.
type Options struct {
	// Objects are the Istio and Gateway API objects applied before
	// routebundle starts; nil applies examples/podinfo.
	Objects []*unstructured.Unstructured
	// Traffic is the waypoint's traffic model; the zero value is
	// PodinfoTraffic().
	Traffic meshsim.Proxy
}

// Start brings the whole stack up and stops all of it when t ends,
// whether t passed or not.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	s := &Stack{API: k8stest.Start(t)}
	s.Kubeconfig = k8stest.WriteKubeconfig(t, s.API.Config)
	c, err := newClient(s.API)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = c
	ctx := t.Context()
	for _, ns := range []string{MonitoringNamespace, RoutebundleNamespace} {
		if err := ensureNamespace(ctx, c, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	s.Operator = operatortest.Start(t, s.API.Config)
	prom := operatortest.KubePrometheusStack(MonitoringNamespace, Release, ScrapeInterval, ScrapeInterval)
	if err := c.Create(ctx, prom); err != nil {
		t.Fatalf("create the Prometheus object: %v", err)
	}
	objs := o.Objects
	if objs == nil {
		if objs, err = PodinfoObjects(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Apply(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	traffic := o.Traffic
	if traffic.Reporter == "" {
		traffic = PodinfoTraffic()
	}
	if s.Mesh, err = startMesh(t, c, traffic); err != nil {
		t.Fatal(err)
	}
	s.ConfigPath = filepath.Join(t.TempDir(), "bundle.yaml")
	if err := os.WriteFile(s.ConfigPath, []byte(BundleConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	// The operator writes a configuration as soon as the Prometheus
	// object exists; Prometheus follows as routebundle's objects arrive.
	s.Prometheus = startOperatorPrometheus(t, c, MonitoringNamespace, PrometheusName, s.Kubeconfig)
	s.Routebundle = startRoutebundle(t, []string{
		"--kubeconfig=" + s.Kubeconfig,
		"--config=" + s.ConfigPath,
		"--leader-election-namespace=" + RoutebundleNamespace,
		"--prometheus-url=" + s.Prometheus.URL,
		"--exporter-interval=" + ExporterInterval,
		"--exporter-timeout=" + ExporterInterval,
	})
	return s
}

func newClient(srv *k8stest.Server) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := monitoringv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(srv.Config, client.Options{Scheme: scheme})
}

// PodinfoObjects are the objects of examples/podinfo, as `kubectl apply
// -f examples/podinfo` reads them.
func PodinfoObjects() ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	err := fs.WalkDir(examples.Podinfo(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(examples.Podinfo(), p)
		if err != nil {
			return err
		}
		got, err := k8stest.DecodeObjects(data)
		if err != nil {
			return fmt.Errorf("examples/%s: %w", p, err)
		}
		objs = append(objs, got...)
		return nil
	})
	return objs, err
}

// Apply server-side applies objs as a user with kubectl would.
func (s *Stack) Apply(ctx context.Context, objs ...*unstructured.Unstructured) error {
	var errs []error
	for _, u := range objs {
		err := s.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
			client.FieldOwner(UserFieldManager), client.ForceOwnership)
		if err != nil {
			errs = append(errs, fmt.Errorf("apply %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

// PodinfoTraffic is meshsim.PodinfoWaypoint called by Loadgen, with POST
// /echo healthy: the 5xx come in a burst (see Stack.SetErrorRatio).
func PodinfoTraffic() meshsim.Proxy {
	p := meshsim.PodinfoWaypoint()
	for i := range p.Flows {
		p.Flows[i].Source = Loadgen
		if p.Flows[i].Route == "POST /echo" {
			p.Flows[i].ErrorRatio = 0
		}
	}
	return p
}

// SetErrorRatio changes the share of 5xx answers of route's requests, as
// both the waypoint and the calling sidecar see them.
func (s *Stack) SetErrorRatio(route string, ratio float64) error {
	return s.updateFlows(route, func(f *meshsim.Flow) { f.ErrorRatio = ratio })
}

// RenameRoute makes the waypoint report route's requests as renamed, as it
// does once Istio pushed a WasmPlugin with the route renamed.
func (s *Stack) RenameRoute(route, renamed string) error {
	return s.updateFlows(route, func(f *meshsim.Flow) { f.Route = renamed })
}

func (s *Stack) updateFlows(route string, change func(f *meshsim.Flow)) error {
	found := false
	update := func(p *meshsim.Proxy) {
		for i := range p.Flows {
			if p.Flows[i].Route == route {
				change(&p.Flows[i])
				found = true
			}
		}
	}
	if err := s.Mesh.Waypoint.Update(update); err != nil {
		return err
	}
	if err := s.Mesh.Sidecar.Update(update); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no flow of route %q", route)
	}
	return nil
}

// Routebundle is routebundle's main (service.Run) running in-process with
// a command line, as the binary would.
type Routebundle struct {
	// MetricsURL and ProbeURL are the bases of /metrics and /healthz, /readyz.
	MetricsURL, ProbeURL string

	logs   *testutil.SyncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startRoutebundle runs service.Run with args plus loopback listeners on
// free ports, leader election in RoutebundleNamespace, until the test ends.
func startRoutebundle(t testing.TB, args []string) *Routebundle {
	t.Helper()
	metrics, probes := freeAddr(t), freeAddr(t)
	args = append([]string{
		"--metrics-bind-address=" + metrics,
		"--health-probe-bind-address=" + probes,
		"--log-level=debug",
	}, args...)
	r := &Routebundle{MetricsURL: "http://" + metrics, ProbeURL: "http://" + probes, logs: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- service.Run(ctx, args, r.logs, r.logs) }()
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("routebundle: %v", err)
		}
		if t.Failed() {
			t.Logf("routebundle logs:\n%s", r.logs.String())
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("routebundle exited: %v\n%s", err, r.logs.String())
		default:
		}
		if resp, err := http.Get(r.ProbeURL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("routebundle not healthy after a minute\n%s", r.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends routebundle as SIGTERM would and returns what Run returned.
func (r *Routebundle) Stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(time.Minute):
		return errors.New("routebundle did not stop within a minute")
	}
}

// Logs returns routebundle's JSON log lines so far.
func (r *Routebundle) Logs() string { return r.logs.String() }

// freeAddr is a free 127.0.0.1 address for a listener routebundle opens
// moments later.
func freeAddr(t testing.TB) string {
	t.Helper()
	port, err := testproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// WriteObjects writes objs into dir, one YAML file each, as the files
// `bundlegen` reads.
func WriteObjects(dir string, objs []*unstructured.Unstructured) error {
	for i, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		name := fmt.Sprintf("%02d-%s-%s.yaml", i, strings.ToLower(u.GetKind()), u.GetName())
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
