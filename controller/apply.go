package controller

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/routebundle/routebundle/bundle"
)

// FieldManager owns every field routebundle applies.
const FieldManager = "routebundle"

// AnnotationContentHash holds a hash of everything routebundle applied to an
// object: when the live object carries the hash of the desired one and no
// one else manages fields of it, nothing is written.
const AnnotationContentHash = "routebundle.io/content-hash"

// objKey names an output object.
type objKey struct{ Kind, Namespace, Name string }

func (k objKey) String() string {
	if k.Namespace == "" {
		return k.Kind + "/" + k.Name
	}
	return k.Kind + "/" + k.Namespace + "/" + k.Name
}

func keyOf(obj metav1.Object, kind string) objKey {
	return objKey{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// rendered is one object of the bundle encoded for server-side apply.
type rendered struct {
	key  objKey
	kind kind
	// body is the apply configuration: the whole object as JSON, with the
	// content hash annotation. It is the encoder's buffer, valid until the
	// encoder's next object.
	body []byte
	hash string
}

// render encodes o with enc, with its content hash, in one encoding: the
// object is encoded with a placeholder in the hash annotation, the bytes
// are hashed, and the hash replaces the placeholder.
func render(enc *bundle.ObjectEncoder, o bundle.Object) (*rendered, error) {
	obj := o.Object
	k, ok := outputKind(obj.GetObjectKind().GroupVersionKind().Kind)
	if !ok {
		return nil, fmt.Errorf("%T %s is not a kind routebundle applies", obj, obj.GetName())
	}
	r := &rendered{key: keyOf(obj, k.gvk.Kind), kind: k}
	annotations := maps.Clone(obj.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationContentHash] = hashPlaceholder
	obj.SetAnnotations(annotations)
	var err error
	if r.body, err = enc.JSON(o); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", r.key, err)
	}
	// Metadata comes first, and every other quote in the object is
	// escaped inside a string: the first match is the annotation.
	i := bytes.Index(r.body, []byte(hashField))
	if i < 0 {
		return nil, fmt.Errorf("encoding %s: no hash annotation in it", r.key)
	}
	sum := sha256.Sum256(r.body)
	r.hash = hex.EncodeToString(sum[:16])
	copy(r.body[i+len(hashField)-len(hashPlaceholder)-1:], r.hash)
	return r, nil
}

// hashPlaceholder holds the place of the hash: as long as one.
var hashPlaceholder = strings.Repeat("0", 32)

// hashField is the hash annotation with the placeholder, as JSON.
var hashField = `"` + AnnotationContentHash + `":"` + hashPlaceholder + `"`

// outcome is what reconciling one object did.
type outcome int

const (
	unchanged outcome = iota
	created
	updated
	// reverted: someone else had changed the live object; routebundle
	// took all of it over and applied its own again.
	reverted
	// notOwned: an object of the same name exists without routebundle's
	// label; it is left alone.
	notOwned
	// failed: the API server refused the object, or it could not be
	// rendered; retried when its inputs change, on the next mesh-wide pass.
	failed
	// transient: the API server could not be reached or asked to retry;
	// the pass is retried with backoff.
	transient
)

func (o outcome) String() string {
	return [...]string{"unchanged", "created", "updated", "reverted", "not owned", "failed", "transient error"}[o]
}

// wrote reports whether the outcome is a write.
func (o outcome) wrote() bool { return o == created || o == updated || o == reverted }

// sink writes objects: server-side apply, or a log of what would be
// applied (--dry-run).
type sink interface {
	apply(ctx context.Context, r *rendered, why outcome) error
	remove(ctx context.Context, k kind, live *metav1.PartialObjectMetadata) error
}

// applySink is the real one.
type applySink struct {
	c client.Client
	// live reads objects past the cache.
	live client.Reader
}

func (s applySink) apply(ctx context.Context, r *rendered, why outcome) error {
	if why == reverted {
		if err := s.claim(ctx, r); err != nil {
			return err
		}
	}
	m := newMetadata(r.kind)
	m.Namespace, m.Name = r.key.Namespace, r.key.Name
	// Through the metadata client the answer is the object's metadata, not
	// a copy of a dashboard.
	return s.c.Patch(ctx, m, client.RawPatch(types.ApplyPatchType, r.body),
		client.FieldOwner(FieldManager), client.ForceOwnership)
}

// claim makes routebundle the manager of every field others manage, so that
// the apply of the desired object that follows removes what they added (a
// key in a dashboard ConfigMap, a rule group): server-side apply removes
// only fields the applier owns, and a field another manager set to the same
// value stays shared. The field sets of the other managers are merged into
// routebundle's, with a JSON patch guarded by the resourceVersion.
func (s applySink) claim(ctx context.Context, r *rendered) error {
	live := newUnstructured(r.kind)
	if err := s.live.Get(ctx, client.ObjectKey{Namespace: r.key.Namespace, Name: r.key.Name}, live); err != nil {
		return err
	}
	managed, err := claimFields(live.GetManagedFields(), live.GetAPIVersion())
	if err != nil {
		return fmt.Errorf("%s: %w", r.key, err)
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": live.GetResourceVersion()},
		{"op": "replace", "path": "/metadata/managedFields", "value": managed},
	})
	if err != nil {
		return err
	}
	return s.c.Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch))
}

