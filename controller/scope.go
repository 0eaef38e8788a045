package controller

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/routebundle/routebundle/bundle"
	"github.com/routebundle/routebundle/inventory"
)

// Namespace-scoped mode (WatchNamespaces set) reaches no namespace beyond
// the ones it is given: the sources are read in the watched namespaces and
// Istio's root namespace, the bundle's objects are watched and written in
// the output namespaces only, and a bundle config that would put an object
// elsewhere is refused rather than half applied (its writes would be
// forbidden, and its objects would be invisible to pruning). Only
// Namespaces, which are cluster-scoped, are watched cluster-wide.

// sourceNamespaces are the namespaces whose sources are read, nil for all:
// the watched ones and Istio's root namespace, whose policies reach every
// namespace.
func sourceNamespaces(watch []string, root string) []string {
	if len(watch) == 0 {
		return nil
	}
	return sortedSet(append(slices.Clone(watch), root))
}

// rootNamespace is Istio's root namespace as cfg says.
func rootNamespace(cfg bundle.Config) string {
	return cmp.Or(cfg.RootNamespace, inventory.RootNamespace)
}

// defaultOutputNamespaces are the output namespaces of namespace-scoped
// mode when none are given: where the config at start puts objects
// (rules.namespace, scrape.namespace, dashboards.configMap.namespace) and,
// since each route set's rules go to its own namespace unless
// rules.namespace is set, the source namespaces.
func defaultOutputNamespaces(sources []string, cfg bundle.Config) []string {
	if sources == nil {
		return nil // not namespace-scoped: every namespace
	}
	ns := slices.Clone(sources)
	for _, n := range configNamespaces(cfg) {
		if n.namespace != "" {
			ns = append(ns, n.namespace)
		}
	}
	return sortedSet(ns)
}

// configNamespace is a namespace the bundle config names, and its key.
type configNamespace struct{ key, namespace string }

// configNamespaces are the namespaces cfg writes objects to; "" for
// rules.namespace means each route set's own. The dashboards go to
// scrape.namespace unless the config names theirs (see bundleConfig).
func configNamespaces(cfg bundle.Config) []configNamespace {
	out := []configNamespace{{"rules.namespace", cfg.Rules.Namespace}, {"scrape.namespace", cfg.Scrape.Namespace}}
	if ns := cfg.Dashboards.ConfigMap.Namespace; ns != "" {
		out = append(out, configNamespace{"dashboards.configMap.namespace", ns})
	}
	return out
}

// outputScope is where namespace-scoped mode may write.
type outputScope struct {
	// sources are the source namespaces; nil: not namespace-scoped, and
	// any namespace is in scope.
	sources []string
	outputs []string
}

// allows reports whether objects may go to namespace ns.
func (s outputScope) allows(ns string) bool {
	return s.sources == nil || slices.Contains(s.outputs, ns)
}

// check refuses a config that puts objects outside the output namespaces,
// naming the key and the namespace; file names the config in the errors.
func (s outputScope) check(file string, cfg bundle.Config) error {
	if s.sources == nil {
		return nil
	}
	var errs []error
	refuse := func(key, msg string) {
		errs = append(errs, &bundle.ConfigError{File: file, Path: key,
			Msg: msg + " is not among the output namespaces (" + strings.Join(s.outputs, ", ") + "; --output-namespaces): routebundle may neither watch nor write objects there"})
	}
	for _, n := range configNamespaces(cfg) {
		switch {
		case n.namespace != "":
			if !s.allows(n.namespace) {
				refuse(n.key, fmt.Sprintf("namespace %q", n.namespace))
			}
		default:
			// Each route set's rules go to the namespace of its sources.
			for _, ns := range s.sources {
				if !s.allows(ns) {
					refuse(n.key, fmt.Sprintf("unset, each route set's rules go to its own namespace, and the source namespace %q", ns))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// outsideError is why an object is not applied: its namespace is outside
// the output namespaces. The config check keeps every namespace the config
// names inside; this catches what it cannot foresee.
func (s outputScope) outsideError(k objKey) error {
	return fmt.Errorf("namespace %s is not among the output namespaces (%s; --output-namespaces)",
		k.Namespace, strings.Join(s.outputs, ", "))
}

func sortedSet(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
