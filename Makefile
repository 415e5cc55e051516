# GridKV monorepo tasks. Every target works on all modules listed in go.work.
SHELL := /bin/bash
MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
COUNT ?= 6
BENCH ?= .
BENCHTIME ?= 1s
FUZZTIME ?= 10s

.PHONY: all test test-short vet fmt fmt-check bench compare faultsuite faultsuite-quick faultsuite-ci isolated isolated-build tidy tidy-check fuzz ci

all: fmt-check vet test

## test: every package of every module, with the race detector (README's test command)
test:
	go test -race work

## test-short: quick run without the race detector
test-short:
	go test -short work

## vet: go vet over every module
vet:
	go vet work

fmt:
	gofmt -w $(MODULES)

## fmt-check: fails if any file is not gofmt-clean
fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: every benchmark, COUNT runs each (use benchstat on the output)
bench:
	go test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) -count=$(COUNT) work

## compare: the side-by-side comparisons of benchmarks/ (see benchmarks/README.md),
## each package in COUNT rounds of its test binary (systems take turns)
compare:
	cd benchmarks && go run ./cmd/compare -pkg ./hlcbench -count $(COUNT)
	cd benchmarks && go run ./cmd/compare -pkg ./ringbench -count $(COUNT)
	cd benchmarks && go run ./cmd/ringbalance
	cd benchmarks && go run ./cmd/compare -pkg ./storebench -count $(COUNT)
	cd benchmarks && go run ./cmd/compare -pkg ../transport -bench Call -count $(COUNT)
	cd benchmarks && go run ./cmd/compare -count $(COUNT)

## report: every comparison (and the server against redis-server) in
## REPORT_COUNT interleaved rounds, written to benchmarks/report/: REPORT.md,
## SVG plots, raw outputs (see benchmarks/README.md, "Report")
REPORT_COUNT ?= 5
.PHONY: report
report:
	cd benchmarks && go run ./cmd/report -count $(REPORT_COUNT) -out report

## faultsuite: tier-3 fault suite on separate gridkv processes (see benchmarks/README.md)
faultsuite:
	cd benchmarks && go run ./cmd/faultsuite

faultsuite-quick:
	cd benchmarks && go run ./cmd/faultsuite -quick

## faultsuite-ci: reduced fault suite (kill -9 + restart, pause, partition when root): 81 s and 94 s in two clean-clone CI runs, 118 s as root on 2 cores with a benchmark alongside
faultsuite-ci:
	cd benchmarks && go run ./cmd/faultsuite -ci

## isolated: each module on its own (GOWORK=off): build, vet, test
isolated:
	@set -e; for d in $(MODULES); do echo "== $$d"; (cd $$d && GOWORK=off go build ./... && GOWORK=off go vet ./... && GOWORK=off go test -count=1 ./...); done

## isolated-build: each module on its own (GOWORK=off): build and vet, which
## compiles the tests too (CI runs the tests once, in the workspace)
isolated-build:
	@set -e; for d in $(MODULES); do echo "== $$d"; (cd $$d && GOWORK=off go build ./... && GOWORK=off go vet ./...); done

tidy:
	@set -e; for d in $(MODULES); do (cd $$d && GOWORK=off go mod tidy); done

## tidy-check: each module's go.mod/go.sum is tidy
tidy-check:
	@set -e; for d in $(MODULES); do echo "== $$d"; (cd $$d && GOWORK=off go mod tidy -diff); done

## fuzz: run every fuzz target for FUZZTIME
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

ci:
	./.ci/run
