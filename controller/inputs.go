package controller

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// readSources returns the cached sources of the given namespaces (all when
// nil) as manifest objects, the form the inventory reads files in too.
func (c *Controller) readSources(ctx context.Context, namespaces []string) ([]manifest.Object, error) {
	reader := &c.cache
	kinds := []kind{wasmPluginKind, telemetryKind}
	for _, k := range optionalKinds {
		if c.watching(k) {
			kinds = append(kinds, k)
		}
	}
	scopes := []client.ListOption{nil}
	if namespaces != nil {
		scopes = scopes[:0]
		for _, ns := range namespaces {
			scopes = append(scopes, client.InNamespace(ns))
		}
	}
	var objs []manifest.Object
	for _, k := range kinds {
		for _, scope := range scopes {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
			var opts []client.ListOption
			if scope != nil {
				opts = append(opts, scope)
			}
			if err := reader.List(ctx, list, opts...); err != nil {
				return nil, fmt.Errorf("listing %ss: %w", k.gvk.Kind, err)
			}
			for i := range list.Items {
				objs = append(objs, manifest.FromUnstructured(list.Items[i].Object))
			}
		}
	}
	nss, err := c.readNamespaces(ctx, namespaces)
	if err != nil {
		return nil, err
	}
	svcs, err := c.readServices(ctx, scopes)
	if err != nil {
		return nil, err
	}
	return append(append(objs, nss...), svcs...), nil
}

// readServices returns the Services of the scopes with their labels, all
// the inventory reads of them (which waypoint serves them).
func (c *Controller) readServices(ctx context.Context, scopes []client.ListOption) ([]manifest.Object, error) {
	var out []manifest.Object
	for _, scope := range scopes {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(serviceKind.gvk.GroupVersion().WithKind("ServiceList"))
		var opts []client.ListOption
		if scope != nil {
			opts = append(opts, scope)
		}
		if err := c.cache.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("listing Services: %w", err)
		}
		for _, m := range list.Items {
			out = append(out, metadataObject("Service", m.Namespace, m.Name, m.Labels))
		}
	}
	return out, nil
}

// metadataObject is a core object of which only the labels matter, as
// the manifest object the inventory reads.
func metadataObject(kind, namespace, name string, labels map[string]string) manifest.Object {
	ls := make(map[string]any, len(labels))
	for k, v := range labels {
		ls[k] = v
	}
	md := map[string]any{"name": name, "labels": ls}
	if namespace != "" {
		md["namespace"] = namespace
	}
	return manifest.FromUnstructured(map[string]any{"apiVersion": "v1", "kind": kind, "metadata": md})
}

// readNamespaces returns Namespace objects with the labels the inventory
// reads: all of them, or the named ones.
func (c *Controller) readNamespaces(ctx context.Context, names []string) ([]manifest.Object, error) {
	reader := &c.cache
	var items []metav1.PartialObjectMetadata
	if names == nil {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(namespaceKind.gvk.GroupVersion().WithKind("NamespaceList"))
		if err := reader.List(ctx, list); err != nil {
			return nil, fmt.Errorf("listing Namespaces: %w", err)
		}
		items = list.Items
	}
	for _, name := range names {
		m := newMetadata(namespaceKind)
		err := reader.Get(ctx, client.ObjectKey{Name: name}, m)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading Namespace %s: %w", name, err)
		}
		items = append(items, *m)
	}
	out := make([]manifest.Object, 0, len(items))
	for _, m := range items {
		out = append(out, metadataObject("Namespace", "", m.Name, m.Labels))
	}
	return out, nil
}

