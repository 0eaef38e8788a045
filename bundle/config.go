package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

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

// ParseConfig decodes a bundle config file named name.
func ParseConfig(name string, data []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: a bundle config is one YAML document", name)
	}
	cfg.apply()
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
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

// Validate checks every section, naming the section in the error.
func (c Config) Validate() error {
	var errs []error
	if err := c.Alerts.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("alerts: %w", err))
	}
	if err := c.Rules.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("rules: %w", err))
	}
	if err := c.Dashboards.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("dashboards: %w", err))
	}
	if err := c.Scrape.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("scrape: %w", err))
	}
	return errors.Join(errs...)
}
