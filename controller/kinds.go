package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/routebundle/routebundle/bundle"
)

// kind is a resource the controller reads or writes.
type kind struct {
	gvk schema.GroupVersionKind
	// resource is the plural; with the group it names the CRD.
	resource string
	// optional kinds are watched once their CRD appears; the controller
	// works without them.
	optional bool
}

// crd is the CustomResourceDefinition's name, resource.group.
func (k kind) crd() string { return k.resource + "." + k.gvk.Group }

// The sources: Istio's classification and what decides its scope.
var (
	wasmPluginKind = kind{gvk: schema.GroupVersionKind{Group: "extensions.istio.io", Version: "v1alpha1", Kind: "WasmPlugin"}, resource: "wasmplugins"}
	telemetryKind  = kind{gvk: schema.GroupVersionKind{Group: "telemetry.istio.io", Version: "v1", Kind: "Telemetry"}, resource: "telemetries"}
	// Gateways tell waypoints apart; meshes without the Gateway API CRDs
	// (sidecars only) are still served.
	gatewayKind   = kind{gvk: schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}, resource: "gateways", optional: true}
	namespaceKind = kind{gvk: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, resource: "namespaces"}
)

// The route objects, whose rules are the routes of Telemetries tagging
// metrics with xds.route_name, and the Services whose labels say which
// waypoint serves them (read as metadata only). A mesh without the
// Gateway API or without Istio's networking CRDs is still served.
var (
	httpRouteKind      = kind{gvk: schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}, resource: "httproutes", optional: true}
	grpcRouteKind      = kind{gvk: schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GRPCRoute"}, resource: "grpcroutes", optional: true}
	virtualServiceKind = kind{gvk: schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}, resource: "virtualservices", optional: true}
	serviceKind        = kind{gvk: schema.GroupVersionKind{Version: "v1", Kind: "Service"}, resource: "services"}
)

// optionalKinds are watched once their CRDs are installed.
var optionalKinds = []kind{gatewayKind, httpRouteKind, grpcRouteKind, virtualServiceKind}

// routeKinds are the route objects.
var routeKinds = []kind{httpRouteKind, grpcRouteKind, virtualServiceKind}

// The sinks: every kind of object the bundle holds.
var (
	prometheusRuleKind = kind{gvk: schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}, resource: "prometheusrules"}
	podMonitorKind     = kind{gvk: schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PodMonitor"}, resource: "podmonitors"}
	serviceMonitorKind = kind{gvk: schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}, resource: "servicemonitors"}
	configMapKind      = kind{gvk: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, resource: "configmaps"}
)

// outputKinds are cached as metadata only, and only the objects labelled as
// routebundle's.
var outputKinds = []kind{prometheusRuleKind, podMonitorKind, serviceMonitorKind, configMapKind}

// byKind finds an output kind by its Kind.
func outputKind(k string) (kind, bool) {
	for _, o := range outputKinds {
		if o.gvk.Kind == k {
			return o, true
		}
	}
	return kind{}, false
}

func newUnstructured(k kind) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(k.gvk)
	return u
}

func newMetadata(k kind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(k.gvk)
	return m
}

// newCache returns a cache for kind k alone, restricted to namespaces
// (nil: all): sources without managed fields; outputs restricted to objects
// labelled as routebundle's, as metadata with only the names of their field
// managers, which is all the controller reads of them (a thousand
// dashboards are not kept in memory). A cache per kind can be created once
// its CRD exists, which a cache of all kinds, made when the manager is,
// cannot.
func newCache(mgr manager.Manager, k kind, namespaces []string) (cache.Cache, error) {
	opts := cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), HTTPClient: mgr.GetHTTPClient(),
		DefaultTransform: cache.TransformStripManagedFields(),
		// Reads return the cached objects themselves, not copies: a
		// mesh-wide pass lists thousands of them. Nothing the controller
		// hands them to changes them (TestInventoryLeavesObjectsAlone).
		DefaultUnsafeDisableDeepCopy: ptr.To(true),
	}
	if slices.Contains(outputKinds, k) {
		opts.DefaultLabelSelector = labels.SelectorFromSet(labels.Set{bundle.LabelManagedBy: bundle.ManagedBy})
		opts.DefaultTransform = keepManagerNames
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	c, err := cache.New(mgr.GetConfig(), opts)
	if err != nil {
		return nil, fmt.Errorf("cache of %ss: %w", k.gvk.Kind, err)
	}
	return c, nil
}

// cacheNamespaces are the namespaces kind k is watched in, nil for all:
// Namespaces are cluster-scoped; in namespace-scoped mode the outputs are
// watched in the output namespaces (everywhere otherwise: a config reload
// can move them), the sources in the watched and root namespaces.
func (c *Controller) cacheNamespaces(k kind) []string {
	switch {
	case k == namespaceKind:
		return nil
	case slices.Contains(outputKinds, k):
		return c.scope.outputs
	}
	return sourceNamespaces(c.opts.WatchNamespaces, c.root)
}

// keepManagerNames drops the field sets of managedFields, keeping who
// manages the object: the controller looks for managers other than itself
// to notice manual edits.
func keepManagerNames(in any) (any, error) {
	obj, ok := in.(metav1.Object)
	if !ok {
		return in, nil
	}
	mf := obj.GetManagedFields()
	for i := range mf {
		mf[i].FieldsV1 = nil
	}
	return in, nil
}

// caches reads from the cache of each kind (see newCache), as one
// client.Reader.
type caches struct {
	mu     sync.Mutex
	byKind map[schema.GroupVersionKind]cache.Cache
}

func (cs *caches) add(k kind, c cache.Cache) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.byKind == nil {
		cs.byKind = map[schema.GroupVersionKind]cache.Cache{}
	}
	cs.byKind[k.gvk] = c
}

func (cs *caches) of(gvk schema.GroupVersionKind) (cache.Cache, error) {
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byKind[gvk]
	if !ok {
		return nil, fmt.Errorf("%s is not watched", gvk.Kind)
	}
	return c, nil
}

// Get implements client.Reader.
func (cs *caches) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c, err := cs.of(obj.GetObjectKind().GroupVersionKind())
	if err != nil {
		return err
	}
	return c.Get(ctx, key, obj, opts...)
}

// List implements client.Reader.
func (cs *caches) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c, err := cs.of(list.GetObjectKind().GroupVersionKind())
	if err != nil {
		return err
	}
	return c.List(ctx, list, opts...)
}
