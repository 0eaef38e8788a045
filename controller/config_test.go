package controller

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/routebundle/routebundle/diag"
)

// configWriter returns the path of a bundle config file and a function
// that writes it.
func configWriter(t *testing.T) (string, func(string)) {
	p := filepath.Join(t.TempDir(), "bundle.yaml")
	return p, func(s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConfigFileReload(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	p, write := configWriter(t)
	write("rules: {release: one}\n")
	f, err := LoadConfigFile(p, 0, log)
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	f.notify(func() { changes++ })
	release := func() string { return f.Current().Rules.Release }

	f.reload()
	if changes != 0 || release() != "one" {
		t.Errorf("an unchanged file: %d changes, release %q", changes, release())
	}
	write("rules: {release: two}\n")
	f.reload()
	if changes != 1 || release() != "two" {
		t.Errorf("a changed file: %d changes, release %q", changes, release())
	}
	write("rules: {release: three, bogus: 1}\n")
	f.reload()
	f.reload()
	if changes != 1 || release() != "two" {
		t.Errorf("an invalid file: %d changes, release %q, want two kept", changes, release())
	}
	if n := strings.Count(logs.String(), "the new bundle config is invalid"); n != 1 || !strings.Contains(logs.String(), "bogus") {
		t.Errorf("the invalid config is said %d times, or without naming the key:\n%s", n, logs.String())
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	f.reload()
	if release() != "two" || !strings.Contains(logs.String(), "cannot read the bundle config") {
		t.Errorf("a missing file: release %q\n%s", release(), logs.String())
	}

	if _, err := LoadConfigFile(filepath.Join(t.TempDir(), "none.yaml"), 0, log); err == nil {
		t.Error("a missing file at start: no error")
	}
	write("scrape: {nope: true}\n")
	if _, err := LoadConfigFile(p, 0, log); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("an invalid file at start: %v", err)
	}
	def, err := LoadConfigFile("", 0, log)
	if err != nil || def.Current().Scrape.Namespace != "monitoring" {
		t.Errorf("no file: %v, %+v", err, def.Current().Scrape)
	}
}

func TestFindingsAreToldOnce(t *testing.T) {
	var logs bytes.Buffer
	f := newFindings(slog.New(slog.NewJSONHandler(&logs, nil)), nil, nil)
	bad := finding{object: diag.ObjectRef{Kind: "WasmPlugin", Namespace: "a", Name: "p"}, warning: true, reason: "RB008", message: "does not compile"}
	other := finding{object: diag.ObjectRef{Kind: "Telemetry", Namespace: "b", Name: "t"}, reason: "RB009", message: "duplicate"}
	f.replaceAll([]finding{bad, other})
	f.tell(t.Context())
	f.tell(t.Context())
	f.replace("a", []finding{bad, other}) // other is not of namespace a
	f.tell(t.Context())
	if n := strings.Count(logs.String(), "does not compile"); n != 1 {
		t.Errorf("a lasting finding logged %d times", n)
	}
	if n := strings.Count(logs.String(), "duplicate"); n != 1 {
		t.Errorf("the other namespace's finding logged %d times", n)
	}
	f.replace("a", nil)
	f.tell(t.Context())
	f.replace("a", []finding{bad})
	f.tell(t.Context())
	if n := strings.Count(logs.String(), "does not compile"); n != 2 {
		t.Errorf("a finding that went away and came back logged %d times, want 2", n)
	}
	if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), `"object":"WasmPlugin/a/p"`) {
		t.Errorf("log lines:\n%s", logs.String())
	}
}

// stubEvents records Eventf calls.
type stubEvents struct {
	recorder.EventRecorder
	n int
}

func (s *stubEvents) Eventf(_, _ runtime.Object, _, _, _, _ string, _ ...any) { s.n++ }

// anyObject answers every Get with an empty object.
type anyObject struct{ client.Reader }

func (anyObject) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return nil
}

func TestFindingsEventsAreRateLimited(t *testing.T) {
	ev := &stubEvents{}
	f := newFindings(slog.New(slog.DiscardHandler), ev, anyObject{})
	f.limit = rate.NewLimiter(rate.Every(time.Hour), 5)
	var all []finding
	for i := range 8 {
		all = append(all, finding{object: diag.ObjectRef{Kind: "WasmPlugin", Namespace: "a", Name: fmt.Sprint(i)}, reason: "RB008"})
	}
	f.replaceAll(all)
	f.tell(t.Context())
	f.tell(t.Context())
	if ev.n != 5 {
		t.Errorf("%d Events within a burst of 5", ev.n)
	}
	f.limit = rate.NewLimiter(rate.Inf, 1)
	f.tell(t.Context())
	f.tell(t.Context())
	if ev.n != 8 {
		t.Errorf("%d Events: the held-back ones are not sent later, or some twice", ev.n)
	}
}

func TestFindingsAlreadySentAreNotSentAgain(t *testing.T) {
	ev := &stubEvents{}
	f := newFindings(slog.New(slog.DiscardHandler), ev, anyObject{})
	x := finding{object: diag.ObjectRef{Kind: "WasmPlugin", Namespace: "a", Name: "p"}, warning: true,
		reason: "RB008", field: "spec.x", message: "does not compile"}
	y := x
	y.message = "something else"
	f.seed([]corev1.Event{{
		InvolvedObject: corev1.ObjectReference{Kind: "WasmPlugin", Namespace: "a", Name: "p"},
		Reason:         "RB008", Message: "does not compile [spec.x]",
	}})
	f.replaceAll([]finding{x, y})
	f.tell(t.Context())
	if ev.n != 1 {
		t.Errorf("%d Events, want only the one not sent before the restart", ev.n)
	}
}
