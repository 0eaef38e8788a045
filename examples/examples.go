// Package examples embeds the example manifests so that bundlegen works with
// no input path: `bundlegen generate` runs on the podinfo example.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed podinfo/*.yaml
var podinfo embed.FS

// Podinfo returns the blog's podinfo setup: an ambient namespace with a
// waypoint, an attributegen WasmPlugin and a Telemetry. Its files are named
// podinfo/*.yaml.
func Podinfo() fs.FS { return podinfo }
