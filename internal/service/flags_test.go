package service

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseFlagsNamespaces(t *testing.T) {
	for _, tt := range []struct {
		args           []string
		watch, outputs []string
		usage          string // the error, when the arguments are refused
	}{
		{args: nil},
		{args: []string{"--watch-namespaces", "shop, cart,,"}, watch: []string{"shop", "cart"}},
		{args: []string{"--watch-namespaces=shop", "--output-namespaces=monitoring,shop"},
			watch: []string{"shop"}, outputs: []string{"monitoring", "shop"}},
		{args: []string{"--output-namespaces=monitoring"}, usage: "--output-namespaces needs --watch-namespaces"},
		{args: []string{"--watch-namespaces=shop", "--output-namespaces=Monitoring"}, usage: `--output-namespaces: "Monitoring" is not a namespace name`},
		{args: []string{"--watch-namespaces=shop/x"}, usage: `--watch-namespaces: "shop/x" is not a namespace name`},
	} {
		opts, _, err := parseFlags(tt.args, io.Discard)
		switch {
		case tt.usage != "":
			if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), tt.usage) {
				t.Errorf("%v: %v, want a usage error with %q", tt.args, err, tt.usage)
			}
		case err != nil:
			t.Errorf("%v: %v", tt.args, err)
		case !slices.Equal(opts.WatchNamespaces, tt.watch) || !slices.Equal(opts.OutputNamespaces, tt.outputs):
			t.Errorf("%v: watch %q, outputs %q; want %q, %q", tt.args, opts.WatchNamespaces, opts.OutputNamespaces, tt.watch, tt.outputs)
		}
	}
}
