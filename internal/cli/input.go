package cli

import (
	"fmt"
	"strings"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/manifest"
)

// readManifests reads the PATHs, or the embedded example when there are
// none, and says so on stderr when they hold no WasmPlugin and no
// Telemetry: an empty directory or a mistyped path would otherwise pass
// for a mesh without routes.
func readManifests(env *Env, paths []string) (*manifest.Result, error) {
	if len(paths) == 0 {
		return manifest.ReadFS(examples.Podinfo())
	}
	res, err := manifest.ReadPaths(paths, env.Stdin)
	if err != nil {
		return nil, err
	}
	if !hasClassification(res) {
		fmt.Fprintf(env.Stderr, "bundlegen: note: no WasmPlugin or Telemetry in %s (%s read); there are no routes to classify\n",
			strings.Join(paths, ", "), plural(res.Files, "manifest file"))
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
