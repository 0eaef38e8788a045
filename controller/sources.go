package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// watchSources waits for the CRDs the controller needs, then starts the
// informers and hands the first pass to the queue. It runs on every replica
// (a manager.Runnable without leader election), so that a standby has warm
// caches. Missing CRDs are not fatal: they are logged by name, readiness
// stays false, and the API server is asked again with backoff, so that
// installing Istio or the prometheus-operator after routebundle works
// without a restart.
func (c *Controller) watchSources(ctx context.Context) error {
	required := []kind{wasmPluginKind, telemetryKind}
	if !c.opts.ReadOnly {
		required = append(required, prometheusRuleKind, podMonitorKind, serviceMonitorKind)
	}
	if err := c.waitForCRDs(ctx, required); err != nil {
		return nil // stopped while waiting
	}
	watch := append(slices.Clone(required), namespaceKind, serviceKind)
	if c.opts.ReadOnly {
		watch = []kind{wasmPluginKind, telemetryKind, namespaceKind, serviceKind}
	} else {
		watch = append(watch, configMapKind)
	}
	var missing []kind
	for _, k := range optionalKinds {
		if ok, err := c.installed(k); err == nil && ok {
			watch = append(watch, k)
		} else {
			missing = append(missing, k) // looked for again below
		}
	}
	for _, k := range watch {
		if err := c.startInformer(ctx, k); err != nil {
			return err
		}
	}
	c.seedEvents(ctx)
	c.mu.Lock()
	c.sources = true
	c.mu.Unlock()
	c.log.Info("watching the mesh", "kinds", kindNames(watch), "namespaces", namespacesText(c.opts.WatchNamespaces),
		"rootNamespace", c.root, "outputNamespaces", namespacesText(c.scope.outputs))
	c.enqueue(fullKey, 0)
	c.waitForOptional(ctx, missing)
	return nil
}

// waitForCRDs returns once every kind is served, or ctx's error.
func (c *Controller) waitForCRDs(ctx context.Context, kinds []kind) error {
	wait := c.opts.CRDRetry
	for {
		var missing []string
		var absentKinds []kind
		var lookupErr error
		for _, k := range kinds {
			ok, err := c.installed(k)
			if err != nil {
				lookupErr = err
				missing = append(missing, k.crd())
				continue
			}
			if !ok {
				missing = append(missing, k.crd())
				absentKinds = append(absentKinds, k)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		// The readiness probe says why before the logs do, so that whoever
		// reads a log line finds the probe agreeing.
		c.mu.Lock()
		c.waiting = "waiting for CRDs: " + strings.Join(missing, ", ")
		c.mu.Unlock()
		// Said at once, then about every CRDRetryMax.
		if wait == c.opts.CRDRetry || wait == c.opts.CRDRetryMax {
			for _, k := range absentKinds {
				c.log.Error("CRD not installed: routebundle waits for it and is not ready until it is",
					"crd", k.crd(), "kind", k.gvk.Kind, "apiVersion", k.gvk.GroupVersion().String(), "retryIn", wait.String())
			}
		}
		if lookupErr != nil {
			c.log.Error("cannot ask the API server for its resources; retrying", "error", lookupErr, "retryIn", wait.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, c.opts.CRDRetryMax)
	}
}

// waitForOptional looks for the CRDs of the optional kinds every
// CRDRetryMax and starts watching each once it is installed.
func (c *Controller) waitForOptional(ctx context.Context, missing []kind) {
	for _, k := range missing {
		c.log.Info("CRD not installed: its objects are not read until it is", "crd", k.crd(), "kind", k.gvk.Kind, "reads", optionalUse[k.gvk.Kind])
	}
	for len(missing) > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.opts.CRDRetryMax):
		}
		var still []kind
		for _, k := range missing {
			if ok, err := c.installed(k); err != nil || !ok {
				still = append(still, k)
				continue
			}
			if err := c.startInformer(ctx, k); err != nil {
				c.log.Error("cannot watch "+k.gvk.Kind+"s", "error", err)
				still = append(still, k)
				continue
			}
			c.log.Info("watching " + k.gvk.Kind + "s")
			c.enqueue(fullKey, 0)
		}
		missing = still
	}
}

