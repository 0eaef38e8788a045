package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/internal/k8stest"
	"github.com/routebundle/routebundle/internal/service"
)

// TestAPIServer runs everything that needs the API server, on one server:
// the chart's and the kustomizations' objects are accepted, and the RBAC
// they grant is what routebundle needs, no more.
func TestAPIServer(t *testing.T) {
	srv := k8stest.StartWith(t, k8stest.Options{AuditReads: true})
	t.Run("chart objects accepted", func(t *testing.T) {
		for _, tc := range chartCases {
			objs := mustRender(t, tc.values).objects
			if err := k8stest.DryRunApply(t.Context(), srv.Config, runtimeObjects(objs)...); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	})
	t.Run("kustomize objects accepted", func(t *testing.T) {
		for _, dir := range kustomizations {
			if err := k8stest.DryRunApply(t.Context(), srv.Config, runtimeObjects(mustKustomize(t, dir))...); err != nil {
				t.Errorf("%s: %v", dir, err)
			}
		}
	})
	t.Run("least privilege", func(t *testing.T) { testLeastPrivilege(t, srv, leastPrivilegeValues) })
}

// TestNamespaceScoped is the least-privilege run in namespace-scoped mode,
// on a server of its own (its ClusterRole has the same name).
func TestNamespaceScoped(t *testing.T) {
	srv := k8stest.StartWith(t, k8stest.Options{AuditReads: true})
	testLeastPrivilege(t, srv, leastPrivilegeValues+"\nwatchNamespaces: [shop]")
}

// leastPrivilegeValues are the chart's values for the least-privilege run.
const leastPrivilegeValues = `logLevel: info`

// testLeastPrivilege installs the chart's objects, then runs routebundle
// with the Deployment's own arguments as the chart's ServiceAccount, bound
// by nothing but the chart's RBAC. It must do its whole job: get elected,
// apply the bundle (PrometheusRule, PodMonitor, ServiceMonitor, dashboard
// ConfigMap), prune what is stale, revert a manual edit, send an Event
// about a broken WasmPlugin, become ready. Then the API server's audit log
// of every request it made shows that no request was refused and that
// every verb on every resource the RBAC grants was used: taking any of
// them away refuses a request routebundle makes. Finally the same identity
// is refused writes outside its rules.
func testLeastPrivilege(t *testing.T, srv *k8stest.Server, values string) {
	ctx := t.Context()
	admin := newClient(t, srv.Config)
	r := mustRender(t, values)
	scoped := len(kindsOf(r.objects, "Role")) > 1
	apply(t, admin, namespaceObject(releaseNamespace))
	apply(t, admin, readObjects(t, "testdata/mesh.yaml")...)
	apply(t, admin, r.objects...)

	sa := find(t, r.objects, "ServiceAccount", "")
	saCfg, err := srv.AddServiceAccount(releaseNamespace, sa.GetName())
	if err != nil {
		t.Fatal(err)
	}
	user := "system:serviceaccount:" + releaseNamespace + ":" + sa.GetName()
	args, probes, metrics := serviceArgs(t, r, saCfg)
	begin := time.Now()
	rb := run(t, args)
	rb.metrics = metrics

	t.Run("does its job", func(t *testing.T) {
		eventually(t, "ready", func() error { return rb.ready(probes) })
		for _, o := range []struct{ gvk, ns, name string }{
			{"PrometheusRule", "shop", "routebundle-shop-route-name"},
			{"PodMonitor", "monitoring", "routebundle-envoy-stats"},
			{"ServiceMonitor", "monitoring", "routebundle-istiod"},
		} {
			eventually(t, o.gvk+" applied", func() error {
				_, err := get(ctx, admin, o.gvk, o.ns, o.name)
				return err
			})
		}
		eventually(t, "dashboard ConfigMap applied", func() error {
			list := &corev1.ConfigMapList{}
			err := admin.List(ctx, list, client.InNamespace("monitoring"), client.MatchingLabels{"app.kubernetes.io/managed-by": "routebundle", "grafana_dashboard": "1"})
			if err == nil && len(list.Items) == 0 {
				err = errors.New("none yet")
			}
			return err
		})
		for _, o := range []struct{ kind, ns, name string }{
			{"PrometheusRule", "shop", "routebundle-shop-gone"},
			{"PodMonitor", "monitoring", "routebundle-gone"},
			{"ServiceMonitor", "monitoring", "routebundle-gone"},
			{"ConfigMap", "monitoring", "routebundle-gone"},
		} {
			eventually(t, "stale "+o.kind+" pruned", func() error {
				_, err := get(ctx, admin, o.kind, o.ns, o.name)
				if apierrors.IsNotFound(err) {
					return nil
				}
				return fmt.Errorf("still there (%v)", err)
			})
		}
		testEventRepeated(t, admin, rb)
		lease := &unstructured.Unstructured{}
		lease.SetGroupVersionKind(schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"})
		if err := admin.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: service.LeaderElectionID}, lease); err != nil {
			t.Errorf("Lease: %v", err)
		} else if h, _, _ := unstructured.NestedString(lease.Object, "spec", "holderIdentity"); h == "" {
			t.Error("the Lease has no holder")
		}
		testManualEditReverted(t, admin)
	})

	if err := rb.stop(); err != nil {
		t.Errorf("routebundle: %v", err)
	}
	t.Run("every rule used, no request refused", func(t *testing.T) {
		granted := grants(t, r.objects)
		// Watches are logged when they end, as the service stops.
		if t.Failed() {
			t.Skip("routebundle did not do its job")
		}
		var used map[permission]bool
		var refused, wide []string
		eventually(t, "every granted permission in the audit log", func() error {
			var err error
			if used, refused, wide, err = audited(srv, begin, user); err != nil {
				return err
			}
			if missing := unused(granted, used); len(missing) > 0 {
				return fmt.Errorf("not used: %v", missing)
			}
			return nil
		})
		if len(refused) > 0 {
			t.Errorf("requests refused to routebundle (a rule is missing):\n%s", strings.Join(refused, "\n"))
		}
		// Namespace-scoped, nothing but Namespaces is read cluster-wide:
		// not the bundle's kinds, not Events.
		if scoped && len(wide) > 0 {
			t.Errorf("namespace-scoped routebundle listed or watched cluster-wide:\n%s", strings.Join(wide, "\n"))
		}
		var list []string
		for p := range used {
			list = append(list, p.String())
		}
		sort.Strings(list)
		t.Logf("used by routebundle: %s", strings.Join(list, ", "))
	})
	// After the audit log is read: these refusals are the test's.
	t.Run("refused outside its rules", func(t *testing.T) { testRefused(t, newClient(t, saCfg), scoped) })
	if t.Failed() {
		logs, _ := os.ReadFile(rb.logs.Name())
		t.Logf("routebundle's logs:\n%s", logs)
	}
}

