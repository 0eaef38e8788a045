package service_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/controller"
	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/synth"
	"github.com/routebundle/routebundle/internal/testutil"
)

// TestBenchController measures the routebundle binary named by
// ROUTEBUNDLE_BINARY (`make bench-controller` builds and sets it) against a
// real API server holding 1,000 WasmPlugins × 10 routes in 200 namespaces:
//
//   - cold start: from exec to ready (the first mesh-wide pass applied every
//     object), and the objects then in the cluster;
//   - 50 edits of a WasmPlugin, each timed from the request until the
//     updated PrometheusRule is readable (a watch delivers it): p50, p99;
//   - a restart with everything in place, and a minute of mesh-wide passes
//     every 15s: writes counted in the API server's audit log;
//   - the peak RSS of each process.
//
// It is a measurement, not a test with thresholds: it fails only when the
// service does not do its job.
func TestBenchController(t *testing.T) {
	bin := os.Getenv("ROUTEBUNDLE_BINARY")
	if bin == "" {
		t.Skip("ROUTEBUNDLE_BINARY is not set; `make bench-controller` sets it")
	}
	srv := k8stest.StartWith(t, k8stest.Options{AuditLog: true})
	rb, err := srv.AddUser("routebundle")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := k8stest.WriteKubeconfig(t, rb)
	k := newCluster(t, srv.Config)
	mesh := synth.Mesh{Namespaces: 200, Workloads: 5, Routes: 10}
	begin := time.Now()
	n := loadMesh(t, k, mesh)
	t.Logf("mesh: %d WasmPlugins × %d routes in %d namespaces (%d objects created in %s)",
		mesh.WasmPlugins(), mesh.Routes, mesh.Namespaces, n, time.Since(begin).Round(time.Millisecond))

	// Cold start and edits.
	p := startBinary(t, bin, kubeconfig)
	took := p.waitReady(t)
	counts := managedCounts(t, k)
	t.Logf("cold start to converged:  %s (%s)", took.Round(time.Millisecond), counts)
	lat := timeEdits(t, k, 50)
	t.Logf("edit to updated rule:     p50 %s, p99 %s, max %s over %d edits",
		pct(lat, 50), pct(lat, 99), lat[len(lat)-1].Round(time.Millisecond), len(lat))
	rss := p.stop(t)
	t.Logf("peak RSS (start, edits):  %.0f MiB", rss)

	// Warm restart and steady state.
	settle(t, srv)
	restart := time.Now()
	p = startBinary(t, bin, kubeconfig, "--resync-period", "15s", "--log-level", "debug")
	took = p.waitReady(t)
	window := time.Now()
	atStart := ourWrites(t, srv, restart)
	time.Sleep(steadyFor(t))
	writes := ourWrites(t, srv, window)
	passes := p.count(`"msg":"pass","scope":"mesh"`)
	rss = p.stop(t)
	t.Logf("warm restart to ready:    %s, %d writes (%s)", took.Round(time.Millisecond), len(atStart), writeKinds(atStart))
	t.Logf("steady state:             %d writes in %s after ready, %d mesh-wide passes",
		len(writes), time.Since(window).Round(time.Second), passes)
	t.Logf("peak RSS (restart, idle): %.0f MiB", rss)
	for _, w := range writes {
		t.Errorf("write at steady state: %s", w)
	}
}

// loadMesh creates the synthetic mesh, 16 requests at a time.
func loadMesh(t *testing.T, k *cluster, mesh synth.Mesh) int {
	t.Helper()
	dir := t.TempDir()
	if err := mesh.Write(dir); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{}
	for _, ns := range []string{"monitoring", "istio-system"} {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		u.SetName(ns)
		objs = append(objs, u)
	}
	for _, f := range files {
		data, err := os.ReadFile(dir + "/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := k8stest.DecodeObjects(data)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, decoded...)
	}
	// Namespaces first.
	isNS := func(u *unstructured.Unstructured) int {
		if u.GetKind() == "Namespace" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return cmp.Compare(isNS(a), isNS(b)) })
	first := 0
	for first < len(objs) && isNS(objs[first]) == 0 {
		first++
	}
	create := func(objs []*unstructured.Unstructured) {
		next := make(chan *unstructured.Unstructured)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for u := range next {
					if err := k.c.Create(context.Background(), u); err != nil {
						t.Errorf("create %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
					}
				}
			})
		}
		for _, u := range objs {
			next <- u
		}
		close(next)
		wg.Wait()
	}
	create(objs[:first])
	create(objs[first:])
	if t.Failed() {
		t.FailNow()
	}
	return len(objs)
}

// process is a running routebundle binary.
type process struct {
	cmd    *exec.Cmd
	probes string
	start  time.Time
	logs   *testutil.SyncBuffer
	done   chan struct{}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startBinary(t *testing.T, bin, kubeconfig string, args ...string) *process {
	t.Helper()
	p := &process{probes: freePort(t), logs: &testutil.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--kubeconfig", kubeconfig,
		"--health-probe-bind-address", p.probes, "--metrics-bind-address", freePort(t),
		"--leader-election-namespace", "default"}, args...)...)
	p.cmd.Stderr = p.logs
	// ROUTEBUNDLE_BENCH_LOGS keeps each process's log (for GODEBUG=gctrace=1, say).
	if dir := os.Getenv("ROUTEBUNDLE_BENCH_LOGS"); dir != "" {
		f, err := os.CreateTemp(dir, "routebundle-*.log")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		p.cmd.Stderr = io.MultiWriter(p.logs, f)
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("routebundle logs (tail):\n%s", tail(p.logs.String(), 40))
		}
	})
	return p
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(parts[max(0, len(parts)-lines):], "\n")
}

