package cli

import (
	"cmp"
	"errors"
	"flag"
	"strings"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// input is where a command reads Istio objects from: the paths, or with
// none an embedded example (--example, podinfo by default).
type input struct {
	paths   []string
	example string
	// quiet: the paths need not hold a WasmPlugin or Telemetry (init
	// --from-routes reads route objects alone), so no note says so.
	quiet bool
}

// exampleFlag registers --example, shared by the commands that read Istio
// objects.
func exampleFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "example", "", "embedded `example` to read when no PATH is given: "+
		strings.Join(examples.Names(), " or ")+" (default "+examples.Default+")")
}

// check rejects an example asked for beside paths, and unknown examples.
func (in input) check() error {
	if in.example == "" {
		return nil
	}
	if len(in.paths) > 0 {
		return errors.New("--example reads an embedded example instead of PATH: give one or the other")
	}
	_, err := examples.ByName(in.example)
	return err
}

// read reads the manifests of the input, skipping the kinds the
// inventory does not read.
func (in input) read(env *Env) (*manifest.Result, error) {
	opts := manifest.Options{Keep: inventory.Reads}
	switch {
	case len(in.paths) == 0:
		fsys, err := examples.ByName(cmp.Or(in.example, examples.Default))
		if err != nil {
			return nil, err
		}
		return opts.ReadFS(fsys)
	case in.quiet:
		return opts.ReadPaths(in.paths, env.Stdin)
	}
	return readManifests(env, in.paths)
}
