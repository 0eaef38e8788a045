package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

func podinfoObjects(t *testing.T) []bundle.Object {
	t.Helper()
	res, err := manifest.ReadFS(examples.Podinfo())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Build(res.Objects)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := bundle.Build(inv, bundle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return b.Objects()
}

func TestRenderHashesContentWithoutTheHash(t *testing.T) {
	first, second := podinfoObjects(t), podinfoObjects(t)
	for i := range first {
		a, err := render(bundle.NewObjectEncoder(), first[i])
		if err != nil {
			t.Fatal(err)
		}
		b, err := render(bundle.NewObjectEncoder(), second[i])
		if err != nil {
			t.Fatal(err)
		}
		if a.hash != b.hash || !bytes.Equal(a.body, b.body) {
			t.Errorf("%s renders differently twice", a.key)
		}
		var obj struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := json.Unmarshal(a.body, &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Metadata.Annotations[AnnotationContentHash] != a.hash {
			t.Errorf("%s: the body does not carry its hash", a.key)
		}
		if a.key.Kind == "ConfigMap" && !strings.Contains(string(a.body), `"data":{"`) {
			t.Errorf("%s: no dashboard in the body", a.key)
		}
	}
	// A change of content changes the hash.
	o := podinfoObjects(t)[0]
	before, _ := render(bundle.NewObjectEncoder(), o)
	o = podinfoObjects(t)[0]
	o.Object.SetLabels(map[string]string{"x": "y"})
	after, _ := render(bundle.NewObjectEncoder(), o)
	if before.hash == after.hash {
		t.Error("a different object has the same hash")
	}
}

func TestClaimFieldsFoldsOtherManagersIntoRoutebundles(t *testing.T) {
	fields := func(paths ...string) *metav1.FieldsV1 {
		set := fieldpath.NewSet()
		for _, p := range paths {
			set.Insert(fieldpath.MakePathOrDie("data", p))
		}
		raw, err := set.ToJSON()
		if err != nil {
			t.Fatal(err)
		}
		return &metav1.FieldsV1{Raw: raw}
	}
	entries := []metav1.ManagedFieldsEntry{
		{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: fields("a.json")},
		{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: fields("x.json")},
		{Manager: "prometheus-operator", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", FieldsType: "FieldsV1", FieldsV1: fields("status")},
	}
	got, err := claimFields(entries, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Subresource != "status" || got[1].Manager != FieldManager || got[1].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("entries %+v: want the status manager kept and one routebundle Apply entry", got)
	}
	set := fieldpath.NewSet()
	if err := set.FromJSON(bytes.NewReader(got[1].FieldsV1.Raw)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a.json", "x.json"} {
		if !set.Has(fieldpath.MakePathOrDie("data", p)) {
			t.Errorf("routebundle does not own data.%s", p)
		}
	}
	if _, err := claimFields([]metav1.ManagedFieldsEntry{{Manager: "x", FieldsV1: &metav1.FieldsV1{Raw: []byte("{")}}}, "v1"); err == nil {
		t.Error("broken fields: no error")
	}
}

func TestForeignManagers(t *testing.T) {
	obj := &metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
		{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply},
		{Manager: "operator", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"},
	}}
	if foreignManagers(obj) {
		t.Error("routebundle and a status writer are not foreign")
	}
	obj.ManagedFields = append(obj.ManagedFields, metav1.ManagedFieldsEntry{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate})
	if !foreignManagers(obj) {
		t.Error("kubectl-edit is foreign")
	}
}

func TestIsTransient(t *testing.T) {
	gr := schema.GroupResource{Group: "monitoring.coreos.com", Resource: "prometheusrules"}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{apierrors.NewServiceUnavailable("starting"), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewConflict(gr, "x", errors.New("changed")), true},
		{apierrors.NewInternalError(errors.New("boom")), true},
		{apierrors.NewTimeoutError("slow", 1), true},
		{apierrors.NewInvalid(schema.GroupKind{Kind: "PrometheusRule"}, "x", nil), false},
		{apierrors.NewForbidden(gr, "x", errors.New("no")), false},
		{apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "monitoring"), false},
		{fmt.Errorf("wrapped: %w", apierrors.NewBadRequest("bad")), false},
		{context.Canceled, false},
	} {
		if got := isTransient(tt.err); got != tt.want {
			t.Errorf("isTransient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestShardOf(t *testing.T) {
	nsOf := map[string]string{"a1": "a", "a2": "a", "b1": "b", "root": inventory.RootNamespace}
	for _, tt := range []struct {
		sets []string
		want string
	}{
		{nil, meshShard},
		{[]string{"a1"}, "a"},
		{[]string{"a1", "a2"}, "a"},
		{[]string{"a1", "b1"}, meshShard},
		{[]string{"root"}, meshShard},
		{[]string{"a1", "root"}, meshShard},
	} {
		if got := shardOf(bundle.Object{RouteSets: tt.sets}, nsOf, inventory.RootNamespace); got != tt.want {
			t.Errorf("shardOf(%v) = %q, want %q", tt.sets, got, tt.want)
		}
	}
}

func TestPrunable(t *testing.T) {
	c := &Controller{opts: Options{WatchNamespaces: []string{"a"}}, root: inventory.RootNamespace}
	obj := func(labelled bool, sources string) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{}
		if labelled {
			m.Labels = map[string]string{bundle.LabelManagedBy: bundle.ManagedBy}
		}
		if sources != "" {
			m.Annotations = map[string]string{bundle.AnnotationSources: sources}
		}
		return m
	}
	for _, tt := range []struct {
		obj  *metav1.PartialObjectMetadata
		want bool
	}{
		{obj(true, "WasmPlugin/a/p,Telemetry/a/t"), true},
		{obj(true, "WasmPlugin/istio-system/p,Telemetry/a/t"), true},
		{obj(true, bundle.MeshSources), true},
		{obj(true, "WasmPlugin/b/p"), false}, // another instance's
		{obj(true, ""), false},               // labelled by someone, not written by routebundle
		{obj(false, "WasmPlugin/a/p"), false},
	} {
		if got := c.prunable(tt.obj); got != tt.want {
			t.Errorf("prunable(%v, %v) = %v, want %v", tt.obj.Labels, tt.obj.Annotations, got, tt.want)
		}
	}
	c.opts.WatchNamespaces = nil
	if !c.prunable(obj(true, "WasmPlugin/b/p")) {
		t.Error("watching all namespaces, every object of routebundle's is prunable")
	}
}

func TestDryRunSinkLogsEachContentOnce(t *testing.T) {
	var logs bytes.Buffer
	s := &dryRunSink{log: slog.New(slog.NewJSONHandler(&logs, nil)), seen: map[objKey]string{}}
	r := &rendered{key: objKey{"PrometheusRule", "a", "x"}, hash: "1"}
	for range 3 {
		if err := s.apply(context.Background(), r, created); err != nil {
			t.Fatal(err)
		}
	}
	r2 := *r
	r2.hash = "2"
	s.apply(context.Background(), &r2, updated)
	if n := strings.Count(logs.String(), "would apply"); n != 2 {
		t.Errorf("%d log lines for two contents:\n%s", n, logs.String())
	}
}

func TestMergeNamespace(t *testing.T) {
	prev := &inventory.Inventory{
		RouteSets:  []inventory.RouteSet{{ID: "a/1", Namespace: "a"}, {ID: "b/1", Namespace: "b"}},
		Namespaces: []inventory.Namespace{{Name: "a"}, {Name: "b"}},
		Gateways:   []inventory.Gateway{{Namespace: "b", Name: "w"}},
	}
	shard := &inventory.Inventory{
		RouteSets:  []inventory.RouteSet{{ID: "b/2", Namespace: "b"}, {ID: "istio-system/x", Namespace: inventory.RootNamespace}},
		Namespaces: []inventory.Namespace{{Name: "b", DataplaneMode: "ambient"}},
	}
	got := mergeNamespace(prev, shard, "b")
	var ids []string
	for _, rs := range got.RouteSets {
		ids = append(ids, rs.ID)
	}
	if strings.Join(ids, " ") != "a/1 b/2" {
		t.Errorf("route sets %v, want a/1 b/2", ids)
	}
	if len(got.Namespaces) != 2 || got.Namespaces[1].DataplaneMode != "ambient" || len(got.Gateways) != 0 {
		t.Errorf("namespaces %v, gateways %v", got.Namespaces, got.Gateways)
	}
	if len(prev.RouteSets) != 2 || prev.RouteSets[1].ID != "b/1" {
		t.Error("mergeNamespace changed the previous inventory")
	}
}

func TestLightMeshPassWaitsForQuietNamespaces(t *testing.T) {
	c := &Controller{opts: Options{MeshDelay: time.Hour}}
	if w := c.meshWait(); w != 0 {
		t.Errorf("nothing asked for: wait %s", w)
	}
	c.meshLater()
	if w := c.meshWait(); w <= 0 || w > time.Hour {
		t.Errorf("right after a namespace pass: wait %s, want up to an hour", w)
	}
	c.meshSoon(0)
	if w := c.meshWait(); w != 0 {
		t.Errorf("an urgent request waits %s", w)
	}
	c.mesh.since = time.Now().Add(-maxMeshWait * time.Hour)
	c.mesh.lastNamespace = time.Now()
	if w := c.meshWait(); w != 0 {
		t.Errorf("after waiting the longest: wait %s", w)
	}
}
