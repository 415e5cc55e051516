//go:build unix

// Command faultsuite is the whole-system fault suite of GridKV (tier 3 of
// TESTING.md): it builds the gridkv server, starts 3 separate "gridkv
// serve" processes (N=3 W=2 R=2), each in its own network namespace when
// run as root with ip and nft (on 127.0.0.1 otherwise), drives a load of
// unique keys with exact values through RESP, injects faults and checks
// what must hold:
//
//  1. kill -9 of one node, then a restart, empty, under the same id and
//     flags: the time until each survivor shows it failed, no failed
//     operation meanwhile;
//  2. SIGSTOP of one node for 20 s (5 s with -quick), then SIGCONT: the
//     throughput of every second of the pause stays at least half of the
//     rate just before, and no operation fails;
//  3. a partition (nftables, 30 s, 8 s with -quick) of one node from the
//     two others, the client still reaching all: the majority serves
//     without a failure, the minority fails fast, each survivor's time to
//     detect;
//  4. 10% random packet loss between the nodes (nft numgen): no failed
//     operation, no false death;
//  5. with -faults ...,join: a 4th node joins under load, then one leaves
//     with SIGTERM.
//
// After each fault heals, a census asks every node what its own store holds
// (POST /v1/local/versions) until every acknowledged key is on exactly N=3
// nodes with one version and the exact value (the time to converge), then
// every key written so far is read back through each node: no acknowledged
// write may be missing and no value may differ from the exact value
// written (which encodes the key and its sequence number). A monitor also
// fails the run when a healthy node (one not under a fault) is seen failed
// by a peer, and samples the machine's load average. It prints a table,
// writes throughput per second and per node as CSV and SVG, and exits 1
// when a property fails (2 when the suite could not run). A global
// deadline bounds the run; every exit path (including SIGINT and panics)
// kills the process groups of the nodes and removes the namespaces, and on
// Linux the nodes die with the suite even if it is killed (the next run
// then removes the namespaces left behind).
//
//	cd benchmarks && go run ./cmd/faultsuite -quick
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
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
	netns                      string        // auto, on, off
	partition                  time.Duration // partition and loss duration
	lossPct                    int
	convergeLimit              time.Duration // census after a partition or loss heals
	ci                         bool
	rate                       int
	preload                    int
	faults                     map[string]bool
}

