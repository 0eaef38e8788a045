// Package cli implements the bundlegen command line. Each subcommand lives in
// its own file as a func(ctx, *Env, args) error; main only wires the process
// in and out.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
)

// Exit codes shared by every subcommand.
const (
	ExitOK       = 0
	ExitFindings = 1 // error-severity diagnostics, or --check found drift
	ExitUsage    = 2 // bad flags or unreadable input
)

// Env is the process environment a subcommand may touch.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Version is printed by `bundlegen version`.
	Version string
}

// ExitError carries a specific exit code out of a subcommand; its message,
// when not empty, is printed to stderr.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError wraps err as an exit-2 error.
func usageError(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// findings is the exit-1 result of a run whose output names its own problems.
func findings() error { return &ExitError{Code: ExitFindings} }

type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"explain":  {"show which route a request gets and why", runExplain},
		"generate": {"write the monitoring bundle: rules, alerts, dashboards, scrape monitors", runGenerate},
		"init":     {"write the Istio classification for an OpenAPI spec or a route list", runInit},
		"lint":     {"check Istio route classification objects and report diagnostics", runLint},
		"routes":   {"show per-route traffic, success and latency from Prometheus", runRoutes},
		"version":  {"print the version", runVersion},
	}
}

// Run executes bundlegen with args (without the program name) and returns the exit code.
func Run(ctx context.Context, env *Env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(env.Stderr, cmds)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "bundlegen: unknown command %q\n", args[0])
		printUsage(env.Stderr, cmds)
		return ExitUsage
	}
	return exitCode(env.Stderr, cmd.run(ctx, env, args[1:]))
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "bundlegen: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(stderr, "bundlegen: %v\n", err)
	return ExitUsage
}

func printUsage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: bundlegen COMMAND [FLAGS] [ARGS]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

// newFlagSet returns a flag set whose errors and help go to env.Stderr and
// that reports problems instead of exiting.
func newFlagSet(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: bundlegen %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, mapping flag errors to usage errors. Flags may
// follow positional arguments, as users of kubectl-style tools expect.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &ExitError{Code: ExitUsage}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		// flag stops at the first non-flag ("-" for stdin included); keep it
		// and go on parsing what follows.
		positional = append(positional, args[0])
		args = args[1:]
	}
}
