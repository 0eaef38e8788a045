package cli

import (
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/routebundle/routebundle/internal/synth"
)

// BenchmarkGenerate runs `bundlegen generate` end to end — read, lint,
// build, render, write — on 1,000 WasmPlugins × 10 routes in 100 namespaces
// (issue target: under 1 s and 200 MiB). peak-RSS-MiB is the whole test
// process's high-water mark, so it bounds the command's from above.
func BenchmarkGenerate(b *testing.B) {
	for _, format := range []string{"operator", "files"} {
		b.Run(format, func(b *testing.B) {
			in := b.TempDir()
			if err := synth.BenchmarkMesh().Write(in); err != nil {
				b.Fatal(err)
			}
			out := b.TempDir()
			env := &Env{Stdout: io.Discard, Stderr: io.Discard}
			b.ReportAllocs()
			for b.Loop() {
				if code := Run(context.Background(), env, []string{"generate", "--format", format, "-o", out, in}); code != ExitOK {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(dirSize(b, out)), "bytes-written")
			b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		})
	}
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		n += info.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}
