//go:build tools

// Package tools records the binaries the Makefile builds for envtest.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