// testEventRepeated waits for the Event saying that nothing reads the
// attribute the broken WasmPlugin produces, then adds a Telemetry that
// reads it and deletes it again: the finding goes away and comes back about
// the same, unchanged object, and the Event counts it a second time (a
// patch of its series).
func testEventRepeated(t *testing.T, admin client.Client, rb *running) {
	ctx := t.Context()
	count := func() (int32, error) {
		list := &corev1.EventList{}
		if err := admin.List(ctx, list, client.InNamespace("shop")); err != nil {
			return 0, err
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name == "broken-routes" && e.ReportingController == "routebundle" && e.Reason == "RB005" {
				if e.Series != nil {
					return e.Series.Count, nil
				}
				return 1, nil
			}
		}
		return 0, fmt.Errorf("none of %d Events", len(list.Items))
	}
	eventually(t, "Event RB005 on the broken WasmPlugin", func() error { _, err := count(); return err })
	var tel *unstructured.Unstructured
	for _, o := range readObjects(t, "testdata/mesh.yaml") {
		if o.GetKind() == "Telemetry" {
			tel = o.DeepCopy()
		}
	}
	tel.SetName("search")
	if err := unstructured.SetNestedStringMap(tel.Object, map[string]string{"app": "search"}, "spec", "selector", "matchLabels"); err != nil {
		t.Fatal(err)
	}
	// The exporter's routebundle_diagnostics says when the finding is gone.
	finding := []string{`code="RB005"`, `name="broken-routes"`}
	eventually(t, "the finding exported", func() error {
		ok, err := rb.exports("routebundle_diagnostics", finding...)
		if err == nil && !ok {
			err = errors.New("not yet")
		}
		return err
	})
	apply(t, admin, tel)
	eventually(t, "the finding gone once a Telemetry reads the attribute", func() error {
		ok, err := rb.exports("routebundle_diagnostics", finding...)
		if err == nil && ok {
			err = errors.New("still exported")
		}
		return err
	})
	if err := admin.Delete(ctx, tel); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Event counts the finding twice", func() error {
		n, err := count()
		if err == nil && n < 2 {
			err = fmt.Errorf("count %d", n)
		}
		return err
	})
}

