package cli

import (
	"fmt"
	"strings"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// readManifests reads the PATHs, or the embedded example when there are
// none, and says so on stderr when they hold no WasmPlugin and no
// Telemetry: an empty directory or a mistyped path would otherwise pass
// for a mesh without routes.
func readManifests(env *Env, paths []string) (*manifest.Result, error) {
	// Objects of other kinds are skipped before they are parsed.
	opts := manifest.Options{Keep: inventory.Reads}
	if len(paths) == 0 {
		return opts.ReadFS(examples.Podinfo())
	}
	res, err := opts.ReadPaths(paths, env.Stdin)
	if err != nil {
		return nil, err
	}
	if !hasClassification(res) {
		read := plural(res.Files, "manifest file") + " read"
		if res.Skipped > 0 {
			read += ", " + plural(res.Skipped, "object") + " of other kinds skipped"
		}
		fmt.Fprintf(env.Stderr, "bundlegen: note: no WasmPlugin or Telemetry in %s (%s); there are no routes to classify\n",
			strings.Join(paths, ", "), read)
	}
	return res, nil
}

// hasClassification reports whether res holds a WasmPlugin or a Telemetry
// (of any API version: a wrong one is the inventory's to report).
func hasClassification(res *manifest.Result) bool {
	for i := range res.Objects {
		switch res.Objects[i].Kind {
		case "WasmPlugin", "Telemetry":
			return true
		}
	}
	return false
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
