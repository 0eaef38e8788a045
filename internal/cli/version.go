package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

func runVersion(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "version", "")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	v := env.Version
	if v == "" {
		v = moduleVersion()
	}
	_, err := fmt.Fprintf(env.Stdout, "bundlegen %s (%s)\n", v, runtime.Version())
	return err
}

// moduleVersion is the version `go install module@version` stamped into the binary.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
