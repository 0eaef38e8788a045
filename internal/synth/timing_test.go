package synth

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestTimeGenerate times the bundlegen binary named by BUNDLEGEN_BIN on the
// benchmark mesh, for `make bench-generate`: BENCH_RUNS runs (default 5) of
// each case, reported as medians. Runs of a binary vary by tens of percent
// on a shared machine; the median of several is the figure to quote.
func TestTimeGenerate(t *testing.T) {
	bin := os.Getenv("BUNDLEGEN_BIN")
	if bin == "" {
		t.Skip("BUNDLEGEN_BIN is not set; `make bench-generate` sets it")
	}
	runs, err := strconv.Atoi(cmp.Or(os.Getenv("BENCH_RUNS"), "5"))
	if err != nil || runs < 1 {
		t.Fatalf("BENCH_RUNS=%q: want a positive number", os.Getenv("BENCH_RUNS"))
	}
	in := t.TempDir()
	if err := BenchmarkMesh().Write(in); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	unchanged := filepath.Join(work, "unchanged")
	for _, c := range []struct {
		name string
		out  func(run int) string
		args []string
	}{
		{"operator, new directory", newDir(work, "operator"), nil},
		{"operator, unchanged directory", func(int) string { return unchanged }, nil},
		{"operator, --check (up to date)", func(int) string { return unchanged }, []string{"--check"}},
		{"operator, -o - (no files)", func(int) string { return "-" }, nil},
		{"files, new directory", newDir(work, "files"), []string{"--format", "files"}},
	} {
		var ms []measure
		for run := range runs {
			// Flush what earlier runs wrote, so that the kernel's
			// write-back of it does not compete with this run.
			syscall.Sync()
			out := c.out(run)
			args := append([]string{"generate", "-o", out}, append(c.args, in)...)
			ms = append(ms, timeRun(t, bin, args, out))
		}
		t.Logf("%-33s %s", c.name+":", median(ms))
	}
	// Issue 11: unrelated kinds are skipped before they are parsed.
	configMaps := t.TempDir()
	if _, err := BenchmarkConfigMaps().Write(configMaps); err != nil {
		t.Fatal(err)
	}
	var ms []measure
	for range runs {
		ms = append(ms, timeRun(t, bin, []string{"lint", configMaps}, "-"))
	}
	t.Logf("%-33s %s", "lint, 107 MB of ConfigMaps:", median(ms))
}

// newDir names a directory that does not exist yet for each run.
func newDir(parent, name string) func(int) string {
	return func(run int) string { return filepath.Join(parent, fmt.Sprintf("%s-%d", name, run)) }
}

type measure struct {
	wall, user, sys time.Duration
	peakRSS         int64 // bytes
	written         int64
}

func timeRun(t *testing.T, bin string, args []string, out string) measure {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout := &countingWriter{}
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	m := measure{wall: time.Since(start), written: stdout.n}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	m.user = time.Duration(ru.Utime.Nano())
	m.sys = time.Duration(ru.Stime.Nano())
	m.peakRSS = ru.Maxrss << 10 // Linux reports KiB
	if out != "-" {
		m.written = dirSize(t, out)
	}
	return m
}

// median reports the median of each figure over the runs, and the range of
// wall times.
func median(ms []measure) string {
	mid := func(f func(measure) int64) int64 {
		v := make([]int64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	seconds := func(f func(measure) time.Duration) float64 {
		return time.Duration(mid(func(m measure) int64 { return int64(f(m)) })).Seconds()
	}
	fastest := slices.MinFunc(ms, func(a, b measure) int { return cmp.Compare(a.wall, b.wall) })
	slowest := slices.MaxFunc(ms, func(a, b measure) int { return cmp.Compare(a.wall, b.wall) })
	return fmt.Sprintf("%.2f s wall (%.2f-%.2f), %.2f s user, %.2f s sys, %.0f MiB peak RSS, %.1f MB of output",
		seconds(func(m measure) time.Duration { return m.wall }), fastest.wall.Seconds(), slowest.wall.Seconds(),
		seconds(func(m measure) time.Duration { return m.user }),
		seconds(func(m measure) time.Duration { return m.sys }),
		float64(mid(func(m measure) int64 { return m.peakRSS }))/(1<<20),
		float64(mid(func(m measure) int64 { return m.written }))/1e6)
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
