package synth

import (
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
}
