package controller

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/routebundle/routebundle/bundle"
)

func TestDefaultOutputNamespaces(t *testing.T) {
	cfg := bundle.DefaultConfig() // rules.namespace unset, scrape.namespace monitoring
	if got := defaultOutputNamespaces(nil, cfg); got != nil {
		t.Errorf("not namespace-scoped: %q, want nil", got)
	}
	want := []string{"istio-system", "monitoring", "shop", "web"}
	if got := defaultOutputNamespaces(sourceNamespaces([]string{"web", "shop", "web"}, "istio-system"), cfg); !slices.Equal(got, want) {
		t.Errorf("default config: %q, want %q", got, want)
	}
	cfg.Rules.Namespace, cfg.Dashboards.ConfigMap.Namespace = "rules", "grafana"
	want = []string{"grafana", "istio-system", "monitoring", "rules", "shop"}
	if got := defaultOutputNamespaces(sourceNamespaces([]string{"shop"}, "istio-system"), cfg); !slices.Equal(got, want) {
		t.Errorf("config naming namespaces: %q, want %q", got, want)
	}
}

func TestOutputScopeCheck(t *testing.T) {
	scope := outputScope{sources: sourceNamespaces([]string{"shop"}, "istio-system"), outputs: []string{"istio-system", "monitoring", "shop"}}
	cfg := bundle.DefaultConfig()
	if err := scope.check("b.yaml", cfg); err != nil {
		t.Errorf("a config within the output namespaces: %v", err)
	}
	if err := (outputScope{}).check("b.yaml", bundle.Config{}); err != nil {
		t.Errorf("not namespace-scoped: %v", err)
	}
	for _, tt := range []struct {
		edit func(*bundle.Config)
		want []string
	}{
		{func(c *bundle.Config) { c.Rules.Namespace = "elsewhere" }, []string{`b.yaml: rules.namespace: namespace "elsewhere" is not among the output namespaces (istio-system, monitoring, shop; --output-namespaces)`}},
		{func(c *bundle.Config) { c.Scrape.Namespace = "prom" }, []string{`b.yaml: scrape.namespace: namespace "prom"`}},
		{func(c *bundle.Config) { c.Dashboards.ConfigMap.Namespace = "grafana" }, []string{`b.yaml: dashboards.configMap.namespace: namespace "grafana"`}},
	} {
		c := cfg
		tt.edit(&c)
		err := scope.check("b.yaml", c)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v, want an error with %q", err, w)
			}
		}
	}
	// Without rules.namespace each route set's rules go to its own
	// namespace: every source namespace must be an output namespace, the
	// root namespace's mesh-wide route sets included.
	narrow := outputScope{sources: scope.sources, outputs: []string{"monitoring", "shop"}}
	err := narrow.check("b.yaml", cfg)
	if err == nil || !strings.Contains(err.Error(), `b.yaml: rules.namespace: unset, each route set's rules go to its own namespace, and the source namespace "istio-system" is not among`) {
		t.Errorf("rules of the root namespace outside: %v", err)
	}
	cfg.Rules.Namespace = "monitoring"
	if err := narrow.check("b.yaml", cfg); err != nil {
		t.Errorf("rules.namespace inside: %v", err)
	}
}

// TestApplyAllRefusesOutsideTheOutputNamespaces: an object the config
// check could not foresee outside the output namespaces is not applied
// (nor looked up: it is neither watched nor readable there) and is a
// failure on its sources.
func TestApplyAllRefusesOutsideTheOutputNamespaces(t *testing.T) {
	c := &Controller{scope: outputScope{sources: []string{"istio-system", "podinfo"}, outputs: []string{"monitoring"}}, state: newPassState()}
	c.opts.defaults()
	c.log = c.opts.Logger
	objs := podinfoObjects(t)
	var outside []bundle.Object
	for _, o := range objs {
		if o.Object.GetNamespace() != "monitoring" {
			outside = append(outside, o)
		}
	}
	if len(outside) == 0 {
		t.Fatal("no object outside monitoring")
	}
	res := c.applyAll(t.Context(), outside)
	found, err := c.settle(res)
	if err != nil {
		t.Errorf("settle: %v", err)
	}
	for _, r := range res {
		if r.outcome != failed || r.err == nil || !strings.Contains(r.err.Error(), "is not among the output namespaces (monitoring") {
			t.Errorf("%s: %s %v, want failed, outside the output namespaces", r.key, r.outcome, r.err)
		}
	}
	if len(found) == 0 || found[0].reason != ReasonApplyFailed || !strings.Contains(found[0].message, "output namespaces") {
		t.Errorf("findings %+v, want ApplyFailed on the sources", found)
	}
}

// TestConfigFileRestricted: a config refused by the check is reported on
// reload as an invalid one is, and the one in force kept; a config in force
// that does not pass is an error at once.
func TestConfigFileRestricted(t *testing.T) {
	var logs bytes.Buffer
	p, write := configWriter(t)
	write("rules: {namespace: monitoring}\n")
	f, err := LoadConfigFile(p, 0, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	scope := outputScope{sources: sourceNamespaces([]string{"shop"}, "istio-system"), outputs: []string{"monitoring", "shop"}}
	if err := f.restrict(scope.check); err != nil {
		t.Fatal(err)
	}
	changes := 0
	f.notify(func() { changes++ })
	write("rules: {namespace: elsewhere}\n")
	f.reload()
	if changes != 0 || f.Current().Rules.Namespace != "monitoring" {
		t.Errorf("a config writing elsewhere: %d changes, rules.namespace %q, want monitoring kept", changes, f.Current().Rules.Namespace)
	}
	if !strings.Contains(logs.String(), "the new bundle config is invalid; keeping the one in force") ||
		!strings.Contains(logs.String(), `rules.namespace: namespace \"elsewhere\" is not among the output namespaces`) {
		t.Errorf("the refusal is not logged naming the key and namespace:\n%s", logs.String())
	}
	write("rules: {namespace: shop}\n")
	f.reload()
	if changes != 1 || f.Current().Rules.Namespace != "shop" {
		t.Errorf("a config within: %d changes, rules.namespace %q", changes, f.Current().Rules.Namespace)
	}

	def, err := LoadConfigFile("", 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = def.restrict(outputScope{sources: scope.sources, outputs: []string{"shop"}}.check)
	if err == nil || !strings.Contains(err.Error(), `the default bundle config: scrape.namespace: namespace "monitoring" is not among`) {
		t.Errorf("the default config outside: %v", err)
	}
}

// TestCheckConfigKeepsTheRootNamespace: Istio's root namespace is the
// config's at start; a config moving it is refused, in either mode.
func TestCheckConfigKeepsTheRootNamespace(t *testing.T) {
	c := &Controller{root: "mesh-root"}
	cfg := bundle.DefaultConfig()
	cfg.RootNamespace = "mesh-root"
	if err := c.checkConfig("b.yaml", cfg); err != nil {
		t.Errorf("the same root namespace: %v", err)
	}
	cfg.RootNamespace = ""
	err := c.checkConfig("b.yaml", cfg)
	if err == nil || !strings.Contains(err.Error(), `b.yaml: rootNamespace: "istio-system": Istio's root namespace was mesh-root when routebundle started`) {
		t.Errorf("the default root namespace instead: %v", err)
	}
}
