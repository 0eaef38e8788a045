package promtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/routebundle/routebundle/internal/promapi"
)

const ruleFile = `groups:
  - name: test
    rules:
      - record: test:one
        expr: vector(%d)
`

// TestServerLifeCycle starts Prometheus below a route prefix with a rule
// file, reaches it through promapi's path prefix, swaps the rules, and
// stops it.
func TestServerLifeCycle(t *testing.T) {
	s := Start(t, Options{RoutePrefix: "/prometheus", RuleFiles: map[string]string{"one.yaml": fmt.Sprintf(ruleFile, 1)}})
	if !strings.HasSuffix(s.URL, "/prometheus") {
		t.Fatalf("URL %q lacks the route prefix", s.URL)
	}
	api, err := promapi.New(promapi.Options{URL: "http://" + s.Addr, PathPrefix: "/prometheus"})
	if err != nil {
		t.Fatal(err)
	}
	value := func(ctx context.Context) (float64, error) {
		v, _, _, err := api.Query(ctx, "test:one", time.Now())
		if err != nil {
			return 0, err
		}
		vec := v.(model.Vector)
		if len(vec) != 1 {
			return 0, fmt.Errorf("test:one = %v", vec)
		}
		return float64(vec[0].Value), nil
	}
	expect := func(want float64) func(context.Context) error {
		return func(ctx context.Context) error {
			got, err := value(ctx)
			if err == nil && got != want {
				err = fmt.Errorf("test:one = %g, want %g", got, want)
			}
			return err
		}
	}
	Eventually(t, 30*time.Second, expect(1))
	s.SetRuleFiles(t, map[string]string{"two.yaml": fmt.Sprintf(ruleFile, 2)})
	Eventually(t, 30*time.Second, expect(2))

	s.Stop()
	s.Stop() // idempotent
	if _, err := value(t.Context()); err == nil {
		t.Error("a stopped server still answers")
	}
}

func TestConfigWithRulesKeepsTheUsersRuleFiles(t *testing.T) {
	dir := t.TempDir()
	cfg, err := configWithRules("rule_files: [/etc/x/*.yaml]\n", dir, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "/etc/x/*.yaml") || !strings.Contains(string(cfg), dir+"/*.yaml") {
		t.Errorf("rule_files lost an entry:\n%s", cfg)
	}
	if _, err := configWithRules("", dir, map[string]string{"../x.yaml": ""}); err == nil {
		t.Error("a rule file name with a path was accepted")
	}
}
