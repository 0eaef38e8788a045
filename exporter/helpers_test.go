package exporter

import (
	"os"
	"testing"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// testInventory is the podinfo example (a waypoint classification with
// latency) plus testdata/shop.yaml (a sidecar one without).
func testInventory(t testing.TB) *inventory.Inventory {
	t.Helper()
	res, err := manifest.ReadFS(examples.Podinfo())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, diags := manifest.Decode("testdata/shop.yaml", data)
	res.Objects = append(res.Objects, objs...)
	res.Diagnostics = append(res.Diagnostics, diags...)
	b, err := inventory.NewDefaultBuilder()
	if err != nil {
		t.Fatal(err)
	}
	return b.FromManifests(res)
}
