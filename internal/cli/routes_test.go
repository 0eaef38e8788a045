package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/internal/meshsim"
	"github.com/routebundle/routebundle/internal/promtest"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/rules"
)

// podinfoWithUnusedRoute writes the podinfo example with one more route,
// GET /never, that gets no traffic.
func podinfoWithUnusedRoute(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(examples.Podinfo(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(examples.Podinfo(), p)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "kind: WasmPlugin") {
			data = append(data, []byte("      - value: GET /never\n        condition: request.method == 'GET' && request.url_path == '/never'\n")...)
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(p)), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func runRoutesCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(t.Context(), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, append([]string{"routes"}, args...))
	return out.String(), errb.String(), code
}

func routesJSON(t *testing.T, args ...string) ([]routeRow, string, error) {
	t.Helper()
	out, stderr, code := runRoutesCmd(t, append(args, "-o", "json")...)
	if code != 0 {
		return nil, stderr, fmt.Errorf("exit %d: %s", code, stderr)
	}
	var rows []routeRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return nil, stderr, fmt.Errorf("%v: %s", err, out)
	}
	return rows, stderr, nil
}

func findRow(rows []routeRow, route string) *routeRow {
	for i := range rows {
		if rows[i].Route == route {
			return &rows[i]
		}
	}
	return nil
}

func near(v *float64, want, tolerance float64) bool {
	return v != nil && math.Abs(*v-want) <= tolerance
}

func between(v *float64, lo, hi float64) bool { return v != nil && *v > lo && *v <= hi }

// checkPodinfo checks the rows of meshsim.PodinfoWaypoint's traffic
// except the request rates.
func checkPodinfo(rows []routeRow) error {
	healthz, echo, unknown, never := findRow(rows, "GET /healthz"), findRow(rows, "POST /echo"), findRow(rows, "unknown"), findRow(rows, "GET /never")
	switch {
	case healthz == nil || echo == nil || unknown == nil || never == nil:
		return fmt.Errorf("missing rows: %+v", rows)
	case !healthz.Seen || !near(healthz.SuccessRatio, 1, 1e-9):
		return fmt.Errorf("GET /healthz: %+v", healthz)
	case !near(echo.SuccessRatio, 0.5, 0.1):
		return fmt.Errorf("POST /echo success %v, want ≈ 0.5", deref(echo.SuccessRatio))
	// 2, 3, 4 and 8 ms: three quarters in the (1, 5] bucket.
	case !between(healthz.P50Ms, 1, 5) || !between(healthz.P95Ms, 5, 10) || !between(healthz.P99Ms, 5, 10):
		return fmt.Errorf("GET /healthz quantiles %v %v %v", deref(healthz.P50Ms), deref(healthz.P95Ms), deref(healthz.P99Ms))
	case !unknown.Seen || !unknown.Configured:
		return fmt.Errorf("unknown row: %+v", unknown)
	case never.Seen || never.RPS != nil || never.Workload != "podinfo":
		return fmt.Errorf("GET /never should be [not seen] under podinfo: %+v", never)
	}
	return nil
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// TestRoutesAgainstPrometheus runs `bundlegen routes` against the real
// Prometheus scraping the synthetic podinfo waypoint, first without the
// recording rules (raw series, and a note saying so), then with them.
func TestRoutesAgainstPrometheus(t *testing.T) {
	dir := podinfoWithUnusedRoute(t)
	ep := meshsim.Start(t, meshsim.PodinfoWaypoint())
	scrape := promtest.Config(promtest.StaticScrapeConfig{Job: "waypoint", Targets: []string{ep.Addr()}, MetricsPath: meshsim.MetricsPath})

	t.Run("raw series", func(t *testing.T) {
		prom := promtest.Start(t, promtest.Options{Config: scrape})
		prom.WaitForTargets(t, 1, 30*time.Second)
		var stderr string
		promtest.Eventually(t, 60*time.Second, func(context.Context) error {
			rows, se, err := routesJSON(t, "--prometheus", prom.URL, "--since", "10s", dir)
			stderr = se
			if err != nil {
				return err
			}
			healthz, echo, unknown := findRow(rows, "GET /healthz"), findRow(rows, "POST /echo"), findRow(rows, "unknown")
			if healthz == nil || echo == nil || unknown == nil {
				return fmt.Errorf("rows %+v", rows)
			}
			if !near(healthz.RPS, 5, 1) || !near(echo.RPS, 2, 0.4) || !near(unknown.RPS, 1, 0.2) || healthz.Source != "raw" {
				return fmt.Errorf("rates %v %v %v (%s)", deref(healthz.RPS), deref(echo.RPS), deref(unknown.RPS), healthz.Source)
			}
			return checkPodinfo(rows)
		})
		if !strings.Contains(stderr, "recording rules are not installed") {
			t.Errorf("no note about the raw series: %q", stderr)
		}

		out, _, code := runRoutesCmd(t, "--prometheus", prom.URL, "--since", "10s", "--namespace", "podinfo", "--workload", "podinfo", dir)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		t.Logf("bundlegen routes:\n%s", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 5 || !strings.HasPrefix(lines[0], "NAMESPACE") ||
			!strings.Contains(lines[1], "GET /healthz") || !strings.Contains(lines[2], "POST /echo") ||
			!strings.Contains(lines[3], "unknown") || !strings.Contains(lines[4], "GET /never") || !strings.Contains(lines[4], "[not seen]") {
			t.Errorf("table:\n%s", out)
		}
		if out, _, _ := runRoutesCmd(t, "--prometheus", prom.URL, "--workload", "nobody", dir); strings.Contains(out, "podinfo ") {
			t.Errorf("--workload did not filter:\n%s", out)
		}
	})

	t.Run("recorded series", func(t *testing.T) {
		res, err := manifest.ReadPaths([]string{dir}, nil)
		if err != nil {
			t.Fatal(err)
		}
		inv, err := inventory.Build(res.Objects)
		if err != nil {
			t.Fatal(err)
		}
		bundle, _ := rules.Build(inv, rules.DefaultOptions())
		files := map[string]string{}
		for _, f := range bundle.Files {
			data, err := f.YAML()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name+".yaml"] = string(data)
		}
		prom := promtest.Start(t, promtest.Options{Config: scrape, RuleFiles: files})
		prom.WaitForTargets(t, 1, 30*time.Second)
		var stderr string
		// rate5m over a few seconds of data scales the rates down, not
		// their ratios or the quantiles.
		promtest.Eventually(t, 60*time.Second, func(context.Context) error {
			rows, se, err := routesJSON(t, "--prometheus", prom.URL, dir)
			stderr = se
			if err != nil {
				return err
			}
			if r := findRow(rows, "GET /healthz"); r == nil || r.Source != "recorded" {
				return fmt.Errorf("rows %+v", rows)
			}
			return checkPodinfo(rows)
		})
		if !strings.Contains(stderr, "from the recorded series") {
			t.Errorf("no note about the recorded series: %q", stderr)
		}
	})
}

func TestRoutesUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no prometheus": {},
		"bad since":     {"--prometheus", "http://127.0.0.1:1", "--since", "soon"},
		"bad format":    {"--prometheus", "http://127.0.0.1:1", "-o", "yaml"},
		"bad url":       {"--prometheus", "127.0.0.1:9090"},
		"two auths":     {"--prometheus", "http://127.0.0.1:1", "--prometheus-bearer-token-file", "t", "--prometheus-basic-auth-username", "u"},
	} {
		if _, stderr, code := runRoutesCmd(t, args...); code != ExitUsage || stderr == "" {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr)
		}
	}
	// Nothing listens on port 1 of loopback.
	_, stderr, code := runRoutesCmd(t, "--prometheus", "http://127.0.0.1:1")
	if code == 0 || !strings.Contains(stderr, "routes:") {
		t.Errorf("unreachable Prometheus: exit %d, %q", code, stderr)
	}
}

