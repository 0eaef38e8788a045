package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
)

// passState is what passes remember between them. Passes run concurrently
// (mesh-wide ones one at a time, see Reconcile): every field is guarded by mu.
type passState struct {
	mu sync.Mutex
	// lastFull is the change number a complete mesh-wide pass last covered.
	lastFull uint64
	// nsDone is the change number each namespace pass last covered.
	nsDone map[string]uint64
	// keys are the objects of each shard, as the last mesh-wide pass planned.
	keys map[string][]objKey
	// failed are the objects the API server refused: a mesh pass tries them
	// again.
	failed map[objKey]bool
}

func newPassState() *passState {
	return &passState{nsDone: map[string]uint64{}, keys: map[string][]objKey{}, failed: map[objKey]bool{}}
}

// covered returns the change number up to which namespace ns is covered.
func (s *passState) covered(ns string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.lastFull, s.nsDone[ns])
}

func (s *passState) setDone(ns string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nsDone[ns] = seq
}

func (s *passState) setFull(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastFull = seq
}

// forget makes namespace ns uncovered: a mesh-wide pass that started before
// its latest change may have applied older objects of it.
func (s *passState) forget(ns string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nsDone, ns)
}

func (s *passState) sameKeys(shard string, keys []objKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Equal(keys, s.keys[shard])
}

func (s *passState) setKeys(keys map[string][]objKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *passState) hasFailed(k objKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed[k]
}

func (s *passState) setFailed(k objKey, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if failed {
		s.failed[k] = true
	} else {
		delete(s.failed, k)
	}
}

// runFullPass reads the whole mesh and compares every object.
func (c *Controller) runFullPass(ctx context.Context) error {
	start := c.track.now()
	defer c.revisit(start)
	inv, p, diags, err := c.build(ctx, nil)
	if err != nil {
		return err
	}
	c.publish(func(*inventory.Inventory) *inventory.Inventory { return inv })
	if p == nil {
		c.findings.replaceAll(diagFindings(diags))
		c.state.setFull(start)
		c.synced.Store(true)
		return nil
	}
	found, err := c.sync(ctx, p, func(int) bool { return true })
	c.findings.replaceAll(append(diagFindings(diags), found...))
	if err == nil {
		c.state.setFull(start)
		if !c.synced.Swap(true) {
			c.log.Info("the mesh is in sync", "objects", len(p.keys), "routeSets", len(inv.RouteSets))
		}
	}
	return err
}

// runMeshPass builds the whole bundle but renders only the objects of the
// mesh shard, of shards whose set of objects changed, and those missing or
// refused before. It follows namespace passes, for what spans namespaces.
func (c *Controller) runMeshPass(ctx context.Context) error {
	if !c.synced.Load() || c.opts.ReadOnly {
		return c.runFullPass(ctx)
	}
	start := c.track.now()
	defer c.revisit(start)
	_, p, diags, err := c.build(ctx, nil)
	if err != nil {
		return err
	}
	changed := map[string]bool{meshShard: true, c.root: true}
	for s, keys := range p.byShard {
		if !c.state.sameKeys(s, keys) {
			changed[s] = true
		}
	}
	found, err := c.sync(ctx, p, func(i int) bool {
		k := p.keys[i]
		return changed[p.shard[i]] || c.state.hasFailed(k) || !c.cached(ctx, k)
	})
	// Namespace passes keep the other namespaces' findings (and the
	// inventory) current.
	all := append(diagFindings(diags), found...)
	for ns := range changed {
		c.findings.replace(ns, all)
	}
	return err
}

// revisit queues a namespace pass for every namespace that changed after
// change number start: a mesh-wide pass that began before the change may
// have applied older objects of it after a namespace pass applied newer.
func (c *Controller) revisit(start uint64) {
	for _, ns := range c.track.changedAfter(start) {
		if ns == meshShard {
			continue
		}
		c.state.forget(ns)
		c.enqueue(passKey{kind: namespacePass, namespace: ns}, 0)
	}
}

// sync applies the objects of p that render selects, prunes what p no
// longer holds, and makes p the plan of record.
func (c *Controller) sync(ctx context.Context, p *plan, render func(int) bool) ([]finding, error) {
	var objs []bundle.Object
	for i, o := range p.objs {
		if render(i) {
			objs = append(objs, o)
		}
	}
	p.objs = nil // applyAll lets each object go once it is applied
	res := c.applyAll(ctx, objs)
	found, applyErr := c.settle(res)
	pruned, pruneErr := c.prune(ctx, p)
	c.state.setKeys(p.byShard)
	c.track.setOwners(p.owner)
	c.logPass(ScopeMesh, "", len(objs), res, pruned)
	return found, errors.Join(applyErr, pruneErr)
}

