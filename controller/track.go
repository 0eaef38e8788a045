package controller

import (
	"maps"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

// meshShard is the shard of objects that no single namespace owns: those of
// the whole mesh and those made from Istio's root namespace.
const meshShard = ""

// tracker numbers the changes the informers report, so that a pass can tell
// whether a change came after the last pass that covered its namespace.
// Event handlers run after the cache holds the change: a pass that reads the
// cache after taking the number sees every change numbered up to it.
type tracker struct {
	mu  sync.Mutex
	seq uint64
	// dirty is the number of each namespace's latest change.
	dirty map[string]uint64
	// owner is the shard of each output object, as the last mesh-wide pass
	// planned it.
	owner map[objKey]string
}

func (t *tracker) init() {
	t.dirty = map[string]uint64{}
	t.owner = map[objKey]string{}
}

// now returns the number of the latest change.
func (t *tracker) now() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

// touch records a change in shard ns.
func (t *tracker) touch(ns string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	t.dirty[ns] = t.seq
}

// changedSince reports whether shard ns changed after change number seq.
func (t *tracker) changedSince(ns string, seq uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dirty[ns] > seq
}

// changedAfter returns the shards changed after change number seq.
func (t *tracker) changedAfter(seq uint64) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for ns, n := range t.dirty {
		if n > seq {
			out = append(out, ns)
		}
	}
	return out
}

func (t *tracker) setOwners(owner map[objKey]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.owner = maps.Clone(owner)
}

func (t *tracker) ownerOf(k objKey) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.owner[k]
	return s, ok
}

// sourceChanged queues the pass a change to a WasmPlugin, Telemetry,
// Gateway or Namespace in namespace ns needs.
func (c *Controller) sourceChanged(ns string) {
	if ns == c.root {
		// Root-namespace policies reach every namespace.
		c.track.touch(meshShard)
		c.enqueue(fullKey, c.opts.Coalesce)
		return
	}
	c.track.touch(ns)
	c.enqueue(passKey{kind: namespacePass, namespace: ns}, c.opts.Coalesce)
}

// sourceHandler watches a namespaced source kind. Updates that change
// neither the spec (generation), labels nor annotations (alerting
// overrides) are status updates and resyncs: they change no route.
func (c *Controller) sourceHandler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, ok := metaOf(obj); ok {
				c.sourceChanged(m.GetNamespace())
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := metaOf(oldObj)
			n, ok2 := metaOf(newObj)
			if ok1 && ok2 && (o.GetGeneration() != n.GetGeneration() || !sameMarks(o, n)) {
				c.sourceChanged(n.GetNamespace())
			}
		},
		DeleteFunc: func(obj any) {
			if m, ok := metaOf(obj); ok {
				c.sourceChanged(m.GetNamespace())
			}
		},
	}
}

// routesChanged queues the pass a change to a route object or a Service
// needs: a mesh-wide one, since the route names a namespace's Telemetry
// reads come from route objects of any namespace (client sidecars and
// gateways read the routes of every Service they reach, a waypoint may
// serve another namespace's Services).
func (c *Controller) routesChanged() {
	c.track.touch(meshShard)
	c.enqueue(fullKey, c.opts.Coalesce)
}

// routeHandler watches route objects, or (labelsOnly) Services, of which
// the inventory reads only the labels that send them through a waypoint.
// Like sourceHandler, it skips status updates and resyncs.
func (c *Controller) routeHandler(labelsOnly bool) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.routesChanged() },
		DeleteFunc: func(any) { c.routesChanged() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := metaOf(oldObj)
			n, ok2 := metaOf(newObj)
			switch {
			case !ok1 || !ok2:
			case labelsOnly && !maps.Equal(o.GetLabels(), n.GetLabels()),
				!labelsOnly && (o.GetGeneration() != n.GetGeneration() || !sameMarks(o, n)):
				c.routesChanged()
			}
		},
	}
}