// TestRoutesOfAGateway: route names read at an ingress gateway in
// istio-ingress classify the requests it sends to bookinfo (reporter
// "source", destination_workload_namespace="bookinfo"); `routes
// --namespace bookinfo` shows them from the raw series, with the route no
// request took [not seen]. The manifests are the exporter's traffic test's
// gateway half.
func TestRoutesOfAGateway(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "exporter", "testdata", "traffic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The gateway, its HTTPRoute and its Telemetry: the documents before
	// the second HTTPRoute.
	gatewayHalf, _, _ := strings.Cut(string(data), "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: reviews")
	if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(gatewayHalf), 0o644); err != nil {
		t.Fatal(err)
	}
	gateway := meshsim.Workload{Namespace: "istio-ingress", Name: "bookinfo-gateway-istio"}
	productpage := meshsim.Workload{Namespace: "bookinfo", Name: "productpage-v1", App: "productpage", Version: "v1"}
	ep := meshsim.Start(t, meshsim.Proxy{Reporter: meshsim.ReporterSource, Tag: "route_name", Flows: []meshsim.Flow{
		{Source: gateway, Destination: productpage, Route: "productpage", RPS: 2},
		{Source: gateway, Destination: productpage, RPS: 1},
	}})
	prom := promtest.Start(t, promtest.Options{Config: promtest.Config(promtest.StaticScrapeConfig{Job: "gateway", Targets: []string{ep.Addr()}, MetricsPath: meshsim.MetricsPath})})
	prom.WaitForTargets(t, 1, 30*time.Second)
	promtest.Eventually(t, 60*time.Second, func(context.Context) error {
		rows, _, err := routesJSON(t, "--prometheus", prom.URL, "--since", "10s", "--namespace", "bookinfo", dir)
		if err != nil {
			return err
		}
		pp, unknown, login := findRow(rows, "productpage"), findRow(rows, "unknown"), findRow(rows, "login")
		switch {
		case pp == nil || unknown == nil || login == nil:
			return fmt.Errorf("rows %+v", rows)
		case !near(pp.RPS, 2, 0.4) || !near(unknown.RPS, 1, 0.2) || pp.Workload != "productpage-v1" || pp.Namespace != "bookinfo" || !pp.Configured:
			return fmt.Errorf("productpage %+v, unknown %+v", pp, unknown)
		case login.Seen || !login.Configured || login.Workload != "productpage-v1":
			return fmt.Errorf("login should be [not seen] under productpage-v1: %+v", login)
		}
		return nil
	})
}
