package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/manifest"
)

// benchManifests writes n namespaces, each with a waypoint, an attributegen
// WasmPlugin of routes matches and a Telemetry reading it, in one file per
// namespace, and returns the directory.
func benchManifests(b *testing.B, n, routes int) string {
	b.Helper()
	dir := b.TempDir()
	for i := range n {
		ns := fmt.Sprintf("ns-%04d", i)
		var m strings.Builder
		for r := range routes {
			fmt.Fprintf(&m, "      - value: GET /api/v%d/resource-%d/{id}\n        condition: request.method == 'GET' && request.url_path.matches('^/api/v%d/resource-%d/[0-9]+$')\n", i, r, i, r)
		}
		doc := docs(
			strings.ReplaceAll(nsWaypoint, "shop", ns),
			strings.ReplaceAll(gatewayWaypoint, "shop", ns),
			strings.ReplaceAll(pluginHead, "shop", ns)+m.String(),
			strings.ReplaceAll(telemetryHead, "shop", ns)+overridesOK,
		)
		if err := os.WriteFile(filepath.Join(dir, ns+".yaml"), []byte(doc), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkReadBuild1000 reads and builds 1,000 WasmPlugins of 10 routes
// each, with their Telemetries, waypoints and namespaces, from files. The
// Builder is reused, as a controller would, so conditions compile once per
// distinct text; every condition here is distinct.
func BenchmarkReadBuild1000(b *testing.B) {
	dir := benchManifests(b, 1000, 10)
	builder, err := NewDefaultBuilder()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := manifest.ReadPaths([]string{dir}, nil)
		if err != nil {
			b.Fatal(err)
		}
		inv := builder.FromManifests(res)
		if len(inv.RouteSets) != 1000 || len(inv.Diagnostics) != 0 {
			b.Fatalf("%d route sets, diagnostics:\n%s", len(inv.RouteSets), fullText(inv.Diagnostics))
		}
	}
}