// publish replaces the inventory readers see.
func (c *Controller) publish(next func(prev *inventory.Inventory) *inventory.Inventory) {
	c.invMu.Lock()
	defer c.invMu.Unlock()
	inv := next(c.inv.Load())
	c.inv.Store(inv)
	if c.opts.Published != nil {
		c.opts.Published(inv)
	}
}

// runNamespacePass re-renders the objects of namespace ns from the sources
// of ns and the root namespace. It reports false when there was nothing to
// do: the namespace has not changed since a pass covered it.
func (c *Controller) runNamespacePass(ctx context.Context, ns string) (bool, error) {
	if !c.synced.Load() || !c.track.changedSince(ns, c.state.covered(ns)) {
		return false, nil
	}
	start := c.track.now()
	inv, p, diags, err := c.build(ctx, []string{ns, c.root})
	if err != nil {
		return true, err
	}
	if readsRouteNames(inv) {
		// Route names span namespaces (see routesChanged): which routes a
		// Telemetry reads, and which route objects no Telemetry reaches,
		// is a mesh-wide pass's to say.
		c.enqueue(fullKey, 0)
		return true, nil
	}
	c.publish(func(prev *inventory.Inventory) *inventory.Inventory { return mergeNamespace(prev, inv, ns) })
	if p == nil {
		c.findings.replace(ns, diagFindings(diags))
		c.state.setDone(ns, start)
		return true, nil
	}
	if !c.state.sameKeys(ns, p.byShard[ns]) {
		// Objects appear or go away: names may then depend on other
		// namespaces, and there is pruning to do. That is a mesh pass's job.
		c.meshSoon(0)
		return true, nil
	}
	var objs []bundle.Object
	for i, o := range p.objs {
		if p.shard[i] == ns {
			objs = append(objs, o)
		}
	}
	res := c.applyAll(ctx, objs)
	found, err := c.settle(res)
	c.findings.replace(ns, append(diagFindings(diags), found...))
	c.logPass(ScopeNamespace, ns, len(objs), res, 0)
	// The routes overview shows every namespace.
	c.meshLater()
	if err == nil {
		c.state.setDone(ns, start)
	}
	return true, err
}

// readsRouteNames reports whether a namespace's inventory has a tag
// reading xds.route_name or route objects.
func readsRouteNames(inv *inventory.Inventory) bool {
	return inv.Routes.NamesRead || inv.Routes.Index != nil && len(inv.Routes.Index.Objects()) > 0
}

// cached reports whether the cache holds routebundle's object k.
func (c *Controller) cached(ctx context.Context, k objKey) bool {
	ok, _ := outputKind(k.Kind)
	m := newMetadata(ok)
	return c.cache.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: k.Name}, m) == nil
}

// result is what reconciling one object came to.
type result struct {
	key     objKey
	outcome outcome
	err     error
	sources []diag.ObjectRef
}

