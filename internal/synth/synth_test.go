package synth

import (
	"os"
	"testing"

	"github.com/routebundle/routebundle/manifest"
)

func TestWriteIsReadable(t *testing.T) {
	dir := t.TempDir()
	m := Mesh{Namespaces: 2, Workloads: 3, Routes: 4}
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	res, err := manifest.ReadPaths([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diagnostics) > 0 {
		t.Fatalf("diagnostics: %v", res.Diagnostics)
	}
	kinds := map[string]int{}
	for _, o := range res.Objects {
		kinds[o.Kind]++
	}
	if kinds["WasmPlugin"] != m.WasmPlugins() || kinds["Telemetry"] != m.WasmPlugins() || kinds["Namespace"] != 2 {
		t.Errorf("kinds = %v", kinds)
	}
	// SYNTH_DIR makes this test write the benchmark-sized mesh there, for
	// `make bench-generate`, which times the real binary on it.
	if out := os.Getenv("SYNTH_DIR"); out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := BenchmarkMesh().Write(out); err != nil {
			t.Fatal(err)
		}
	}
}
