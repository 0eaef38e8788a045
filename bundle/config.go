package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/monitors"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/rules"
)

// Config is the bundle config file. Every section is decoded strictly onto
// its defaults: an omitted key keeps its default, an unknown key is an error
// naming the key and its line.
type Config struct {
	// Release, when set, is the kube-prometheus-stack release label of every
	// object (rules.release, scrape.release and dashboards.configMap.release).
	// Default "" (each section's own).
	Release string `yaml:"release"`
	// RootNamespace is Istio's root namespace (meshConfig.rootNamespace),
	// whose WasmPlugins and Telemetries apply mesh-wide. Default "" (istio-system).
	RootNamespace string `yaml:"rootNamespace"`
	// Alerts are the objectives, thresholds and alert switches of every route
	// that no WasmPlugin annotation overrides. Rules and dashboards share them.
	Alerts policy.Defaults `yaml:"alerts"`
	// Rules configures the recording rules and alerts.
	Rules rules.Options `yaml:"rules"`
	// Dashboards configures the Grafana dashboards and their ConfigMaps.
	Dashboards dashboards.Options `yaml:"dashboards"`
	// Scrape configures the PodMonitors, ServiceMonitors and scrape_configs.
	Scrape monitors.Options `yaml:"scrape"`
}

// DefaultConfig returns the configuration used when no file is given.
func DefaultConfig() Config {
	c := Config{
		Alerts:     policy.DefaultPolicy(),
		Rules:      rules.DefaultOptions(),
		Dashboards: dashboards.DefaultOptions(),
		Scrape:     monitors.DefaultOptions(),
	}
	c.apply()
	return c
}

// ParseConfig decodes a bundle config file named name. Every problem is
// reported, once, as a ConfigError naming the key as written
// (alerts.objective) and its line; the errors are joined.
func ParseConfig(name string, data []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: a bundle config is one YAML document", name)
	}
	d := &configDecoder{file: name, lines: map[string]int{}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		d.decode(doc.Content[0], reflect.ValueOf(&cfg).Elem(), "")
	}
	cfg.apply()
	cfg.check(d)
	if err := d.err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// syntaxError names the file and line of a YAML syntax error.
func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			return fmt.Errorf("%s:%s: %s", name, n, after)
		}
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// apply spreads the shared settings into the sections that use them.
func (c *Config) apply() {
	if c.Release != "" {
		c.Rules.Release = c.Release
		c.Scrape.Release = c.Release
		c.Dashboards.ConfigMap.Release = c.Release
	}
	c.Rules.Defaults = c.Alerts
	c.Dashboards.Policy = c.Alerts
	c.Rules.DashboardUID = dashboards.UID
}

// Validate checks every section; each problem is reported once, named by
// its key in the config file (alerts.objective, rules.errorSelector).
func (c Config) Validate() error {
	d := &configDecoder{file: "bundle config", lines: map[string]int{}}
	c.check(d)
	return d.err()
}

// check validates c into d. The alerting defaults are validated once, as
// alerts, though rules and dashboards hold copies; an invalid top-level
// release is reported as release, not again in each section it spreads to.
func (c Config) check(d *configDecoder) {
	if c.RootNamespace != "" {
		if msgs := validation.IsDNS1123Label(c.RootNamespace); len(msgs) > 0 {
			d.errorsAt("", fmt.Errorf("rootNamespace %q: %s", c.RootNamespace, msgs[0]))
		}
	}
	d.errorsAt("alerts", c.Alerts.Validate())
	badRelease := false
	if c.Release != "" {
		for _, msg := range validation.IsValidLabelValue(c.Release) {
			d.errorsAt("", fmt.Errorf("release: %s", msg))
			badRelease = true
		}
	}
	sections := c
	sections.Rules.Defaults = policy.DefaultPolicy()
	sections.Dashboards.Policy = policy.DefaultPolicy()
	if badRelease {
		sections.Rules.Release, sections.Scrape.Release, sections.Dashboards.ConfigMap.Release = "", "", ""
	}
	d.errorsAt("rules", sections.Rules.Validate())
	d.errorsAt("dashboards", sections.Dashboards.Validate())
	d.errorsAt("scrape", sections.Scrape.Validate())
}
