package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/internal/operatortest"
	"github.com/routebundle/routebundle/internal/promtest"
)

// syncPeriod is how often the operator's output is compared with what
// Prometheus runs; the config reloader of a real pod watches the mounted
// files, which the kubelet refreshes within a minute.
const syncPeriod = 500 * time.Millisecond

// OperatorPrometheus is the real Prometheus run from what the real
// prometheus-operator generated for a Prometheus object. It plays the parts
// of the pod the operator's StatefulSet describes, which never runs here:
// the kubelet's (the configuration Secret and the rule file ConfigMaps
// become files) and the config reloader's (Prometheus reloads when they
// change).
type OperatorPrometheus struct {
	*promtest.Server

	reader     client.Reader
	namespace  string
	name       string
	kubeconfig string
	rulesDir   string

	mu      sync.Mutex
	current *operatortest.Generated
	reloads int
	err     error
}

// startOperatorPrometheus waits for the operator's output for the
// Prometheus object namespace/name, starts Prometheus with it and keeps it
// in sync until the test ends. kubeconfig reaches the API server, for
// Prometheus' Kubernetes service discovery.
func startOperatorPrometheus(t testing.TB, r client.Reader, namespace, name, kubeconfig string) *OperatorPrometheus {
	t.Helper()
	p := &OperatorPrometheus{reader: r, namespace: namespace, name: name, kubeconfig: kubeconfig, rulesDir: t.TempDir()}
	var g *operatortest.Generated
	promtest.Eventually(t, 2*time.Minute, func(ctx context.Context) error {
		var err error
		g, err = operatortest.Read(ctx, r, namespace, name)
		return err
	})
	cfg, err := p.mount(g)
	if err != nil {
		t.Fatalf("the operator's configuration: %v", err)
	}
	p.Server = promtest.Start(t, promtest.Options{Config: string(cfg)})
	p.current = g
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.follow(ctx)
	}()
	// Registered after promtest's own cleanup, so it runs first: the loop
	// stops before Prometheus does.
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return p
}

// follow reloads Prometheus whenever the operator's output changes.
func (p *OperatorPrometheus) follow(ctx context.Context) {
	tick := time.NewTicker(syncPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := p.sync(ctx)
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
	}
}

func (p *OperatorPrometheus) sync(ctx context.Context) error {
	g, err := operatortest.Read(ctx, p.reader, p.namespace, p.name)
	if err != nil {
		return err
	}
	p.mu.Lock()
	same := reflect.DeepEqual(g, p.current)
	p.mu.Unlock()
	if same {
		return nil
	}
	cfg, err := p.mount(g)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.Dir, "prometheus.yml"), cfg, 0o644); err != nil {
		return err
	}
	if err := reload(ctx, p.URL); err != nil {
		return err
	}
	p.mu.Lock()
	p.current = g
	p.reloads++
	p.mu.Unlock()
	return nil
}

// Err is the last synchronisation's error: the operator's output could
// not be read or Prometheus rejected it.
func (p *OperatorPrometheus) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Generated is the operator's output Prometheus runs now.
func (p *OperatorPrometheus) Generated() *operatortest.Generated {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

// RulesDir is where the rule file ConfigMaps are "mounted".
func (p *OperatorPrometheus) RulesDir() string { return p.rulesDir }

// mount writes g's rule files under rulesDir, one directory per ConfigMap
// as the StatefulSet mounts them, and returns the configuration to run.
func (p *OperatorPrometheus) mount(g *operatortest.Generated) ([]byte, error) {
	entries, err := os.ReadDir(p.rulesDir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(p.rulesDir, e.Name())); err != nil {
			return nil, err
		}
	}
	for cm, files := range g.RuleFiles {
		dir := filepath.Join(p.rulesDir, cm)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		for name, content := range files {
			if filepath.Base(name) != name {
				return nil, fmt.Errorf("ConfigMap %s: key %q is not a file name", cm, name)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				return nil, err
			}
		}
	}
	cfg, err := expandEnv(g.Config, map[string]string{
		// The environment of the StatefulSet's config-reloader container:
		// the first pod's name, and the shard, of which there is one.
		"POD_NAME": "prometheus-" + p.name + "-0",
		"SHARD":    "0",
	})
	if err != nil {
		return nil, err
	}
	return outsideCluster(cfg, p.kubeconfig, p.rulesDir)
}

// envReference is how the operator's configuration refers to the config
// reloader's environment ($(SHARD) in the sharding relabeling,
// $(POD_NAME) in the replica label).
var envReference = regexp.MustCompile(`\$\(([a-zA-Z_0-9]+)\)`)

// expandEnv does what the config reloader does before Prometheus reads the
// file: it replaces every $(NAME) by the variable's value; an unset one is
// an error, as it is for the reloader.
func expandEnv(cfg []byte, env map[string]string) ([]byte, error) {
	var missing []string
	out := envReference.ReplaceAllFunc(cfg, func(ref []byte) []byte {
		name := string(envReference.FindSubmatch(ref)[1])
		v, ok := env[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("prometheus.yaml refers to unset variables %v", missing)
	}
	return out, nil
}

// outsideCluster is the operator's configuration made to run outside the
// cluster, with the only edits that takes and nothing else (the operator's
// output is otherwise run as it is):
//   - every kubernetes_sd_configs entry gets kubeconfig_file: the operator
//     leaves the API server to the in-cluster service account, which a
//     process on this machine does not have;
//   - rule_files globs under the StatefulSet's mount point
//     (/etc/prometheus/rules) point at the same layout under rulesDir,
//     where the ConfigMaps were written.
func outsideCluster(cfg []byte, kubeconfig, rulesDir string) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		return nil, fmt.Errorf("prometheus.yaml: %w", err)
	}
	jobs, _ := doc["scrape_configs"].([]any)
	for i, j := range jobs {
		job, ok := j.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("prometheus.yaml: scrape_configs[%d] is not a mapping", i)
		}
		sds, _ := job["kubernetes_sd_configs"].([]any)
		for k, s := range sds {
			sd, ok := s.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("prometheus.yaml: scrape_configs[%d].kubernetes_sd_configs[%d] is not a mapping", i, k)
			}
			if _, set := sd["api_server"]; set {
				return nil, fmt.Errorf("prometheus.yaml: job %v names an api_server; the test expects in-cluster discovery", job["job_name"])
			}
			sd["kubeconfig_file"] = kubeconfig
		}
	}
	files, _ := doc["rule_files"].([]any)
	for i, f := range files {
		s, _ := f.(string)
		if rest, ok := strings.CutPrefix(s, operatortest.RulesMountDir+"/"); ok {
			files[i] = filepath.Join(rulesDir, rest)
		}
	}
	return yaml.Marshal(doc)
}

// reload is what the config reloader does after a change.
func reload(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reloading prometheus: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("reloading prometheus: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}
