package bundle

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/rules"
)

// Ownership marks on every object of the bundle. routebundle, the in-cluster
// service, prunes only objects carrying LabelManagedBy; the sources
// annotation tells people (and the service) what an object was made from.
const (
	LabelManagedBy = rules.LabelManagedBy
	ManagedBy      = rules.ManagedBy
	// AnnotationSources lists the WasmPlugins and Telemetries an object is
	// generated from as Kind/namespace/name, comma-separated and sorted,
	// or MeshSources for objects of the whole mesh.
	AnnotationSources = "routebundle.io/sources"
	// MeshSources is the sources annotation of the objects generated from
	// the mesh as a whole: the routes overview dashboard, which lists every
	// route set, and the scrape monitors.
	MeshSources = "*"
)

// maxSources bounds the sources annotation: a namespace with thousands of
// classified workloads must not put a hundred kilobytes into every object.
const maxSources = 50

// KubeObject is a Kubernetes object with its apiVersion and kind set.
type KubeObject interface {
	metav1.Object
	runtime.Object
}

// Object is one Kubernetes object of the bundle: what `bundlegen generate
// --format operator` writes to a file and what routebundle applies.
type Object struct {
	// Object carries the ownership label and the sources annotation. A
	// dashboard ConfigMap comes without its data, which Dashboard holds:
	// the file renderer writes the dashboard's JSON straight into the file,
	// Complete copies it into the object.
	Object KubeObject
	// Dashboard is set for dashboard ConfigMaps.
	Dashboard *dashboards.Dashboard
	// RouteSets are the IDs of the route sets the object is generated
	// from, sorted; nil for the objects of the whole mesh.
	RouteSets []string
	// Sources are the WasmPlugins and Telemetries of those route sets, sorted.
	Sources []diag.ObjectRef
}

// Objects returns the bundle's Kubernetes objects: the PrometheusRules, the
// scrape monitors and a ConfigMap per dashboard. Their metadata is the
// caller's to change; the rest they share with the bundle, read only.
func (b *Bundle) Objects() []Object {
	sets := routeSetIndex(b.inv)
	out := make([]Object, 0, len(b.Rules.PrometheusRules)+len(b.Dashboards)+3)
	for i, pr := range b.Rules.PrometheusRules {
		out = append(out, newObject(pr, b.Rules.Files[i].RouteSets, sets))
	}
	for _, m := range b.Monitors.Objects() {
		out = append(out, newObject(m, nil, sets))
	}
	byUID := dashboardSets(b.inv)
	for _, d := range b.Dashboards {
		cm := dashboards.ConfigMapMeta(d, b.config.Dashboards.ConfigMap)
		o := newObject(&cm, byUID[d.UID], sets)
		// A dashboard of its own, not a pointer into b.Dashboards: a caller
		// done with an object can let its dashboard go.
		o.Dashboard = &d
		out = append(out, o)
	}
	return out
}

// Complete returns the whole object: for a dashboard ConfigMap, a copy with
// the dashboard's JSON under its file name (or an error when it does not
// fit into a ConfigMap).
func (o Object) Complete() (KubeObject, error) {
	if o.Dashboard == nil {
		return o.Object, nil
	}
	cm, ok := o.Object.(*corev1.ConfigMap)
	if !ok {
		return nil, fmt.Errorf("dashboard %s is carried by a %T, not a ConfigMap", o.Dashboard.UID, o.Object)
	}
	data, err := o.Dashboard.ConfigMapJSON()
	if err != nil {
		return nil, err
	}
	cm = cm.DeepCopy()
	cm.Data = map[string]string{o.Dashboard.FileName: string(data)}
	return cm, nil
}

// newObject copies obj's metadata and marks it as routebundle's, generated
// from the route sets ids (the whole mesh when there are none).
func newObject(obj KubeObject, ids []string, sets map[string]*inventory.RouteSet) Object {
	cp := withOwnMeta(obj)
	labels := maps.Clone(cp.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelManagedBy] = ManagedBy
	cp.SetLabels(labels)
	o := Object{Object: cp}
	if len(ids) > 0 {
		o.RouteSets = slices.Sorted(slices.Values(ids))
		o.Sources = sourcesOf(o.RouteSets, sets)
	}
	annotations := maps.Clone(cp.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationSources] = sourcesAnnotation(o.Sources)
	cp.SetAnnotations(annotations)
	return o
}

