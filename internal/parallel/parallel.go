// Package parallel runs independent pieces of work on all cores. generate's
// hot spots (compiling 10,000 CEL conditions, decoding manifests, rendering a
// thousand dashboards) are each a loop of independent items.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls fn(i) for every i in [0, n) from GOMAXPROCS goroutines and
// returns when all calls have. fn must be safe to call concurrently; each
// i is passed exactly once, so writing to slot i of a slice needs no lock.
func For(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}
