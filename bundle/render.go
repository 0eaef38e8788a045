package bundle

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/monitors"
)

// withHeader prefixes YAML content with the generated-file header.
func withHeader(data []byte) []byte {
	out := make([]byte, 0, len(Header)+1+len(data))
	out = append(out, Header...)
	out = append(out, '\n')
	return append(out, data...)
}

// objectFile renders one Kubernetes object. The file name starts with the
// kind so that a directory listing reads like `kubectl get`.
func objectFile(kind, namespace, name string, obj any) (File, error) {
	var (
		data []byte
		err  error
	)
	if cm, ok := obj.(*corev1.ConfigMap); ok {
		data, err = configMapYAML(cm)
	} else {
		data, err = objectYAML(obj)
	}
	if err != nil {
		return File{}, fmt.Errorf("rendering %s %s/%s: %w", kind, namespace, name, err)
	}
	parts := []string{strings.ToLower(kind)}
	if namespace != "" {
		parts = append(parts, namespace)
	}
	parts = append(parts, name)
	return File{Path: strings.Join(parts, "_") + ".yaml", Data: withHeader(data)}, nil
}

func (b *Bundle) operatorFiles() (Files, error) {
	var files Files
	add := func(kind, ns, name string, obj any) error {
		f, err := objectFile(kind, ns, name, obj)
		files = append(files, f)
		return err
	}
	for _, pr := range b.Rules.PrometheusRules {
		if err := add(pr.Kind, pr.Namespace, pr.Name, pr); err != nil {
			return nil, err
		}
	}
	for _, pm := range b.Monitors.PodMonitors {
		if err := add(pm.Kind, pm.Namespace, pm.Name, pm); err != nil {
			return nil, err
		}
	}
	for _, sm := range b.Monitors.ServiceMonitors {
		if err := add(sm.Kind, sm.Namespace, sm.Name, sm); err != nil {
			return nil, err
		}
	}
	cms, err := dashboards.ConfigMaps(b.Dashboards, b.config.Dashboards)
	if err != nil {
		return nil, err
	}
	for i := range cms {
		if err := add(cms[i].Kind, cms[i].Namespace, cms[i].Name, &cms[i]); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Paths of the plain files format.
const (
	rulesDir          = "rules/"
	dashboardsDir     = "dashboards/"
	scrapeConfigsPath = "prometheus/scrape-configs.yaml"
)

func (b *Bundle) plainFiles() (Files, error) {
	var files Files
	for i := range b.Rules.Files {
		rf := &b.Rules.Files[i]
		data, err := rf.YAML()
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: rulesDir + rf.Name + ".yaml", Data: withHeader(data)})
	}
	for _, d := range b.Dashboards {
		data, err := d.JSON()
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: dashboardsDir + d.FileName, Data: data})
	}
	data, err := monitors.MarshalScrapeConfigs(b.Monitors.ScrapeConfigs)
	if err != nil {
		return nil, fmt.Errorf("rendering scrape configs: %w", err)
	}
	return append(files, File{Path: scrapeConfigsPath, Data: withHeader(data)}), nil
}
