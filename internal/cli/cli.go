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
	"strings"
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
// Help that was asked for (-h, --help, help [COMMAND]) goes to stdout and
// exits 0; usage after a mistake goes to stderr and exits 2.
func Run(ctx context.Context, env *Env, args []string) int {
	cmds := commands()
	if len(args) == 0 {
		printUsage(env.Stderr, cmds)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printUsage(env.Stdout, cmds)
		return ExitOK
	case "help":
		if len(args) == 1 {
			printUsage(env.Stdout, cmds)
			return ExitOK
		}
		if _, ok := cmds[args[1]]; ok && len(args) == 2 {
			return exitCode(env.Stderr, cmds[args[1]].run(ctx, env, []string{"-h"}))
		}
		fmt.Fprintf(env.Stderr, "bundlegen: help: unknown command %q\n", strings.Join(args[1:], " "))
		printUsage(env.Stderr, cmds)
		return ExitUsage
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
			printError(stderr, ee.Err)
		}
		return ee.Code
	}
	printError(stderr, err)
	return ExitUsage
}

// printError writes err, one "bundlegen: " line per line of it (joined
// errors, such as a config file's problems, are one per line).
func printError(w io.Writer, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(w, "bundlegen: %s\n", line)
	}
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
	fmt.Fprintln(w, "\n`bundlegen COMMAND -h` (or `bundlegen help COMMAND`) describes a command's flags.")
}

// flagSet is a subcommand's flags with its usage text.
type flagSet struct {
	*flag.FlagSet
	env   *Env
	usage string
}

// newFlagSet returns the flags of subcommand name. Parse errors go to
// env.Stderr with the usage; -h prints the usage to env.Stdout.
func newFlagSet(env *Env, name, usage string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {} // printed by parse, to the right stream
	return &flagSet{FlagSet: fs, env: env, usage: usage}
}

// printUsage writes the command's usage line, text and flags to w.
func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: bundlegen %s %s\n", fs.Name(), fs.usage)
	flags := 0
	fs.VisitAll(func(*flag.Flag) { flags++ })
	if flags == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(fs.env.Stderr)
}

// parseFlags parses args and returns the positional arguments. Flags may
// follow positional arguments, as users of kubectl-style tools expect; after
// "--" everything is positional. -h and --help print the usage to stdout
// (flag.ErrHelp, exit 0); a bad flag prints the error and the usage to
// stderr (exit 2).
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printUsage(fs.env.Stdout)
				return nil, err
			}
			// flag has printed the error itself.
			fs.printUsage(fs.env.Stderr)
			return nil, &ExitError{Code: ExitUsage}
		}
		rest := fs.Args()
		if endOfFlags(fs, args, rest) {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		// flag stops at the first non-flag ("-" for stdin included); keep it
		// and go on parsing what follows.
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// endOfFlags reports whether Parse stopped at a "--" terminator (rather
// than at a flag whose value is "--").
func endOfFlags(fs *flagSet, args, rest []string) bool {
	i := len(args) - len(rest) - 1
	if i < 0 || args[i] != "--" {
		return false
	}
	if i == 0 {
		return true
	}
	prev := args[i-1]
	if !strings.HasPrefix(prev, "-") || strings.Contains(prev, "=") {
		return true
	}
	f := fs.Lookup(strings.TrimLeft(prev, "-"))
	if f == nil {
		return true
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return true
	}
	return false // "--" was the value of prev
}
