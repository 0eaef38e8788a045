// Package k8stest runs a real kube-apiserver and etcd (controller-runtime's
// envtest) with the CRDs routebundle reads and writes installed: Istio's,
// the Gateway API's and the prometheus-operator's. Generated objects are
// pushed through it with DryRunApply, so that the API server's schema
// validation, not a hand-written check, decides whether they are valid.
//
// The binaries come from bin/ (`make tools`); the CRDs are read from the Go
// module cache at pinned versions, never copied into the repository.
//
// Start one server per test package: a single top-level test calls Start and
// runs everything that needs the server as subtests.
package k8stest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/routebundle/routebundle/internal/testutil"
)

// Modules whose CRDs are installed, at the versions routebundle supports.
const (
	IstioAPIModule           = "istio.io/api@v1.32.0"
	GatewayAPIModule         = "sigs.k8s.io/gateway-api@v1.6.3"
	PrometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
)

// FieldManager is the field owner of routebundle's server-side applies.
const FieldManager = "routebundle"

// startTimeout bounds each control plane component's start. envtest's 20s
// default is too short for a cold start on a busy 2-core machine.
const startTimeout = 3 * time.Minute

// Server is a running API server with the CRDs installed.
type Server struct {
	// Config reaches the server as a cluster admin.
	Config *rest.Config

	env      *envtest.Environment
	crdPaths []string
	// auditLog is the path of the audit log, "" without one.
	auditLog string
}

// Options change what Start sets up.
type Options struct {
	// SkipCRDs starts the server without any CRD; InstallCRDs adds them.
	SkipCRDs bool
	// AuditLog makes the server log every write request (create, update,
	// patch, delete) to a file that Writes reads: what a client wrote,
	// counted by the server rather than by the client.
	AuditLog bool
}

// Start starts etcd and kube-apiserver on 127.0.0.1, installs the CRDs and
// stops everything when t's test ends. It fails t if anything is missing.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	apiServer := testutil.Binary(t, "kube-apiserver")
	etcd := testutil.Binary(t, "etcd")
	paths, err := CRDPaths(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{crdPaths: paths}
	existing := false
	env := &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			// A certificate directory of its own survives RestartAPIServer,
			// so that clients keep trusting the restarted server.
			APIServer: &envtest.APIServer{Path: apiServer, CertDir: t.TempDir()},
			Etcd:      &envtest.Etcd{Path: etcd},
		},
		ErrorIfCRDPathMissing: true,
		// Never talk to whatever cluster USE_EXISTING_CLUSTER points at.
		UseExistingCluster:       &existing,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  time.Minute,
	}
	if !o.SkipCRDs {
		env.CRDInstallOptions = envtest.CRDInstallOptions{Paths: paths, MaxTime: startTimeout}
	}
	if o.AuditLog {
		srv.auditLog = configureAudit(t, env.ControlPlane.APIServer)
	}
	// envtest logs through controller-runtime's process-wide logger and
	// prints a stack trace when none is set; its progress lines are noise here.
	ctrllog.SetLogger(logr.Discard())
	begin := time.Now()
	cfg, err := env.Start()
	if err != nil {
		// A half-started control plane still has processes to stop.
		_ = env.Stop()
		t.Fatalf("start kube-apiserver and etcd: %v", err)
	}
	took := time.Since(begin)
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop kube-apiserver and etcd: %v", err)
		}
	})
	t.Logf("kube-apiserver at %s with %d CRDs started in %s", cfg.Host, len(env.CRDs), took.Round(time.Millisecond))
	srv.Config, srv.env = cfg, env
	return srv
}

// InstallCRDs installs the CRDs into a server started without them and
// waits until they are served.
func (s *Server) InstallCRDs() error {
	_, err := envtest.InstallCRDs(s.Config, envtest.CRDInstallOptions{Paths: s.crdPaths, MaxTime: startTimeout})
	return err
}

// RestartAPIServer stops kube-apiserver and starts it again on the same
// address with the same certificates; etcd, and so every object, stays.
// Clients see connection errors while it is down.
func (s *Server) RestartAPIServer() error {
	api := s.env.ControlPlane.APIServer
	if err := api.Stop(); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	if err := api.Start(); err != nil {
		return fmt.Errorf("start kube-apiserver again: %w", err)
	}
	return nil
}

