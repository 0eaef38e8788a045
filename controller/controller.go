// Package controller is routebundle's in-cluster service: it reads the
// mesh's WasmPlugins, Telemetries, Gateways and Namespaces, and the route
// objects (HTTPRoutes, GRPCRoutes, VirtualServices) and Services that name
// the routes of Telemetries reading xds.route_name, from informers
// through the same inventory builder as bundlegen reads files, builds the
// same bundle, and keeps its objects in the cluster with server-side apply.
//
// Ownership needs no ownerReferences (which cannot cross namespaces): every
// object written carries the app.kubernetes.io/managed-by: routebundle label
// and an annotation naming its sources. Only such objects are pruned; an
// object of the same name without the label is never touched.
//
// Work is done in passes, one at a time. A mesh-wide pass reads everything,
// compares every object and prunes; it runs at start, on a change in Istio's
// root namespace or the bundle config, and every resync period. A change in
// another namespace re-renders that namespace's objects only, which is what
// keeps an edit fast in a mesh of thousands of workloads; a light mesh-wide
// pass follows a little later for what spans namespaces (the routes
// overview, objects appearing or going away). An object is written only when
// its content hash differs from the live one's, or when someone else edited
// the live object.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/inventory"
)

// Options configure a Controller. The zero value of a duration or count
// means its default.
type Options struct {
	// Config is the bundle config; nil means bundle.DefaultConfig.
	Config *ConfigFile
	// WatchNamespaces limits the sources read (Istio's root namespace is
	// always read); empty means all. Set, the controller is
	// namespace-scoped: see OutputNamespaces.
	WatchNamespaces []string
	// OutputNamespaces are, in namespace-scoped mode, the only namespaces
	// the bundle's objects are watched and written in; a bundle config
	// placing objects elsewhere is refused, at start and on reload. Empty:
	// the watched namespaces, Istio's root namespace and the namespaces
	// the config names at start. Only with WatchNamespaces.
	OutputNamespaces []string
	// DryRun logs what would be applied and pruned and writes nothing: no
	// objects, no Events.
	DryRun bool
	// ReadOnly keeps the inventory current (Inventory) without building or
	// writing anything, and without leader election: the exporter-only mode.
	ReadOnly bool
	// ResyncPeriod between mesh-wide passes (default 10m).
	ResyncPeriod time.Duration
	// Coalesce is how long changes of a namespace gather before it is
	// re-rendered (default 100ms).
	Coalesce time.Duration
	// MeshDelay is how long namespaces must be quiet before the light
	// mesh-wide pass follows their changes (default 10s; it waits at most
	// six times as long); changes in the meantime share it.
	MeshDelay time.Duration
	// ApplyConcurrency bounds the requests in flight (default 8).
	ApplyConcurrency int
	// CRDRetry is the first wait before looking again for missing CRDs
	// (default 1s); it doubles up to CRDRetryMax (default 1m).
	CRDRetry, CRDRetryMax time.Duration
	// Recorder receives the controller's measurements (default NopRecorder).
	Recorder Recorder
	// Published, when set, is called with every inventory the controller
	// publishes (see Inventory), in order, from the pass that built it: the
	// exporter reports on the configuration as soon as it changes. It must
	// not modify inv, and should return quickly: it runs under the lock
	// readers of the inventory take (the service hands inv to
	// exporter.Offer, which renders it on a goroutine of its own).
	Published func(inv *inventory.Inventory)
	// Logger receives structured logs (default: discarded).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ResyncPeriod, 10*time.Minute)
	def(&o.Coalesce, 100*time.Millisecond)
	def(&o.MeshDelay, 10*time.Second)
	def(&o.CRDRetry, time.Second)
	def(&o.CRDRetryMax, time.Minute)
	if o.ApplyConcurrency <= 0 {
		o.ApplyConcurrency = 8
	}
	if o.Recorder == nil {
		o.Recorder = NopRecorder{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// passKind is what a pass covers.
type passKind int

const (
	// fullPass compares every object of the mesh.
	fullPass passKind = iota
	// meshPass builds the whole bundle but renders only what spans
	// namespaces and the namespaces whose set of objects changed.
	meshPass
	// namespacePass re-renders one namespace's objects.
	namespacePass
)

// passKey is one item of the work queue.
type passKey struct {
	kind      passKind
	namespace string
}

var (
	fullKey = passKey{kind: fullPass}
	meshKey = passKey{kind: meshPass}
)

// Controller keeps the bundle of the mesh applied.
type Controller struct {
	opts     Options
	log      *slog.Logger
	mgr      manager.Manager
	builder  *inventory.Builder
	sink     sink
	findings *findings
	disco    discovery.DiscoveryInterface
	// root is Istio's root namespace, whose policies reach every namespace.
	root string
	// cache holds the informers' objects, a cache per kind.
	cache caches
	// scope is where objects may go (namespace-scoped mode).
	scope outputScope

	// track records changes as they arrive (informer goroutines).
	track tracker
	// mesh holds the requests for light mesh passes.
	mesh meshWanted

	// mu guards the queue handle and the start-up state.
	mu      sync.Mutex
	queue   workqueue.TypedRateLimitingInterface[passKey]
	sources bool   // informers synced
	waiting string // why not ready, while sources is false
	// synced is set after the first complete mesh-wide pass.
	synced atomic.Bool

	// state is what passes remember; meshMu keeps mesh-wide passes
	// (full and light) from running at once.
	state  *passState
	meshMu sync.Mutex

	// inv is the published inventory; invMu orders its updates.
	inv   atomic.Pointer[inventory.Inventory]
	invMu sync.Mutex
}

// New sets the controller up on mgr. Nothing runs until mgr starts: the
// sources are watched once their CRDs exist (with caches of the
// controller's own), the passes run on the elected leader.
func New(mgr manager.Manager, opts Options) (*Controller, error) {
	opts.defaults()
	if len(opts.OutputNamespaces) > 0 && len(opts.WatchNamespaces) == 0 {
		return nil, errors.New("output namespaces are namespace-scoped mode's: they need watched namespaces (--output-namespaces needs --watch-namespaces)")
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	c := &Controller{
		opts: opts, log: opts.Logger, mgr: mgr, disco: disco,
		waiting: "informers not started",
		state:   newPassState(),
	}
	c.track.init()
	var events recorder.EventRecorder
	switch {
	case opts.DryRun:
		c.sink = &dryRunSink{log: c.log, seen: map[objKey]string{}}
	case opts.ReadOnly:
	default:
		c.sink = applySink{c: mgr.GetClient(), live: mgr.GetAPIReader()}
		events = mgr.GetEventRecorder(FieldManager)
	}
	c.findings = newFindings(c.log, events, &c.cache)
	if opts.Config == nil {
		// c.opts is a copy: the default config goes there.
		if c.opts.Config, err = LoadConfigFile("", 0, c.log); err != nil {
			return nil, err
		}
	} else if err := mgr.Add(opts.Config); err != nil {
		return nil, err
	}
	// Istio's root namespace is the config's at start: the caches and the
	// Roles of namespace-scoped mode are made for it.
	c.root = rootNamespace(c.opts.Config.Current())
	if c.builder, err = inventory.NewDefaultBuilder(inventory.WithRootNamespace(c.root)); err != nil {
		return nil, err
	}
	if err := c.restrict(); err != nil {
		return nil, err
	}
	c.opts.Config.notify(func() { c.enqueue(fullKey, 0) })
	ctrl, err := crcontroller.NewTyped("routebundle", mgr, crcontroller.TypedOptions[passKey]{
		Reconciler: c,
		// Namespace passes run beside a mesh-wide pass (and each other),
		// so that an edit does not wait for a pass over the whole mesh.
		MaxConcurrentReconciles: 4,
		RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[passKey](100*time.Millisecond, 30*time.Second),
		NeedLeaderElection:      ptr.To(!opts.ReadOnly),
		SkipNameValidation:      ptr.To(true), // tests run several managers in one process
		Logger:                  logr.FromSlogHandler(c.log.Handler()),
		LogConstructor: func(k *passKey) logr.Logger {
			return logr.FromSlogHandler(c.log.Handler())
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the controller: %w", err)
	}
	// The queue is handed over when the controller starts (on the leader);
	// the sources feed it from their informers' event handlers.
	if err := ctrl.Watch(source.TypedFunc[passKey](c.startQueue)); err != nil {
		return nil, err
	}
	if err := mgr.Add(manager.RunnableFunc(c.watchSources)); err != nil {
		return nil, err
	}
	return c, nil
}

// restrict sets the output namespaces of namespace-scoped mode up (the
// exporter-only mode writes nothing) and holds the config to them and to
// the root namespace: a config that does not fit is an error now and
// refused on reload.
func (c *Controller) restrict() error {
	if sources := sourceNamespaces(c.opts.WatchNamespaces, c.root); sources != nil && !c.opts.ReadOnly {
		outputs := sortedSet(slices.Clone(c.opts.OutputNamespaces))
		if len(outputs) == 0 {
			outputs = defaultOutputNamespaces(sources, c.opts.Config.Current())
		}
		c.opts.OutputNamespaces = outputs
		c.scope = outputScope{sources: sources, outputs: outputs}
	}
	return c.opts.Config.restrict(c.checkConfig)
}

// checkConfig refuses a config that moves Istio's root namespace (the
// caches read the one of the start) or puts objects outside the output
// namespaces.
func (c *Controller) checkConfig(file string, cfg bundle.Config) error {
	var moved error
	if root := rootNamespace(cfg); root != c.root {
		moved = &bundle.ConfigError{File: file, Path: "rootNamespace",
			Msg: fmt.Sprintf("%q: Istio's root namespace was %s when routebundle started, and changes only with a restart", root, c.root)}
	}
	return errors.Join(moved, c.scope.check(file, cfg))
}

// Inventory returns the inventory of the last pass, nil before the first.
// It is never changed afterwards: readers (the exporter) need no lock.
func (c *Controller) Inventory() *inventory.Inventory { return c.inv.Load() }

// ReadyCheck is the readiness probe: ready once the sources are watched
// and, on the elected leader, the first mesh-wide pass has completed.
func (c *Controller) ReadyCheck(_ *http.Request) error {
	c.mu.Lock()
	sources, waiting := c.sources, c.waiting
	c.mu.Unlock()
	if !sources {
		return errors.New(waiting)
	}
	select {
	case <-c.mgr.Elected():
		if !c.synced.Load() {
			return errors.New("the first pass over the mesh has not completed")
		}
	default: // a standby replica: ready to take over
	}
	return nil
}

// startQueue receives the work queue when the controller starts.
func (c *Controller) startQueue(ctx context.Context, q workqueue.TypedRateLimitingInterface[passKey]) error {
	c.mu.Lock()
	c.queue = q
	ready := c.sources
	c.mu.Unlock()
	if ready {
		q.Add(fullKey)
	}
	go func() {
		t := time.NewTicker(c.opts.ResyncPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				q.Add(fullKey)
			}
		}
	}()
	return nil
}

// enqueue adds a pass, after a delay that lets a burst of changes share it;
// before the controller starts there is no queue, and the first pass covers
// everything anyway.
func (c *Controller) enqueue(k passKey, after time.Duration) {
	c.mu.Lock()
	q := c.queue
	c.mu.Unlock()
	switch {
	case q == nil:
	case after > 0:
		q.AddAfter(k, after)
	default:
		q.Add(k)
	}
}

// Reconcile runs one pass.
func (c *Controller) Reconcile(ctx context.Context, k passKey) (reconcile.Result, error) {
	if !c.sourcesReady() {
		return reconcile.Result{}, nil // watchSources queues the first pass when they are
	}
	begin := time.Now()
	var err error
	scope := ScopeMesh
	switch k.kind {
	case fullPass:
		c.meshMu.Lock()
		err = c.runFullPass(ctx)
		c.meshMu.Unlock()
	case meshPass:
		if wait := c.meshWait(); wait > 0 {
			c.enqueue(meshKey, wait)
			return reconcile.Result{}, nil
		}
		c.meshMu.Lock()
		err = c.runMeshPass(ctx)
		c.meshMu.Unlock()
	case namespacePass:
		scope = ScopeNamespace
		var ran bool
		ran, err = c.runNamespacePass(ctx, k.namespace)
		if !ran {
			return reconcile.Result{}, err
		}
	}
	took := time.Since(begin)
	c.opts.Recorder.Pass(scope, took, err)
	c.findings.tell(ctx)
	return reconcile.Result{}, err
}

func (c *Controller) sourcesReady() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sources
}

// bundleConfig is the config in force, with the controller's one default:
// dashboard ConfigMaps go to the scrape namespace (where
// kube-prometheus-stack's Grafana usually looks) unless the config names
// one, since `kubectl apply -n` does not apply here.
func (c *Controller) bundleConfig() bundle.Config {
	cfg := c.opts.Config.Current()
	if cfg.Dashboards.ConfigMap.Namespace == "" {
		cfg.Dashboards.ConfigMap.Namespace = cfg.Scrape.Namespace
	}
	return cfg
}