// applyAll reconciles objs, ApplyConcurrency at a time, and clears each
// entry of objs once done. Each worker renders its object just before
// applying it, so that only that many rendered dashboards exist at once.
func (c *Controller) applyAll(ctx context.Context, objs []bundle.Object) []result {
	out := make([]result, len(objs))
	var absent []objKey
	var inScope []int
	for i, o := range objs {
		k := objectKey(o)
		if !c.scope.allows(k.Namespace) {
			// Neither watched nor writable: reported on its sources.
			out[i] = result{key: k, outcome: failed, err: c.scope.outsideError(k), sources: o.Sources}
			continue
		}
		inScope = append(inScope, i)
		if !c.cached(ctx, k) {
			absent = append(absent, k)
		}
	}
	missing, err := c.lookup(ctx, absent)
	if err != nil {
		for _, i := range inScope {
			out[i] = result{key: objectKey(objs[i]), outcome: transient, err: err, sources: objs[i].Sources}
		}
		return out
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(c.opts.ApplyConcurrency, len(inScope)) {
		wg.Go(func() {
			enc := bundle.NewObjectEncoder()
			for i := range next {
				out[i] = c.applyOne(ctx, enc, objs[i], missing)
				// A thousand dashboards are most of a mesh-wide pass's
				// memory: each can go as soon as it is applied.
				objs[i] = bundle.Object{}
			}
		})
	}
	for _, i := range inScope {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func objectKey(o bundle.Object) objKey {
	return keyOf(o.Object, o.Object.GetObjectKind().GroupVersionKind().Kind)
}

// applyOne brings one object in line.
func (c *Controller) applyOne(ctx context.Context, enc *bundle.ObjectEncoder, o bundle.Object, missing map[objKey]*metav1.PartialObjectMetadata) result {
	res := result{key: objectKey(o), sources: o.Sources}
	r, err := render(enc, o)
	if err != nil {
		res.outcome, res.err = failed, err
		return res
	}
	why, err := c.compare(ctx, r, missing)
	switch {
	case err != nil:
		res.outcome, res.err = transient, err
		return res
	case why == unchanged || why == notOwned:
		res.outcome = why
		return res
	}
	err = c.sink.apply(ctx, r, why)
	switch {
	case err == nil:
		res.outcome = why
	case isTransient(err):
		res.outcome, res.err = transient, err
	default:
		res.outcome, res.err = failed, err
	}
	return res
}

// compare decides what r needs, from the cached metadata of the live
// object: nothing when it carries r's content hash and no one but
// routebundle manages fields of it. missing holds what lookup found of the
// objects the cache does not hold.
func (c *Controller) compare(ctx context.Context, r *rendered, missing map[objKey]*metav1.PartialObjectMetadata) (outcome, error) {
	live := newMetadata(r.kind)
	err := c.cache.Get(ctx, client.ObjectKey{Namespace: r.key.Namespace, Name: r.key.Name}, live)
	if apierrors.IsNotFound(err) {
		// Not among routebundle's objects: is there one of the same name
		// that is not routebundle's?
		cur, known := missing[r.key]
		switch {
		case !known:
			return 0, fmt.Errorf("%s: not looked up", r.key)
		case cur == nil:
			return created, nil
		case !owned(cur):
			return notOwned, nil
		case foreignManagers(cur):
			return reverted, nil
		}
		return updated, nil // just labelled, or the cache lags
	}
	if err != nil {
		return 0, err
	}
	switch {
	case foreignManagers(live):
		return reverted, nil
	case live.Annotations[AnnotationContentHash] != r.hash:
		return updated, nil
	}
	return unchanged, nil
}

// lookup reads, past the cache, the objects of keys (those routebundle's
// cache does not hold): nil for those that do not exist. Where many go to
// one namespace (the dashboards, at start), one list answers for all.
func (c *Controller) lookup(ctx context.Context, keys []objKey) (map[objKey]*metav1.PartialObjectMetadata, error) {
	out := make(map[objKey]*metav1.PartialObjectMetadata, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	type group struct{ kind, namespace string }
	groups := map[group][]objKey{}
	for _, k := range keys {
		g := group{k.Kind, k.Namespace}
		groups[g] = append(groups[g], k)
	}
	reader := c.mgr.GetAPIReader()
	for g, ks := range groups {
		kd, _ := outputKind(g.kind)
		if len(ks) <= 3 {
			for _, k := range ks {
				m := newMetadata(kd)
				err := reader.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: k.Name}, m)
				switch {
				case apierrors.IsNotFound(err):
					out[k] = nil
				case err != nil:
					return nil, err
				default:
					out[k] = m
				}
			}
			continue
		}
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(kd.gvk.GroupVersion().WithKind(kd.gvk.Kind + "List"))
		if err := reader.List(ctx, list, client.InNamespace(g.namespace)); err != nil {
			return nil, err
		}
		found := map[string]*metav1.PartialObjectMetadata{}
		for i := range list.Items {
			found[list.Items[i].Name] = &list.Items[i]
		}
		for _, k := range ks {
			out[k] = found[k.Name]
		}
	}
	return out, nil
}

// settle records the results, counts them and turns failures into
// findings on the objects' sources. It returns the transient errors.
func (c *Controller) settle(res []result) ([]finding, error) {
	var found []finding
	var errs []error
	for _, r := range res {
		c.state.setFailed(r.key, r.outcome == failed)
		switch {
		case r.outcome.wrote():
			c.opts.Recorder.Applied(r.key.Kind)
			level := slog.LevelDebug
			if r.outcome == reverted {
				level = slog.LevelInfo
			}
			c.log.Log(context.Background(), level, "applied", "object", r.key.String(), "why", r.outcome.String())
		case r.outcome == notOwned:
			msg := fmt.Sprintf("%s exists without the label %s=%s: routebundle leaves it alone and does not apply its own",
				r.key, bundle.LabelManagedBy, bundle.ManagedBy)
			found = append(found, sourceFindings(r.sources, ReasonNotOwned, msg)...)
		case r.outcome == failed:
			c.opts.Recorder.ApplyFailed(r.key.Kind)
			found = append(found, sourceFindings(r.sources, ReasonApplyFailed, fmt.Sprintf("applying %s: %v", r.key, r.err))...)
			c.log.Error("cannot apply", "object", r.key.String(), "error", r.err)
		case r.outcome == transient:
			c.opts.Recorder.ApplyFailed(r.key.Kind)
			errs = append(errs, fmt.Errorf("%s: %w", r.key, r.err))
		}
	}
	if len(errs) > 0 {
		return found, fmt.Errorf("%d object(s) not applied, retrying: %w", len(errs), errs[0])
	}
	return found, nil
}

// sourceFindings is one finding per source object, or a log-only finding
// for objects of the whole mesh.
func sourceFindings(sources []diag.ObjectRef, reason, msg string) []finding {
	if len(sources) == 0 {
		return []finding{{warning: true, reason: reason, message: msg}}
	}
	out := make([]finding, len(sources))
	for i, s := range sources {
		out[i] = finding{object: s, warning: true, reason: reason, message: msg}
	}
	return out
}

// prune deletes routebundle's objects that p no longer holds. Only objects
// with the label and the sources annotation (which routebundle writes on
// all of its own) qualify.
func (c *Controller) prune(ctx context.Context, p *plan) (int, error) {
	var errs []error
	n := 0
	for _, k := range outputKinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
		if err := c.cache.List(ctx, list); err != nil {
			errs = append(errs, fmt.Errorf("listing %ss: %w", k.gvk.Kind, err))
			continue
		}
		for i := range list.Items {
			live := &list.Items[i]
			key := keyOf(live, k.gvk.Kind)
			if _, want := p.owner[key]; want || !c.prunable(live) {
				continue
			}
			if err := c.sink.remove(ctx, k, live); err != nil {
				c.opts.Recorder.ApplyFailed(k.gvk.Kind)
				errs = append(errs, fmt.Errorf("pruning %s: %w", key, err))
				continue
			}
			n++
			c.opts.Recorder.Pruned(k.gvk.Kind)
			c.log.Debug("pruned", "object", key.String())
		}
	}
	return n, errors.Join(errs...)
}

// prunable reports whether live is routebundle's to delete: labelled and
// annotated by it and, with --watch-namespaces, made from watched
// namespaces only (another instance may watch the others).
func (c *Controller) prunable(live *metav1.PartialObjectMetadata) bool {
	sources, ok := live.Annotations[bundle.AnnotationSources]
	if !owned(live) || !ok {
		return false
	}
	if len(c.opts.WatchNamespaces) == 0 || sources == bundle.MeshSources {
		return true
	}
	for _, s := range strings.Split(sources, ",") {
		parts := strings.Split(s, "/")
		if len(parts) == 3 && parts[1] != c.root && !slices.Contains(c.opts.WatchNamespaces, parts[1]) {
			return false
		}
	}
	return true
}

// logPass logs a pass that changed something at Info, others at Debug.
func (c *Controller) logPass(scope, ns string, rendered int, res []result, pruned int) {
	counts := map[outcome]int{}
	for _, r := range res {
		counts[r.outcome]++
	}
	level := slog.LevelDebug
	if pruned > 0 || counts[created]+counts[updated]+counts[reverted]+counts[failed]+counts[transient] > 0 {
		level = slog.LevelInfo
	}
	attrs := []any{"scope", scope, "rendered", rendered, "created", counts[created], "updated", counts[updated],
		"reverted", counts[reverted], "unchanged", counts[unchanged], "pruned", pruned,
		"notOwned", counts[notOwned], "failed", counts[failed], "retrying", counts[transient]}
	if ns != "" {
		attrs = append(attrs, "namespace", ns)
	}
	c.log.Log(context.Background(), level, "pass", attrs...)
}

// dryRunSink logs what it would write, once per content.
type dryRunSink struct {
	log *slog.Logger

	mu   sync.Mutex
	seen map[objKey]string // hash logged, or "-" + resourceVersion for prunes
}

func (s *dryRunSink) apply(_ context.Context, r *rendered, why outcome) error {
	if s.once(r.key, r.hash) {
		s.log.Info("dry run: would apply", "object", r.key.String(), "why", why.String(), "bytes", len(r.body))
	}
	return nil
}

func (s *dryRunSink) remove(_ context.Context, k kind, live *metav1.PartialObjectMetadata) error {
	key := keyOf(live, k.gvk.Kind)
	if s.once(key, "-"+live.ResourceVersion) {
		s.log.Info("dry run: would prune", "object", key.String())
	}
	return nil
}

func (s *dryRunSink) once(k objKey, mark string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[k] == mark {
		return false
	}
	s.seen[k] = mark
	return true
}