// waitReady polls /readyz and returns the time from exec to ready.
func (p *process) waitReady(t *testing.T) time.Duration {
	t.Helper()
	deadline := p.start.Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("routebundle exited: %v", p.cmd.ProcessState)
		default:
		}
		resp, err := http.Get("http://" + p.probes + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(p.start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("routebundle not ready after 5 minutes")
	return 0
}

// peakRSS reads the process's peak RSS (VmHWM) in MiB. The rusage of a
// child would not do: Linux counts the parent's RSS at the fork in it.
func (p *process) peakRSS(t *testing.T) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kb, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// stop reads the peak RSS in MiB, sends SIGTERM and waits.
func (p *process) stop(t *testing.T) float64 {
	t.Helper()
	rss := p.peakRSS(t)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatal("routebundle did not stop within a minute of SIGTERM")
	}
	if !p.cmd.ProcessState.Success() {
		t.Errorf("routebundle exited with %v", p.cmd.ProcessState)
	}
	return rss
}

func (p *process) count(s string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

func managedCounts(t *testing.T, k *cluster) string {
	t.Helper()
	kinds := map[string]int{}
	for key := range managedVersions(t, k) {
		kinds[strings.SplitN(key, "/", 2)[0]]++
	}
	if kinds["PrometheusRule"] != 200 || kinds["ConfigMap"] != 1001 {
		t.Errorf("objects %v, want 200 PrometheusRules and 1001 dashboard ConfigMaps", kinds)
	}
	return fmt.Sprintf("%d PrometheusRules, %d ConfigMaps, %d PodMonitors, %d ServiceMonitors",
		kinds["PrometheusRule"], kinds["ConfigMap"], kinds["PodMonitor"], kinds["ServiceMonitor"])
}

// timeEdits changes the objective of n WasmPlugins, one after the other in
// n namespaces, and times each until a watch on PrometheusRules
// delivers its namespace's rule with a new content hash. Sorted.
func timeEdits(t *testing.T, k *cluster, n int) []time.Duration {
	t.Helper()
	wc, err := client.NewWithWatch(k.cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(prometheusRuleGVK.GroupVersion().WithKind("PrometheusRuleList"))
	w, err := wc.Watch(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var (
		mu     sync.Mutex
		hashes = map[string]string{}
		notify = make(chan struct{}, 1)
	)
	go func() {
		for ev := range w.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			mu.Lock()
			hashes[u.GetNamespace()] = u.GetAnnotations()[controller.AnnotationContentHash]
			mu.Unlock()
			select {
			case notify <- struct{}{}:
			default:
			}
		}
	}()
	hashOf := func(ns string) string {
		mu.Lock()
		defer mu.Unlock()
		return hashes[ns]
	}
	// The watch starts with every rule's current state.
	eventually(t, waitTimeout, "the watch lists the rules", func() error {
		if hashOf("team-199") == "" {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	var out []time.Duration
	for i := range n {
		// The first plugin of a namespace sets the alert policy of the
		// rules its namespace's plugins share (RB313).
		ns := fmt.Sprintf("team-%03d", (i*37)%200)
		name := "svc-00-routes"
		before := hashOf(ns)
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"routebundle.io/objective":"%.4f"}}}`, 0.99+float64(i)/10000)
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(wasmPluginGVK)
		u.SetNamespace(ns)
		u.SetName(name)
		start := time.Now()
		if err := k.c.Patch(context.Background(), u, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(time.Minute)
		for hashOf(ns) == before {
			select {
			case <-notify:
			case <-deadline:
				t.Fatalf("edit %d of %s/%s: the PrometheusRule did not change within a minute", i, ns, name)
			}
		}
		out = append(out, time.Since(start))
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(out)
	return out
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := min(len(sorted)-1, (len(sorted)*p+99)/100-1)
	return sorted[max(0, i)].Round(time.Millisecond)
}

// settle waits until routebundle has written nothing for 15 seconds.
func settle(t *testing.T, srv *k8stest.Server) {
	t.Helper()
	eventually(t, 5*time.Minute, "settled", func() error {
		if w := ourWrites(t, srv, time.Now().Add(-15*time.Second)); len(w) > 0 {
			return fmt.Errorf("recent write: %s", w[len(w)-1])
		}
		return nil
	})
}

func writeKinds(ws []k8stest.Write) string {
	n := map[string]int{}
	for _, w := range ws {
		n[w.Verb+" "+w.Resource]++
	}
	var parts []string
	for k, v := range n {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// ourWrites are the audited writes of user routebundle since since, its
// Lease renewals aside.
func ourWrites(t *testing.T, srv *k8stest.Server, since time.Time) []k8stest.Write {
	t.Helper()
	all, err := srv.Writes(since)
	if err != nil {
		t.Fatal(err)
	}
	var out []k8stest.Write
	for _, w := range all {
		if w.User == "routebundle" && w.Resource != "leases.coordination.k8s.io" {
			out = append(out, w)
		}
	}
	return out
}
