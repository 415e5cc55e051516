//go:build unix

// Command faultsuite is the whole-system fault suite of GridKV (tier 3 of
// TESTING.md): it builds the gridkv server, starts 3 separate "gridkv
// serve" processes on 127.0.0.1 (N=3 W=2 R=2), drives a load of unique
// keys with exact values through RESP, injects faults and checks what must
// hold:
//
//  1. kill -9 of one node, then a restart, empty, under the same id and
//     flags: the time until each survivor shows it failed, the time until
//     the restarted node (new boot id) holds the keys again, no failed
//     operation meanwhile;
//  2. SIGSTOP of one node for 20 s (5 s with -quick), then SIGCONT: the
//     throughput of every second of the pause stays at least half of the
//     rate just before, and no operation fails.
//
// After each fault, and at the end once the load stopped and the cluster
// converged, every key written so far is read back through each node: no
// acknowledged write may be missing and no value may differ from the exact
// value written (which encodes the key and its sequence number). A
// monitor also fails the run when a healthy node (one not under a fault)
// is seen failed by a peer, and samples the machine's load average. It prints
// a table, writes throughput per second and per node as CSV and SVG, and
// exits 1 when a property fails (2 when the suite could not run). A global
// deadline bounds the run; every exit path (including SIGINT and panics)
// kills the process groups of the nodes, and on Linux the nodes die with
// the suite even if it is killed.
//
//	cd benchmarks && go run ./cmd/faultsuite -quick
//
// Partitions and packet loss (network namespaces, nftables) are the next
// slice.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

type config struct {
	quick                      bool
	workers, valueSize, getPct int
	warmup, baseline, pause    time.Duration
	holdDead                   time.Duration
	detectLimit, refillLimit   time.Duration
	opTimeout, deadline        time.Duration
	root, out                  string
	keepBinary                 bool
}

func main() {
	var c config
	flag.BoolVar(&c.quick, "quick", false, "short run: 5 s pause instead of 20 s, shorter warm-up and baseline")
	flag.IntVar(&c.workers, "c", 16, "concurrent load workers")
	flag.IntVar(&c.valueSize, "value", 100, "value size in bytes (at least the key and sequence number)")
	flag.IntVar(&c.getPct, "mix", 50, "percentage of GETs (of acknowledged keys); the rest SET new keys")
	flag.DurationVar(&c.deadline, "deadline", 0, "global deadline (default 4m with -quick, 8m without)")
	flag.DurationVar(&c.opTimeout, "op-timeout", 5*time.Second, "client deadline of one operation")
	flag.StringVar(&c.root, "root", "", "repository root (default: found from the benchmarks module)")
	flag.StringVar(&c.out, "out", "", "directory for logs, CSV and SVG (default: a new temporary directory)")
	flag.Parse()
	c.warmup, c.baseline, c.pause, c.holdDead = 10*time.Second, 10*time.Second, 20*time.Second, 3*time.Second
	c.detectLimit, c.refillLimit = 30*time.Second, 60*time.Second
	if c.quick {
		c.warmup, c.baseline, c.pause, c.holdDead = 3*time.Second, 4*time.Second, 5*time.Second, time.Second
		c.detectLimit, c.refillLimit = 20*time.Second, 30*time.Second
	}
	if c.deadline == 0 {
		c.deadline = 8 * time.Minute
		if c.quick {
			c.deadline = 4 * time.Minute
		}
	}
	os.Exit(runMain(c))
}

// runMain runs the suite under the deadline and signal handling and makes
// sure no node survives it.
func runMain(c config) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.deadline)
	defer cancel()
	defer killAll()
	defer func() {
		if r := recover(); r != nil {
			killAll()
			panic(r)
		}
	}()
	// Hard stop: if the suite does not return soon after its deadline or
	// a signal, kill the nodes and exit anyway.
	go func() {
		<-ctx.Done()
		time.Sleep(20 * time.Second)
		fmt.Fprintln(os.Stderr, "faultsuite: did not stop 20 s after the deadline or signal: killing the nodes and exiting")
		killAll()
		os.Exit(3)
	}()

	if c.out == "" {
		d, err := os.MkdirTemp("", "faultsuite-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "faultsuite:", err)
			return 2
		}
		c.out = d
	} else if err := os.MkdirAll(c.out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "faultsuite:", err)
		return 2
	}
	if c.root == "" {
		r, err := repoRoot(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "faultsuite:", err)
			return 2
		}
		c.root = r
	}
	bin, err := buildGridKV(ctx, c.root, c.out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultsuite:", err)
		return 2
	}
	defer os.Remove(bin)
	s := &suite{cfg: c, bin: bin}
	failed, err := s.run(ctx)
	killAll()
	s.print(os.Stdout)
	fmt.Printf("\nlogs, throughput.csv and throughput.svg in %s\n", c.out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultsuite: could not complete:", err)
		return 2
	}
	if failed {
		fmt.Println("RESULT: FAIL")
		return 1
	}
	fmt.Println("RESULT: PASS")
	return 0
}

// outPath is a file in the output directory.
func (s *suite) outPath(name string) string { return filepath.Join(s.cfg.out, name) }
