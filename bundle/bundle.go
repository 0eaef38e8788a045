// Package bundle assembles routebundle's generators into one monitoring
// bundle — recording rules and alerts, Grafana dashboards, scrape monitors —
// and renders it as files in either of bundlegen's output formats. It is
// pure: reading manifests and writing files is the caller's business.
package bundle

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/monitors"
	"github.com/routebundle/routebundle/rules"
)

// Bundle is everything generated for one inventory.
type Bundle struct {
	Rules      *rules.Bundle
	Dashboards []dashboards.Dashboard
	Monitors   monitors.Set
	config     Config
	// inv names the sources of each object (see Objects).
	inv *inventory.Inventory
}

// Build generates the bundle. Route sets the generators cannot serve are
// reported as diagnostics and left out; the others are still generated. The
// error is for invalid configuration only.
func Build(inv *inventory.Inventory, cfg Config) (*Bundle, diag.List, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	mons, err := monitors.Build(cfg.Scrape, ambient(inv))
	if err != nil {
		return nil, nil, err
	}
	// The generators are pure and independent: build them side by side.
	var (
		rb                   *rules.Bundle
		dbs                  []dashboards.Dashboard
		ruleDiags, dashDiags diag.List
		wg                   sync.WaitGroup
	)
	wg.Go(func() { rb, ruleDiags = rules.Build(inv, cfg.Rules) })
	dbs, dashDiags = dashboards.Build(inv, cfg.Dashboards)
	wg.Wait()
	return &Bundle{Rules: rb, Dashboards: dbs, Monitors: mons, config: cfg, inv: inv}, diag.Merge(ruleDiags, dashDiags), nil
}

// ambient reports whether any namespace of the inventory is in ambient mode:
// then ztunnel carries its traffic and is worth scraping.
func ambient(inv *inventory.Inventory) bool {
	return slices.ContainsFunc(inv.Namespaces, func(ns inventory.Namespace) bool {
		return ns.DataplaneMode == "ambient"
	})
}

// Format is a bundlegen output format.
type Format string

// Output formats.
const (
	// FormatOperator: Kubernetes objects for the Prometheus operator and
	// Grafana's dashboard sidecar, one file each, for `kubectl apply -f DIR`.
	FormatOperator Format = "operator"
	// FormatFiles: plain Prometheus rule files, dashboard JSON and
	// scrape_configs, for setups without the operator.
	FormatFiles Format = "files"
)

// ParseFormat validates a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatOperator, FormatFiles:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want %q or %q)", s, FormatOperator, FormatFiles)
}

// Files renders the bundle in format f, sorted by path.
func (b *Bundle) Files(f Format) (Files, error) {
	var (
		files Files
		mu    sync.Mutex
	)
	err := b.Render(f, func(file File) error {
		file.Data = bytes.Clone(file.Data) // Render reuses the buffer
		mu.Lock()
		defer mu.Unlock()
		files = append(files, file)
		return nil
	})
	if err != nil {
		return nil, err
	}
	files.sort()
	return files, nil
}

// Render renders the bundle in format f and hands each file to emit as soon
// as it is ready, from all cores at once and in no particular order: emit
// must be safe for concurrent use, and must not keep file.Data after it
// returns, for the buffer is reused. Writing files as they come keeps a
// thousand rendered dashboards from being held in memory together.
func (b *Bundle) Render(f Format, emit func(File) error) error {
	switch f {
	case FormatOperator:
		return b.operatorFiles(emit)
	case FormatFiles:
		return b.plainFiles(emit)
	}
	_, err := ParseFormat(string(f))
	return err
}
