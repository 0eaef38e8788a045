package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/internal/parallel"
	"github.com/routebundle/routebundle/monitors"
)

// object is a Kubernetes object as the generators return them, with its
// apiVersion and kind set.
type object = KubeObject

// scratch is what a rendering goroutine reuses from one file to the next:
// the file buffer and the dashboard encoder's. A thousand dashboards
// rendered into fresh buffers cost more in page faults and garbage
// collection than in encoding.
type scratch struct {
	out []byte
	enc *dashboards.Encoder
}

// withHeader appends the generated-file header and then data to s.out.
func (s *scratch) withHeader(data []byte) []byte {
	out := append(s.out[:0], Header...)
	out = append(out, '\n')
	return append(out, data...)
}

// objectFile renders one Kubernetes object.
func objectFile(s *scratch, obj object) (File, error) {
	b := bytes.NewBuffer(s.out[:0])
	b.WriteString(Header + "\n")
	if err := appendObjectYAML(b, obj); err != nil {
		return File{}, renderError(obj, err)
	}
	return File{Path: objectPath(obj), Data: b.Bytes()}, nil
}

// dashboardFile renders a dashboard into its ConfigMap cm for Grafana's sidecar.
func dashboardFile(s *scratch, d dashboards.Dashboard, cm *corev1.ConfigMap) (File, error) {
	out, err := dashboardConfigMapYAML(s.enc, s.out[:0], cm, d)
	if err != nil {
		return File{}, renderError(cm, err)
	}
	return File{Path: objectPath(cm), Data: out}, nil
}

func renderError(obj object, err error) error {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	return fmt.Errorf("rendering %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
}

// objectPath names an object's file. It starts with the kind so that a
// directory listing reads like `kubectl get`.
func objectPath(obj object) string {
	parts := []string{strings.ToLower(obj.GetObjectKind().GroupVersionKind().Kind)}
	if ns := obj.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	parts = append(parts, obj.GetName())
	return strings.Join(parts, "_") + ".yaml"
}

// job renders one file, into s.out when it can. The file's Data must be
// s.out or memory the job allocated: renderAll reuses it for the next file.
type job func(s *scratch) (File, error)

// renderAll runs the jobs on all cores — at a thousand dashboards, JSON and
// YAML rendering is a large share of generate's time — and hands each file
// to emit from the goroutine that rendered it, so that writing overlaps
// rendering. The file's buffer is reused once emit returns.
func renderAll(jobs []job, emit func(File) error) error {
	var pool sync.Pool
	errs := make([]error, len(jobs))
	parallel.For(len(jobs), func(i int) {
		s, _ := pool.Get().(*scratch)
		if s == nil {
			s = &scratch{enc: dashboards.NewEncoder()}
		}
		f, err := jobs[i](s)
		if err == nil {
			err = emit(f)
		}
		errs[i] = err
		s.out = f.Data[:0]
		pool.Put(s)
	})
	return errors.Join(errs...)
}

func objectJob(obj object) job {
	return func(s *scratch) (File, error) { return objectFile(s, obj) }
}

// operatorFiles renders the bundle's Objects, one file each.
func (b *Bundle) operatorFiles(emit func(File) error) error {
	objs := b.Objects()
	jobs := make([]job, len(objs))
	for i, o := range objs {
		jobs[i] = objectJob(o.Object)
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && o.Dashboard != nil {
			jobs[i] = func(s *scratch) (File, error) { return dashboardFile(s, *o.Dashboard, cm) }
		}
	}
	return renderAll(jobs, emit)
}

// Paths of the plain files format.
const (
	rulesDir          = "rules/"
	dashboardsDir     = "dashboards/"
	scrapeConfigsPath = "prometheus/scrape-configs.yaml"
)

func (b *Bundle) plainFiles(emit func(File) error) error {
	var jobs []job
	for i := range b.Rules.Files {
		rf := &b.Rules.Files[i]
		jobs = append(jobs, func(s *scratch) (File, error) {
			data, err := rf.YAML()
			return File{Path: rulesDir + rf.Name + ".yaml", Data: s.withHeader(data)}, err
		})
	}
	for _, d := range b.Dashboards {
		jobs = append(jobs, func(s *scratch) (File, error) {
			data, err := s.enc.AppendJSON(s.out[:0], d, "")
			return File{Path: dashboardsDir + d.FileName, Data: data}, err
		})
	}
	jobs = append(jobs, func(s *scratch) (File, error) {
		data, err := monitors.MarshalScrapeConfigs(b.Monitors.ScrapeConfigs)
		if err != nil {
			return File{}, fmt.Errorf("rendering scrape configs: %w", err)
		}
		return File{Path: scrapeConfigsPath, Data: s.withHeader(data)}, nil
	})
	return renderAll(jobs, emit)
}
