package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/internal/meshsim"
)

// Mesh is the synthetic podinfo mesh: Envoy metrics endpoints on loopback
// addresses of their own, and the Pod objects a real cluster would have for
// them, so that Prometheus finds them through Kubernetes discovery.
type Mesh struct {
	// Waypoint is podinfo-waypoint's Envoy: the server-side view, with the
	// route_name tag of examples/podinfo's Telemetry.
	Waypoint *meshsim.Endpoint
	// Sidecar is the load generator's sidecar in a sidecar-injected
	// namespace: the client-side view of the same requests (reporter
	// source), without the route tag, which the Telemetry only puts on the
	// waypoint. The rules must not count these requests twice.
	Sidecar *meshsim.Endpoint
}

// Names and addresses of the synthetic workloads. Each pod gets a
// loopback address of its own as its pod IP: Prometheus' pod discovery
// makes one target per container port at podIP:containerPort.
const (
	WaypointPodIP = "127.0.0.2"
	LoadgenPodIP  = "127.0.0.3"
	PodinfoPodIP  = "127.0.0.4"

	loadgenNamespace = "loadgen"
	nodeName         = "node-1"
)

// startMesh serves the endpoints and creates their pods: the podinfo
// waypoint (ambient), the podinfo workload itself (ambient: no proxy,
// never scraped) and the load generator with a sidecar.
func startMesh(t testing.TB, c client.Client, waypoint meshsim.Proxy) (*Mesh, error) {
	t.Helper()
	m := &Mesh{
		Waypoint: meshsim.StartAt(t, WaypointPodIP+":0", waypoint),
		Sidecar:  meshsim.StartAt(t, LoadgenPodIP+":0", clientView(waypoint)),
	}
	ctx := t.Context()
	if err := ensureNamespace(ctx, c, loadgenNamespace, map[string]string{"istio-injection": "enabled"}); err != nil {
		return nil, err
	}
	pods := []*corev1.Pod{
		waypointPod(port(m.Waypoint)),
		podinfoPod(),
		loadgenPod(port(m.Sidecar)),
	}
	for _, p := range pods {
		if err := runPod(ctx, c, p); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Loadgen is the client of every flow: a Deployment in a sidecar-injected
// namespace calling podinfo through its waypoint.
var Loadgen = meshsim.Workload{Namespace: loadgenNamespace, Name: "loadgen", App: "loadgen", Version: "v1"}

// clientView is the traffic of p as the calling sidecar reports it.
func clientView(p meshsim.Proxy) meshsim.Proxy {
	return meshsim.Proxy{Reporter: meshsim.ReporterSource, Flows: p.Flows}
}

func port(e *meshsim.Endpoint) int32 {
	_, p, _ := net.SplitHostPort(e.Addr())
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// waypointPod is a pod of the Deployment Istio creates for the
// podinfo-waypoint Gateway (istio-discovery's files/waypoint.yaml): its
// labels, its istio-proxy container and ports. Only http-envoy-prom is
// served, on the endpoint's port.
func waypointPod(envoyPort int32) *corev1.Pod {
	p := pod("podinfo", "podinfo-waypoint-7d9c8b6f5-x2k4q", WaypointPodIP, map[string]string{
		"sidecar.istio.io/inject":                      "false",
		"istio.io/dataplane-mode":                      "none",
		"service.istio.io/canonical-name":              "podinfo-waypoint",
		"service.istio.io/canonical-revision":          "latest",
		"gateway.networking.k8s.io/gateway-name":       "podinfo-waypoint",
		"gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
		"gateway.istio.io/managed":                     "istio.io-mesh-controller",
	})
	p.Spec.Containers = []corev1.Container{{
		Name: "istio-proxy", Image: "proxyv2",
		Ports: []corev1.ContainerPort{
			{Name: "metrics", ContainerPort: 15020, Protocol: corev1.ProtocolTCP},
			{Name: "status-port", ContainerPort: 15021, Protocol: corev1.ProtocolTCP},
			{Name: "http-envoy-prom", ContainerPort: envoyPort, Protocol: corev1.ProtocolTCP},
		},
	}}
	return p
}

// podinfoPod is the podinfo workload in the ambient namespace: no proxy of
// its own. Its port is not a mesh target; the PodMonitor must skip it.
func podinfoPod() *corev1.Pod {
	p := pod("podinfo", "podinfo-5b8f7c9d4-qk7zt", PodinfoPodIP, map[string]string{
		"app": "podinfo", "version": "6.7.0",
	})
	p.Spec.Containers = []corev1.Container{{
		Name: "podinfo", Image: "podinfo:6.7.0",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 9898, Protocol: corev1.ProtocolTCP}},
	}}
	return p
}

// loadgenPod is the load generator with an injected sidecar (Istio's
// injection template: istio-proxy declares http-envoy-prom).
func loadgenPod(envoyPort int32) *corev1.Pod {
	p := pod(loadgenNamespace, "loadgen-6f4d8c7b9-m3n8p", LoadgenPodIP, map[string]string{
		"app": "loadgen", "version": "v1",
		"service.istio.io/canonical-name": "loadgen", "service.istio.io/canonical-revision": "v1",
		"security.istio.io/tlsMode": "istio",
	})
	p.Spec.Containers = []corev1.Container{
		{Name: "loadgen", Image: "loadgen:v1"},
		{Name: "istio-proxy", Image: "proxyv2", Ports: []corev1.ContainerPort{
			{Name: "http-envoy-prom", ContainerPort: envoyPort, Protocol: corev1.ProtocolTCP},
		}},
	}
	return p
}

func pod(namespace, name, ip string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: nodeName},
		Status:     corev1.PodStatus{PodIP: ip},
	}
}

// runPod creates the pod and sets its status to what the kubelet reports
// for a running, ready pod; envtest has no kubelet to do it.
func runPod(ctx context.Context, c client.Client, p *corev1.Pod) error {
	ip := p.Status.PodIP
	if err := ensureServiceAccount(ctx, c, p.Namespace); err != nil {
		return err
	}
	if err := c.Create(ctx, p); err != nil {
		return fmt.Errorf("create pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	now := metav1.Now()
	p.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, HostIP: "127.0.0.1",
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
	}
	for _, ct := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: ct.Name, Image: ct.Image, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	if err := c.Status().Update(ctx, p); err != nil {
		return fmt.Errorf("set the status of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// ensureServiceAccount creates the namespace's default ServiceAccount,
// which kube-controller-manager would (envtest runs none) and pod
// admission requires.
func ensureServiceAccount(ctx context.Context, c client.Client, namespace string) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "default"}}
	if err := c.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ServiceAccount %s/default: %w", namespace, err)
	}
	return nil
}

func ensureNamespace(ctx context.Context, c client.Client, name string, labels map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}