// testManualEditReverted edits the applied PrometheusRule as another field
// manager: routebundle takes it back (reading the live object, then
// patching), which is what its get permission is for.
func testManualEditReverted(t *testing.T, admin client.Client) {
	ctx := t.Context()
	pr, err := get(ctx, admin, "PrometheusRule", "shop", "routebundle-shop-route-name")
	if err != nil {
		t.Fatal(err)
	}
	labels := pr.GetLabels()
	labels["edited-by"] = "hand"
	pr.SetLabels(labels)
	if err := admin.Update(ctx, pr, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "manual edit reverted", func() error {
		pr, err := get(ctx, admin, "PrometheusRule", "shop", "routebundle-shop-route-name")
		if err == nil && pr.GetLabels()["edited-by"] != "" {
			err = errors.New("the label is still there")
		}
		return err
	})
}

// testRefused tries, as routebundle, writes and reads its rules do not
// allow: each must be refused by the API server.
func testRefused(t *testing.T, c client.Client, scoped bool) {
	ctx := t.Context()
	if scoped {
		// Namespace-scoped: no writes outside the target namespaces.
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "routebundle-x", Namespace: "default"}}
		if err := c.Create(ctx, cm); !apierrors.IsForbidden(err) {
			t.Errorf("create a ConfigMap in default: %v, want Forbidden", err)
		}
		if err := c.List(ctx, &corev1.ConfigMapList{}, client.InNamespace("default")); !apierrors.IsForbidden(err) {
			t.Errorf("list ConfigMaps in default: %v, want Forbidden", err)
		}
		// Nothing of the bundle, and no Event, is read across namespaces.
		rules := &unstructured.UnstructuredList{}
		rules.SetGroupVersionKind(gvks["PrometheusRule"].GroupVersion().WithKind("PrometheusRuleList"))
		for what, list := range map[string]client.ObjectList{"PrometheusRules": rules, "ConfigMaps": &corev1.ConfigMapList{}, "Events": &corev1.EventList{}} {
			if err := c.List(ctx, list); !apierrors.IsForbidden(err) {
				t.Errorf("list %s in every namespace: %v, want Forbidden", what, err)
			}
		}
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stolen", Namespace: releaseNamespace}}
	plugin := &unstructured.Unstructured{}
	plugin.SetGroupVersionKind(schema.GroupVersionKind{Group: "extensions.istio.io", Version: "v1alpha1", Kind: "WasmPlugin"})
	for _, tc := range []struct {
		what string
		do   func() error
	}{
		{"create a Secret", func() error { return c.Create(ctx, secret) }},
		{"read Secrets", func() error { return c.List(ctx, &corev1.SecretList{}) }},
		{"update a WasmPlugin", func() error {
			// Read as the admin would; the update is refused on its verb.
			plugin.SetNamespace("shop")
			plugin.SetName("cart-routes")
			plugin.SetResourceVersion("1")
			plugin.Object["spec"] = map[string]any{"url": "oci://evil"}
			return c.Update(ctx, plugin)
		}},
		{"get a WasmPlugin", func() error {
			return c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "cart-routes"}, plugin)
		}},
		{"delete a Telemetry", func() error {
			tel := &unstructured.Unstructured{}
			tel.SetGroupVersionKind(schema.GroupVersionKind{Group: "telemetry.istio.io", Version: "v1", Kind: "Telemetry"})
			tel.SetNamespace("shop")
			tel.SetName("cart")
			return c.Delete(ctx, tel)
		}},
		{"label a Namespace", func() error {
			return c.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
				client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"x":"y"}}}`)))
		}},
		{"create a Pod", func() error {
			return c.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}})
		}},
		{"take another Lease", func() error {
			lease := &unstructured.Unstructured{}
			lease.SetGroupVersionKind(schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"})
			return c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "someone-else"}, lease)
		}},
		{"a Lease in another namespace", func() error {
			lease := &unstructured.Unstructured{}
			lease.SetGroupVersionKind(schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"})
			lease.SetNamespace("shop")
			lease.SetName(service.LeaderElectionID)
			lease.Object["spec"] = map[string]any{}
			return c.Create(ctx, lease)
		}},
		{"edit its own RBAC", func() error {
			return c.Patch(ctx, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "routebundle"}}},
				client.RawPatch("application/merge-patch+json", []byte(`{"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}`)))
		}},
	} {
		if err := tc.do(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", tc.what, err)
		}
	}
}