func main() {
	var c config
	flag.BoolVar(&c.quick, "quick", false, "short run: 5 s pause instead of 20 s, shorter warm-up and baseline")
	flag.IntVar(&c.workers, "c", 16, "concurrent load workers")
	flag.IntVar(&c.valueSize, "value", 100, "value size in bytes (at least the key and sequence number)")
	flag.IntVar(&c.getPct, "mix", 50, "percentage of GETs (of acknowledged keys); the rest SET new keys")
	flag.DurationVar(&c.deadline, "deadline", 0, "global deadline (default 6m with -quick, 12m without)")
	flag.DurationVar(&c.opTimeout, "op-timeout", 5*time.Second, "client deadline of one operation")
	flag.StringVar(&c.root, "root", "", "repository root (default: found from the benchmarks module)")
	flag.StringVar(&c.out, "out", "", "directory for logs, CSV and SVG (default: a new temporary directory)")
	flag.StringVar(&c.netns, "netns", "auto", "network namespaces and nftables for partition and loss: auto (when root with ip and nft), on (fail without), off (127.0.0.1, skip them)")
	flag.DurationVar(&c.partition, "partition", 0, "how long the partition and the packet loss last (default 30s, 8s with -quick)")
	flag.IntVar(&c.lossPct, "loss", 10, "packet loss between nodes, percent")
	flag.IntVar(&c.rate, "rate", -1, "operations per second offered by all workers together, 0: as fast as they go (default 3000, 0 with -quick and -ci)")
	flag.IntVar(&c.preload, "preload", -1, "keys written before the load starts (default 100000: the issue's refill target is 100k keys within 10 s; 0 with -quick and -ci)")
	flag.DurationVar(&c.convergeLimit, "converge-limit", 15*time.Second, "limit of the time to converge after a partition heals")
	flag.BoolVar(&c.ci, "ci", false, "reduced run for CI: -quick durations and -faults kill,pause,partition")
	faults := flag.String("faults", "kill,pause,partition,loss", "the faults to inject, in this order: kill (kill -9 and empty restart), pause (SIGSTOP), partition, loss (these two need network namespaces), join (a 4th node joins, then one leaves with SIGTERM; not by default)")
	flag.Parse()
	if c.ci {
		c.quick = true
		*faults = "kill,pause,partition"
	}
	c.faults = map[string]bool{}
	for _, f := range strings.Split(*faults, ",") {
		switch f = strings.TrimSpace(f); f {
		case "kill", "pause", "partition", "loss", "join":
			c.faults[f] = true
		case "":
		default:
			fmt.Fprintf(os.Stderr, "faultsuite: -faults: unknown fault %q\n", f)
			os.Exit(2)
		}
	}
	c.warmup, c.baseline, c.pause, c.holdDead = 10*time.Second, 10*time.Second, 20*time.Second, 3*time.Second
	// Full run: 100k preloaded keys must be back on a restarted node
	// within 10 s (the target).
	c.detectLimit, c.refillLimit = 30*time.Second, 10*time.Second
	if c.quick {
		c.warmup, c.baseline, c.pause, c.holdDead = 3*time.Second, 4*time.Second, 5*time.Second, time.Second
		c.detectLimit, c.refillLimit = 20*time.Second, 30*time.Second
	}
	if c.preload < 0 {
		c.preload = 100000
		if c.quick {
			c.preload = 0
		}
	}
	if c.rate < 0 {
		// The full run lasts minutes: unpaced, on 2 cores it wrote 1.2
		// million keys before the join, which then had to move them all.
		c.rate = 3000
		if c.quick {
			c.rate = 0
		}
	}
	if c.partition == 0 {
		c.partition = 30 * time.Second
		if c.quick {
			c.partition = 8 * time.Second
		}
	}
	switch c.netns {
	case "auto", "on", "off":
	default:
		fmt.Fprintln(os.Stderr, "faultsuite: -netns must be auto, on or off")
		os.Exit(2)
	}
	if c.deadline == 0 {
		c.deadline = 12 * time.Minute
		if c.quick {
			c.deadline = 6 * time.Minute
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
	defer cleanup()
	defer func() {
		if r := recover(); r != nil {
			cleanup()
			panic(r)
		}
	}()
	// Hard stop: if the suite does not return soon after its deadline or
	// a signal, kill the nodes and exit anyway.
	go func() {
		<-ctx.Done()
		time.Sleep(20 * time.Second)
		fmt.Fprintln(os.Stderr, "faultsuite: did not stop 20 s after the deadline or signal: killing the nodes, removing the namespaces and exiting")
		cleanup()
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
	s.add("gridkv built from", provenance(ctx, c.root), "info")
	failed, err := s.run(ctx)
	cleanup()
	if s.lab != nil {
		left := s.lab.mine()
		s.add("cleanup: namespaces, veths, bridge of this run left", fmt.Sprint(len(left), " ", left), verdict(len(left) == 0))
		failed = failed || len(left) > 0
	}
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

// provenance says which commit the server was built from, and which of
// its modules had uncommitted changes ("-" outside a git checkout).
func provenance(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "-"
	}
	p := strings.TrimSpace(string(out))
	st, _ := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--",
		"gridkv", "hlc", "quorum", "ring", "store", "swim", "transport").Output()
	dirty := map[string]bool{}
	var dirs []string
	for _, line := range strings.Split(string(st), "\n") {
		if len(line) < 4 {
			continue
		}
		d, _, _ := strings.Cut(strings.TrimSpace(line[3:]), "/")
		if !dirty[d] {
			dirty[d] = true
			dirs = append(dirs, d)
		}
	}
	if len(dirs) > 0 {
		p += " + uncommitted changes in " + strings.Join(dirs, " ")
	}
	return p
}
