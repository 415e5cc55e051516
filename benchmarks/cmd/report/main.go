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
// goes on. -skip leaves sections out, for quick tries. Everything the
// report is written from stays in raw/ (outputs, raw/run.json with the
// machine's facts and failed rounds), so -render writes REPORT.md and the
// plots again from it without running anything.
package main

import (
	"bytes"
	"encoding/json"
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

// section is one comparison: the suites it runs in the shared rounds.
type section struct {
	key    string
	suites []benchfmt.Suite
}

// run is what a report is written from besides the raw outputs, kept as
// raw/run.json: -render writes the report again from raw/ alone.
type run struct {
	Machine                *machine
	Count                  int
	Benchtime, ClusterTime string
	Suites                 []string            // raw/NAME.txt each
	Failures               map[string][]string // failed rounds by suite
	Ring                   bool                // raw/ringbalance.md
	Redis                  *redisRun           // nil: not run
}

// redisRun is how the redis comparison ran; its CSV is raw/redis.csv.
type redisRun struct {
	Command string
	Skipped string // non-empty: why the section was skipped
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
		render       = flag.Bool("render", false, "run nothing: write REPORT.md and the plots again from the -out folder's raw/")
	)
	flag.Parse()
	rawDir := filepath.Join(*out, "raw")
	if !*render {
		skipped := strings.Split(*skip, ",")
		on := func(key string) bool { return !slices.Contains(skipped, key) }
		// The machine's facts first: clearing raw/ below would make the
		// report's own output look like uncommitted changes.
		facts := machineFacts()
		// A new run replaces the last one's raw outputs and plots, so no
		// file of an older run is left next to the report.
		if err := os.RemoveAll(rawDir); err != nil {
			fatal(err)
		}
		for _, p := range plotFiles {
			os.Remove(filepath.Join(*out, p))
		}
		if err := os.MkdirAll(rawDir, 0o755); err != nil {
			fatal(err)
		}
		r := measure(facts, rawDir, on, *count, *benchtime, *clusterTime, *redisScript, *redisRounds, *redisRequest)
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rawDir, "run.json"), b, 0o644); err != nil {
			fatal(err)
		}
	}
	if err := writeReport(*out); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "report: wrote %s\n", filepath.Join(*out, "REPORT.md"))
}

// measure runs the sections on selects, writing raw outputs to rawDir.
func measure(facts *machine, rawDir string, on func(string) bool, count int, benchtime, clusterTime, redisScript string, redisRounds, redisRequests int) *run {
	r := &run{Machine: facts, Count: count, Benchtime: benchtime, ClusterTime: clusterTime, Failures: map[string][]string{}}
	start := time.Now()
	micro := func(name, pkg, bench string) benchfmt.Suite {
		return benchfmt.Suite{Name: name, Pkg: pkg, Bench: bench, Benchtime: benchtime}
	}
	all := []section{
		{"hlc", []benchfmt.Suite{micro("hlcbench", "./hlcbench", ".")}},
		{"ring", []benchfmt.Suite{micro("ringbench", "./ringbench", ".")}},
		{"store", []benchfmt.Suite{
			micro("storebench", "./storebench", "Get|Set"),
			{Name: "storebench-hitratio", Pkg: "./storebench", Bench: "HitRatio", Benchtime: "1x"},
		}},
		{"transport", []benchfmt.Suite{micro("transport", "../transport", "Call")}},
		{"cluster", []benchfmt.Suite{{Name: "clusterbench", Pkg: "./clusterbench", Benchtime: clusterTime}}},
	}
	var suites []benchfmt.Suite
	for _, s := range all {
		if on(s.key) {
			suites = append(suites, s.suites...)
		}
	}
	if len(suites) > 0 {
		outs, err := benchfmt.Rounds(suites, count, os.Stderr)
		if err != nil {
			fatal(err)
		}
		for i, s := range suites {
			if err := os.WriteFile(filepath.Join(rawDir, s.Name+".txt"), outs[i].Out, 0o644); err != nil {
				fatal(err)
			}
			r.Suites = append(r.Suites, s.Name)
			if len(outs[i].Failures) > 0 {
				r.Failures[s.Name] = outs[i].Failures
			}
		}
	}
	if on("ring") {
		if err := os.WriteFile(filepath.Join(rawDir, "ringbalance.md"), []byte(ringbench.Table(1_000_000)), 0o644); err != nil {
			fatal(err)
		}
		r.Ring = true
	}
	if on("redis") {
		if redisRounds == 0 {
			redisRounds = count
		}
		r.Redis = runRedis(redisScript, rawDir, redisRounds, redisRequests)
	}
	r.Machine.finish(start)
	return r
}

// writeReport writes dir/REPORT.md and the plots from dir/raw.
func writeReport(dir string) error {
	rawDir := filepath.Join(dir, "raw")
	b, err := os.ReadFile(filepath.Join(rawDir, "run.json"))
	if err != nil {
		return err
	}
	var info run
	if err := json.Unmarshal(b, &info); err != nil {
		return fmt.Errorf("run.json: %w", err)
	}
	r := &report{dir: dir, count: info.Count, benchtime: info.Benchtime, clusterTime: info.ClusterTime,
		machine: info.Machine, failures: info.Failures, res: map[string]*benchfmt.Results{}}
	if r.machine == nil {
		r.machine = &machine{}
	}
	for _, name := range info.Suites {
		f, err := os.Open(filepath.Join(rawDir, name+".txt"))
		if err != nil {
			return err
		}
		res, err := benchfmt.Parse(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r.res[name] = res
	}
	if info.Ring {
		b, err := os.ReadFile(filepath.Join(rawDir, "ringbalance.md"))
		if err != nil {
			return err
		}
		r.balance = string(b)
	}
	if info.Redis != nil {
		r.redis = &redisResult{command: info.Redis.Command, skipped: info.Redis.Skipped}
		if r.redis.skipped == "" {
			f, err := os.Open(filepath.Join(rawDir, "redis.csv"))
			if err != nil {
				return err
			}
			rows, err := parseRedisCSV(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("redis.csv: %w", err)
			}
			r.redis.medians = medianRedis(rows)
		}
	}
	var md bytes.Buffer
	r.write(&md)
	for _, err := range r.plotErrs {
		fmt.Fprintln(os.Stderr, "report: plot:", err)
	}
	return os.WriteFile(filepath.Join(dir, "REPORT.md"), md.Bytes(), 0o644)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

// redisResult is the redis section of a report: medians, or why it was
// skipped.
type redisResult struct {
	medians redisMedians
	skipped string // non-empty: the reason
	command string
}

// runRedis runs the script, which prints CSV on stdout (kept as
// raw/redis.csv) and its progress on stderr. Any failure skips the
// section with the reason, so the rest of the report stands.
func runRedis(script, rawDir string, rounds, requests int) *redisRun {
	res := &redisRun{Command: fmt.Sprintf("ROUNDS=%d REQUESTS=%d %s", rounds, requests, script)}
	abs, err := filepath.Abs(filepath.Join(rawDir, "redis"))
	if err != nil {
		res.Skipped = err.Error()
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
		res.Skipped = fmt.Sprintf("%s: %v: %s", script, err, lastLines(stderr.String(), 3))
		return res
	}
	rows, err := parseRedisCSV(bytes.NewReader(stdout.Bytes()))
	if err == nil && len(rows) == 0 {
		err = errors.New("no results")
	}
	if err != nil {
		res.Skipped = fmt.Sprintf("%s: %v", script, err)
	}
	return res
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " / ")
}
