//go:build tools

// Package tools records the prometheus-operator binary the Makefile builds.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/cmd/operator"
)
