package manifest

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/internal/parallel"
)

// StdinName is the file name that objects read from stdin carry.
const StdinName = "<stdin>"

// Result is what reading produced: the objects in input order and the
// diagnostics of documents that could not be decoded.
type Result struct {
	Objects     []Object
	Diagnostics diag.List
	// Files is the number of files (and standard inputs) read.
	Files int
	// Skipped counts the documents of kinds Options.Keep does not keep,
	// skipped unparsed.
	Skipped int
}

func (r *Result) add(objs []Object, diags diag.List, skipped int) {
	r.Objects = append(r.Objects, objs...)
	r.Diagnostics = append(r.Diagnostics, diags...)
	r.Files++
	r.Skipped += skipped
}

// ReadPaths reads files and directories (recursively: *.yaml, *.yml,
// *.json, skipping hidden directories) in the order given; "-" reads stdin.
// A file named explicitly is read whatever its extension. A path that cannot
// be read is an error naming it; malformed documents are diagnostics.
func ReadPaths(paths []string, stdin io.Reader) (*Result, error) {
	return Options{}.ReadPaths(paths, stdin)
}

// ReadPaths is the package's ReadPaths with o's filter.
func (o Options) ReadPaths(paths []string, stdin io.Reader) (*Result, error) {
	res := &Result{}
	for _, p := range paths {
		if err := o.readPath(res, p, stdin); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (o Options) readPath(res *Result, p string, stdin io.Reader) error {
	if p == "-" {
		if stdin == nil {
			return fmt.Errorf("read %s: no standard input", StdinName)
		}
		data, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read %s: %w", StdinName, err)
		}
		res.add(o.decode(StdinName, data))
		return nil
	}
	info, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("read manifests: %w", err)
	}
	if !info.IsDir() {
		return o.readFiles(res, []string{p}, os.ReadFile)
	}
	names, err := manifestNames(p, filepath.WalkDir)
	if err != nil {
		return err
	}
	return o.readFiles(res, names, os.ReadFile)
}

// ReadFS reads every *.yaml, *.yml and *.json file of fsys in lexical order,
// for example the embedded examples. Files are named by their path in fsys.
func ReadFS(fsys fs.FS) (*Result, error) { return Options{}.ReadFS(fsys) }

// ReadFS is the package's ReadFS with o's filter.
func (o Options) ReadFS(fsys fs.FS) (*Result, error) {
	names, err := manifestNames(".", func(root string, fn fs.WalkDirFunc) error {
		return fs.WalkDir(fsys, root, fn)
	})
	if err != nil {
		return nil, err
	}
	res := &Result{}
	read := func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) }
	if err := o.readFiles(res, names, read); err != nil {
		return nil, err
	}
	return res, nil
}

// manifestNames lists the manifest files below root in lexical order,
// skipping hidden directories; walk is filepath.WalkDir or fs.WalkDir on a
// file system.
func manifestNames(root string, walk func(string, fs.WalkDirFunc) error) ([]string, error) {
	var names []string
	err := walk(root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read manifests: %w", err)
		}
		if d.IsDir() {
			if name != root && isHidden(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if IsManifestName(d.Name()) {
			names = append(names, name)
		}
		return nil
	})
	return names, err
}

// readFiles reads and decodes the files on all cores (YAML decoding is a
// good part of reading a large repository) and adds them in order.
func (o Options) readFiles(res *Result, names []string, read func(string) ([]byte, error)) error {
	type decoded struct {
		objs    []Object
		diags   diag.List
		skipped int
		err     error
	}
	out := make([]decoded, len(names))
	parallel.For(len(names), func(i int) {
		data, err := read(names[i])
		if err != nil {
			out[i].err = fmt.Errorf("read manifests: %w", err)
			return
		}
		out[i].objs, out[i].diags, out[i].skipped = o.decode(names[i], data)
	})
	for _, d := range out {
		if d.err != nil {
			return d.err
		}
		res.add(d.objs, d.diags, d.skipped)
	}
	return nil
}

// IsManifestName reports whether a file in a directory is read as manifests.
func IsManifestName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func isHidden(name string) bool { return strings.HasPrefix(name, ".") && name != "." && name != ".." }
