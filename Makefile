# routebundle — run `make help` for the targets.
#
# Everything the tests need is built here from the Go module proxy into bin/:
# kube-apiserver and etcd for envtest, prometheus and promtool for the rule and
# exporter tests. CRDs are read from the Go module cache, never copied.

SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
export ROUTEBUNDLE_BIN := $(BIN)

# Tool versions are pinned in tools/kube/go.mod and tools/prometheus/go.mod.

FUZZTIME ?= 10s
# Fuzz targets as package:Func; each runs for FUZZTIME in `make fuzz`.
FUZZ_TARGETS := ./manifest:FuzzDecode ./manifest:FuzzPlainValue ./manifest:FuzzPeekKind ./inventory:FuzzBuild ./inventory:FuzzRouteObjects ./inventory:FuzzTagLabelName \
	./attrgen:FuzzCompile ./attrgen:FuzzExtractRoutes ./attrgen:FuzzParseAttributeRef ./attrgen:FuzzLintCondition \
	./attrgen:FuzzConditions ./attrgen:FuzzRegexProgramSize \
	./scaffold:FuzzParseOpenAPI ./scaffold:FuzzParseRouteList ./scaffold:FuzzFromRoutes \
	./policy:FuzzResolve ./internal/yamlw:FuzzScalar ./internal/yamlw:FuzzDocument ./bundle:FuzzConfigMapYAML ./bundle:FuzzParseConfig \
	./exporter:FuzzCollect

# bin/prometheus (the server) runs in the exporter, meshsim and routes tests;
# bin/prometheus-operator in the end-to-end test (make e2e).
TOOLS := $(BIN)/kube-apiserver $(BIN)/etcd $(BIN)/promtool $(BIN)/prometheus $(BIN)/prometheus-operator

# The tools build in TOOLS_JOBS parallel chains, one per tools module: the
# link steps and each build's sequential tail overlap, and binaries of one
# module build one after the other (below) so that the second one finds its
# packages in the build cache instead of compiling them at the same time.
TOOLS_JOBS ?= 3

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# How the binaries are built, here and in the Dockerfile (which runs make
# build): static, without local paths, stripped, with the version stamped in.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
BUILD_ENV := CGO_ENABLED=0
BUILD_FLAGS = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

.PHONY: build
build: ## build bin/bundlegen and bin/routebundle (static)
	$(BUILD_ENV) $(GO) build $(BUILD_FLAGS) -o $(BIN)/bundlegen ./cmd/bundlegen
	$(BUILD_ENV) $(GO) build $(BUILD_FLAGS) -o $(BIN)/routebundle ./cmd/routebundle

# make image needs a container engine (none runs in CI): IMAGE is what the
# chart runs, BUNDLEGEN_IMAGE bundlegen alone.
CONTAINER_TOOL ?= docker
IMAGE ?= routebundle/routebundle:$(VERSION)
BUNDLEGEN_IMAGE ?= routebundle/bundlegen:$(VERSION)
.PHONY: image
image: ## build the container images IMAGE and BUNDLEGEN_IMAGE with CONTAINER_TOOL (docker, podman)
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) --target routebundle -t $(IMAGE) .
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) --target bundlegen -t $(BUNDLEGEN_IMAGE) .

# run is silent, so that `make run > bundle.yaml` is a clean YAML stream.
.PHONY: run
run: ## generate the bundle for the embedded podinfo example to stdout
	@$(GO) build -o $(BIN)/bundlegen ./cmd/bundlegen
	@$(BIN)/bundlegen generate -o -

.PHONY: examples
examples: ## regenerate examples/_gen (both formats) from the embedded examples
	$(GO) run ./cmd/bundlegen generate --format operator -o examples/_gen/operator
	$(GO) run ./cmd/bundlegen generate --format files -o examples/_gen/files
	$(GO) run ./cmd/bundlegen generate --example httproute --format operator -o examples/_gen/httproute/operator
	$(GO) run ./cmd/bundlegen generate --example httproute --format files -o examples/_gen/httproute/files

.PHONY: tools
tools: ## build kube-apiserver, etcd, promtool, prometheus and prometheus-operator into bin/
	@$(MAKE) --no-print-directory -j$(TOOLS_JOBS) $(TOOLS)

$(BIN)/kube-apiserver: tools/kube/go.mod
	cd tools/kube && $(GO) build -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(BIN)/etcd: tools/kube/go.mod | $(BIN)/kube-apiserver
	cd tools/kube && $(GO) build -o $@ go.etcd.io/etcd/server/v3

$(BIN)/promtool: tools/prometheus/go.mod | $(BIN)/prometheus
	cd tools/prometheus && $(GO) build -o $@ github.com/prometheus/prometheus/cmd/promtool

$(BIN)/prometheus: tools/prometheus/go.mod
	cd tools/prometheus && $(GO) build -o $@ github.com/prometheus/prometheus/cmd/prometheus

$(BIN)/prometheus-operator: tools/operator/go.mod
	cd tools/operator && $(GO) build -o $@ github.com/prometheus-operator/prometheus-operator/cmd/operator

# Sloth, for `make bench-rules` only (not a test tool): the SLO generator whose
# rules the benchmark evaluates beside bundlegen's.
$(BIN)/sloth: tools/sloth/go.mod
	cd tools/sloth && $(GO) build -o $@ github.com/slok/sloth/cmd/sloth

