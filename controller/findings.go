package controller

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/routebundle/routebundle/diag"
)

// Reasons of the Events about applying, beside the diagnostic codes.
const (
	ReasonApplyFailed = "ApplyFailed"
	ReasonNotOwned    = "NotOwned"
)

// finding is one thing worth telling the owner of a WasmPlugin or
// Telemetry: a diagnostic of the inventory or the generators, or an object
// made from it that could not be applied.
type finding struct {
	object  diag.ObjectRef
	warning bool
	// reason is the diagnostic code (RB003) or one of the Reason constants.
	reason  string
	field   string
	message string
}

func diagFindings(l diag.List) []finding {
	out := make([]finding, 0, len(l))
	for _, d := range l {
		out = append(out, finding{object: d.Object, warning: d.Severity >= diag.Warning,
			reason: d.Code, field: d.Field, message: d.Message})
	}
	return out
}

// findings holds the current findings of every namespace and tells each new
// one once: as a log line, and as an Event on its WasmPlugin or Telemetry.
// A finding that persists is not repeated; one that goes away and comes
// back is. Events are rate limited mesh-wide: those held back go out on a
// later pass.
type findings struct {
	log    *slog.Logger
	events recorder.EventRecorder // nil: no Events (dry run, read only)
	reader client.Reader          // the cache, for the objects' UIDs
	limit  *rate.Limiter

	mu      sync.Mutex
	current map[string][]finding // by namespace of the object
	logged  map[finding]bool
	emitted map[finding]bool
	// existing are the Events routebundle had already sent when it started:
	// a restart does not send them again.
	existing map[eventKey]bool
}

// eventKey identifies an Event by what it says about what.
type eventKey struct{ kind, namespace, name, reason, note string }

func newFindings(log *slog.Logger, events recorder.EventRecorder, reader client.Reader) *findings {
	return &findings{
		log: log, events: events, reader: reader,
		// A mesh rolling out a broken config can hold thousands of findings:
		// a burst, then a steady trickle, keeps the Events API usable.
		limit:   rate.NewLimiter(20, 200),
		current: map[string][]finding{},
		logged:  map[finding]bool{},
		emitted: map[finding]bool{},
	}
}

// seed records the Events already in the cluster.
func (f *findings) seed(events []corev1.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.existing = make(map[eventKey]bool, len(events))
	for _, e := range events {
		o := e.InvolvedObject
		f.existing[eventKey{o.Kind, o.Namespace, o.Name, e.Reason, e.Message}] = true
	}
}

// replaceAll sets the findings of the whole mesh.
func (f *findings) replaceAll(all []finding) {
	byNS := map[string][]finding{}
	for _, x := range all {
		byNS[x.object.Namespace] = append(byNS[x.object.Namespace], x)
	}
	f.mu.Lock()
	f.current = byNS
	f.mu.Unlock()
}

// replace sets the findings about objects of namespace ns; others are dropped.
func (f *findings) replace(ns string, found []finding) {
	found = slices.DeleteFunc(slices.Clone(found), func(x finding) bool { return x.object.Namespace != ns })
	f.mu.Lock()
	f.current[ns] = found
	f.mu.Unlock()
}

// tell logs and emits what is new, and forgets what is gone.
func (f *findings) tell(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := map[finding]bool{}
	for _, list := range f.current {
		for _, x := range list {
			now[x] = true
		}
	}
	for x := range f.logged {
		if !now[x] {
			delete(f.logged, x)
		}
	}
	for x := range f.emitted {
		if !now[x] {
			delete(f.emitted, x)
		}
	}
	for x := range now {
		if !f.logged[x] {
			f.logged[x] = true
			f.logFinding(x)
		}
		f.emit(ctx, x)
	}
}

func (f *findings) logFinding(x finding) {
	level := slog.LevelInfo
	if x.warning {
		level = slog.LevelWarn
	}
	attrs := []any{"reason", x.reason}
	if x.object != (diag.ObjectRef{}) {
		attrs = append(attrs, "object", x.object.String())
	}
	if x.field != "" {
		attrs = append(attrs, "field", x.field)
	}
	f.log.Log(context.Background(), level, x.message, attrs...)
}

// emit sends x as an Event, once for as long as it lasts. An object deleted
// and created again gets its findings again, since they went away with it.
func (f *findings) emit(ctx context.Context, x finding) {
	k, ok := eventKinds[x.object.Kind]
	if f.events == nil || !ok || f.emitted[x] {
		return
	}
	note := eventNote(x)
	if f.existing[eventKey{x.object.Kind, x.object.Namespace, x.object.Name, x.reason, note}] {
		f.emitted[x] = true
		return
	}
	if f.limit.Tokens() < 1 {
		return
	}
	u := newUnstructured(k)
	if err := f.reader.Get(ctx, client.ObjectKey{Namespace: x.object.Namespace, Name: x.object.Name}, u); err != nil {
		return // gone, or not yet in the cache: a later pass tries again
	}
	if !f.limit.Allow() {
		return
	}
	f.emitted[x] = true
	typ := corev1.EventTypeNormal
	if x.warning {
		typ = corev1.EventTypeWarning
	}
	f.events.Eventf(u, nil, typ, x.reason, "Reconcile", "%s", note)
}

// eventNote is the text of x's Event: its message and field, within the 1 kB
// the Events API allows.
func eventNote(x finding) string {
	note := x.message
	if x.field != "" {
		note += " [" + x.field + "]"
	}
	if len(note) > 1024 {
		note = strings.ToValidUTF8(note[:1021], "") + "..."
	}
	return note
}

// eventKinds are the objects findings become Events on: the ones people
// write the classification in, and the route objects whose rules name the
// routes of route names (an unnamed rule, a name two routes share).
var eventKinds = map[string]kind{
	wasmPluginKind.gvk.Kind:     wasmPluginKind,
	telemetryKind.gvk.Kind:      telemetryKind,
	httpRouteKind.gvk.Kind:      httpRouteKind,
	grpcRouteKind.gvk.Kind:      grpcRouteKind,
	virtualServiceKind.gvk.Kind: virtualServiceKind,
}