// withOwnMeta returns a copy of obj that shares all but its metadata with
// obj: copying the rules of a thousand route sets would be a tenth of
// generate's allocations for four annotations.
func withOwnMeta(obj KubeObject) KubeObject {
	switch o := obj.(type) {
	case *monitoringv1.PrometheusRule:
		cp := *o
		o.ObjectMeta.DeepCopyInto(&cp.ObjectMeta)
		return &cp
	case *monitoringv1.PodMonitor:
		cp := *o
		o.ObjectMeta.DeepCopyInto(&cp.ObjectMeta)
		return &cp
	case *monitoringv1.ServiceMonitor:
		cp := *o
		o.ObjectMeta.DeepCopyInto(&cp.ObjectMeta)
		return &cp
	case *corev1.ConfigMap:
		cp := *o
		o.ObjectMeta.DeepCopyInto(&cp.ObjectMeta)
		return &cp
	}
	return obj.DeepCopyObject().(KubeObject)
}

func routeSetIndex(inv *inventory.Inventory) map[string]*inventory.RouteSet {
	if inv == nil {
		return nil
	}
	sets := make(map[string]*inventory.RouteSet, len(inv.RouteSets))
	for i := range inv.RouteSets {
		sets[inv.RouteSets[i].ID] = &inv.RouteSets[i]
	}
	return sets
}

// dashboardSets returns the IDs of the route sets each workload dashboard
// shows, by UID. Only sets with the route tag on REQUEST_COUNT have a
// dashboard; the routes overview is the whole mesh's and is not listed.
func dashboardSets(inv *inventory.Inventory) map[string][]string {
	if inv == nil {
		return nil
	}
	byUID := make(map[string][]string, len(inv.RouteSets))
	for i := range inv.RouteSets {
		rs := &inv.RouteSets[i]
		if rs.HasMetric(inventory.RequestCount) {
			uid := dashboards.UID(rs)
			byUID[uid] = append(byUID[uid], rs.ID)
		}
	}
	delete(byUID, dashboards.OverviewUID)
	return byUID
}

func sourcesOf(ids []string, sets map[string]*inventory.RouteSet) []diag.ObjectRef {
	var refs []diag.ObjectRef
	for _, id := range ids {
		rs, ok := sets[id]
		if !ok {
			continue
		}
		for _, r := range []diag.ObjectRef{rs.Plugin, rs.Telemetry} {
			if r != (diag.ObjectRef{}) {
				refs = append(refs, r)
			}
		}
	}
	slices.SortFunc(refs, compareRefs)
	return slices.Compact(refs)
}

func compareRefs(a, b diag.ObjectRef) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func sourcesAnnotation(refs []diag.ObjectRef) string {
	if len(refs) == 0 {
		return MeshSources
	}
	parts := make([]string, 0, min(len(refs), maxSources)+1)
	for _, r := range refs[:min(len(refs), maxSources)] {
		parts = append(parts, r.String())
	}
	if len(refs) > maxSources {
		parts = append(parts, fmt.Sprintf("and %d more", len(refs)-maxSources))
	}
	return strings.Join(parts, ",")
}

// An ObjectEncoder encodes objects as JSON, the form server-side apply
// takes, reusing its buffers from one object to the next: a dashboard is
// written from its SDK form straight into its ConfigMap's JSON instead of
// being encoded, copied into a string and encoded again, which at a
// thousand dashboards was most of the service's garbage. It is not safe
// for concurrent use.
type ObjectEncoder struct {
	dashboards *dashboards.Encoder
	scratch    []byte
	out        []byte
}

// NewObjectEncoder returns an ObjectEncoder.
func NewObjectEncoder() *ObjectEncoder {
	return &ObjectEncoder{dashboards: dashboards.NewEncoder()}
}

// JSON returns o, complete, as JSON: the JSON of Complete's object, with
// the dashboard's data encoded alike. The bytes are valid until the next
// call.
func (e *ObjectEncoder) JSON(o Object) ([]byte, error) {
	meta, err := json.Marshal(o.Object)
	if err != nil {
		return nil, renderError(o.Object, err)
	}
	if o.Dashboard == nil {
		return meta, nil
	}
	if e.scratch, err = e.dashboards.AppendJSON(e.scratch[:0], *o.Dashboard, ""); err != nil {
		return nil, err
	}
	if err := o.Dashboard.FitsConfigMap(len(e.scratch)); err != nil {
		return nil, err
	}
	// The ConfigMap without data encodes without a data field: its closing
	// brace makes room for one.
	if !bytes.HasSuffix(meta, []byte("}")) || bytes.Contains(meta, []byte(`"data":`)) {
		return nil, renderError(o.Object, fmt.Errorf("unexpected encoding of the ConfigMap"))
	}
	out := append(e.out[:0], meta[:len(meta)-1]...)
	out = append(out, `,"data":{`...)
	out = appendJSONString(out, []byte(o.Dashboard.FileName))
	out = append(out, ':')
	out = appendJSONString(out, e.scratch)
	e.out = append(out, "}}"...)
	return e.out, nil
}

// appendJSONString appends s as a JSON string. s is UTF-8 (dashboard JSON
// and Kubernetes names are); only what JSON requires is escaped.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
