//go:build e2e

package e2e_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/routebundle/routebundle/internal/cli"
	"github.com/routebundle/routebundle/internal/e2e"
)

var demo = flag.Bool("demo", false, "run the stack until interrupted, printing the routes table (make demo)")

// demoRefresh is how often the demo prints the routes table.
const demoRefresh = 5 * time.Second

// TestDemo is `make demo`: the end-to-end stack left up, with POST /echo
// failing half its requests, printing where to look and the routes table
// every few seconds until Ctrl-C, then stopping everything.
func TestDemo(t *testing.T) {
	if !*demo {
		t.Skip("make demo runs this with -demo")
	}
	ctx, stop := signal.NotifyContext(t.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := os.Stdout
	fmt.Fprintln(out, "starting kube-apiserver, etcd, prometheus-operator, routebundle, the synthetic mesh and Prometheus ...")
	s := e2e.Start(t, e2e.Options{})
	if err := s.SetErrorRatio("POST /echo", 0.5); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	objs, err := e2e.PodinfoObjects()
	if err != nil {
		t.Fatal(err)
	}
	if err := e2e.WriteObjects(dir, objs); err != nil {
		t.Fatal(err)
	}
	printURLs(out, s, dir)
	api := s.Prometheus.API(t)
	tick := time.NewTicker(demoRefresh)
	defer tick.Stop()
	for {
		fmt.Fprintf(out, "\n--- %s  bundlegen routes (Ctrl-C stops the demo)\n", time.Now().Format(time.TimeOnly))
		env := &cli.Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: out}
		cli.Run(ctx, env, []string{"routes", "--prometheus", s.Prometheus.URL, dir})
		printAlerts(ctx, out, api)
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "\nstopping ...")
			return
		case <-tick.C:
		}
	}
}

func printURLs(w io.Writer, s *e2e.Stack, dir string) {
	fmt.Fprintf(w, `
The stack is up (everything on loopback; it stops on Ctrl-C):

  Prometheus API        %[1]s/api/v1/targets  %[1]s/api/v1/rules  %[1]s/api/v1/alerts
  routebundle           %[2]s/metrics  (probes: %[3]s/readyz)
  prometheus-operator   %[4]s/metrics
  waypoint Envoy        %[5]s
  loadgen sidecar       %[6]s
  kube-apiserver        %[7]s  (KUBECONFIG=%[8]s)

The operator's Prometheus configuration and rule files, as Prometheus runs them:
  %[9]s/prometheus.yml  and  %[10]s/
routebundle's bundle config (it re-reads the file when it changes):
  %[12]s

Try:
  curl -s '%[1]s/api/v1/query?query=route:istio_requests:rate5m'
  go run ./cmd/bundlegen routes --prometheus %[1]s %[11]s
  KUBECONFIG=%[8]s kubectl get prometheusrules,podmonitors -A   (if you have kubectl)

POST /echo answers half of its requests with 503: RouteErrorRatioHigh fires within about 30s.
Rates are over 5m, so they read low until the stack has run for 5 minutes; shares and ratios do not.
`, s.Prometheus.URL, s.Routebundle.MetricsURL, s.Routebundle.ProbeURL, s.Operator.URL,
		s.Mesh.Waypoint.URL(), s.Mesh.Sidecar.URL(), s.API.Config.Host, s.Kubeconfig,
		s.Prometheus.Dir, s.Prometheus.RulesDir(), dir, s.ConfigPath)
}

// printAlerts lists the pending and firing alerts.
func printAlerts(ctx context.Context, w io.Writer, api promv1.API) {
	res, err := api.Alerts(ctx)
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(w, "alerts: %v\n", err)
		}
		return
	}
	var lines []string
	for _, a := range res.Alerts {
		lines = append(lines, fmt.Sprintf("  %-8s %s route=%q severity=%s", a.State, a.Labels["alertname"], a.Labels["route"], a.Labels["severity"]))
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		lines = []string{"  none"}
	}
	fmt.Fprintf(w, "alerts:\n%s\n", strings.Join(lines, "\n"))
}
