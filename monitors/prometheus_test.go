package monitors

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/kubernetes" // registers kubernetes_sd_configs
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/routebundle/routebundle/series"
)

// loadScrapeConfigs loads the generated jobs with Prometheus' own config
// package, both inline and through scrape_config_files, the way a user
// would include the generated file.
func loadScrapeConfigs(t *testing.T, opts Options, ambient bool) map[string]*config.ScrapeConfig {
	t.Helper()
	set, err := Build(opts, ambient)
	if err != nil {
		t.Fatal(err)
	}
	y, err := MarshalScrapeConfigs(set.ScrapeConfigs)
	if err != nil {
		t.Fatal(err)
	}
	logger := promslog.NewNopLogger()
	if _, err := config.Load(string(y), logger); err != nil {
		t.Fatalf("config.Load: %v\n%s", err, y)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "scrape-configs.yaml"), y, 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(main, []byte("scrape_config_files: [scrape-configs.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(main, false, logger)
	if err != nil {
		t.Fatalf("config.LoadFile: %v", err)
	}
	scs, err := cfg.GetScrapeConfigs()
	if err != nil {
		t.Fatalf("scrape_config_files: %v\n%s", err, y)
	}
	out := make(map[string]*config.ScrapeConfig, len(scs))
	for _, sc := range scs {
		out[sc.JobName] = sc
	}
	if len(out) != len(set.ScrapeConfigs) {
		t.Fatalf("loaded %d jobs, generated %d", len(out), len(set.ScrapeConfigs))
	}
	return out
}

func TestScrapeConfigsLoad(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			jobs := loadScrapeConfigs(t, tc.opts, tc.ambient)
			envoy := jobs[EnvoyJob]
			if envoy == nil || envoy.MetricsPath != StatsPath {
				t.Fatalf("envoy job = %+v", envoy)
			}
			if tc.opts.Interval != "" && envoy.ScrapeInterval.String() != tc.opts.Interval {
				t.Errorf("interval = %s, want %s", envoy.ScrapeInterval, tc.opts.Interval)
			}
		})
	}
}

// target is a discovered target as Kubernetes service discovery labels it.
type target struct {
	name string
	meta map[string]string
	// want are the labels after relabeling; nil means the target is dropped.
	want map[string]string
}

