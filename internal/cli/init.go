package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/routebundle/routebundle/scaffold"
)

// maxInputBytes bounds the spec init reads: far above any real API
// description, low enough that a wrong file fails fast.
const maxInputBytes = 32 << 20

const initUsage = `[--openapi FILE | --routes FILE | --from-routes PATH...] [--namespace NS] [--waypoint NAME | --selector k=v,...] [--no-wasm] [--side waypoint|gateway|client] [-o FILE|-]

Writes the Istio classification for the routes of an OpenAPI 3.0/3.1
document (YAML or JSON) or of a route list (one "METHOD /path [VALUE]" per
line): an attributegen WasmPlugin and a Telemetry that tags request counts
and durations with the route, or with --no-wasm a single Telemetry whose tag
is a CEL expression. FILE may be - for standard input.

With --from-routes, the routes are the mesh's own: the HTTPRoutes,
GRPCRoutes and VirtualServices in PATH... (files, directories, -), and the
Telemetry tags metrics with the name istiod gives the route that matched
(xds.route_name), no WasmPlugin needed. --side says where: the waypoint of
the routes' Services (default; --waypoint names it, else the Namespace
label or the Services themselves are targeted), the Gateways they attach
to, or the client sidecars of --namespace (--selector narrows them). Rules
without a name get one suggested, on stderr and in the header.
`

// initFlags are the flags of `bundlegen init`.
type initFlags struct {
	openAPI, routes, output string
	selector                string
	// fromRoutes reads route objects from the positional paths, for a
	// Telemetry reading xds.route_name on side.
	fromRoutes bool
	side       string
	maxRoutes  int
	basePath   string
	opts       scaffold.Options
}

func runInit(_ context.Context, env *Env, args []string) error {
	f, paths, err := parseInitFlags(env, args)
	if err != nil {
		return err
	}
	if f.fromRoutes {
		return initFromRoutes(env, f, paths)
	}
	routes, err := readRoutes(env, f)
	if err != nil {
		return usageError(err)
	}
	out, err := scaffold.Generate(routes, f.opts)
	if err != nil {
		return usageError(err)
	}
	data, err := out.YAML()
	if err != nil {
		return err
	}
	return writeOutput(env, f.output, data)
}

func parseInitFlags(env *Env, args []string) (*initFlags, []string, error) {
	f := &initFlags{}
	fs := newFlagSet(env, "init", initUsage)
	fs.StringVar(&f.openAPI, "openapi", "", "OpenAPI 3.0/3.1 `FILE` (YAML or JSON) to read the routes from")
	fs.StringVar(&f.routes, "routes", "", "route list `FILE`: one \"METHOD /path [VALUE]\" per line, # comments")
	fs.StringVar(&f.opts.Namespace, "namespace", scaffold.DefaultNamespace, "namespace of the generated objects")
	fs.StringVar(&f.opts.Waypoint, "waypoint", "", "classify on the waypoint Gateway `NAME` (targetRefs)")
	fs.StringVar(&f.selector, "selector", "", "classify on the sidecars of the workloads with these labels (`k=v,...`)")
	fs.BoolVar(&f.opts.NoWasm, "no-wasm", false, fmt.Sprintf("write a single Telemetry whose tag is a CEL expression (at most %d routes)", scaffold.MaxCELRoutes))
	fs.StringVar(&f.opts.Tag, "tag", scaffold.DefaultTag, "metric tag that carries the route")
	fs.StringVar(&f.opts.Attribute, "attribute", scaffold.DefaultAttribute, "attributegen output attribute")
	fs.StringVar(&f.opts.PluginURL, "url", scaffold.DefaultPluginURL, "`URL` of the attributegen Wasm module")
	fs.StringVar(&f.opts.Name, "name", "", "name of the generated objects (default <waypoint>-routes, or routes)")
	fs.StringVar(&f.basePath, "base-path", "", "`PREFIX` for every path, e.g. the path of the spec's servers URL (/v1)")
	fs.IntVar(&f.maxRoutes, "max-routes", scaffold.DefaultMaxRoutes, "refuse inputs with more routes than `N`")
	fs.StringVar(&f.output, "o", "-", "write to `FILE` (- for standard output)")
	fromRoutesFlags(fs.FlagSet, f)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if f.opts.Selector, err = parseLabels(f.selector); err != nil {
		return nil, nil, usageError(fmt.Errorf("init: --selector: %w", err))
	}
	if f.fromRoutes {
		return f, rest, checkFromRoutes(fs.FlagSet, f, rest)
	}
	if len(rest) > 0 {
		return nil, nil, usageError(fmt.Errorf("init: unexpected argument %q (the input is given with --openapi, --routes or --from-routes)", rest[0]))
	}
	if (f.openAPI == "") == (f.routes == "") {
		return nil, nil, usageError(errors.New("init: give exactly one of --openapi FILE, --routes FILE and --from-routes PATH..."))
	}
	if f.maxRoutes <= 0 {
		return nil, nil, usageError(fmt.Errorf("init: --max-routes %d: want a positive number", f.maxRoutes))
	}
	return f, nil, nil
}

// readRoutes reads and parses the input named by the flags.
func readRoutes(env *Env, f *initFlags) ([]scaffold.Route, error) {
	path, parse := f.openAPI, scaffold.ParseOpenAPI
	if f.routes != "" {
		path, parse = f.routes, scaffold.ParseRouteList
	}
	data, err := readInput(env, path)
	if err != nil {
		return nil, err
	}
	name := path
	if path == "-" {
		name = "<stdin>"
	}
	f.opts.Source = name
	if f.openAPI != "" && f.basePath == "" {
		if base := scaffold.ServerBasePath(data); base != "" {
			// Not an error: a gateway in front may strip the prefix. But if
			// it does not, every request would be tagged unknown.
			fmt.Fprintf(env.Stderr, "bundlegen: note: %s serves its paths under %s (servers); if requests reach the proxy with that prefix, add --base-path %s\n", name, base, base)
		}
	}
	return parse(name, data, scaffold.ParseOptions{MaxRoutes: f.maxRoutes, BasePath: f.basePath, RaiseLimit: "--max-routes N"})
}

// readInput reads a file, or standard input for "-", up to maxInputBytes.
func readInput(env *Env, path string) ([]byte, error) {
	r := env.Stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		r = file
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, maxInputBytes>>20)
	}
	return data, nil
}

// writeOutput writes data to the file named by -o, or to stdout for "-".
func writeOutput(env *Env, path string, data []byte) error {
	if path == "-" {
		_, err := env.Stdout.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	return nil
}

// parseLabels parses "k=v,k2=v2" into a map; the empty string is no labels.
// Keys and values are checked by the consumer, which knows the rules.
func parseLabels(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", kv)
		}
		if _, dup := labels[k]; dup {
			return nil, fmt.Errorf("label %q given twice", k)
		}
		labels[k] = strings.TrimSpace(v)
	}
	return labels, nil
}