.PHONY: test
test: tools lint ## run every test (unit, golden, envtest, promtool, end to end, race, fuzz)
	$(GO) test -count=1 ./...
	$(MAKE) e2e
	$(MAKE) race
	$(MAKE) fuzz FUZZTIME=$(TEST_FUZZTIME)

# make test fuzzes each target for a number of inputs, not a time: with a
# time, Go 1.26's fuzzing coordinator can report "context deadline exceeded"
# as a failure when the time runs out mid-input (Go issue 75804, fixed in
# Go 1.27). 5,000 inputs take 2-17 s per target here.
TEST_FUZZTIME ?= 5000x

# The packages that run work on several goroutines, and generate end to end.
# The end-to-end test (build tag e2e, so that `go test ./...` stays quick):
# envtest with the Istio, Gateway API and prometheus-operator CRDs,
# routebundle, the real prometheus-operator, a synthetic mesh and the real
# Prometheus running the operator's output. About a minute when bin/ is built.
.PHONY: e2e
e2e: tools ## run the end-to-end test: routebundle, prometheus-operator and Prometheus against a synthetic mesh
	$(GO) test -tags e2e -count=1 -timeout 15m ./internal/e2e

# The same stack, left up: prints the URLs and the routes table until Ctrl-C.
# The test binary runs directly, so that Ctrl-C reaches it and it stops
# everything it started.
.PHONY: demo
demo: tools ## run the end-to-end stack locally and print the routes table until Ctrl-C
	@mkdir -p .cache
	$(GO) test -c -tags e2e -o .cache/e2e.test ./internal/e2e
	@.cache/e2e.test -test.run '^TestDemo$$' -test.timeout 0 -demo

.PHONY: race
race: ## run the concurrent code paths under the race detector
	$(GO) test -race -count=1 ./internal/parallel ./manifest ./inventory ./attrgen ./dashboards
	$(GO) test -race -count=1 -run 'WriteDir|Check' ./bundle
	$(GO) test -race -count=1 -run 'TestGenerateSyntheticMesh|TestGenerateIsDeterministic' ./internal/cli
	$(GO) test -race -count=1 ./exporter ./internal/meshsim ./internal/promtest
	ROUTEBUNDLE_STEADY_STATE=10s $(GO) test -race -count=1 ./controller ./internal/service

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 10s; Nx: N inputs)
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn"; \
		$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x $$pkg; \
	done

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(find . -name '*.go' -not -path './bin/*' -not -path './.cache/*' | xargs gofmt -l); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./internal/e2e

.PHONY: bench
bench: ## run the benchmarks
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Times the real binary on the issue-5 benchmark mesh (1,000 WasmPlugins x 10
# routes in 100 namespaces): the medians of BENCH_RUNS runs of wall time, CPU,
# peak RSS and output size, into a new directory, into an unchanged one (a
# dashboard-as-code repo's usual run), --check of it (its CI) and to stdout;
# and `lint` of 107 MB of ConfigMaps (issue 11), which it skips unparsed.
# New-directory runs on ext4 also time the file system: for minutes after many
# files were deleted (by an earlier bench run, say) creating files is slower.
BENCH_RUNS ?= 5
.PHONY: bench-generate
bench-generate: build ## time bin/bundlegen generate on 1,000 WasmPlugins x 10 routes
	sync
	BUNDLEGEN_BIN=$(BIN)/bundlegen BENCH_RUNS=$(BENCH_RUNS) \
		$(GO) test -count=1 -v -run '^TestTimeGenerate$$' ./internal/synth | grep -v -e '^=== ' -e '^--- '

# One evaluation cycle of bundlegen's rules and of Sloth's for the same routes
# and 99.9% objective, on a synthetic TSDB with 30 days of history (see
# rules/evalbench_test.go): CPU per cycle side by side, the 30d window's
# share, and the dashboard panels from recorded against raw series. The TSDB
# is generated once per BENCH_RULES_ROUTES into .cache/bench-rules.
BENCH_RULES_ROUTES ?= 1000
BENCH_RULES_CYCLES ?= 5
.PHONY: bench-rules
bench-rules: $(BIN)/sloth ## CPU per rule evaluation cycle against Sloth's, BENCH_RULES_ROUTES routes, 30 days
	SLOTH_BIN=$(BIN)/sloth BENCH_RULES_ROUTES=$(BENCH_RULES_ROUTES) BENCH_RULES_CYCLES=$(BENCH_RULES_CYCLES) \
		BENCH_RULES_CACHE=$(CURDIR)/.cache/bench-rules \
		$(GO) test -count=1 -v -timeout 3h -run '^TestBenchRules$$' ./rules | grep -v -e '^=== ' -e '^--- '

# Times the routebundle binary against a real API server holding the
# issue-12 mesh (1,000 WasmPlugins x 10 routes in 200 namespaces): start to
# converged, 50 WasmPlugin edits to the updated PrometheusRule (p50/p99),
# writes over a minute of resyncs (from the API server's audit log), peak RSS.
.PHONY: bench-controller
bench-controller: build $(BIN)/kube-apiserver $(BIN)/etcd ## time bin/routebundle on 1,000 WasmPlugins x 10 routes in 200 namespaces
	ROUTEBUNDLE_BINARY=$(BIN)/routebundle \
		$(GO) test -count=1 -v -timeout 30m -run '^TestBenchController$$' ./internal/service | grep -v -e '^=== ' -e '^--- '

.PHONY: clean
clean: ## remove bin/
	rm -rf $(BIN)