func pod(ns, name, container, port string, extra ...string) map[string]string {
	m := map[string]string{
		"__address__":     "10.0.0.1:1",
		metaNamespace:     ns,
		metaPodName:       name,
		metaPodPhase:      "Running",
		metaContainerName: container,
		metaContainerPort: port,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// TestScrapeConfigsSelectTargets runs the generated relabelings on the
// targets a mesh exposes and checks which ones each job scrapes.
func TestScrapeConfigsSelectTargets(t *testing.T) {
	jobs := loadScrapeConfigs(t, DefaultOptions(), true)
	tests := map[string][]target{
		EnvoyJob: {
			{"sidecar", pod("podinfo", "podinfo-1", "istio-proxy", "http-envoy-prom"),
				map[string]string{"namespace": "podinfo", "pod": "podinfo-1", "container": "istio-proxy", "endpoint": "http-envoy-prom"}},
			{"waypoint", pod("podinfo", "podinfo-waypoint-1", "istio-proxy", "http-envoy-prom", metaPodLabel+"gateway_networking_k8s_io_gateway_name", "podinfo-waypoint"),
				map[string]string{"namespace": "podinfo", "pod": "podinfo-waypoint-1", "container": "istio-proxy", "endpoint": "http-envoy-prom"}},
			{"waypoint merged-metrics port", pod("podinfo", "podinfo-waypoint-1", "istio-proxy", "metrics"), nil},
			{"application port", pod("podinfo", "podinfo-1", "podinfo", "http"), nil},
			{"port name reused by an app", pod("podinfo", "podinfo-1", "podinfo", "http-envoy-prom"), nil},
			{"opted out", pod("podinfo", "podinfo-1", "istio-proxy", "http-envoy-prom", metaPodLabelSet+"istio_prometheus_ignore", "true"), nil},
			{"finished pod", pod("podinfo", "podinfo-1", "istio-proxy", "http-envoy-prom", metaPodPhase, "Succeeded"), nil},
		},
		ZtunnelJob: {
			{"ztunnel", pod("istio-system", "ztunnel-x", "istio-proxy", "ztunnel-stats", metaPodLabel+"app", "ztunnel"),
				map[string]string{"namespace": "istio-system", "pod": "ztunnel-x", "container": "istio-proxy", "endpoint": "ztunnel-stats"}},
			{"not ztunnel", pod("istio-system", "other", "istio-proxy", "ztunnel-stats", metaPodLabel+"app", "ztunnel2"), nil},
		},
		IstiodJob: {
			{"istiod", map[string]string{"__address__": "10.0.0.2:15014", metaNamespace: "istio-system", metaServiceName: "istiod",
				metaServiceLabel + "istio": "pilot", metaSlicePort: "http-monitoring", metaPodName: "istiod-1"},
				map[string]string{"namespace": "istio-system", "pod": "istiod-1", "service": "istiod", "endpoint": "http-monitoring"}},
			{"istiod canary", map[string]string{metaServiceName: "istiod-canary", metaServiceLabel + "istio": "pilot", metaSlicePort: "http-monitoring",
				metaNamespace: "istio-system", metaPodName: "istiod-canary-1"},
				map[string]string{"namespace": "istio-system", "pod": "istiod-canary-1", "service": "istiod-canary", "endpoint": "http-monitoring"}},
			{"xds port", map[string]string{metaServiceName: "istiod", metaServiceLabel + "istio": "pilot", metaSlicePort: "grpc-xds"}, nil},
			{"other service", map[string]string{metaServiceName: "web", metaServiceLabel + "istio": "ingressgateway", metaSlicePort: "http-monitoring"}, nil},
		},
	}
	for job, targets := range tests {
		sc := jobs[job]
		if sc == nil {
			t.Fatalf("no job %s", job)
		}
		for _, tg := range targets {
			t.Run(job+"/"+tg.name, func(t *testing.T) {
				lb := labels.NewBuilder(labels.FromMap(tg.meta))
				kept := relabel.ProcessBuilder(lb, sc.RelabelConfigs...)
				if tg.want == nil {
					if kept {
						t.Errorf("target kept: %v", lb.Labels())
					}
					return
				}
				if !kept {
					t.Fatal("target dropped")
				}
				got := lb.Labels()
				for k, v := range tg.want {
					if got.Get(k) != v {
						t.Errorf("label %s = %q, want %q (all: %v)", k, got.Get(k), v, got)
					}
				}
			})
		}
	}
}

// TestScrapeConfigsKeepMetrics checks that the series the bundle reads
// survive the metric relabelings and Envoy's own statistics do not.
func TestScrapeConfigsKeepMetrics(t *testing.T) {
	bundle := []string{series.IstioRequestsTotal, series.IstioRequestDurationBucket,
		series.IstioRequestDurationCount, series.IstioRequestDurationSum}
	envoyStats := []string{"envoy_cluster_upstream_rq_total", "envoy_server_live"}
	extra := DefaultOptions()
	extra.KeepMetrics = "envoy_server_.*"
	keepAll := DefaultOptions()
	keepAll.DropEnvoyStats = false

	tests := []struct {
		name    string
		opts    Options
		kept    []string
		dropped []string
	}{
		{"default", DefaultOptions(), bundle, envoyStats},
		{"extra kept", extra, append(slices.Clone(bundle), "envoy_server_live"), []string{"envoy_cluster_upstream_rq_total"}},
		{"keep all", keepAll, append(slices.Clone(bundle), envoyStats...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := loadScrapeConfigs(t, tt.opts, false)[EnvoyJob]
			check := func(name string, want bool) {
				lb := labels.NewBuilder(labels.FromStrings("__name__", name, "reporter", "waypoint"))
				if got := relabel.ProcessBuilder(lb, sc.MetricRelabelConfigs...); got != want {
					t.Errorf("%s kept = %v, want %v", name, got, want)
				}
			}
			for _, n := range tt.kept {
				check(n, true)
			}
			for _, n := range tt.dropped {
				check(n, false)
			}
		})
	}
}
