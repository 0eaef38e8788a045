package controller

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/routebundle/routebundle/bundle"
)

// ConfigFile is the bundle config file (the one `bundlegen generate -c`
// reads), re-read while the controller runs: mounted from a ConfigMap, it
// changes when the ConfigMap does. A new config that does not parse is
// reported and the old one kept. Polling, rather than inotify, sees the
// kubelet's symlink swap of a ConfigMap volume like any other change.
type ConfigFile struct {
	path string
	poll time.Duration
	log  *slog.Logger

	mu       sync.Mutex
	cfg      bundle.Config
	data     []byte // what cfg was parsed from, or the last invalid content seen
	onChange func()
	// check, when set, refuses configs that parse but do not fit the
	// controller (objects outside namespace-scoped mode's namespaces).
	check func(file string, cfg bundle.Config) error
}

// LoadConfigFile reads path; "" is the default config, which never changes.
// A config that does not load is an error: the controller does not start on
// a config it cannot read.
func LoadConfigFile(path string, poll time.Duration, log *slog.Logger) (*ConfigFile, error) {
	f := &ConfigFile{path: path, poll: poll, log: log, cfg: bundle.DefaultConfig()}
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle config: %w", err)
	}
	if f.cfg, err = bundle.ParseConfig(path, data); err != nil {
		return nil, err
	}
	f.data = data
	return f, nil
}

// Current returns the config in force.
func (f *ConfigFile) Current() bundle.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// notify sets the function called after the config changed.
func (f *ConfigFile) notify(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onChange = fn
}

// restrict makes check refuse configs from now on; the config in force must
// pass it.
func (f *ConfigFile) restrict(check func(file string, cfg bundle.Config) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := check(f.name(), f.cfg); err != nil {
		return err
	}
	f.check = check
	return nil
}

// name is how errors name the config.
func (f *ConfigFile) name() string {
	if f.path == "" {
		return "the default bundle config"
	}
	return f.path
}

// Start polls the file until ctx ends (a manager.Runnable).
func (f *ConfigFile) Start(ctx context.Context) error {
	if f.path == "" {
		return nil
	}
	t := time.NewTicker(f.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f.reload()
		}
	}
}

// NeedLeaderElection is false: every replica keeps its config current.
func (f *ConfigFile) NeedLeaderElection() bool { return false }

// reload re-reads the file and swaps in a changed, valid config.
func (f *ConfigFile) reload() {
	data, err := os.ReadFile(f.path)
	if err != nil {
		// A ConfigMap volume swaps its files atomically; a missing file is
		// an operator's doing, and the config in force stays.
		f.log.Error("cannot read the bundle config; keeping the one in force", "path", f.path, "error", err)
		return
	}
	f.mu.Lock()
	if bytes.Equal(data, f.data) {
		f.mu.Unlock()
		return
	}
	f.data = data
	cfg, err := bundle.ParseConfig(f.path, data)
	if err == nil && f.check != nil {
		err = f.check(f.path, cfg)
	}
	if err != nil {
		f.mu.Unlock()
		f.log.Error("the new bundle config is invalid; keeping the one in force", "path", f.path, "error", err)
		return
	}
	f.cfg = cfg
	onChange := f.onChange
	f.mu.Unlock()
	f.log.Info("bundle config changed", "path", f.path)
	if onChange != nil {
		onChange()
	}
}
