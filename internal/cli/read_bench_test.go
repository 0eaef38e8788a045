package cli

import (
	"context"
	"io"
	"testing"

	"github.com/routebundle/routebundle/internal/synth"
	"github.com/routebundle/routebundle/inventory"
	"github.com/routebundle/routebundle/manifest"
)

// BenchmarkReadUnrelatedKinds reads 107 MB of ConfigMaps (issue 11): `lint`
// end to end, which skips them unparsed, and the same read without the
// filter, which parses every document, for comparison. `make
// bench-generate` reports the binary's wall time and peak RSS on the same
// input.
func BenchmarkReadUnrelatedKinds(b *testing.B) {
	in := b.TempDir()
	size, err := synth.BenchmarkConfigMaps().Write(in)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("lint", func(b *testing.B) {
		env := &Env{Stdout: io.Discard, Stderr: io.Discard}
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if code := Run(context.Background(), env, []string{"lint", in}); code != ExitOK {
				b.Fatalf("exit %d", code)
			}
		}
	})
	b.Run("parse-all", func(b *testing.B) {
		builder, err := inventory.NewDefaultBuilder()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			res, err := manifest.ReadPaths([]string{in}, nil)
			if err != nil {
				b.Fatal(err)
			}
			builder.FromManifests(res)
		}
	})
}
