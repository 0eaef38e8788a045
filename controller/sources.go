package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	gateway, err := c.installed(gatewayKind)
	if err != nil {
		gateway = false // looked for again below
	}
	watch := append(slices.Clone(required), namespaceKind)
	if c.opts.ReadOnly {
		watch = []kind{wasmPluginKind, telemetryKind, namespaceKind}
	} else {
		watch = append(watch, configMapKind)
	}
	if gateway {
		watch = append(watch, gatewayKind)
	}
	for _, k := range watch {
		if err := c.startInformer(ctx, k); err != nil {
			return err
		}
	}
	c.seedEvents(ctx)
	c.mu.Lock()
	c.sources, c.gateway = true, gateway
	c.mu.Unlock()
	c.log.Info("watching the mesh", "kinds", kindNames(watch), "namespaces", namespacesText(c.opts.WatchNamespaces))
	c.enqueue(fullKey, 0)
	if !gateway {
		c.waitForGateways(ctx)
	}
	return nil
}

// waitForCRDs returns once every kind is served, or ctx's error.
func (c *Controller) waitForCRDs(ctx context.Context, kinds []kind) error {
	wait := c.opts.CRDRetry
	for {
		var missing []string
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
				// Said at once, then about every CRDRetryMax.
				if wait == c.opts.CRDRetry || wait == c.opts.CRDRetryMax {
					c.log.Error("CRD not installed: routebundle waits for it and is not ready until it is",
						"crd", k.crd(), "kind", k.gvk.Kind, "apiVersion", k.gvk.GroupVersion().String(), "retryIn", wait.String())
				}
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if lookupErr != nil {
			c.log.Error("cannot ask the API server for its resources; retrying", "error", lookupErr, "retryIn", wait.String())
		}
		c.mu.Lock()
		c.waiting = "waiting for CRDs: " + strings.Join(missing, ", ")
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, c.opts.CRDRetryMax)
	}
}

// waitForGateways looks for the Gateway API CRDs every CRDRetryMax and
// starts watching Gateways once they are installed.
func (c *Controller) waitForGateways(ctx context.Context) {
	c.log.Info("the Gateway API CRDs are not installed: waypoints are not recognised until they are",
		"crd", gatewayKind.crd())
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.opts.CRDRetryMax):
		}
		if ok, err := c.installed(gatewayKind); err != nil || !ok {
			continue
		}
		if err := c.startInformer(ctx, gatewayKind); err != nil {
			c.log.Error("cannot watch Gateways", "error", err)
			continue
		}
		c.mu.Lock()
		c.gateway = true
		c.mu.Unlock()
		c.log.Info("watching Gateways")
		c.enqueue(fullKey, 0)
		return
	}
}

// seedEvents tells the findings which Events routebundle sent before it
// (re)started, so that it does not send them twice.
func (c *Controller) seedEvents(ctx context.Context) {
	if c.opts.DryRun || c.opts.ReadOnly {
		return
	}
	list := &corev1.EventList{}
	err := c.mgr.GetAPIReader().List(ctx, list, client.MatchingFields{"reportingComponent": FieldManager})
	if err != nil {
		c.log.Warn("cannot list routebundle's earlier Events; findings are reported again", "error", err)
		return
	}
	c.findings.seed(list.Items)
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
	case slices.Contains(outputKinds, k):
		obj, h = newMetadata(k), c.outputHandler(k)
	default:
		obj, h = newUnstructured(k), c.sourceHandler()
	}
	kc, err := newCache(c.mgr, k, c.opts.WatchNamespaces)
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

func (c *Controller) gatewaysWatched() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gateway
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