// optionalUse says what is missing while an optional kind is not watched.
var optionalUse = map[string]string{
	"Gateway":        "waypoints and gateways are not recognised",
	"HTTPRoute":      "Telemetries reading xds.route_name get no route names from HTTPRoutes",
	"GRPCRoute":      "Telemetries reading xds.route_name get no route names from GRPCRoutes",
	"VirtualService": "Telemetries reading xds.route_name get no route names from VirtualServices",
}

// seedEvents tells the findings which Events routebundle sent before it
// (re)started, so that it does not send them twice. They are about the
// sources: in namespace-scoped mode they are listed in the source
// namespaces only.
func (c *Controller) seedEvents(ctx context.Context) {
	if c.opts.DryRun || c.opts.ReadOnly {
		return
	}
	namespaces := sourceNamespaces(c.opts.WatchNamespaces, c.root)
	if namespaces == nil {
		namespaces = []string{metav1.NamespaceAll}
	}
	var all []corev1.Event
	for _, ns := range namespaces {
		list := &corev1.EventList{}
		err := c.mgr.GetAPIReader().List(ctx, list, client.InNamespace(ns), client.MatchingFields{"reportingComponent": FieldManager})
		if err != nil {
			c.log.Warn("cannot list routebundle's earlier Events; findings are reported again", "namespace", ns, "error", err)
			return
		}
		all = append(all, list.Items...)
	}
	c.findings.seed(all)
}

// installed reports whether the API server serves kind k.
func (c *Controller) installed(k kind) (bool, error) {
	list, err := c.disco.ServerResourcesForGroupVersion(k.gvk.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discovering %s: %w", k.gvk.GroupVersion(), err)
	}
	for _, r := range list.APIResources {
		if r.Name == k.resource {
			return true, nil
		}
	}
	return false, nil
}

// startInformer starts the cache's informer of k, waits for its first list
// and adds the controller's event handler.
func (c *Controller) startInformer(ctx context.Context, k kind) error {
	var obj client.Object
	var h toolscache.ResourceEventHandler
	switch {
	case k == namespaceKind:
		obj, h = newMetadata(k), c.namespaceHandler()
	case k == serviceKind:
		obj, h = newMetadata(k), c.routeHandler(true)
	case slices.Contains(routeKinds, k):
		obj, h = newUnstructured(k), c.routeHandler(false)
	case slices.Contains(outputKinds, k):
		obj, h = newMetadata(k), c.outputHandler(k)
	default:
		obj, h = newUnstructured(k), c.sourceHandler()
	}
	kc, err := newCache(c.mgr, k, c.cacheNamespaces(k))
	if err != nil {
		return err
	}
	// Added to a running manager, the cache starts at once and stops with it.
	if err := c.mgr.Add(kc); err != nil {
		return fmt.Errorf("watching %s: %w", k.gvk.Kind, err)
	}
	inf, err := kc.GetInformer(ctx, obj)
	if err != nil {
		return fmt.Errorf("watching %s: %w", k.gvk.Kind, err)
	}
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return fmt.Errorf("watching %s: %w", k.gvk.Kind, err)
	}
	// The handler hears of every existing object first; the first pass,
	// which covers them, is queued after that.
	if !toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
		return ctx.Err()
	}
	c.cache.add(k, kc)
	return nil
}

// watching reports whether the informer of kind k runs.
func (c *Controller) watching(k kind) bool {
	_, err := c.cache.of(k.gvk)
	return err == nil
}

func kindNames(kinds []kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.gvk.Kind
	}
	return out
}

func namespacesText(ns []string) string {
	if len(ns) == 0 {
		return "all"
	}
	return strings.Join(ns, ",")
}
