package cli

import (
	"context"
	"fmt"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/policy"
)

const lintUsage = `[-o text|json] [--root-namespace NS] [--example NAME | PATH...]

Reads WasmPlugin, Telemetry, Gateway and Namespace objects, and the route
objects (HTTPRoute, GRPCRoute, VirtualService) and Services a tag reading
xds.route_name needs, from the PATHs (files, directories, - for standard
input; the embedded example when none is given: --example, podinfo by
default) and reports every finding, one line each:
file:line: severity code object: message [field]. docs/diagnostics.md
lists the codes. Exits 1 when a finding is an error, 2 on unreadable input.
`

// runLint reads Istio objects and reports every diagnostic: text lines
// `file:line: severity code object: message [field]` or a JSON array. It
// exits 1 when any diagnostic is an error.
func runLint(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "lint", lintUsage)
	format := fs.String("o", "text", "output format: text or json")
	var root, example string
	rootNamespaceFlag(fs.FlagSet, &root)
	exampleFlag(fs.FlagSet, &example)
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return usageError(fmt.Errorf("lint: -o %q: want text or json", *format))
	}
	_, inv, err := loadInventory(env, input{paths: paths, example: example}, inventory.WithRootNamespace(root))
	if err != nil {
		return err
	}
	diags := lintDiagnostics(inv)
	write := diags.WriteText
	if *format == "json" {
		write = diags.WriteJSON
	}
	if err := write(env.Stdout); err != nil {
		return fmt.Errorf("lint: writing diagnostics: %w", err)
	}
	if diags.HasErrors() {
		return findings()
	}
	return nil
}

// lintDiagnostics adds the findings about each route set's alerting
// annotations (routebundle.io/...) to the inventory's, so that a malformed
// objective shows up in lint and not only when the bundle is generated.
// Route sets sharing a WasmPlugin report its annotations once.
func lintDiagnostics(inv *inventory.Inventory) diag.List {
	lists := []diag.List{inv.Diagnostics}
	for i := range inv.RouteSets {
		_, d := policy.Resolve(&inv.RouteSets[i], policy.DefaultPolicy())
		lists = append(lists, d)
	}
	return diag.Merge(lists...)
}