// claimFields returns managedFields with the entries of other managers (and
// routebundle's own Updates) folded into routebundle's Apply entry.
// Subresources (status) keep their managers.
func claimFields(entries []metav1.ManagedFieldsEntry, apiVersion string) ([]metav1.ManagedFieldsEntry, error) {
	ours := metav1.ManagedFieldsEntry{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply,
		APIVersion: apiVersion, FieldsType: "FieldsV1", Time: ptr.To(metav1.Now())}
	set := fieldpath.NewSet()
	var out []metav1.ManagedFieldsEntry
	for _, e := range entries {
		switch {
		case e.Subresource != "":
			out = append(out, e)
			continue
		case e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply:
			ours.APIVersion = e.APIVersion
		}
		if e.FieldsV1 == nil {
			continue
		}
		fs := fieldpath.NewSet()
		if err := fs.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
			return nil, fmt.Errorf("fields of manager %s: %w", e.Manager, err)
		}
		set = set.Union(fs)
	}
	raw, err := set.ToJSON()
	if err != nil {
		return nil, err
	}
	ours.FieldsV1 = &metav1.FieldsV1{Raw: raw}
	return append(out, ours), nil
}

func (s applySink) remove(ctx context.Context, k kind, live *metav1.PartialObjectMetadata) error {
	m := newMetadata(k)
	m.Namespace, m.Name = live.Namespace, live.Name
	uid, rv := live.UID, live.ResourceVersion
	// The preconditions keep a delete from hitting an object that was
	// replaced or relabelled since the cache saw it.
	err := s.c.Delete(ctx, m, client.Preconditions{UID: &uid, ResourceVersion: &rv})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// isTransient reports errors worth retrying soon: the API server is not
// reachable, overloaded, or asks to retry. Refusals of the object itself
// (invalid, forbidden, missing namespace) are not.
func isTransient(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return !errors.Is(err, context.Canceled)
	}
	switch status.Status().Code {
	case http.StatusConflict, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err)
}

// foreignManagers reports whether a manager other than routebundle owns
// fields of the object itself (status and other subresources aside): then
// someone edited it, and the hash alone does not say it is unchanged.
func foreignManagers(obj metav1.Object) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != FieldManager && mf.Subresource == "" {
			return true
		}
	}
	return false
}

// owned reports whether obj carries routebundle's label.
func owned(obj metav1.Object) bool {
	return obj.GetLabels()[bundle.LabelManagedBy] == bundle.ManagedBy
}
