package bundle_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/dashboards"
)

// TestDashboardsRoundTrip reads every dashboard of the bundles of the
// embedded examples (and the other test inventories) into the foundation
// SDK's types, strictly, and writes it again: what Grafana gets is what
// the SDK reads. The httproute example's waypoint dashboard shows each route
// name with what its rule matches, in the routes table and in a legend.
func TestDashboardsRoundTrip(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	legends := 0
	for name, inv := range inventories(t) {
		b, _, err := bundle.Build(inv, bundle.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Dashboards) == 0 {
			t.Errorf("%s: no dashboard", name)
		}
		for _, d := range b.Dashboards {
			first, err := d.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var strict dashboard.Dashboard
			// The SDK returns an empty cog.BuildErrors as a non-nil error.
			if err := strict.UnmarshalJSONStrict(first); err != nil {
				if errs, ok := err.(cog.BuildErrors); !ok || len(errs) > 0 {
					t.Errorf("%s/%s: strict unmarshal: %v", name, d.UID, err)
				}
			}
			var back dashboard.Dashboard
			if err := json.Unmarshal(first, &back); err != nil {
				t.Errorf("%s/%s: %v", name, d.UID, err)
				continue
			}
			second, err := dashboards.Dashboard{UID: d.UID, Dashboard: back}.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Errorf("%s/%s does not round-trip", name, d.UID)
			}
			if name == "httproute" && strings.HasPrefix(d.UID, "podinfo-podinfo-waypoint") {
				legends++
				for _, want := range []string{`"text": "post-echo: POST /echo"`, `"text": "get-healthz: GET /healthz"`, `"title": "Route names"`} {
					if !bytes.Contains(first, []byte(want)) {
						t.Errorf("%s/%s lacks %s", name, d.UID, want)
					}
				}
			}
		}
	}
	if legends != 1 {
		t.Errorf("%d waypoint dashboards of the httproute example, want 1", legends)
	}
}
