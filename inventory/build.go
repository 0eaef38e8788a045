package inventory

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/google/cel-go/parser"

	"github.com/routebundle/routebundle/attrgen"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/parallel"
	"github.com/routebundle/routebundle/internal/strictfields"
	"github.com/routebundle/routebundle/manifest"
)

// Builder turns Istio objects into an Inventory. It is safe for concurrent
// use; reuse one to keep its compiled CEL conditions cached (a controller
// rebuilding the inventory on every change should).
type Builder struct {
	env *attrgen.Env
	// tags compiles Telemetry tag values, in the stats filter's dialect.
	tags   *attrgen.Env
	parser *parser.Parser
	root   string
	schema *strictfields.Checker
}

// Option configures a Builder.
type Option func(*Builder)

// WithRootNamespace sets Istio's root namespace (meshConfig.rootNamespace),
// whose policies apply mesh-wide; "" keeps the default, RootNamespace.
func WithRootNamespace(ns string) Option {
	return func(b *Builder) {
		if ns != "" {
			b.root = ns
		}
	}
}

// NewBuilder returns a Builder that compiles attributegen conditions with
// env, which may be shared with other users of attrgen.
func NewBuilder(env *attrgen.Env, opts ...Option) (*Builder, error) {
	p, err := parser.NewParser(parser.Macros(parser.AllMacros...))
	if err != nil {
		return nil, fmt.Errorf("inventory: CEL parser: %w", err)
	}
	tags, err := attrgen.NewTagEnv()
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	b := &Builder{env: env, tags: tags, parser: p, root: RootNamespace, schema: strictfields.New()}
	for _, o := range opts {
		o(b)
	}
	return b, nil
}

// RootNamespace returns the root namespace b applies.
func (b *Builder) RootNamespace() string { return b.root }

// NewDefaultBuilder returns a Builder with its own attrgen environment.
func NewDefaultBuilder(opts ...Option) (*Builder, error) {
	env, err := attrgen.NewEnv()
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return NewBuilder(env, opts...)
}

// Build reads objs with a fresh Builder.
func Build(objs []manifest.Object) (*Inventory, error) {
	b, err := NewDefaultBuilder()
	if err != nil {
		return nil, err
	}
	return b.Build(objs), nil
}

// FromManifests builds the inventory of a manifest read, with the read's
// own diagnostics (malformed documents) included.
func (b *Builder) FromManifests(res *manifest.Result) *Inventory {
	inv := b.Build(res.Objects)
	inv.Diagnostics = append(inv.Diagnostics, res.Diagnostics...)
	inv.Diagnostics.Sort()
	return inv
}

// Build turns objects, from files or from the API server alike, into the
// inventory: route sets, namespaces, gateways and every diagnostic found.
// Objects of other kinds are ignored; a broken object is reported and the
// others are still read. The result is deterministic for a given set of
// objects whatever their order, except that of two objects with the same
// kind, namespace and name the later one wins.
func (b *Builder) Build(objs []manifest.Object) *Inventory {
	st := &state{b: b, c: newCollector(), cond: make(map[string]condInfo), ids: make(map[string]int)}
	st.read(objs)
	// Route objects are read before the join, which builds the route sets
	// of tags reading xds.route_name from them, and reported after it,
	// where those route sets reach them (see routeobjects.go).
	st.routeObjs = st.readRoutes(objs)
	st.precompile()
	st.checkPlugins()
	st.join()
	st.reportRouteObjects()
	st.linkAnnotations()
	inv := &Inventory{
		RouteSets:   st.routeSets(),
		Tags:        st.tagList(),
		Namespaces:  st.namespaceList(),
		Gateways:    st.gatewayList(),
		Routes:      st.routeObjs,
		Diagnostics: st.c.list,
	}
	inv.Diagnostics.Sort()
	return inv
}

