package service_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/routebundle/routebundle/internal/promapi"
	"github.com/routebundle/routebundle/internal/service"
)

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, arg := range []string{"--help", "-h"} {
		stdout.Reset()
		if err := service.Run(context.Background(), []string{arg}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, flag := range []string{"kubeconfig", "config", "watch-namespaces", "output-namespaces", "metrics-bind-address",
			"health-probe-bind-address", "leader-elect", "dry-run", "prometheus-url", "prometheus-bearer-token-file", "exporter-only", "exporter-interval"} {
			if !strings.Contains(stdout.String(), "-"+flag+" ") && !strings.Contains(stdout.String(), "-"+flag+"\n") {
				t.Errorf("%s: --%s is not listed:\n%s", arg, flag, stdout.String())
			}
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("--help wrote to stderr: %s", stderr.String())
	}
}

func TestRunUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("alerts: {errorRatio: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"--bogus"}, true, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, true, "unexpected arguments: extra"},
		{[]string{"--log-level", "loud"}, true, "--log-level"},
		{[]string{"--resync-period", "0s"}, true, "--resync-period"},
		{[]string{"--prometheus-header", "novalue"}, true, "-prometheus-header: \"novalue\": want NAME=VALUE"},
		{[]string{"--kubeconfig", filepath.Join(t.TempDir(), "none")}, false, "loading the API server configuration"},
	} {
		err := service.Run(context.Background(), tt.args, io.Discard, io.Discard)
		if err == nil || service.IsUsage(err) != tt.usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v (usage %v), want an error with %q", tt.args, err, service.IsUsage(err), tt.want)
		}
	}
	// These fail while setting up, before anything talks to the API server.
	cfg := &rest.Config{Host: "https://127.0.0.1:1"}
	for _, tt := range []struct {
		opts service.Options
		want string
	}{
		{service.Options{Config: bad}, "bad.yaml"},
		{service.Options{Exporter: service.ExporterOptions{Prometheus: promapi.Options{URL: "http://prometheus:9090/%zz"}}}, "--prometheus-url"},
		{service.Options{Exporter: service.ExporterOptions{Interval: time.Second, Timeout: 5 * time.Second}}, "exceeds the interval"},
		{service.Options{ExporterOnly: true, DryRun: true}, "do not go together"},
		{service.Options{MetricsAddr: "127.0.0.1:bad"}, "--metrics-bind-address"},
		// The default config puts the monitors in monitoring.
		{service.Options{WatchNamespaces: []string{"shop"}, OutputNamespaces: []string{"istio-system", "shop"}},
			`scrape.namespace: namespace "monitoring" is not among the output namespaces (istio-system, shop`},
	} {
		tt.opts.RESTConfig = cfg
		if tt.opts.ProbeAddr == "" {
			tt.opts.ProbeAddr = "0"
		}
		if tt.opts.MetricsAddr == "" {
			tt.opts.MetricsAddr = "0"
		}
		_, err := service.New(tt.opts, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error with %q", tt.opts, err, tt.want)
		}
	}
}
