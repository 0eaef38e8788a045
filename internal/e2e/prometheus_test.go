package e2e

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// operatorConfig is the shape of what prometheus-operator v0.85.0 writes
// for a PodMonitor (abridged), with its references to the config
// reloader's environment.
const operatorConfig = `global:
  evaluation_interval: 1s
  scrape_interval: 1s
  external_labels:
    prometheus: monitoring/kps-prometheus
    prometheus_replica: $(POD_NAME)
rule_files:
- /etc/prometheus/rules/prometheus-kps-prometheus-rulefiles-*/*.yaml
scrape_configs:
- job_name: podMonitor/monitoring/routebundle-envoy-stats/0
  honor_labels: false
  kubernetes_sd_configs:
  - role: pod
  metrics_path: /stats/prometheus
  relabel_configs:
  - action: keep
    source_labels: [__tmp_hash, __tmp_disable_sharding]
    regex: $(SHARD);|.+;.+
- job_name: serviceMonitor/monitoring/routebundle-istiod/0
  kubernetes_sd_configs:
  - role: endpoints
    namespaces:
      names: [istio-system]
`

func TestExpandEnv(t *testing.T) {
	got, err := expandEnv([]byte(operatorConfig), map[string]string{"POD_NAME": "prometheus-kps-prometheus-0", "SHARD": "0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prometheus_replica: prometheus-kps-prometheus-0\n", "regex: 0;|.+;.+\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "$(") {
		t.Errorf("unexpanded references left:\n%s", got)
	}
	if _, err := expandEnv([]byte(operatorConfig), map[string]string{"SHARD": "0"}); err == nil || !strings.Contains(err.Error(), "POD_NAME") {
		t.Errorf("an unset variable: got %v, want an error naming POD_NAME", err)
	}
}

// TestOutsideCluster: the only changes are kubeconfig_file on every
// Kubernetes discovery and the rule file globs moved under the mount
// directory; everything else is the operator's, unchanged.
func TestOutsideCluster(t *testing.T) {
	got, err := outsideCluster([]byte(operatorConfig), "/tmp/kubeconfig", "/tmp/rules")
	if err != nil {
		t.Fatal(err)
	}
	var want, have map[string]any
	if err := yaml.Unmarshal([]byte(operatorConfig), &want); err != nil {
		t.Fatal(err)
	}
	for _, job := range want["scrape_configs"].([]any) {
		for _, sd := range job.(map[string]any)["kubernetes_sd_configs"].([]any) {
			sd.(map[string]any)["kubeconfig_file"] = "/tmp/kubeconfig"
		}
	}
	want["rule_files"] = []any{"/tmp/rules/prometheus-kps-prometheus-rulefiles-*/*.yaml"}
	if err := yaml.Unmarshal(got, &have); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("got\n%s\nwant the operator's configuration with only kubeconfig_file and rule_files changed", got)
	}

	withServer := strings.Replace(operatorConfig, "  - role: pod\n", "  - role: pod\n    api_server: https://10.0.0.1\n", 1)
	if _, err := outsideCluster([]byte(withServer), "/tmp/kubeconfig", "/tmp/rules"); err == nil {
		t.Error("a configuration naming its api_server: got no error")
	}
}
