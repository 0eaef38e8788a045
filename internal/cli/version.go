package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

func runVersion(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "version", "\n\nPrints the version of bundlegen and of the Go toolchain that built it.\n")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(fmt.Errorf("version: unexpected argument %q (version takes none)", rest[0]))
	}
	v := env.Version
	if v == "" {
		v = moduleVersion()
	}
	_, err = fmt.Fprintf(env.Stdout, "bundlegen %s (%s)\n", v, runtime.Version())
	return err
}

// moduleVersion is the version `go install module@version` stamped into the binary.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