// state is one Build's working set.
type state struct {
	b *Builder
	c *collector
	// cond caches the analysis of each distinct CEL condition.
	cond map[string]condInfo
	// compiled holds attrgen's verdict on each distinct match condition.
	compiled map[string]error

	plugins    []*wasmPlugin
	telemetry  []*telemetry
	namespaces map[string]Namespace
	gateways   map[string]Gateway // by namespace/name
	services   map[string]service // by namespace/name

	// routeObjs are the route objects read; routePlaces the proxies that
	// tags reading xds.route_name apply to, found by the join.
	routeObjs     RouteObjects
	routePlaces   []routePlace
	servicesCache []ServiceRef

	sets []RouteSet
	// ids counts the route set IDs given so far, to keep them unique.
	ids  map[string]int
	tags []*Tag
}

// read parses every object of a kind the inventory knows.
func (st *state) read(objs []manifest.Object) {
	st.namespaces = make(map[string]Namespace)
	st.gateways = make(map[string]Gateway)
	st.services = make(map[string]service)
	seen := make(map[diag.ObjectRef]int)
	var plugins, telemetries []*manifest.Object
	for i := range objs {
		o := &objs[i]
		st.checkSchema(o)
		if !isWasmPlugin(o) && !isTelemetry(o) && !isGateway(o) && !isNamespace(o) && !isService(o) {
			continue
		}
		f := &fields{obj: o, c: st.c}
		if o.Name == "" {
			f.invalid(pathMetadata.Key("name"), "metadata.name: required field is missing or not a string")
			continue
		}
		key := diag.ObjectRef{Kind: o.Kind, Namespace: objectNamespace(o), Name: o.Name}
		if prev, dup := seen[key]; dup {
			st.c.add(diag.CodeDuplicateObject, o, "", "%s was already read at %s; this one replaces it", refOf(o), objs[prev].Source)
		}
		seen[key] = i
		switch {
		case isWasmPlugin(o):
			plugins = append(plugins, o)
		case isTelemetry(o):
			telemetries = append(telemetries, o)
		case isGateway(o):
			if g, ok := parseGateway(f, o); ok {
				st.gateways[g.Namespace+"/"+g.Name] = g
			}
		case isNamespace(o):
			st.namespaces[o.Name] = parseNamespace(f, o)
		case isService(o):
			s := parseService(f, o)
			st.services[s.namespace+"/"+s.name] = s
		}
	}
	// Only the last object of each name counts.
	last := func(o *manifest.Object) bool {
		return &objs[seen[diag.ObjectRef{Kind: o.Kind, Namespace: objectNamespace(o), Name: o.Name}]] == o
	}
	for i, w := range parseAll(st.c, plugins, parseWasmPlugin) {
		if w != nil && last(plugins[i]) {
			w.root = w.namespace == st.b.root
			st.plugins = append(st.plugins, w)
		}
	}
	for i, t := range parseAll(st.c, telemetries, parseTelemetry) {
		if t != nil && last(telemetries[i]) {
			t.root = t.namespace == st.b.root
			st.telemetry = append(st.telemetry, t)
		}
	}
	slices.SortFunc(st.plugins, func(a, b *wasmPlugin) int { return compareRefs(a.obj, b.obj) })
	slices.SortFunc(st.telemetry, func(a, b *telemetry) int { return compareRefs(a.obj, b.obj) })
}

// parseAll parses objects on all cores, each reporting to a collector of
// its own; the diagnostics join c's in object order.
func parseAll[T any](c *collector, objs []*manifest.Object, parse func(*fields, *manifest.Object) *T) []*T {
	out := make([]*T, len(objs))
	found := make([]*collector, len(objs))
	parallel.For(len(objs), func(i int) {
		found[i] = c.child()
		out[i] = parse(&fields{obj: objs[i], c: found[i]}, objs[i])
	})
	for _, f := range found {
		c.list = append(c.list, f.list...)
	}
	return out
}

func compareRefs(a, b *manifest.Object) int {
	return cmp.Or(cmp.Compare(objectNamespace(a), objectNamespace(b)), cmp.Compare(a.Name, b.Name))
}

func (st *state) namespaceList() []Namespace {
	out := make([]Namespace, 0, len(st.namespaces))
	for _, n := range st.namespaces {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Namespace) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (st *state) gatewayList() []Gateway {
	out := make([]Gateway, 0, len(st.gateways))
	for _, g := range st.gateways {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Gateway) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}
