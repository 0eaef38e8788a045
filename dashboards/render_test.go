package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/routebundle/routebundle/inventory"
)

func TestConfigMaps(t *testing.T) {
	ds, _ := build(t, mixedInventory())
	for _, tc := range []struct {
		name   string
		opts   func(*Options)
		labels map[string]string
		annots map[string]string
		ns     string
	}{
		{"defaults", func(*Options) {}, map[string]string{"grafana_dashboard": "1"}, nil, ""},
		{"folder and custom label", func(o *Options) {
			o.ConfigMap = ConfigMapOptions{Namespace: "monitoring", LabelKey: "grafana.io/dashboard", LabelValue: "routes",
				Folder: "Istio routes / generated", FolderAnnotation: "k8s-sidecar-target-directory"}
		}, map[string]string{"grafana.io/dashboard": "routes"},
			map[string]string{"k8s-sidecar-target-directory": "Istio routes / generated"}, "monitoring"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			tc.opts(&opts)
			cms, err := ConfigMaps(ds, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(cms) != len(ds) {
				t.Fatalf("%d ConfigMaps for %d dashboards", len(cms), len(ds))
			}
			for i, cm := range cms {
				if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.Name != ds[i].UID || cm.Namespace != tc.ns {
					t.Errorf("ConfigMap %d: %s %s %s/%s", i, cm.APIVersion, cm.Kind, cm.Namespace, cm.Name)
				}
				if errs := validation.IsDNS1123Subdomain(cm.Name); len(errs) > 0 {
					t.Errorf("%s: %v", cm.Name, errs)
				}
				if fmt.Sprint(cm.Labels) != fmt.Sprint(tc.labels) || fmt.Sprint(cm.Annotations) != fmt.Sprint(tc.annots) {
					t.Errorf("%s: labels %v annotations %v", cm.Name, cm.Labels, cm.Annotations)
				}
				if len(cm.Data) != 1 || cm.Data[ds[i].FileName] != string(mustJSON(t, ds[i])) {
					t.Errorf("%s: data is not the dashboard JSON under %s", cm.Name, ds[i].FileName)
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		field string
		set   func(*Options)
	}{
		{"timeFrom", func(o *Options) { o.TimeFrom = "yesterday" }},
		{"timeTo", func(o *Options) { o.TimeTo = "" }},
		{"refresh", func(o *Options) { o.Refresh = "1 minute" }},
		{"tags[1]", func(o *Options) { o.Tags = []string{"a", ""} }},
		{"configMap.namespace", func(o *Options) { o.ConfigMap.Namespace = "Not_A_Namespace" }},
		{"configMap.labelKey", func(o *Options) { o.ConfigMap.LabelKey = "has space" }},
		{"configMap.labelValue", func(o *Options) { o.ConfigMap.LabelValue = "has space" }},
		{"configMap.folderAnnotation", func(o *Options) { o.ConfigMap.Folder, o.ConfigMap.FolderAnnotation = "f", "" }},
		{"errorRatio", func(o *Options) { o.Policy.ErrorRatio = 2 }},
	} {
		opts := DefaultOptions()
		tc.set(&opts)
		err := opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v, want an error naming dashboards.%s", tc.field, err, tc.field)
		}
	}
}

// TestOptionsYAML decodes a config section strictly, as the bundle config does.
func TestOptionsYAML(t *testing.T) {
	src := `
titlePrefix: Mesh routes
tags: [istio]
datasource: Mimir
timeFrom: now-24h
timeTo: now
refresh: ""
configMap:
  namespace: monitoring
  labelKey: grafana_dashboard
  labelValue: "1"
  folder: Routes
  folderAnnotation: grafana_folder
`
	opts := DefaultOptions()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&opts); err != nil {
		t.Fatal(err)
	}
	if opts.TitlePrefix != "Mesh routes" || opts.Refresh != "" || opts.ConfigMap.Folder != "Routes" || opts.Policy.ErrorRatio == 0 {
		t.Errorf("decoded %+v", opts)
	}
	if err := opts.Validate(); err != nil {
		t.Error(err)
	}
	dec = yaml.NewDecoder(strings.NewReader("titlePrefx: x\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&opts); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestOptionsChangeTheDashboards(t *testing.T) {
	opts := DefaultOptions()
	opts.TitlePrefix, opts.Tags, opts.Refresh, opts.Datasource = "", []string{"x"}, "", "Mimir"
	ds, _ := Build(podinfoInventory(), opts)
	for _, d := range ds {
		db := d.Dashboard
		if strings.HasPrefix(*db.Title, "Routes") && d.UID != OverviewUID || db.Refresh != nil || db.Tags[0] != "x" {
			t.Errorf("%s: title %q refresh %v tags %v", d.UID, *db.Title, db.Refresh, db.Tags)
		}
		if !bytes.Contains(mustJSON(t, d), []byte(`"Mimir"`)) {
			t.Errorf("%s: datasource not preselected", d.UID)
		}
	}
}

// TestIndent: the one-pass indent gives json.Indent's layout, with only
// the HTML escapes undone, on every example dashboard and on tricky strings.
func TestIndent(t *testing.T) {
	inputs := []any{
		map[string]any{"a": []any{}, "b": map[string]any{}, "c": []any{1, "x", nil, true, map[string]any{"d": "e"}}},
		[]string{`a > 0 && b < 1`, `\u0026 stays`, `\&`, `"q" {x} [y], z: w`, "tab\tnew\nline", "é ✓ \u2028"},
		`{"not": "json"}`,
	}
	for _, ex := range examples() {
		ds, _ := build(t, ex.inv())
		for _, d := range ds {
			inputs = append(inputs, d.Dashboard)
		}
	}
	for i, in := range inputs {
		compact, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, prefix := range []string{"", "    "} {
			want := bytes.NewBufferString(prefix)
			if err := json.Indent(want, compact, prefix, "  "); err != nil {
				t.Fatal(err)
			}
			want.WriteByte('\n')
			got := indent(nil, compact, prefix)
			// A plain replace is right unless a string holds an escaped
			// backslash before "u00"; there only the value check below counts.
			unescaped := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(want.String())
			if !bytes.Contains(compact, []byte(`\\u00`)) && unescaped != string(got) {
				t.Errorf("input %d, prefix %q: layout differs from json.Indent:\n%s", i, prefix, firstDiff([]byte(unescaped), got))
			}
			var a, b any
			if json.Unmarshal(compact, &a) != nil || json.Unmarshal(got, &b) != nil || !reflect.DeepEqual(a, b) {
				t.Errorf("input %d, prefix %q: indent changed the value", i, prefix)
			}
		}
	}
}

// benchInventory is 1,000 route sets of 10 routes in 100 namespaces, half
// waypoint- and half selector-scoped, a tenth with an objective.
func benchInventory() *inventory.Inventory {
	inv := &inventory.Inventory{}
	for i := range 1000 {
		ns := fmt.Sprintf("ns-%02d", i%100)
		scope := inventory.Scope{Kind: inventory.ScopeWaypoint, Namespace: ns, TargetRefs: gatewayRef(fmt.Sprintf("wp-%04d", i))}
		if i%2 == 1 {
			scope = inventory.Scope{Kind: inventory.ScopeWorkload, Namespace: ns, Selector: map[string]string{"app": fmt.Sprintf("app-%04d", i)}}
		}
		values := make([]string, 10)
		for r := range values {
			values[r] = fmt.Sprintf("GET /api/v1/resource-%d/{id}", r)
		}
		rs := attrgenSet(scope, fmt.Sprintf("set-%04d", i), values...)
		if i%10 == 0 {
			rs.Annotations = map[string]string{"routebundle.io/objective": "99.9%"}
		}
		inv.RouteSets = append(inv.RouteSets, rs)
	}
	return inv
}

// BenchmarkBuild builds, then renders, the dashboards of 1,000 route sets
// × 10 routes (1,001 dashboards):
//
//	go test -run '^$' -bench Build -benchmem ./dashboards/
func BenchmarkBuild(b *testing.B) {
	inv := benchInventory()
	opts := DefaultOptions()
	ds, diags := Build(inv, opts)
	if len(diags) > 0 || len(ds) != 1001 {
		b.Fatalf("%d dashboards, %v", len(ds), diags)
	}
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			Build(inv, opts)
		}
	})
	b.Run("json", func(b *testing.B) {
		var n int
		for b.Loop() {
			n = 0
			for _, d := range ds {
				j, err := d.JSON()
				if err != nil {
					b.Fatal(err)
				}
				n += len(j)
			}
		}
		b.ReportMetric(float64(n), "bytes/op")
	})
}
