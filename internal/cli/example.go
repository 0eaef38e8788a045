package cli

import (
	"errors"
	"flag"
	"strings"

	"github.com/routebundle/routebundle/examples"
	"github.com/routebundle/routebundle/manifest"
)

// input is where a command reads Istio objects from: the paths, or with
// none an embedded example (--example, podinfo by default).
type input struct {
	paths   []string
	example string
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

// read reads the manifests of the input.
func (in input) read(env *Env) (*manifest.Result, error) {
	if len(in.paths) > 0 {
		return manifest.ReadPaths(in.paths, env.Stdin)
	}
	name := in.example
	if name == "" {
		name = examples.Default
	}
	fsys, err := examples.ByName(name)
	if err != nil {
		return nil, err
	}
	return manifest.ReadFS(fsys)
}
