package exporter

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestOffer: offers return at once and RunOffers applies the latest one,
// a nil inventory included; an offer made before RunOffers starts is kept.
func TestOffer(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	routeSets := func() float64 {
		var n float64
		for _, v := range values(t, e, "routebundle_route_sets", nil) {
			n += v
		}
		return n
	}
	e.Offer(trafficInventory(t)) // overtaken before RunOffers runs
	e.Offer(testInventory(t))
	if got := routeSets(); got != 0 {
		t.Fatalf("%g route sets before RunOffers ran, want 0", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.RunOffers(ctx) }()
	waitFor := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for routeSets() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%g route sets, want %g", routeSets(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(2) // testInventory: podinfo and shop
	e.Offer(nil)
	waitFor(0)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunOffers returned %v", err)
	}
}
