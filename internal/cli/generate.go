package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/inventory"
)

const generateUsage = `[-c CONFIG] [-o DIR|-] [--format operator|files] [--check] [--root-namespace NS] [--example NAME | PATH...]

Writes the monitoring bundle of the route classifications in the PATHs
(files, directories, - for standard input; the embedded example when none
is given: --example, podinfo by default): recording rules and alerts per
route, Grafana dashboards and scrape monitors. Diagnostics go to stderr.
Exits 1 on error diagnostics (the healthy route sets are still written)
or, with --check, when DIR is out of date or the input holds no route set
at all; 2 on bad flags, config or input.
`

type generateFlags struct {
	config  string
	out     string
	format  string
	check   bool
	root    string
	example string
}

// runGenerate turns Istio manifests (the embedded podinfo example when no
// PATH is given) into the monitoring bundle. Diagnostics go to stderr; error
// diagnostics exit 1 but the healthy route sets are still written.
func runGenerate(_ context.Context, env *Env, args []string) error {
	var gf generateFlags
	fs := newFlagSet(env, "generate", generateUsage)
	fs.StringVar(&gf.config, "c", "", "bundle config file (YAML); defaults apply when omitted")
	fs.StringVar(&gf.out, "o", "-", "output directory, or - for a multi-document YAML stream on stdout")
	fs.StringVar(&gf.format, "format", string(bundle.FormatOperator), "operator (Kubernetes objects) or files (plain rule files, dashboard JSON, scrape configs)")
	fs.BoolVar(&gf.check, "check", false, "write nothing; exit 1 with a summary when the output directory differs")
	rootNamespaceFlag(fs.FlagSet, &gf.root)
	exampleFlag(fs.FlagSet, &gf.example)
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	format, err := bundle.ParseFormat(gf.format)
	if err != nil {
		return usageError(err)
	}
	if gf.check && gf.out == "-" {
		return usageError(fmt.Errorf("--check needs an output directory (-o DIR)"))
	}
	cfg, err := loadConfig(gf.config)
	if err != nil {
		return usageError(err)
	}
	if gf.root != "" {
		cfg.RootNamespace = gf.root
	}
	b, sets, diags, err := buildBundle(env, input{paths: paths, example: gf.example}, cfg)
	if err != nil {
		return err
	}
	if err := diags.WriteText(env.Stderr); err != nil {
		return fmt.Errorf("writing diagnostics: %w", err)
	}
	if gf.check && sets == 0 {
		// A CI check of a bundle without routes checks nothing: an empty
		// directory, a mistyped path or classifications that all failed.
		return &ExitError{Code: ExitFindings, Err: fmt.Errorf("--check: the input holds no route set, so there is nothing to check")}
	}
	if err := emit(env, gf, b, format); err != nil {
		return err
	}
	if diags.HasErrors() {
		return findings()
	}
	return nil
}

func loadConfig(path string) (bundle.Config, error) {
	if path == "" {
		return bundle.DefaultConfig(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return bundle.Config{}, fmt.Errorf("reading config: %w", err)
	}
	return bundle.ParseConfig(path, data)
}

// buildBundle reads the inventory and builds the bundle; diagnostics of the
// input and of the generators come back together, sorted and unique, with
// the number of route sets read.
func buildBundle(env *Env, in input, cfg bundle.Config) (*bundle.Bundle, int, diag.List, error) {
	_, inv, err := loadInventory(env, in, inventory.WithRootNamespace(cfg.RootNamespace))
	if err != nil {
		return nil, 0, nil, err
	}
	b, genDiags, err := bundle.Build(inv, cfg)
	if err != nil {
		return nil, 0, nil, usageError(err)
	}
	return b, len(inv.RouteSets), diag.Merge(inv.Diagnostics, genDiags), nil
}

// emit renders the bundle and writes, streams or checks the files as the
// flags say.
func emit(env *Env, gf generateFlags, b *bundle.Bundle, format bundle.Format) error {
	switch {
	case gf.out == "-":
		files, err := b.Files(format)
		if err != nil {
			return err
		}
		return bundle.WriteStream(env.Stdout, files)
	case gf.check:
		return check(env, gf.out, b, format)
	}
	return writeDir(gf.out, b, format)
}

// check compares each file with the directory as soon as it is rendered and
// exits 1 with a summary when they differ.
func check(env *Env, dir string, b *bundle.Bundle, format bundle.Format) error {
	c := bundle.NewDirChecker(dir)
	if err := b.Render(format, c.Check); err != nil {
		return usageError(err)
	}
	drift, err := c.Finish()
	if err != nil {
		return usageError(err)
	}
	if drift.Empty() {
		return nil
	}
	fmt.Fprintf(env.Stderr, "bundlegen: %s is out of date; run bundlegen generate without --check:\n", dir)
	if err := drift.WriteSummary(env.Stderr); err != nil {
		return err
	}
	return findings()
}

// writeDir writes each file as soon as it is rendered, then removes stale
// files; a failed render or write leaves stale files in place.
func writeDir(dir string, b *bundle.Bundle, format bundle.Format) error {
	w, err := bundle.NewDirWriter(dir)
	if err != nil {
		return usageError(err)
	}
	if err := b.Render(format, w.Write); err != nil {
		return usageError(err)
	}
	if _, err := w.Finish(); err != nil {
		return usageError(err)
	}
	return nil
}
