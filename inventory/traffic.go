package inventory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/series"
)

// Traffic is the requests a group of route sets classifies, as Istio's
// metrics tell them apart: the requests of one route tag, on one side
// (reporter), to one destination namespace or to every namespace of the
// mesh. The recording rules record one traffic per rule file, the exporter
// attributes what Prometheus holds to route sets by it; both take it from
// here, so that they cannot disagree on whose a series is.
//
// Route sets that select the same traffic share it: two readers of the same
// series cannot tell their requests apart. A route set of the root
// namespace applies in every namespace (ScopeMesh): all of them with one
// tag share one mesh-wide traffic, which leaves out the namespaces with a
// traffic of their own for the tag. When each of its route sets runs only
// on workloads with an app label (a root WasmPlugin's selector, as Istio's
// classify-metrics task and Kiali's demo write them), it is restricted to
// those workloads by destination_app, the label Istio's stats filter fills
// from the workload's app label (istio/proxy
// extensions/common/metadata_object.h, AppNameLabel): a mesh-wide Telemetry
// also tags every other workload, as "unknown", and those are not the
// classified routes' traffic.
//
// Route sets read on the client side (ReporterSource: the route names a
// gateway or the client sidecars write, reporter="source") share one
// traffic per tag, which selects every destination namespace: the proxies
// that write the tag are the ones its Telemetries reach, and no request is
// reported twice on one side. A gateway in istio-ingress routing to
// Services in bookinfo classifies requests to bookinfo. It too leaves out
// the namespaces with a server-side traffic of their own for the tag,
// whose readers keep only the destination's labels.
type Traffic struct {
	Tag string
	// Namespace is the destination_workload_namespace selected; "" for
	// mesh-wide traffic, which selects every namespace except Exclude
	// (sorted).
	Namespace string
	Exclude   []string
	// Apps, when set, are the destination_app values mesh-wide server-side
	// traffic is restricted to; sorted.
	Apps []string
	// ClientSide: the requests as the client reports them
	// (reporter="source"); else as the server side does
	// (reporter=~"waypoint|destination").
	ClientSide bool
	// Sets are sorted by ID; never empty.
	Sets []*RouteSet
}

// MeshWide reports traffic to every namespace but Exclude.
func (t *Traffic) MeshWide() bool { return t.Namespace == "" }

// Covers reports whether requests to destination namespace ns and app
// label app, reported on the client side or the server side, are the
// traffic's.
func (t *Traffic) Covers(ns, app string, clientSide bool) bool {
	switch {
	case clientSide != t.ClientSide || !t.CoversNamespace(ns):
		return false
	case t.Namespace != "":
		return true
	}
	return len(t.Apps) == 0 || slices.Contains(t.Apps, app)
}

// CoversNamespace reports whether some of the traffic's requests go to
// destination namespace ns: all of them for traffic to one namespace or
// mesh-wide without an app restriction, those of its apps otherwise.
func (t *Traffic) CoversNamespace(ns string) bool {
	if t.MeshWide() {
		return !slices.Contains(t.Exclude, ns)
	}
	return ns == t.Namespace
}

// Reporter is the reporter label value, or regex, of the traffic's side.
func (t *Traffic) Reporter() string {
	if t.ClientSide {
		return series.ClientReporter
	}
	return series.ServerReporters
}

// TagLabelError reports a route tag that cannot tell series apart: not a
// Prometheus label name, or one Istio or routebundle already uses, which
// the readers of a traffic group and match by.
func TagLabelError(tag string) error {
	if !legacyLabelName(tag) || strings.HasPrefix(tag, "__") {
		return fmt.Errorf("route tag %q is not a usable Prometheus label name", tag)
	}
	switch tag {
	case series.LabelReporter, series.LabelResponseCode, series.LabelWorkloadNamespace,
		series.LabelWorkload, series.LabelLE, series.LabelQuantile, series.LabelRouteTag:
		return fmt.Errorf("route tag %q collides with a label Istio or routebundle already uses", tag)
	}
	return nil
}

// legacyLabelName is Prometheus' classic label name syntax,
// [a-zA-Z_][a-zA-Z0-9_]*, the one Envoy's tag extraction produces.
func legacyLabelName(s string) bool {
	for i, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// HasTraffic reports whether the route set classifies traffic its readers
// can select: its tag is a usable label (TagLabelError) on REQUEST_COUNT,
// the metric every reader counts requests with.
func (rs *RouteSet) HasTraffic() bool {
	return TagLabelError(rs.Tag) == nil && rs.HasMetric(RequestCount)
}

// trafficKey identifies the traffic of a route set.
type trafficKey struct {
	mesh, client bool
	namespace    string
	tag          string
}

// keyOf is the traffic a route set selects: its namespace, or for a set of
// the root namespace (with or without a selector) every namespace, or for
// a set read on the client side every namespace's client-side requests.
func keyOf(rs *RouteSet) trafficKey {
	switch {
	case rs.Reporter == ReporterSource:
		return trafficKey{mesh: true, client: true, tag: rs.Tag}
	case rs.Scope.Kind == ScopeMesh:
		return trafficKey{mesh: true, tag: rs.Tag}
	}
	return trafficKey{namespace: cmp.Or(rs.Scope.Namespace, rs.Namespace), tag: rs.Tag}
}

// Traffic groups the route sets with traffic (HasTraffic) into the
// traffic they classify, in the order of their first set's ID. Each
// traffic's Sets point into inv.RouteSets.
func (inv *Inventory) Traffic() []*Traffic {
	if inv == nil {
		return nil
	}
	sets := make([]*RouteSet, 0, len(inv.RouteSets))
	for i := range inv.RouteSets {
		if rs := &inv.RouteSets[i]; rs.HasTraffic() {
			sets = append(sets, rs)
		}
	}
	slices.SortStableFunc(sets, func(a, b *RouteSet) int { return cmp.Compare(a.ID, b.ID) })
	byKey := map[trafficKey]*Traffic{}
	var out []*Traffic
	for _, rs := range sets {
		k := keyOf(rs)
		t, ok := byKey[k]
		if !ok {
			t = &Traffic{Tag: k.tag, Namespace: k.namespace, ClientSide: k.client}
			byKey[k] = t
			out = append(out, t)
		}
		t.Sets = append(t.Sets, rs)
	}
	for _, t := range out {
		t.Apps = meshApps(t)
	}
	excludeOwn(out)
	return out
}

// meshApps returns the app labels that select the workloads of mesh-wide
// server-side traffic, or nil when some route set of it runs without an
// app selector (then it takes every workload the tag is on).
func meshApps(t *Traffic) []string {
	if !t.MeshWide() || t.ClientSide || t.Sets[0].Scope.Kind != ScopeMesh {
		return nil
	}
	var apps []string
	for _, rs := range t.Sets {
		app, ok := rs.Scope.Selector["app"]
		if !ok {
			return nil
		}
		apps = append(apps, app)
	}
	slices.Sort(apps)
	return slices.Compact(apps)
}

// excludeOwn keeps mesh-wide traffic (server or client side) away from the
// namespaces that have a traffic of their own for the same tag: a reader
// keeps the destination's labels only, so no series is read twice.
func excludeOwn(traffic []*Traffic) {
	for _, m := range traffic {
		if !m.MeshWide() {
			continue
		}
		for _, t := range traffic {
			if t.Tag == m.Tag && !t.MeshWide() {
				m.Exclude = append(m.Exclude, t.Namespace)
			}
		}
		slices.Sort(m.Exclude)
		m.Exclude = slices.Compact(m.Exclude)
	}
}
