package bundle

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/internal/parallel"
)

// Header marks every file bundlegen writes. Only files carrying it are ever
// removed as stale, so hand-written files in the output directory are safe.
const Header = "# " + headerText

// headerText is the marker without the comment sign, for formats without
// comments: JSON dashboards carry it in their description.
const headerText = dashboards.GeneratedMarker

// File is one generated file, Path relative to the output directory with
// forward slashes.
type File struct {
	Path string
	Data []byte
}

// Files is a set of generated files, sorted by path.
type Files []File

func (fs Files) sort() {
	slices.SortFunc(fs, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
}

// isGenerated reports whether existing file content was written by bundlegen.
func isGenerated(data []byte) bool {
	if bytes.HasPrefix(data, []byte(Header)) {
		return true
	}
	// JSON has no comments: the marker sits in a string field.
	return bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) && bytes.Contains(data, []byte(headerText))
}

// WriteDir writes files under dir and removes files from an earlier run that
// the bundle no longer contains (only those carrying the header). It returns
// the number of bytes written.
func WriteDir(dir string, files Files) (int64, error) {
	w, err := NewDirWriter(dir)
	if err != nil {
		return 0, err
	}
	if err := each(files, w.Write); err != nil {
		return w.written.Load(), err
	}
	return w.Finish()
}

// each calls fn on every file from all cores, as Render calls its emit.
func each(files Files, fn func(File) error) error {
	errs := make([]error, len(files))
	parallel.For(len(files), func(i int) { errs[i] = fn(files[i]) })
	return errors.Join(errs...)
}

// pathSet collects the paths of a bundle's files, from many goroutines.
type pathSet struct {
	mu    sync.Mutex
	paths map[string]bool
}

// add records p; a second file of the same name is an error.
func (s *pathSet) add(p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paths == nil {
		s.paths = make(map[string]bool)
	}
	if s.paths[p] {
		return fmt.Errorf("two generated files are both named %s", p)
	}
	s.paths[p] = true
	return nil
}

// DirWriter writes a bundle's files under a directory as they are rendered,
// from many goroutines at once, and then removes the stale ones.
type DirWriter struct {
	dir     string
	written atomic.Int64
	want    pathSet
}

// NewDirWriter creates dir if need be.
func NewDirWriter(dir string) (*DirWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output directory: %w", err)
	}
	return &DirWriter{dir: dir}, nil
}

// Write writes one file unless the directory already holds its content. It
// is safe for concurrent use and does not keep f.Data, so it can be
// Render's emit.
func (w *DirWriter) Write(f File) error {
	if err := w.want.add(f.Path); err != nil {
		return err
	}
	p := filepath.Join(w.dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating directory for %s: %w", p, err)
	}
	if err := writeIfChanged(p, f.Data); err != nil {
		return err
	}
	w.written.Add(int64(len(f.Data)))
	return nil
}

// Finish removes the generated files of an earlier run that were not
// written this time, and returns the number of bytes written. Call it once,
// after the last Write, and only if every Write succeeded: a failed run
// must not delete what it did not replace.
func (w *DirWriter) Finish() (int64, error) {
	written := w.written.Load()
	stale, err := staleFiles(w.dir, w.want.paths)
	if err != nil {
		return written, err
	}
	for _, s := range stale {
		if err := os.Remove(filepath.Join(w.dir, filepath.FromSlash(s))); err != nil {
			return written, fmt.Errorf("removing stale %s: %w", s, err)
		}
	}
	return written, removeEmptyParents(w.dir, stale)
}

// removeEmptyParents removes the directories below dir that removing the
// stale files emptied (rules/ and dashboards/ after a switch from the files
// format to the operator format), deepest first. A directory that still
// holds anything, a hand-written file say, stays.
func removeEmptyParents(dir string, stale []string) error {
	var parents []string
	for _, s := range stale {
		for p := path.Dir(s); p != "."; p = path.Dir(p) {
			parents = append(parents, p)
		}
	}
	slices.SortFunc(parents, func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.Count(b, "/"), strings.Count(a, "/")), cmp.Compare(a, b))
	})
	for _, p := range slices.Compact(parents) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		entries, err := os.ReadDir(full)
		if err != nil {
			return fmt.Errorf("scanning %s: %w", full, err)
		}
		if len(entries) > 0 {
			continue
		}
		if err := os.Remove(full); err != nil {
			return fmt.Errorf("removing empty %s: %w", full, err)
		}
	}
	return nil
}

