package bundle

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/testutil"
)

// readmeConfig returns the bundle config example of README.md.
func readmeConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), "## Bundle config")
	if !ok {
		t.Fatal("README has no bundle config section")
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	if !ok {
		t.Fatal("README's bundle config section has no yaml block")
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// TestREADMEConfigIsTheDefault keeps the README true: its documented config
// must parse strictly and spell out exactly the defaults.
func TestREADMEConfigIsTheDefault(t *testing.T) {
	cfg, err := ParseConfig("README.md", []byte(readmeConfig(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	// Functions never compare equal; the callback is wired by apply either way.
	cfg.Rules.DashboardUID, want.Rules.DashboardUID = nil, nil
	if !reflect.DeepEqual(normalizeEmpty(cfg), normalizeEmpty(want)) {
		t.Errorf("README config differs from DefaultConfig:\n got %+v\nwant %+v", cfg, want)
	}
}

// normalizeEmpty treats an empty map like a missing one (`labels: {}`).
func normalizeEmpty(c Config) Config {
	if len(c.Rules.Labels) == 0 {
		c.Rules.Labels = nil
	}
	if len(c.Scrape.Labels) == 0 {
		c.Scrape.Labels = nil
	}
	if len(c.Dashboards.ConfigMap.Labels) == 0 {
		c.Dashboards.ConfigMap.Labels = nil
	}
	return c
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantErr  []string
		check    func(t *testing.T, c Config)
	}{
		{name: "empty file keeps defaults", in: "", check: func(t *testing.T, c Config) {
			if c.Rules.Release != "kube-prometheus-stack" || c.Alerts.ErrorRatio != 0.05 {
				t.Errorf("defaults lost: %+v", c)
			}
		}},
		{name: "release spreads", in: "release: prom\n", check: func(t *testing.T, c Config) {
			if c.Rules.Release != "prom" || c.Scrape.Release != "prom" || c.Dashboards.ConfigMap.Release != "prom" {
				t.Errorf("release not applied: rules %q scrape %q configMap %q", c.Rules.Release, c.Scrape.Release, c.Dashboards.ConfigMap.Release)
			}
		}},
		{name: "alerts reach rules and dashboards", in: "alerts:\n  objective: 0.999\n", check: func(t *testing.T, c Config) {
			if c.Rules.Defaults.Objective != 0.999 || c.Dashboards.Policy.Objective != 0.999 {
				t.Error("objective not applied")
			}
		}},
		{name: "unknown key", in: "scrape:\n  namespace: x\n  dropEnvoyStat: true\n", wantErr: []string{"cfg.yaml", "line 3", "dropEnvoyStat"}},
		{name: "wrong type", in: "alerts:\n  errorRatio: lots\n", wantErr: []string{"cfg.yaml", "line 2"}},
		{name: "invalid value", in: "alerts:\n  errorRatio: 2\n", wantErr: []string{"cfg.yaml", "alerts"}},
		{name: "two documents", in: "release: a\n---\nrelease: b\n", wantErr: []string{"one YAML document"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("cfg.yaml", []byte(tc.in))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
