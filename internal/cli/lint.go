package cli

import (
	"context"
	"fmt"

	"github.com/routebundle/routebundle/attrgen"
)

const lintUsage = "[-o text|json] [PATH...]"

// runLint reads Istio objects and reports every diagnostic: text lines
// `file:line: severity code object: message [field]` or a JSON array. It
// exits 1 when any diagnostic is an error.
func runLint(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "lint", lintUsage)
	format := fs.String("o", "text", "output format: text or json")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return usageError(fmt.Errorf("lint: -o %q: want text or json", *format))
	}
	aenv, err := attrgen.NewEnv()
	if err != nil {
		return err
	}
	// readInventory (explain.go) reads the paths, or the embedded example.
	inv, err := readInventory(env, aenv, paths)
	if err != nil {
		return usageError(err)
	}
	write := inv.Diagnostics.WriteText
	if *format == "json" {
		write = inv.Diagnostics.WriteJSON
	}
	if err := write(env.Stdout); err != nil {
		return fmt.Errorf("lint: writing diagnostics: %w", err)
	}
	if inv.Diagnostics.HasErrors() {
		return findings()
	}
	return nil
}
