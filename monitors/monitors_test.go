package monitors

import (
	"bytes"
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/routebundle/routebundle/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCases are the option sets whose output is committed under testdata/.
func goldenCases() []struct {
	name    string
	opts    Options
	ambient bool
} {
	custom := DefaultOptions()
	custom.Namespace = "observability"
	custom.Release = ""
	custom.Labels = map[string]string{"prometheus": "mesh", "release": "prom"}
	custom.IstioNamespace = "istio"
	custom.Ztunnel = SwitchOff
	custom.KeepMetrics = "envoy_server_live|envoy_cluster_upstream_cx_active"
	custom.Interval = "30s"

	keepAll := DefaultOptions()
	keepAll.DropEnvoyStats = false
	keepAll.KeepMetrics = "ignored_without_drop"
	keepAll.Ztunnel = SwitchOn

	return []struct {
		name    string
		opts    Options
		ambient bool
	}{
		{"default", DefaultOptions(), false},
		{"ambient", DefaultOptions(), true},
		{"custom", custom, true},
		{"keep-all", keepAll, false},
	}
}

func TestBuildGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Build(tc.opts, tc.ambient)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".operator.yaml", marshalObjects(t, set.Objects()))
			scrape, err := MarshalScrapeConfigs(set.ScrapeConfigs)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".scrape.yaml", scrape)
		})
	}
}

func TestBuildDeterministic(t *testing.T) {
	for _, tc := range goldenCases() {
		a, err := Build(tc.opts, tc.ambient)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Build(tc.opts, tc.ambient)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two builds differ", tc.name)
		}
	}
}

func TestBuildShape(t *testing.T) {
	tests := []struct {
		name      string
		ztunnel   Switch
		ambient   bool
		wantPods  []string
		wantJobs  []string
		wantSvcMs []string
	}{
		{"sidecar mesh", SwitchAuto, false, []string{EnvoyMonitorName}, []string{EnvoyJob, IstiodJob}, []string{IstiodMonitorName}},
		{"ambient mesh", SwitchAuto, true, []string{EnvoyMonitorName, ZtunnelMonitorName}, []string{EnvoyJob, IstiodJob, ZtunnelJob}, []string{IstiodMonitorName}},
		{"ztunnel forced on", SwitchOn, false, []string{EnvoyMonitorName, ZtunnelMonitorName}, []string{EnvoyJob, IstiodJob, ZtunnelJob}, []string{IstiodMonitorName}},
		{"ztunnel forced off", SwitchOff, true, []string{EnvoyMonitorName}, []string{EnvoyJob, IstiodJob}, []string{IstiodMonitorName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.Ztunnel = tt.ztunnel
			set, err := Build(opts, tt.ambient)
			if err != nil {
				t.Fatal(err)
			}
			var pods, svcs, jobs []string
			for _, pm := range set.PodMonitors {
				pods = append(pods, pm.Name)
			}
			for _, sm := range set.ServiceMonitors {
				svcs = append(svcs, sm.Name)
			}
			for _, sc := range set.ScrapeConfigs {
				jobs = append(jobs, sc.JobName)
			}
			for what, got := range map[string][2][]string{
				"pod monitors": {pods, tt.wantPods}, "service monitors": {svcs, tt.wantSvcMs}, "jobs": {jobs, tt.wantJobs},
			} {
				if !reflect.DeepEqual(got[0], got[1]) {
					t.Errorf("%s = %v, want %v", what, got[0], got[1])
				}
			}
			for _, obj := range set.Objects() {
				gvk := obj.GetObjectKind().GroupVersionKind()
				if gvk.Group != "monitoring.coreos.com" || gvk.Version != "v1" || gvk.Kind == "" {
					t.Errorf("object without TypeMeta: %v", gvk)
				}
			}
		})
	}
}

