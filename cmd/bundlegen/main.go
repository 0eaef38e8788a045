// Command bundlegen turns Istio route classification (WasmPlugin attributegen
// and Telemetry tag overrides) into a monitoring bundle: scrape monitors,
// recording rules and alerts per route, and Grafana dashboards. It also lints
// the Istio configuration and explains which route a request would get.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/routebundle/routebundle/internal/cli"
)

// version is set with -ldflags "-X main.version=..." by release builds.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Version: version}, os.Args[1:])
	stop()
	os.Exit(code)
}