// AddUser returns a config that reaches the server as a cluster admin
// named name: requests made with it carry that name in the audit log.
func (s *Server) AddUser(name string) (*rest.Config, error) {
	u, err := s.env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return u.Config(), nil
}

// CRDPaths returns the CRD files and directories in the module cache,
// downloading the modules into it if needed.
func CRDPaths(ctx context.Context) ([]string, error) {
	sources := []struct{ module, path string }{
		{IstioAPIModule, "kubernetes/customresourcedefinitions.gen.yaml"},
		{GatewayAPIModule, "config/crd/standard"},
		{PrometheusOperatorModule, "example/prometheus-operator-crd"},
	}
	paths := make([]string, 0, len(sources))
	for _, s := range sources {
		dir, err := ModuleDir(ctx, s.module)
		if err != nil {
			return nil, err
		}
		paths = append(paths, filepath.Join(dir, filepath.FromSlash(s.path)))
	}
	return paths, nil
}

// ModuleDir returns the module cache directory of module@version, as
// `go mod download -json` reports it.
func ModuleDir(ctx context.Context, moduleAtVersion string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", moduleAtVersion)
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil && err == nil {
		err = jerr
	}
	if info.Error != "" {
		err = errors.New(info.Error)
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(exit.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, exit.Stderr)
		}
		return "", fmt.Errorf("go mod download %s: %w", moduleAtVersion, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory reported", moduleAtVersion)
	}
	return info.Dir, nil
}

// DryRunApply creates each object with dryRun=All and strict field
// validation (`kubectl create --dry-run=server --validate=strict`), so that
// the API server checks it against its schema (types, patterns, enums, CEL
// rules, unknown fields) without storing it; an object that already exists
// is server-side applied with dryRun=All instead. Objects need apiVersion
// and kind set. The namespaces the objects live in are created for real
// first: the API server refuses even a dry run into a missing namespace.
// Every object is tried; the error joins one error per rejected object,
// naming it, and keeps the API status (apierrors.IsInvalid works on it).
//
// Create rather than apply comes first because server-side apply reports
// a wrong type or an unknown field as an internal error (500), while create
// reports them as Invalid (422) or BadRequest (400) with the field's path.
func DryRunApply(ctx context.Context, cfg *rest.Config, objs ...runtime.Object) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	namespaces := map[string]bool{}
	var errs []error
	for _, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ns := u.GetNamespace(); ns != "" && !namespaces[ns] {
			if err := ensureNamespace(ctx, c, ns); err != nil {
				errs = append(errs, err)
				continue
			}
			namespaces[ns] = true
		}
		if err := dryRun(ctx, c, u); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", describe(u), err))
		}
	}
	return errors.Join(errs...)
}

func dryRun(ctx context.Context, c client.Client, u *unstructured.Unstructured) error {
	err := c.Create(ctx, u.DeepCopy(), client.DryRunAll, client.FieldOwner(FieldManager), client.FieldValidation("Strict"))
	if apierrors.IsAlreadyExists(err) {
		err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
			client.DryRunAll, client.FieldOwner(FieldManager), client.ForceOwnership)
	}
	return err
}

// toUnstructured goes through JSON, so that the server sees exactly what
// the generated YAML files say.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u = u.DeepCopy()
		return u, checkTypeMeta(u, obj)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", obj, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%T: %w", obj, err)
	}
	return u, checkTypeMeta(u, obj)
}

func checkTypeMeta(u *unstructured.Unstructured, obj runtime.Object) error {
	if u.GetAPIVersion() == "" || u.GetKind() == "" {
		return fmt.Errorf("%T %s: apiVersion and kind must be set", obj, describe(u))
	}
	return nil
}

func describe(u *unstructured.Unstructured) string {
	name := u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprintf("%s %s", u.GetKind(), name)
}

func ensureNamespace(ctx context.Context, c client.Client, name string) error {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(ns), client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// DecodeObjects reads a YAML or JSON stream the way kubectl does, skipping
// empty documents.
func DecodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}