func TestBuildLabels(t *testing.T) {
	opts := DefaultOptions()
	opts.Labels = map[string]string{"team": "mesh"}
	set, err := Build(opts, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range set.Objects() {
		m := obj.GetLabels()
		want := map[string]string{ReleaseLabel: "kube-prometheus-stack", PartOfLabel: PartOfValue, "team": "mesh"}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("labels = %v, want %v", m, want)
		}
	}
	opts.Release = ""
	set, _ = Build(opts, false)
	if _, ok := set.PodMonitors[0].Labels[ReleaseLabel]; ok {
		t.Error("empty Release still sets the release label")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		want   string // substring of the error; "" means valid
	}{
		{"defaults", func(*Options) {}, ""},
		{"bad namespace", func(o *Options) { o.Namespace = "Monitoring" }, "namespace:"},
		{"empty namespace", func(o *Options) { o.Namespace = "" }, "namespace:"},
		{"bad istio namespace", func(o *Options) { o.IstioNamespace = "istio_system" }, "istioNamespace:"},
		{"bad release", func(o *Options) { o.Release = "not a label value" }, "release:"},
		{"bad label key", func(o *Options) { o.Labels = map[string]string{"-x": "y"} }, "labels:"},
		{"bad label value", func(o *Options) { o.Labels = map[string]string{"x": "a b"} }, "labels.x:"},
		{"bad ztunnel", func(o *Options) { o.Ztunnel = "yes" }, "ztunnel:"},
		{"empty ztunnel", func(o *Options) { o.Ztunnel = "" }, "ztunnel:"},
		{"bad keepMetrics", func(o *Options) { o.KeepMetrics = "envoy_(" }, "keepMetrics:"},
		{"bad interval", func(o *Options) { o.Interval = "15" }, "interval:"},
		{"zero interval", func(o *Options) { o.Interval = "0s" }, "interval:"},
		{"good interval", func(o *Options) { o.Interval = "1m30s" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.modify(&o)
			err := o.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if _, berr := Build(o, false); (berr == nil) != (err == nil) {
				t.Errorf("Build error %v disagrees with Validate error %v", berr, err)
			}
		})
	}
}

// TestOptionsYAML decodes a config section the way a strict bundle config
// loader does: over the defaults, unknown keys rejected.
func TestOptionsYAML(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    func(*Options)
		wantErr string
	}{
		{"empty keeps defaults", "{}", func(*Options) {}, ""},
		{"bool ztunnel", "ztunnel: true", func(o *Options) { o.Ztunnel = SwitchOn }, ""},
		{"quoted ztunnel", `ztunnel: "false"`, func(o *Options) { o.Ztunnel = SwitchOff }, ""},
		{"auto ztunnel", "ztunnel: auto", func(*Options) {}, ""},
		{"everything", "namespace: obs\nrelease: prom\nlabels: {a: b}\nistioNamespace: istio\ndropEnvoyStats: false\nkeepMetrics: envoy_.*\ninterval: 10s\n",
			func(o *Options) {
				*o = Options{Namespace: "obs", Release: "prom", Labels: map[string]string{"a": "b"}, IstioNamespace: "istio",
					Ztunnel: SwitchAuto, KeepMetrics: "envoy_.*", Interval: "10s"}
			}, ""},
		{"bad ztunnel", "namespace: x\nztunnel: maybe", nil, "line 2"},
		{"list ztunnel", "ztunnel: [true]", nil, "line 1"},
		{"unknown key", "relase: x", nil, "relase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultOptions()
			dec := yaml.NewDecoder(strings.NewReader(tt.in))
			dec.KnownFields(true)
			err := dec.Decode(&got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode() = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultOptions()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestSwitchEnabled(t *testing.T) {
	for _, tt := range []struct {
		s          Switch
		auto, want bool
	}{
		{SwitchAuto, true, true}, {SwitchAuto, false, false},
		{SwitchOn, false, true}, {SwitchOff, true, false},
	} {
		if got := tt.s.Enabled(tt.auto); got != tt.want {
			t.Errorf("%s.Enabled(%v) = %v", tt.s, tt.auto, got)
		}
	}
}

func marshalObjects(t *testing.T, objs []Object) []byte {
	t.Helper()
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		y, err := sigsyaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(y)
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), string(got), *update)
}