// writeIfChanged leaves identical files untouched so that mtimes (and the
// reviews of dashboard-as-code repos) only move when content does.
func writeIfChanged(p string, data []byte) error {
	old, err := os.ReadFile(p)
	if err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// staleFiles lists generated files under dir that are not wanted.
func staleFiles(dir string, want map[string]bool) ([]string, error) {
	var stale []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if want[rel] || !generatedExt(rel) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if isGenerated(data) {
			stale = append(stale, rel)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scanning %s: %w", dir, err)
	}
	return stale, nil
}

func generatedExt(p string) bool {
	switch path.Ext(p) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Drift is the difference between a directory and a bundle.
type Drift struct {
	Added, Changed, Removed []string
}

// Empty reports whether the directory matches the bundle.
func (d Drift) Empty() bool { return len(d.Added)+len(d.Changed)+len(d.Removed) == 0 }

// WriteSummary prints one line per differing file, like `git status --short`.
func (d Drift) WriteSummary(w io.Writer) error {
	var b strings.Builder
	for _, p := range d.Added {
		fmt.Fprintf(&b, "missing  %s\n", p)
	}
	for _, p := range d.Changed {
		fmt.Fprintf(&b, "differs  %s\n", p)
	}
	for _, p := range d.Removed {
		fmt.Fprintf(&b, "stale    %s\n", p)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Check compares dir with files without writing anything.
func Check(dir string, files Files) (Drift, error) {
	c := NewDirChecker(dir)
	if err := each(files, c.Check); err != nil {
		return Drift{}, err
	}
	return c.Finish()
}

// DirChecker compares a bundle's files with a directory as they are
// rendered, from many goroutines at once, writing nothing: `generate
// --check` then holds no more of the bundle in memory than a write does.
type DirChecker struct {
	dir  string
	want pathSet

	mu    sync.Mutex
	drift Drift
}

// NewDirChecker returns a checker of dir.
func NewDirChecker(dir string) *DirChecker { return &DirChecker{dir: dir} }

// Check records whether f is missing from the directory or differs there.
// It is safe for concurrent use and does not keep f.Data, so it can be
// Render's emit.
func (c *DirChecker) Check(f File) error {
	if err := c.want.add(f.Path); err != nil {
		return err
	}
	old, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(f.Path)))
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.drift.Added = append(c.drift.Added, f.Path)
	case err != nil:
		return fmt.Errorf("reading %s: %w", f.Path, err)
	case !bytes.Equal(old, f.Data):
		c.drift.Changed = append(c.drift.Changed, f.Path)
	}
	return nil
}

// Finish adds the generated files no longer in the bundle and returns the
// drift, each list sorted.
func (c *DirChecker) Finish() (Drift, error) {
	stale, err := staleFiles(c.dir, c.want.paths)
	if err != nil {
		return Drift{}, err
	}
	d := c.drift
	d.Removed = stale
	slices.Sort(d.Added)
	slices.Sort(d.Changed)
	slices.Sort(d.Removed)
	return d, nil
}

// WriteStream writes files as one multi-document YAML stream. YAML files are
// copied as documents; other files (JSON dashboards) are valid YAML too, so
// they are written as documents after a comment naming their path.
func WriteStream(w io.Writer, files Files) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(Header + "\n")
	for _, f := range files {
		fmt.Fprintf(bw, "---\n# Source: %s\n", f.Path)
		data := bytes.TrimPrefix(f.Data, []byte(Header+"\n"))
		bw.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			bw.WriteByte('\n')
		}
	}
	// bufio.Writer keeps its first error and returns it here.
	return bw.Flush()
}
