package synth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ConfigMaps sizes a directory of objects bundlegen has no business
// reading: ConfigMaps with many data keys, like the generated
// configuration that sits next to Istio manifests in a repository.
type ConfigMaps struct {
	Files int
	// PerFile ConfigMaps in each file, as one multi-document stream.
	PerFile int
	// DataBytes of data in each ConfigMap, in keys of about 100 bytes.
	DataBytes int
}

// BenchmarkConfigMaps is the issue-11 case: 107 MB of ConfigMaps.
func BenchmarkConfigMaps() ConfigMaps { return ConfigMaps{Files: 100, PerFile: 10, DataBytes: 107_000} }

// Write writes the files into dir and returns their total size.
func (c ConfigMaps) Write(dir string) (int64, error) {
	line := strings.Repeat("x", 92)
	var total int64
	for f := range c.Files {
		var b strings.Builder
		for m := range c.PerFile {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: data-%03d-%02d\n  namespace: team-%03d\n  labels: {app: data}\ndata:\n", f, m, f%10)
			for n := 0; n < c.DataBytes; n += len(line) + 12 {
				fmt.Fprintf(&b, "  k-%06d: %s\n", n, line)
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("configmaps-%03d.yaml", f))
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			return 0, fmt.Errorf("writing synthetic manifests: %w", err)
		}
		total += int64(b.Len())
	}
	return total, nil
}
