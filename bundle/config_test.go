package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/internal/testutil"
	"github.com/routebundle/routebundle/policy"
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

// goType matches what Go's decoders say about types: "into float64",
// "policy.Policy", "!!str".
var goType = regexp.MustCompile(`\b(float64|int64|bool|string)\b into|\binto \w+|\w+\.(Policy|Options|Duration)\b|!!\w+`)

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
		{name: "percentages and durations as the annotations take them", in: "alerts:\n  objective: 99.9%\n  errorRatio: 2%\n  unknownRatio: 25 %\n  latencyP99Ms: 1.5s\n", check: func(t *testing.T, c Config) {
			if a := c.Alerts; a.Objective != 0.999 || a.ErrorRatio != 0.02 || a.UnknownRatio != 0.25 || a.LatencyP99Ms != 1500 {
				t.Errorf("alerts = %+v", a)
			}
		}},
		{name: "empty section keeps defaults", in: "alerts:\nrules:\n", check: func(t *testing.T, c Config) {
			if c.Alerts != policy.DefaultPolicy() {
				t.Errorf("alerts = %+v", c.Alerts)
			}
		}},
		{name: "unknown key", in: "scrape:\n  namespace: x\n  dropEnvoyStat: true\n",
			wantErr: []string{"cfg.yaml:3: scrape.dropEnvoyStat: unknown key; did you mean dropEnvoyStats?"}},
		{name: "unknown key far from any", in: "alerts:\n  alerts:\n    pager: false\n",
			wantErr: []string{"cfg.yaml:3: alerts.alerts.pager: unknown key (known: burnRatePage, burnRateTicket, errorRatio, latency, unknownShare)"}},
		{name: "unknown section", in: "dashboard: {}\n", wantErr: []string{"cfg.yaml:1: dashboard: unknown key; did you mean dashboards?"}},
		{name: "wrong type", in: "alerts:\n  errorRatio: lots\n", wantErr: []string{`cfg.yaml:2: alerts.errorRatio: want a number, got "lots"`}},
		{name: "out of range, once", in: "alerts:\n  objective: 1.5\n",
			wantErr: []string{"cfg.yaml:2: alerts.objective: objective 1.5 out of range: want 0 (none) or a share below 1 such as 0.999"}},
		{name: "duration", in: "alerts:\n  errorFor: 5 minutes\nrules:\n  interval: soon\n", wantErr: []string{
			`cfg.yaml:2: alerts.errorFor: want a duration like 5m or 1h30m, got "5 minutes"`,
			`cfg.yaml:4: rules.interval: want a duration like 5m or 1h30m, got "soon"`}},
		{name: "list and mapping", in: "dashboards:\n  tags: routebundle\nscrape:\n  labels: [a]\n", wantErr: []string{
			`cfg.yaml:2: dashboards.tags: want a list of strings, got "routebundle"`,
			"cfg.yaml:4: scrape.labels: want a mapping, got a list"}},
		{name: "boolean", in: "scrape:\n  dropEnvoyStats: \"yes\"\n", wantErr: []string{`cfg.yaml:2: scrape.dropEnvoyStats: want true or false, got "yes"`}},
		{name: "switch", in: "scrape:\n  ztunnel: maybe\n", wantErr: []string{`cfg.yaml:2: scrape.ztunnel: "maybe" is not auto, true or false`}},
		{name: "invalid values at their keys", in: "rules:\n  severities:\n    page: \"\"\n  errorSelector: 'code=5'\ndashboards:\n  timeFrom: yesterday\n  configMap:\n    labels: {\"a b\": x}\n", wantErr: []string{
			"cfg.yaml:3: rules.severities.page: must not be empty",
			"cfg.yaml:4: rules.errorSelector: ",
			`cfg.yaml:6: dashboards.timeFrom: "yesterday" is not a relative time like now-6h`,
			"cfg.yaml:8: dashboards.configMap.labels: key \"a b\""}},
		{name: "bad release once", in: "release: not a label\n", wantErr: []string{"cfg.yaml:1: release: "}},
		{name: "key twice", in: "release: a\nrelease: b\n", wantErr: []string{"cfg.yaml:2: release: given twice"}},
		{name: "syntax", in: "alerts:\n  objective: [\n", wantErr: []string{"cfg.yaml:"}},
		{name: "two documents", in: "release: a\n---\nrelease: b\n", wantErr: []string{"one YAML document"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("cfg.yaml", []byte(tc.in))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				// One line per problem, each problem once, in the user's words.
				lines := strings.Split(err.Error(), "\n")
				if len(lines) != len(tc.wantErr) {
					t.Errorf("%d errors, want %d:\n%v", len(lines), len(tc.wantErr), err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if goType.MatchString(err.Error()) {
					t.Errorf("error names a Go type: %v", err)
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

// FuzzParseConfig: any input gives a config or errors, never a panic, and
// every error names the file.
func FuzzParseConfig(f *testing.F) {
	f.Add("release: a\nalerts: {objective: 99.9%, errorFor: 5m}\n")
	f.Add("rules: {severities: {page: x}, labels: {a: b}}\ndashboards: {tags: [a], configMap: {labels: {x: y}}}\n")
	f.Add("scrape: &a {ztunnel: auto}\nx: *a\n")
	f.Add("alerts:\n  alerts: {latency: no}\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, err := ParseConfig("f.yaml", []byte(in))
		if err == nil {
			return
		}
		for line := range strings.SplitSeq(err.Error(), "\n") {
			if !strings.HasPrefix(line, "f.yaml") {
				t.Fatalf("error line without the file: %q", line)
			}
		}
	})
}

func TestParseConfigAliasBomb(t *testing.T) {
	in := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := range 12 {
		name := fmt.Sprintf("b%d", i)
		in += fmt.Sprintf("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	in = "dashboards:\n  tags: *" + prev + "\n" + strings.ReplaceAll(in, "\n", "\n  ")
	_, err := ParseConfig("bomb.yaml", []byte("x: 1\n"+in))
	if err == nil {
		t.Fatal("no error")
	}
}
