package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxConfigMapData is what the API server stores in one ConfigMap (1 MiB)
// less room for the metadata.
const maxConfigMapData = 1<<20 - 16<<10

// JSON renders the dashboard as Grafana imports it: indented by two spaces,
// keys in the SDK's order (but "panels" last, see wireDashboard), ending in
// a newline. The same dashboard always gives the same bytes.
func (d Dashboard) JSON() ([]byte, error) {
	return NewEncoder().AppendJSON(nil, d, "")
}

// An Encoder renders dashboards as JSON, reusing its buffer from one
// dashboard to the next. It is not safe for concurrent use.
type Encoder struct {
	compact bytes.Buffer
	enc     *json.Encoder
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = json.NewEncoder(&e.compact)
	return e
}

// AppendJSON appends d.JSON() to dst with prefix before every line, so that
// the JSON can go straight into an indented YAML block: at a thousand
// dashboards, every intermediate copy of them showed in the profile.
func (e *Encoder) AppendJSON(dst []byte, d Dashboard, prefix string) ([]byte, error) {
	e.compact.Reset()
	if err := e.enc.Encode(wire(d.Dashboard)); err != nil {
		return dst, fmt.Errorf("rendering dashboard %s: %w", d.UID, err)
	}
	compact := bytes.TrimSuffix(e.compact.Bytes(), []byte("\n"))
	// Indenting about doubles a dashboard: grow dst once rather than by
	// appends (a no-op for a buffer reused from the last dashboard).
	dst = slices.Grow(dst, 2*len(compact))
	return indent(dst, compact, prefix), nil
}

// wireDashboard is a dashboard as encoding/json writes it, with the panels
// unwrapped. The SDK's PanelOrRowPanel implements json.Marshaler, and
// encoding/json re-scans the output of every marshaler to compact it: that
// doubled the cost of encoding the panels, most of a dashboard. Panels
// shadows the embedded field of the same name (shallower fields win), so
// "panels" comes last rather than in the SDK's order.
type wireDashboard struct {
	dashboard.Dashboard
	Panels []any `json:"panels,omitempty"`
}

func wire(d dashboard.Dashboard) wireDashboard {
	w := wireDashboard{Dashboard: d, Panels: make([]any, 0, len(d.Panels))}
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			w.Panels = append(w.Panels, p.Panel)
		case p.RowPanel != nil:
			w.Panels = append(w.Panels, p.RowPanel)
		default:
			w.Panels = append(w.Panels, nil) // as the SDK writes it: null
		}
	}
	return w
}

// indent lays compact JSON (as json.Marshal writes it) out like json.Indent
// with two spaces, every line preceded by prefix, in one pass: json.Indent's
// scanner took most of the time of rendering a thousand dashboards. It also
// turns the \u003c, \u003e and \u0026 escapes of encoding/json back into <,
// > and &, so that PromQL comparisons and link URLs stay readable; the SDK's
// own marshalers escape them whatever an encoder is told.
func indent(dst, src []byte, prefix string) []byte {
	depth := 0
	dst = append(dst, prefix...)
	newline := func() {
		dst = append(dst, '\n')
		dst = append(dst, prefix...)
		for range depth {
			dst = append(dst, ' ', ' ')
		}
	}
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			n := stringEnd(src, i)
			dst = appendUnescapedHTML(dst, src[i:n])
			i = n - 1
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '\n')
}

// stringEnd returns the index after the JSON string starting at src[i].
func stringEnd(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(src)
}

// appendUnescapedHTML appends a JSON string literal with encoding/json's
// HTML escapes undone; other escapes are copied as pairs, so an escaped
// backslash followed by "u0026" stays as it is.
func appendUnescapedHTML(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			dst = append(dst, s[i])
			continue
		}
		if s[i+1] == 'u' && i+6 <= len(s) {
			switch string(s[i+2 : i+6]) {
			case "003c":
				dst, i = append(dst, '<'), i+5
				continue
			case "003e":
				dst, i = append(dst, '>'), i+5
				continue
			case "0026":
				dst, i = append(dst, '&'), i+5
				continue
			}
		}
		dst, i = append(dst, s[i], s[i+1]), i+1
	}
	return dst
}

// ConfigMaps renders each dashboard as a ConfigMap for Grafana's dashboard
// sidecar, named by its UID (a valid Kubernetes name), with the sidecar
// label and, when a folder is set, the folder annotation.
func ConfigMaps(ds []Dashboard, opts Options) ([]corev1.ConfigMap, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	out := make([]corev1.ConfigMap, 0, len(ds))
	for _, d := range ds {
		cm, err := configMap(d, opts.ConfigMap)
		if err != nil {
			return nil, err
		}
		out = append(out, cm)
	}
	return out, nil
}

func configMap(d Dashboard, o ConfigMapOptions) (corev1.ConfigMap, error) {
	data, err := d.ConfigMapJSON()
	if err != nil {
		return corev1.ConfigMap{}, err
	}
	cm := ConfigMapMeta(d, o)
	cm.Data = map[string]string{d.FileName: string(data)}
	return cm, nil
}

// ConfigMapJSON is JSON for a ConfigMap: it fails when the dashboard is too
// large for one.
func (d Dashboard) ConfigMapJSON() ([]byte, error) {
	data, err := d.JSON()
	if err != nil {
		return nil, err
	}
	return data, d.FitsConfigMap(len(data))
}

// FitsConfigMap reports an error when size bytes of d's JSON are more than
// a ConfigMap holds.
func (d Dashboard) FitsConfigMap(size int) error {
	if size > maxConfigMapData {
		return fmt.Errorf("dashboard %s is %d bytes, more than a ConfigMap holds (%d)",
			d.UID, size, maxConfigMapData)
	}
	return nil
}

// ConfigMapMeta returns the ConfigMap of d (see ConfigMaps) without its
// data, for renderers that write the dashboard JSON (ConfigMapJSON, under
// the key d.FileName) straight into their output instead of copying it
// into a string.
func ConfigMapMeta(d Dashboard, o ConfigMapOptions) corev1.ConfigMap {
	cm := corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      d.UID,
			Namespace: o.Namespace,
			Labels:    configMapLabels(o),
		},
	}
	if o.Folder != "" {
		cm.Annotations = map[string]string{o.FolderAnnotation: o.Folder}
	}
	return cm
}

// configMapLabels are the extra labels, then release, then the sidecar's
// label, which nothing may override: without it Grafana never sees the
// dashboard.
func configMapLabels(o ConfigMapOptions) map[string]string {
	l := make(map[string]string, len(o.Labels)+2)
	maps.Copy(l, o.Labels)
	if o.Release != "" {
		l["release"] = o.Release
	}
	l[o.LabelKey] = o.LabelValue
	return l
}