// namespaceHandler watches Namespaces, whose labels say whether a
// namespace is ambient or served by a waypoint.
func (c *Controller) namespaceHandler() toolscache.ResourceEventHandler {
	changed := func(obj any) {
		if m, ok := metaOf(obj); ok {
			c.sourceChanged(m.GetName())
			// The scrape monitors depend on every namespace's mode, and a
			// new namespace can be the one an object failed to go to.
			c.meshLater()
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: changed,
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := metaOf(oldObj)
			n, ok2 := metaOf(newObj)
			if ok1 && ok2 && !maps.Equal(o.GetLabels(), n.GetLabels()) {
				changed(newObj)
			}
		},
		DeleteFunc: changed,
	}
}

// outputHandler watches routebundle's own objects for deletions and
// edits by others; routebundle's own applies (no other field manager) and
// the initial listing need nothing.
func (c *Controller) outputHandler(k kind) toolscache.ResourceEventHandler {
	changed := func(obj any) {
		m, ok := metaOf(obj)
		if !ok {
			return
		}
		shard, known := c.track.ownerOf(keyOf(m, k.gvk.Kind))
		if !known || shard == meshShard {
			c.meshSoon(c.opts.Coalesce)
			return
		}
		c.track.touch(shard)
		c.enqueue(passKey{kind: namespacePass, namespace: shard}, c.opts.Coalesce)
	}
	return toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := metaOf(oldObj)
			n, ok2 := metaOf(newObj)
			if ok1 && ok2 && o.GetResourceVersion() != n.GetResourceVersion() &&
				(foreignManagers(n) || n.GetAnnotations()[AnnotationContentHash] == "") {
				changed(newObj)
			}
		},
		DeleteFunc: changed,
	}
}

// sameMarks reports whether two versions of an object have the same labels
// and annotations.
func sameMarks(a, b metav1.Object) bool {
	return maps.Equal(a.GetLabels(), b.GetLabels()) && maps.Equal(a.GetAnnotations(), b.GetAnnotations())
}

// metaOf returns the metadata of an informer's object, unwrapping the
// tombstone of a deletion the informer missed.
func metaOf(obj any) (metav1.Object, bool) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	return m, ok
}

// meshWanted holds the requests for a light mesh pass. Requests that only
// refresh what spans namespaces (the routes overview) wait until no
// namespace pass has run for MeshDelay, or at most maxMeshWait: in a
// stream of edits a pass over the whole mesh would compete with them for
// the CPU. Requests for objects that appear or go away do not wait.
type meshWanted struct {
	mu     sync.Mutex
	urgent bool
	since  time.Time // of the oldest waiting request; zero when none
	// lastNamespace is when the last namespace pass ended.
	lastNamespace time.Time
}

// maxMeshWait bounds how long a light mesh pass waits for a quiet moment,
// in MeshDelays.
const maxMeshWait = 6

// meshSoon asks for a light mesh pass after delay.
func (c *Controller) meshSoon(delay time.Duration) {
	c.mesh.mu.Lock()
	c.mesh.urgent = true
	c.mesh.mu.Unlock()
	c.enqueue(meshKey, delay)
}

// meshLater asks for a light mesh pass once namespaces are quiet.
func (c *Controller) meshLater() {
	c.mesh.mu.Lock()
	now := time.Now()
	c.mesh.lastNamespace = now
	if c.mesh.since.IsZero() {
		c.mesh.since = now
	}
	c.mesh.mu.Unlock()
	c.enqueue(meshKey, c.opts.MeshDelay)
}

// meshWait returns how much longer a light mesh pass should wait, and
// otherwise takes the requests it serves.
func (c *Controller) meshWait() time.Duration {
	c.mesh.mu.Lock()
	defer c.mesh.mu.Unlock()
	quiet := time.Since(c.mesh.lastNamespace)
	if !c.mesh.urgent && !c.mesh.since.IsZero() && quiet < c.opts.MeshDelay &&
		time.Since(c.mesh.since) < maxMeshWait*c.opts.MeshDelay {
		return c.opts.MeshDelay - quiet
	}
	c.mesh.urgent, c.mesh.since = false, time.Time{}
	return 0
}
