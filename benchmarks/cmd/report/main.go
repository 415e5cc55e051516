// Command report runs every side-by-side comparison of benchmarks/ and
// writes a report: REPORT.md (a Markdown table per comparison, medians of
// -count rounds, ratios and the targets' verdicts, the machine's facts),
// plots (SVG, gonum.org/v1/plot) and the raw outputs next to them.
//
//	cd benchmarks && go run ./cmd/report [-count 5] [-out report]
//
// or make report from the repository root. The Go suites (hlcbench,
// ringbench, storebench, transport's BenchmarkCall*, clusterbench) are
// built once and run in rounds with benchfmt.Rounds, as compare does:
// every round runs every suite once, so each system, and each suite, takes
// its turn in every round. The server against redis-server runs
// scripts/bench-redis.sh (redis-benchmark, rounds alternating the
// servers); when redis cannot be installed or run, the report says so and
// goes on. -skip leaves sections out, for quick tries.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gridkv/gridkv/benchmarks/internal/benchfmt"
	"github.com/gridkv/gridkv/benchmarks/ringbench"
)

// section is one comparison: its suites (run in the shared rounds) and
// how its part of the report is written.
type section struct {
	key    string
	suites []benchfmt.Suite
}

func main() {
	var (
		count        = flag.Int("count", 5, "rounds: every figure is the median of this many runs")
		out          = flag.String("out", "report", "output folder (relative to benchmarks/); REPORT.md, plots and raw/ go there")
		benchtime    = flag.String("benchtime", "300ms", "-test.benchtime of the micro-benchmarks (hlc, ring, store, transport)")
		clusterTime  = flag.String("cluster-benchtime", "1s", "-test.benchtime of clusterbench")
		skip         = flag.String("skip", "", "comma-separated sections to leave out: hlc,ring,store,transport,cluster,redis")
		redisScript  = flag.String("redis-script", "../scripts/bench-redis.sh", "script that compares the server with redis-server")
		redisRounds  = flag.Int("redis-rounds", 0, "rounds of the redis comparison (0: -count)")
		redisRequest = flag.Int("redis-requests", 100000, "redis-benchmark -n per test")
	)
	flag.Parse()
	skipped := strings.Split(*skip, ",")
	on := func(key string) bool { return !slices.Contains(skipped, key) }
	if err := os.MkdirAll(filepath.Join(*out, "raw"), 0o755); err != nil {
		fatal(err)
	}

	m := machineFacts()
	start := time.Now()
	micro := func(name, pkg, bench string) benchfmt.Suite {
		return benchfmt.Suite{Name: name, Pkg: pkg, Bench: bench, Benchtime: *benchtime}
	}
	all := []section{
		{"hlc", []benchfmt.Suite{micro("hlcbench", "./hlcbench", ".")}},
		{"ring", []benchfmt.Suite{micro("ringbench", "./ringbench", ".")}},
		{"store", []benchfmt.Suite{
			micro("storebench", "./storebench", "Get|Set"),
			{Name: "storebench-hitratio", Pkg: "./storebench", Bench: "HitRatio", Benchtime: "1x"},
		}},
		{"transport", []benchfmt.Suite{micro("transport", "../transport", "Call")}},
		{"cluster", []benchfmt.Suite{{Name: "clusterbench", Pkg: "./clusterbench", Benchtime: *clusterTime}}},
	}
	var suites []benchfmt.Suite
	for _, s := range all {
		if on(s.key) {
			suites = append(suites, s.suites...)
		}
	}
	raw := map[string]*benchfmt.Results{}
	failures := map[string][]string{}
	if len(suites) > 0 {
		outs, err := benchfmt.Rounds(suites, *count, os.Stderr)
		if err != nil {
			fatal(err)
		}
		for i, s := range suites {
			if err := os.WriteFile(filepath.Join(*out, "raw", s.Name+".txt"), outs[i].Out, 0o644); err != nil {
				fatal(err)
			}
			res, err := benchfmt.Parse(bytes.NewReader(outs[i].Out))
			if err != nil {
				fatal(err)
			}
			raw[s.Name] = res
			if len(outs[i].Failures) > 0 {
				failures[s.Name] = outs[i].Failures
			}
		}
	}
	var balance string
	if on("ring") {
		balance = ringbench.Table(1_000_000)
		if err := os.WriteFile(filepath.Join(*out, "raw", "ringbalance.md"), []byte(balance), 0o644); err != nil {
			fatal(err)
		}
	}
	var redis *redisResult
	if on("redis") {
		rounds := *redisRounds
		if rounds == 0 {
			rounds = *count
		}
		redis = runRedis(*redisScript, filepath.Join(*out, "raw"), rounds, *redisRequest)
	}
	m.finish(start)

	r := &report{dir: *out, count: *count, machine: m, res: raw, failures: failures, balance: balance, redis: redis, benchtime: *benchtime, clusterTime: *clusterTime}
	var md bytes.Buffer
	r.write(&md)
	for _, err := range r.plotErrs {
		fmt.Fprintln(os.Stderr, "report: plot:", err)
	}
	if err := os.WriteFile(filepath.Join(*out, "REPORT.md"), md.Bytes(), 0o644); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "report: wrote %s in %s\n", filepath.Join(*out, "REPORT.md"), m.duration)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

// redisResult is the outcome of scripts/bench-redis.sh: medians, or why
// the section was skipped.
type redisResult struct {
	medians redisMedians
	skipped string // non-empty: the reason
	command string
}

// runRedis runs the script, which prints CSV on stdout (also kept as
// raw/redis.csv) and its progress on stderr. Any failure skips the
// section with the reason, so the rest of the report stands.
func runRedis(script, rawDir string, rounds, requests int) *redisResult {
	res := &redisResult{command: fmt.Sprintf("ROUNDS=%d REQUESTS=%d %s", rounds, requests, script)}
	abs, err := filepath.Abs(filepath.Join(rawDir, "redis"))
	if err != nil {
		res.skipped = err.Error()
		return res
	}
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), fmt.Sprintf("ROUNDS=%d", rounds), fmt.Sprintf("REQUESTS=%d", requests), "OUT="+abs)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(&stderr, os.Stderr)
	// On Ctrl-C or TERM the script must still stop the servers it started:
	// pass the signal on as TERM, which its trap handles, and wait for it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	if err = cmd.Start(); err == nil {
		done, stopped := make(chan struct{}), make(chan bool, 1)
		go func() {
			select {
			case <-sig:
				cmd.Process.Signal(syscall.SIGTERM)
				stopped <- true
			case <-done:
			}
		}()
		err = cmd.Wait()
		close(done)
		select {
		case <-stopped:
			fatal(errors.New("interrupted; the redis script stopped its servers"))
		default:
		}
	}
	_ = os.WriteFile(filepath.Join(rawDir, "redis.csv"), stdout.Bytes(), 0o644)
	if err != nil {
		res.skipped = fmt.Sprintf("%s: %v: %s", script, err, lastLines(stderr.String(), 3))
		return res
	}
	rows, err := parseRedisCSV(&stdout)
	if err == nil && len(rows) == 0 {
		err = errors.New("no results")
	}
	if err != nil {
		res.skipped = fmt.Sprintf("%s: %v", script, err)
		return res
	}
	res.medians = medianRedis(rows)
	return res
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " / ")
}
