// Package operatortest runs the real prometheus-operator (bin/prometheus-operator,
// built by `make tools` from tools/operator) against a k8stest API server,
// and reads back what it generates: the Prometheus configuration in the
// Secret prometheus-<name> and the rule files in the ConfigMaps
// prometheus-<name>-rulefiles-N.
//
// The operator also creates the Prometheus StatefulSet, which never runs
// (envtest has no scheduler and no kubelet): a test runs Prometheus itself
// from the generated files, playing the kubelet's and the config reloader's
// part (see package e2e).
package operatortest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/internal/testproc"
	"github.com/routebundle/routebundle/internal/testutil"
)

// Timeouts of the operator's life cycle, generous for a busy 2-core machine.
const (
	readyTimeout = 2 * time.Minute
	stopTimeout  = 15 * time.Second
)

// Operator is a running prometheus-operator.
type Operator struct {
	// URL is the base of its web server (/metrics, /healthz).
	URL string

	proc *testproc.Process
}

// Start runs the operator against the API server cfg reaches (with
// client-certificate authentication, as envtest hands out) until the test
// ends, and waits until its web server answers. It watches every namespace.
func Start(t testing.TB, cfg *rest.Config) *Operator {
	t.Helper()
	bin := testutil.Binary(t, "prometheus-operator")
	dir := t.TempDir()
	args, err := credentialArgs(dir, cfg)
	if err != nil {
		t.Fatalf("operatortest: %v", err)
	}
	port, err := testproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args = append(args,
		"--web.listen-address="+addr,
		"--log-level=info",
		// The image names only end up in the StatefulSet that never runs;
		// the default reloader image has no tag in a build without the
		// operator's version stamped in.
		"--prometheus-config-reloader=prometheus-config-reloader:v0.85.0",
	)
	proc, err := testproc.Start(bin, args, dir, filepath.Join(dir, "operator.log"))
	if err != nil {
		t.Fatalf("operatortest: %v", err)
	}
	o := &Operator{URL: "http://" + addr, proc: proc}
	t.Cleanup(func() {
		o.Stop()
		if t.Failed() {
			t.Logf("prometheus-operator log (%s):\n%s", proc.LogPath(), o.Log())
		}
	})
	if err := proc.WaitHTTP(o.URL+"/healthz", readyTimeout); err != nil {
		t.Fatalf("operatortest: %v\n%s", err, o.Log())
	}
	return o
}

// credentialArgs writes cfg's CA and client certificate into dir and
// returns the flags naming them: the operator has no kubeconfig flag.
func credentialArgs(dir string, cfg *rest.Config) ([]string, error) {
	if len(cfg.CAData) == 0 || len(cfg.CertData) == 0 || len(cfg.KeyData) == 0 {
		return nil, errors.New("the API server config needs a CA and a client certificate and key (as envtest's are)")
	}
	files := []struct {
		flag, name string
		data       []byte
	}{
		{"--ca-file", "ca.crt", cfg.CAData},
		{"--cert-file", "client.crt", cfg.CertData},
		{"--key-file", "client.key", cfg.KeyData},
	}
	args := []string{"--apiserver=" + cfg.Host}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return nil, err
		}
		args = append(args, f.flag+"="+p)
	}
	return args, nil
}

// Stop stops the operator (SIGTERM, then SIGKILL after a grace period);
// it also runs when the test ends and is safe to call more than once.
func (o *Operator) Stop() { o.proc.Stop(stopTimeout) }

// Log returns what the operator logged.
func (o *Operator) Log() string { return o.proc.Log() }

// KubePrometheusStack is the Prometheus object kube-prometheus-stack's
// chart creates for a release (its default values): it selects
// PrometheusRules, PodMonitors, ServiceMonitors, Probes and ScrapeConfigs
// labelled release=<release> in every namespace, and nothing else.
// Intervals are the chart's defaults unless given ("" keeps them).
func KubePrometheusStack(namespace, release string, scrapeInterval, evaluationInterval monitoringv1.Duration) *monitoringv1.Prometheus {
	byRelease := &metav1.LabelSelector{MatchLabels: map[string]string{"release": release}}
	everywhere := &metav1.LabelSelector{}
	p := &monitoringv1.Prometheus{
		TypeMeta: metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusesKind},
		ObjectMeta: metav1.ObjectMeta{
			Name: release + "-prometheus", Namespace: namespace,
			Labels: map[string]string{"app": "kube-prometheus-stack-prometheus", "release": release},
		},
	}
	s := &p.Spec
	s.ScrapeInterval, s.EvaluationInterval = scrapeInterval, evaluationInterval
	s.ServiceAccountName = release + "-prometheus"
	s.RuleSelector, s.RuleNamespaceSelector = byRelease, everywhere
	s.PodMonitorSelector, s.PodMonitorNamespaceSelector = byRelease, everywhere
	s.ServiceMonitorSelector, s.ServiceMonitorNamespaceSelector = byRelease, everywhere
	s.ProbeSelector, s.ProbeNamespaceSelector = byRelease, everywhere
	s.ScrapeConfigSelector, s.ScrapeConfigNamespaceSelector = byRelease, everywhere
	return p
}

// Generated is what the operator wrote for one Prometheus object.
type Generated struct {
	// Config is prometheus.yaml, uncompressed.
	Config []byte
	// RuleFiles are the rule files by ConfigMap name, then by key (the
	// file name in the ConfigMap's mounted directory).
	RuleFiles map[string]map[string]string
}

// ErrNotGenerated is returned by Read before the operator has written the
// configuration Secret.
var ErrNotGenerated = errors.New("the operator has not written the configuration yet")

// RulesMountDir is where the operator's StatefulSet mounts the rule file
// ConfigMaps (one directory per ConfigMap); its rule_files globs start here.
const RulesMountDir = "/etc/prometheus/rules"

// Read reads the operator's output for the Prometheus object namespace/name.
func Read(ctx context.Context, c client.Reader, namespace, name string) (*Generated, error) {
	var secret corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "prometheus-" + name}, &secret)
	if apierrors.IsNotFound(err) {
		return nil, ErrNotGenerated
	}
	if err != nil {
		return nil, fmt.Errorf("reading the configuration Secret: %w", err)
	}
	gz, ok := secret.Data["prometheus.yaml.gz"]
	if !ok {
		return nil, fmt.Errorf("Secret %s/%s has no prometheus.yaml.gz", namespace, secret.Name)
	}
	cfg, err := gunzip(gz)
	if err != nil {
		return nil, fmt.Errorf("Secret %s/%s prometheus.yaml.gz: %w", namespace, secret.Name, err)
	}
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing the rule file ConfigMaps: %w", err)
	}
	g := &Generated{Config: cfg, RuleFiles: map[string]map[string]string{}}
	prefix := "prometheus-" + name + "-rulefiles-"
	for _, cm := range cms.Items {
		if strings.HasPrefix(cm.Name, prefix) && cm.DeletionTimestamp == nil {
			g.RuleFiles[cm.Name] = cm.Data
		}
	}
	return g, nil
}

func gunzip(data []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