// build reads the sources of namespaces (all when nil) and builds their
// inventory and, unless read only, their bundle.
func (c *Controller) build(ctx context.Context, namespaces []string) (*inventory.Inventory, *plan, diag.List, error) {
	objs, err := c.readSources(ctx, namespaces)
	if err != nil {
		return nil, nil, nil, err
	}
	inv := c.builder.Build(objs)
	if c.opts.ReadOnly {
		return inv, nil, inv.Diagnostics, nil
	}
	b, genDiags, err := bundle.Build(inv, c.bundleConfig())
	if err != nil {
		// The config was validated when it was read.
		return nil, nil, nil, fmt.Errorf("building the bundle: %w", err)
	}
	return inv, newPlan(b.Objects(), inv, c.root), diag.Merge(inv.Diagnostics, genDiags), nil
}

// plan is a bundle's objects with the shard each belongs to.
type plan struct {
	objs  []bundle.Object
	keys  []objKey // of objs
	shard []string // of objs
	// byShard holds the sorted keys of each shard.
	byShard map[string][]objKey
	owner   map[objKey]string
}

// newPlan assigns each object to a shard: the namespace of its route sets
// when they are all of one namespace other than Istio's root, else the
// mesh. A namespace's objects depend only on the objects of that namespace
// and of the root namespace (Istio applies no other policy across
// namespaces), which is what lets a namespace be re-rendered alone.
func newPlan(objs []bundle.Object, inv *inventory.Inventory, root string) *plan {
	nsOf := make(map[string]string, len(inv.RouteSets))
	for i := range inv.RouteSets {
		nsOf[inv.RouteSets[i].ID] = inv.RouteSets[i].Namespace
	}
	p := &plan{objs: objs, byShard: map[string][]objKey{}, owner: make(map[objKey]string, len(objs))}
	for _, o := range objs {
		k := keyOf(o.Object, o.Object.GetObjectKind().GroupVersionKind().Kind)
		s := shardOf(o, nsOf, root)
		p.keys = append(p.keys, k)
		p.shard = append(p.shard, s)
		p.byShard[s] = append(p.byShard[s], k)
		p.owner[k] = s
	}
	for _, keys := range p.byShard {
		slices.SortFunc(keys, compareKeys)
	}
	return p
}

func shardOf(o bundle.Object, nsOf map[string]string, root string) string {
	shard := meshShard
	for i, id := range o.RouteSets {
		ns := nsOf[id]
		if ns == root || i > 0 && ns != shard {
			return meshShard
		}
		shard = ns
	}
	return shard
}

func compareKeys(a, b objKey) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// mergeNamespace returns prev with namespace ns replaced by what shard (an
// inventory of ns and the root namespace) says about it.
func mergeNamespace(prev, shard *inventory.Inventory, ns string) *inventory.Inventory {
	if prev == nil {
		return shard
	}
	// A namespace pass that reads route objects or route names gives way
	// to a mesh-wide one (readsRouteNames): the route objects are those
	// of the mesh-wide pass before.
	out := &inventory.Inventory{Routes: prev.Routes}
	keep := func(inNS bool, fromShard bool) bool { return inNS == fromShard }
	for _, from := range []*inventory.Inventory{prev, shard} {
		fromShard := from == shard
		for _, rs := range from.RouteSets {
			if keep(rs.Namespace == ns, fromShard) {
				out.RouteSets = append(out.RouteSets, rs)
			}
		}
		for _, n := range from.Namespaces {
			if keep(n.Name == ns, fromShard) {
				out.Namespaces = append(out.Namespaces, n)
			}
		}
		for _, g := range from.Gateways {
			if keep(g.Namespace == ns, fromShard) {
				out.Gateways = append(out.Gateways, g)
			}
		}
		for _, d := range from.Diagnostics {
			if keep(d.Object.Namespace == ns, fromShard) {
				out.Diagnostics = append(out.Diagnostics, d)
			}
		}
	}
	slices.SortFunc(out.RouteSets, func(a, b inventory.RouteSet) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(out.Namespaces, func(a, b inventory.Namespace) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(out.Gateways, func(a, b inventory.Gateway) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	out.Diagnostics.Sort()
	return out
}
