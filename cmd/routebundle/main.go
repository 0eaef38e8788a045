// Command routebundle is the in-cluster service: it keeps the monitoring
// bundle of an Istio mesh applied. See internal/service and `routebundle -h`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/routebundle/routebundle/internal/service"
)

func main() {
	// SIGTERM (the kubelet stopping the pod) ends the context: the service
	// releases its Lease and drains before Run returns.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := service.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "routebundle:", err)
		stop()
		if service.IsUsage(err) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
