package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/internal/parallel"
	"github.com/routebundle/routebundle/monitors"
)

// withHeader prefixes YAML content with the generated-file header.
func withHeader(data []byte) []byte {
	out := make([]byte, 0, len(Header)+1+len(data))
	out = append(out, Header...)
	out = append(out, '\n')
	return append(out, data...)
}

// object is a Kubernetes object as the generators return them, with its
// apiVersion and kind set.
type object interface {
	metav1.Object
	runtime.Object
}

// objectFile renders one Kubernetes object.
func objectFile(obj object) (File, error) {
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	if err := appendObjectYAML(&b, obj); err != nil {
		return File{}, renderError(obj, err)
	}
	return File{Path: objectPath(obj), Data: b.Bytes()}, nil
}

// dashboardFile renders a dashboard as a ConfigMap for Grafana's sidecar.
func dashboardFile(enc *dashboards.Encoder, d dashboards.Dashboard, o dashboards.ConfigMapOptions) (File, error) {
	cm := dashboards.ConfigMapMeta(d, o)
	out, err := dashboardConfigMapYAML(enc, &cm, d)
	if err != nil {
		return File{}, renderError(&cm, err)
	}
	return File{Path: objectPath(&cm), Data: out}, nil
}

// encoders hands each rendering goroutine a dashboard encoder whose buffer
// it reuses.
type encoders struct{ pool sync.Pool }

func (e *encoders) with(fn func(*dashboards.Encoder) (File, error)) (File, error) {
	enc, _ := e.pool.Get().(*dashboards.Encoder)
	if enc == nil {
		enc = dashboards.NewEncoder()
	}
	defer e.pool.Put(enc)
	return fn(enc)
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

// job renders one file.
type job func() (File, error)

// renderAll runs the jobs on all cores — at a thousand dashboards, JSON and
// YAML rendering is a large share of generate's time — and hands each file
// to emit from the goroutine that rendered it, so that writing overlaps
// rendering and no file outlives its write.
func renderAll(jobs []job, emit func(File) error) error {
	errs := make([]error, len(jobs))
	parallel.For(len(jobs), func(i int) {
		f, err := jobs[i]()
		if err == nil {
			err = emit(f)
		}
		errs[i] = err
	})
	return errors.Join(errs...)
}

func objectJob(obj object) job {
	return func() (File, error) { return objectFile(obj) }
}

func (b *Bundle) operatorFiles(emit func(File) error) error {
	var jobs []job
	for _, pr := range b.Rules.PrometheusRules {
		jobs = append(jobs, objectJob(pr))
	}
	for _, m := range b.Monitors.Objects() {
		jobs = append(jobs, objectJob(m))
	}
	var encs encoders
	for _, d := range b.Dashboards {
		jobs = append(jobs, func() (File, error) {
			return encs.with(func(enc *dashboards.Encoder) (File, error) {
				return dashboardFile(enc, d, b.config.Dashboards.ConfigMap)
			})
		})
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
		jobs = append(jobs, func() (File, error) {
			data, err := rf.YAML()
			return File{Path: rulesDir + rf.Name + ".yaml", Data: withHeader(data)}, err
		})
	}
	var encs encoders
	for _, d := range b.Dashboards {
		jobs = append(jobs, func() (File, error) {
			return encs.with(func(enc *dashboards.Encoder) (File, error) {
				data, err := enc.AppendJSON(make([]byte, 0, dashboardSizeHint), d, "")
				return File{Path: dashboardsDir + d.FileName, Data: data}, err
			})
		})
	}
	jobs = append(jobs, func() (File, error) {
		data, err := monitors.MarshalScrapeConfigs(b.Monitors.ScrapeConfigs)
		if err != nil {
			return File{}, fmt.Errorf("rendering scrape configs: %w", err)
		}
		return File{Path: scrapeConfigsPath, Data: withHeader(data)}, nil
	})
	return renderAll(jobs, emit)
}
