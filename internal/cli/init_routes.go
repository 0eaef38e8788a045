package cli

import (
	"errors"
	"flag"
	"fmt"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/scaffold"
)

// fromRoutesFlags registers the flags of init --from-routes.
func fromRoutesFlags(fs *flag.FlagSet, f *initFlags) {
	fs.BoolVar(&f.fromRoutes, "from-routes", false, "read HTTPRoutes, GRPCRoutes and VirtualServices from the PATH arguments and write the Telemetry that tags metrics with their route names (xds.route_name)")
	fs.StringVar(&f.side, "side", string(scaffold.SideWaypoint), "with --from-routes: where the names are read, `waypoint`, gateway or client")
}

// checkFromRoutes rejects the flags that do not apply to --from-routes.
func checkFromRoutes(fs *flag.FlagSet, f *initFlags, paths []string) error {
	if len(paths) == 0 {
		return usageError(errors.New("init: --from-routes needs the PATH of route objects (files, directories, or - for standard input)"))
	}
	var bad []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "openapi", "routes", "no-wasm", "attribute", "url", "base-path", "max-routes":
			bad = append(bad, "--"+fl.Name)
		}
	})
	if len(bad) > 0 {
		return usageError(fmt.Errorf("init: %v do not apply to --from-routes, which writes only a Telemetry reading the route objects' names", bad))
	}
	if _, err := scaffold.ParseSide(f.side); err != nil {
		return usageError(fmt.Errorf("init: --side: %w", err))
	}
	return nil
}

// initFromRoutes writes the Telemetry of route names for the route objects
// in paths, and the names their unnamed rules should get.
func initFromRoutes(env *Env, f *initFlags, paths []string) error {
	_, inv, err := loadInventory(env, input{paths: paths, quiet: true})
	if err != nil {
		return err
	}
	// What makes the input unreadable is said here, by file, object and
	// field, whether or not a Telemetry reaches the object yet; the
	// Telemetry covers the objects that could be read.
	bad := inputErrors(inv)
	if err := bad.WriteText(env.Stderr); err != nil {
		return fmt.Errorf("writing diagnostics: %w", err)
	}
	side, _ := scaffold.ParseSide(f.side)
	opts := scaffold.RouteNamesOptions{Side: side, Name: f.opts.Name, Namespace: f.opts.Namespace,
		Selector: f.opts.Selector, Waypoint: f.opts.Waypoint, Tag: f.opts.Tag, Source: describePaths(paths)}
	out, err := scaffold.FromRoutes(inv, opts)
	if err != nil {
		return usageError(fmt.Errorf("init: %w", err))
	}
	for _, n := range out.Notes {
		fmt.Fprintf(env.Stderr, "bundlegen: note: %s\n", n)
	}
	for _, s := range out.Suggestions {
		fmt.Fprintf(env.Stderr, "bundlegen: suggestion: %s\n", s)
	}
	data, err := out.YAML()
	if err != nil {
		return err
	}
	if err := writeOutput(env, f.output, data); err != nil {
		return err
	}
	if len(bad) > 0 {
		return findings()
	}
	return nil
}

// inputErrors are the error diagnostics of the input and of its route
// objects, each once.
func inputErrors(inv *inventory.Inventory) diag.List {
	var out diag.List
	for _, d := range diag.Merge(inv.Diagnostics, inv.Routes.Diagnostics) {
		if d.Severity == diag.Error {
			out = append(out, d)
		}
	}
	return out
}

func describePaths(paths []string) string {
	if len(paths) == 1 && paths[0] == "-" {
		return "<stdin>"
	}
	s := fmt.Sprint(paths)
	return s[1 : len(s)-1]
}