// permission is one verb on one resource.
type permission struct{ group, resource, verb string }

func (p permission) String() string {
	if p.group == "" {
		return p.verb + " " + p.resource
	}
	return p.verb + " " + p.resource + "." + p.group
}

// grants expands the rules of the rendered ClusterRoles and Roles.
func grants(t *testing.T, objs []*unstructured.Unstructured) map[permission]bool {
	out := map[permission]bool{}
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
		for _, r := range rules {
			rule := r.(map[string]any)
			groups, _, _ := unstructured.NestedStringSlice(rule, "apiGroups")
			resources, _, _ := unstructured.NestedStringSlice(rule, "resources")
			verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
			for _, g := range groups {
				for _, res := range resources {
					for _, v := range verbs {
						if g == "*" || res == "*" || v == "*" {
							t.Errorf("%s %s grants a wildcard", o.GetKind(), o.GetName())
						}
						out[permission{g, res, v}] = true
					}
				}
			}
		}
	}
	return out
}

// audited reads what user asked the API server since since: the
// permissions of the requests that went through, the refused ones, and the
// lists and watches across all namespaces of anything but Namespaces.
func audited(srv *k8stest.Server, since time.Time, user string) (used map[permission]bool, refused, wide []string, err error) {
	reqs, err := srv.Requests(since)
	if err != nil {
		return nil, nil, nil, err
	}
	used = map[permission]bool{}
	for _, r := range reqs {
		if r.User != user {
			continue
		}
		res, group, _ := strings.Cut(r.Resource, ".")
		p := permission{group, res, r.Verb}
		if (r.Verb == "list" || r.Verb == "watch") && r.Namespace == "" && r.Resource != "namespaces" {
			wide = append(wide, r.String())
		}
		if r.Code == http.StatusForbidden {
			refused = append(refused, r.String())
			continue
		}
		used[p] = true
		// A server-side apply that creates its object is authorized for
		// create as well as patch.
		if r.Verb == "patch" && r.Code == http.StatusCreated {
			used[permission{group, res, "create"}] = true
		}
	}
	return used, slices.Compact(refused), slices.Compact(wide), nil
}

// unused lists the granted permissions no request used. list goes with
// watch: informers stream their initial list through the watch where the
// API server supports it (WatchList, as the one here does) and fall back
// to a list where it does not.
func unused(granted, used map[permission]bool) []string {
	var out []string
	for p := range granted {
		if p.verb == "list" && used[permission{p.group, p.resource, "watch"}] {
			continue
		}
		if !used[p] {
			out = append(out, p.String())
		}
	}
	sort.Strings(out)
	return out
}

