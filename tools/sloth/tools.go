//go:build tools

// Package tools records the Sloth binary the Makefile builds for
// `make bench-rules`, which compares the cost of evaluating Sloth's rules
// with bundlegen's for the same routes and objective.
package tools

import _ "github.com/slok/sloth/cmd/sloth"
