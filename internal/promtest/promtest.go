// Package promtest runs the real Prometheus server (bin/prometheus, built by
// `make tools`) for tests: on a random 127.0.0.1 port, with a given
// configuration and rule files, in a temporary directory, ready when Start
// returns and stopped when the test ends, whether it passed, failed or
// called FailNow. If the test binary itself dies, the kernel stops the
// server too (parent-death signal).
package promtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"go.yaml.in/yaml/v3"

	"github.com/routebundle/routebundle/internal/promapi"
	"github.com/routebundle/routebundle/internal/testproc"
	"github.com/routebundle/routebundle/internal/testutil"
)

// Options configure a server.
type Options struct {
	// Config is prometheus.yml. Empty: a global section with 1s scrape and
	// evaluation intervals and nothing to scrape.
	Config string
	// RuleFiles are written into the server's rules directory (name →
	// contents) and added to the configuration's rule_files.
	RuleFiles map[string]string
	// RoutePrefix serves everything below a path (--web.route-prefix), as
	// Prometheus behind a reverse proxy or an API at /prometheus does.
	RoutePrefix string
	// Args are extra command-line flags.
	Args []string
}

// DefaultGlobal is the global section used when Options.Config is empty or
// has none: short intervals so that tests see data within seconds.
const DefaultGlobal = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"

// Timeouts of the server's life cycle; generous for a busy 2-core machine.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 15 * time.Second
)

// Server is a running Prometheus.
type Server struct {
	// URL is the base of the HTTP API, route prefix included.
	URL string
	// Addr is host:port.
	Addr string
	// Dir holds the configuration, rules, data and log.
	Dir string

	proc *testproc.Process
}

// Start starts Prometheus and waits until it is ready. It fails t when the
// binary is missing, the configuration is rejected or the server does not
// become ready.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := testutil.Binary(t, "prometheus")
	dir := t.TempDir()
	cfg, err := configWithRules(o.Config, filepath.Join(dir, "rules"), o.RuleFiles)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	// A port picked by the kernel can be taken by someone else before
	// Prometheus binds it; try a few.
	var lastErr error
	for range 3 {
		s, err := start(bin, dir, o)
		if err == nil {
			t.Cleanup(func() { s.cleanup(t) })
			return s
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatalf("promtest: %v", lastErr)
	return nil
}

var errAddrInUse = errors.New("address already in use")

func start(bin, dir string, o Options) (*Server, error) {
	port, err := testproc.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-lifecycle",
		"--log.level=warn",
	}
	prefix := "/" + strings.Trim(o.RoutePrefix, "/")
	if prefix != "/" {
		args = append(args, "--web.route-prefix="+prefix, "--web.external-url=http://"+addr+prefix)
	}
	proc, err := testproc.Start(bin, append(args, o.Args...), dir, filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + addr + strings.TrimRight(prefix, "/"), Addr: addr, Dir: dir, proc: proc}
	if err := proc.WaitHTTP(s.URL+"/-/ready", readyTimeout); err != nil {
		s.Stop()
		if strings.Contains(s.Log(), "address already in use") {
			return nil, errAddrInUse
		}
		return nil, fmt.Errorf("%w\n%s", err, s.Log())
	}
	return s, nil
}

// Stop stops the server (SIGTERM, then SIGKILL after a grace period) and
// waits for it to exit. Tests call it to see Prometheus go away; it also
// runs when the test ends. It is safe to call more than once.
func (s *Server) Stop() { s.proc.Stop(stopTimeout) }

func (s *Server) cleanup(t testing.TB) {
	s.Stop()
	if t.Failed() {
		t.Logf("prometheus log (%s):\n%s", s.proc.LogPath(), s.Log())
	}
}

// Log returns what the server logged.
func (s *Server) Log() string { return s.proc.Log() }

// API returns a client of the server's HTTP API.
func (s *Server) API(t testing.TB) promv1.API {
	t.Helper()
	api, err := promapi.New(promapi.Options{URL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// SetRuleFiles replaces the rule files with files and reloads the
// configuration. The rule files must have been enabled at Start (by a
// non-nil Options.RuleFiles, possibly empty).
func (s *Server) SetRuleFiles(t testing.TB, files map[string]string) {
	t.Helper()
	dir := filepath.Join(s.Dir, "rules")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := writeRules(dir, files); err != nil {
		t.Fatal(err)
	}
	s.Reload(t)
}

// Reload makes the server re-read its configuration and rule files.
func (s *Server) Reload(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatalf("reloading prometheus: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		t.Fatalf("reloading prometheus: %s: %s", resp.Status, b.String())
	}
}

// checkTimeout bounds one call of an Eventually check; long enough for a
// query against a big TSDB on a busy machine.
const checkTimeout = 30 * time.Second

// Eventually calls check every 100ms until it returns nil, and fails t
// with check's last error after timeout.
func Eventually(t testing.TB, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), checkTimeout)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitForTargets waits until n targets are up.
func (s *Server) WaitForTargets(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	api := s.API(t)
	Eventually(t, timeout, func(ctx context.Context) error {
		res, err := api.Targets(ctx)
		if err != nil {
			return err
		}
		up := 0
		var states []string
		for _, tg := range res.Active {
			if tg.Health == promv1.HealthGood {
				up++
			}
			states = append(states, fmt.Sprintf("%s %s %s", tg.ScrapeURL, tg.Health, tg.LastError))
		}
		if up < n {
			return fmt.Errorf("%d of %d targets up: %v", up, n, states)
		}
		return nil
	})
}

// StaticScrapeConfig is a scrape_configs entry for targets (host:port)
// served at metricsPath.
type StaticScrapeConfig struct {
	Job         string
	Targets     []string
	MetricsPath string
	// Interval overrides the global scrape interval ("" keeps it).
	Interval string
}

// Config renders a prometheus.yml with DefaultGlobal and the scrape jobs.
func Config(jobs ...StaticScrapeConfig) string {
	var b strings.Builder
	b.WriteString(DefaultGlobal)
	b.WriteString("scrape_configs:\n")
	for _, j := range jobs {
		fmt.Fprintf(&b, "  - job_name: %s\n", strconv.Quote(j.Job))
		if j.MetricsPath != "" {
			fmt.Fprintf(&b, "    metrics_path: %s\n", strconv.Quote(j.MetricsPath))
		}
		if j.Interval != "" {
			fmt.Fprintf(&b, "    scrape_interval: %s\n", j.Interval)
		}
		b.WriteString("    static_configs:\n      - targets:\n")
		for _, tg := range j.Targets {
			fmt.Fprintf(&b, "          - %s\n", strconv.Quote(tg))
		}
	}
	return b.String()
}

// configWithRules returns cfg (DefaultGlobal when empty) with rulesDir/*.yaml
// added to rule_files when rules is not nil, and writes the rule files.
func configWithRules(cfg, rulesDir string, rules map[string]string) ([]byte, error) {
	if strings.TrimSpace(cfg) == "" {
		cfg = DefaultGlobal
	}
	if rules == nil {
		return []byte(cfg), nil
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &doc); err != nil {
		return nil, fmt.Errorf("prometheus configuration: %w", err)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	files, _ := doc["rule_files"].([]any)
	doc["rule_files"] = append(files, filepath.Join(rulesDir, "*.yaml"))
	if err := writeRules(rulesDir, rules); err != nil {
		return nil, err
	}
	return yaml.Marshal(doc)
}

func writeRules(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if filepath.Base(name) != name || !strings.HasSuffix(name, ".yaml") {
			return fmt.Errorf("rule file name %q: want a base name ending in .yaml", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
