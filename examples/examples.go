// Package examples embeds the example manifests so that bundlegen works with
// no input path: `bundlegen generate` runs on the podinfo example, and
// `--example NAME` picks another.
package examples

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed podinfo/*.yaml
var podinfo embed.FS

//go:embed httproute/*.yaml
var httproute embed.FS

// Default is the example read when a command gets no input path.
const Default = "podinfo"

// Podinfo returns the blog's podinfo setup: an ambient namespace with a
// waypoint, an attributegen WasmPlugin and a Telemetry. Its files are named
// podinfo/*.yaml.
func Podinfo() fs.FS { return podinfo }

// HTTPRoute returns podinfo behind its waypoint with an HTTPRoute whose
// named rules are the routes, and a Telemetry tagging metrics with
// xds.route_name: no WasmPlugin. Its files are named httproute/*.yaml.
func HTTPRoute() fs.FS { return httproute }

// Names lists the examples, sorted.
func Names() []string { return []string{"httproute", "podinfo"} }

// ByName returns the example called name, or an error naming the others.
func ByName(name string) (fs.FS, error) {
	switch name {
	case "podinfo":
		return podinfo, nil
	case "httproute":
		return httproute, nil
	}
	return nil, fmt.Errorf("no example %q (the examples are %s)", name, strings.Join(Names(), ", "))
}