// serviceArgs are the Deployment's container arguments, pointed at the
// test's API server, a copy of the chart's ConfigMap and loopback
// listeners. It returns the probe address.
func serviceArgs(t *testing.T, r rendering, cfg *rest.Config) (args []string, probes, metrics string) {
	dep := find(t, r.objects, "Deployment", "")
	c := nested[[]any](t, dep.Object, "spec", "template", "spec", "containers")[0].(map[string]any)
	cm := find(t, r.objects, "ConfigMap", "")
	data, _, _ := unstructured.NestedString(cm.Object, "data", "config.yaml")
	configPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(configPath, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	probes, metrics = freeAddr(t), freeAddr(t)
	replace := map[string]string{
		"--config":                    configPath,
		"--metrics-bind-address":      metrics,
		"--health-probe-bind-address": probes,
		// Nothing listens there: the exporter's queries fail, on loopback.
		"--prometheus-url": "http://" + freeAddr(t),
	}
	// In a pod the Lease's namespace is the pod's own, read from its
	// service account mount; here it must be given.
	args = []string{"--kubeconfig=" + k8stest.WriteKubeconfig(t, cfg), "--leader-election-namespace=" + releaseNamespace}
	for _, a := range nested[[]any](t, c, "args") {
		arg := a.(string)
		name, _, _ := strings.Cut(arg, "=")
		if v, ok := replace[name]; ok {
			arg = name + "=" + v
			delete(replace, name)
		}
		args = append(args, arg)
	}
	if len(replace) > 0 {
		t.Fatalf("the Deployment does not pass %v", replace)
	}
	return args, probes, metrics
}

// freeAddr is a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// running is routebundle's service.Run in the test process.
type running struct {
	// metrics is the address of /metrics.
	metrics string
	// logs is the file the service's logs go to: plain writes of whole
	// records, safe from any goroutine, also after the test ends.
	logs   *os.File
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func run(t *testing.T, args []string) *running {
	logs, err := os.Create(filepath.Join(t.TempDir(), "routebundle.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rb := &running{logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { rb.done <- service.Run(ctx, args, io.Discard, rb.logs) }()
	t.Cleanup(func() { _ = rb.stop() })
	return rb
}

// stop ends the service as SIGTERM does and waits for it.
func (rb *running) stop() error {
	rb.once.Do(func() {
		rb.cancel()
		select {
		case rb.err = <-rb.done:
		case <-time.After(time.Minute):
			rb.err = errors.New("did not stop within a minute")
		}
	})
	return rb.err
}

// exports reports whether /metrics has a series with all the labels given
// (name="value").
func (rb *running) exports(metric string, labels ...string) (bool, error) {
	resp, err := http.Get("http://" + rb.metrics + "/metrics")
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(line, l)
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

func (rb *running) ready(addr string) error {
	select {
	case err := <-rb.done:
		rb.done <- err
		return permanent{fmt.Errorf("routebundle exited: %v", err)}
	default:
	}
	resp, err := http.Get("http://" + addr + "/readyz/mesh")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

const waitTimeout = 90 * time.Second

// permanent is an error eventually does not wait out.
type permanent struct{ error }

// eventually retries check until it returns nil, failing t after waitTimeout
// or at once on a permanent error.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if errors.As(err, new(permanent)) || time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func newClient(t *testing.T, cfg *rest.Config) client.Client {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var gvks = map[string]schema.GroupVersionKind{
	"PrometheusRule": {Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"},
	"PodMonitor":     {Group: "monitoring.coreos.com", Version: "v1", Kind: "PodMonitor"},
	"ServiceMonitor": {Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"},
	"ConfigMap":      {Version: "v1", Kind: "ConfigMap"},
}

func get(ctx context.Context, c client.Client, kind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvks[kind])
	return u, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)
}

// apply server-side applies objects as an installer would.
func apply(t *testing.T, c client.Client, objs ...*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if err := c.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.FieldOwner("installer"), client.ForceOwnership); err != nil {
			t.Fatalf("apply %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

func namespaceObject(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(name)
	return u
}

func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := k8stest.DecodeObjects(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objs
}
