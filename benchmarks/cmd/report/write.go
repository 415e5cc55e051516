package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gridkv/gridkv/benchmarks/internal/benchfmt"
)

// plotFiles are the plots a report may draw.
var plotFiles = []string{"cluster_ops.svg", "cluster_latency.svg", "store.svg", "server.svg"}

// report holds everything REPORT.md is written from.
type report struct {
	dir                    string // where plots go; "" draws none
	count                  int
	benchtime, clusterTime string
	machine                *machine
	res                    map[string]*benchfmt.Results // by suite name
	failures               map[string][]string          // failed rounds, by suite name
	balance                string                       // ringbalance's Markdown table
	redis                  *redisResult
	plotErrs               []error
}

// plot runs draw on dir/name and writes the Markdown image line, or
// nothing (the error is kept for the end) if it failed.
func (r *report) plot(w io.Writer, name, alt string, draw func(path string) error) {
	if r.dir == "" {
		return
	}
	if err := draw(filepath.Join(r.dir, name)); err != nil {
		r.plotErrs = append(r.plotErrs, fmt.Errorf("%s: %w", name, err))
		return
	}
	fmt.Fprintf(w, "![%s](%s)\n\n", alt, name)
}

func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "# GridKV benchmark report\n\n")
	fmt.Fprintf(w, "Written by `make report` (`benchmarks/cmd/report`). Every figure is the median of %d runs; "+
		"the Go suites ran in %d rounds, each round running every suite once (and every system of a suite in turn), "+
		"so a noisy minute of this shared machine hits all systems alike. Micro-benchmarks ran with "+
		"`-benchtime %s`, clusterbench with `-benchtime %s`. Raw outputs are in [raw/](raw/).\n\n",
		r.count, r.count, r.benchtime, r.clusterTime)
	r.writeMachine(w)
	r.writeFailures(w)
	r.writeSummary(w)
	if res := r.res["clusterbench"]; res != nil {
		r.writeCluster(w, res)
	}
	if res := r.res["storebench"]; res != nil {
		r.writeStore(w, res, r.res["storebench-hitratio"])
	}
	if res := r.res["transport"]; res != nil {
		r.writeTransport(w, res)
	}
	if r.redis != nil {
		r.writeRedis(w)
	}
	if res := r.res["hlcbench"]; res != nil {
		fmt.Fprintf(w, "## HLC: `hlc.Clock.Now` against `time.Now` and a mutex clock (hlcbench)\n\n")
		Pivot{Metric: "ns/op", Systems: []string{"clock=hlc", "clock=time.Now", "clock=mutex"}, Ratios: true}.Write(w, res)
	}
	if res := r.res["ringbench"]; res != nil || r.balance != "" {
		fmt.Fprintf(w, "## Ring: `ring` against buraksezer/consistent and jump hash (ringbench, ringbalance)\n\n")
		if res != nil {
			fmt.Fprintf(w, "Lookups for 10 members (`hash`: the key's hash is given; `key`: hashing included; consistent has only the latter), "+
				"and building a 100-member ring (jump hash has nothing to build: its Build100 is a baseline of nothing, not a rival).\n\n")
			Pivot{Metric: "ns/op", Systems: []string{"ring", "consistent", "jump"}, Ratios: true, Alias: map[string]string{
				"gridkv_ring": "ring", "buraksezer_consistent": "consistent", "jump_hash": "jump",
			}}.Write(w, res)
		}
		if r.balance != "" {
			fmt.Fprintf(w, "Balance and movement (`go run ./cmd/ringbalance`, one run: these are counts, not timings, except the build column):\n\n%s\n", r.balance)
		}
	}
}

func (r *report) writeMachine(w io.Writer) {
	m := r.machine
	fmt.Fprintf(w, "## Machine\n\n")
	dirty := "none"
	if m.Dirty != "" {
		dirty = "yes, in " + m.Dirty + " (the benchmarks were built from the working tree)"
	}
	table(w, []string{"fact", "value"}, [][]string{
		{"date (start)", m.Date},
		{"git commit", "`" + m.Commit + "`"},
		{"uncommitted changes", dirty},
		{"Go", m.GoVersion},
		{"CPU", m.CPU},
		{"cores (runtime.NumCPU)", fmt.Sprint(m.Cores)},
		{"kernel", m.Kernel},
		{"load average before (1, 5, 15 min)", m.LoadBefore},
		{"load average after", m.LoadAfter},
		{"duration of the run", m.Duration.String()},
	})
}

var (
	clusterConcs   = []string{"c=2", "c=32"}
	clusterSystems = []string{"gridkv", "olric", "floor"}
	percentiles    = []struct{ label, unit string }{{"p50", "p50-ns"}, {"p99", "p99-ns"}, {"p999", "p999-ns"}}
)

func mixed(conc, sys string) string { return "BenchmarkMixed/" + conc + "/" + sys }

func (r *report) writeCluster(w io.Writer, res *benchfmt.Results) {
	fmt.Fprintf(w, "## Cluster: 3 GridKV nodes against 3 Olric v0.5.7 members (clusterbench)\n\n")
	fmt.Fprintf(w, "In one process on 127.0.0.1, N=3 W=2 R=2 (Olric: ReplicaCount 3, WriteQuorum 2, ReadQuorum 2, sync replication); "+
		"100k preloaded keys, 50/50 Get/Set of random keys with 100-byte values from 2 or 32 goroutines, each operation on a random node. "+
		"Latency percentiles come from clusterbench's log-linear histogram (about 3%% precision, no sorting of samples); "+
		"cpu-ns/op is the CPU time of the whole process per operation. "+
		"floor is GridKV's replication engine (3 quorum.Nodes, same stores, ring and N/W/R) on a network that costs nothing "+
		"(a call runs the peer's handler on the caller's goroutine): what GridKV would do with a free transport, so "+
		"olric's cpu-ns/op ÷ floor's bounds the ratio any transport could reach here.\n\n")
	us := func(name, unit string) string {
		if v, ok := res.Median(name, unit); ok {
			return benchfmt.Format(v / 1e3)
		}
		return "-"
	}
	var rows [][]string
	for _, c := range clusterConcs {
		for _, s := range clusterSystems {
			n := mixed(c, s)
			rows = append(rows, []string{c + " " + s, cell(res, n, "ops/s"), us(n, "p50-ns"), us(n, "p99-ns"), us(n, "p999-ns"),
				cell(res, n, "cpu-ns/op"), cell(res, n, "allocs/op"), fmt.Sprint(res.Runs(n))})
		}
		g, ok1 := res.Median(mixed(c, "gridkv"), "ops/s")
		o, ok2 := res.Median(mixed(c, "olric"), "ops/s")
		if ok1 && ok2 && o > 0 {
			rows = append(rows, []string{c + " gridkv ÷ olric", fmt.Sprintf("%.2f", g/o), "", "", "", "", "", ""})
		}
	}
	table(w, []string{"goroutines, system", "ops/s", "p50 µs", "p99 µs", "p999 µs", "cpu-ns/op", "allocs/op", "runs"}, rows)
	if vs := benchfmt.Verdicts(res, benchfmt.ClusterTargets); len(vs) > 0 {
		fmt.Fprintf(w, "Targets (ratios of medians):\n\n")
		verdictsTable(w, vs)
	}
	r.plot(w, "cluster_ops.svg", "cluster throughput", func(path string) error {
		vals := make([][]float64, len(clusterSystems))
		for i, s := range clusterSystems {
			for _, c := range clusterConcs {
				vals[i] = append(vals[i], medianOr(res, mixed(c, s), "ops/s"))
			}
		}
		return barChart(path, "3-node cluster, 50/50 Get/Set (median)", "ops/s", clusterConcs, clusterSystems, vals)
	})
	r.plot(w, "cluster_latency.svg", "cluster latency percentiles", func(path string) error {
		var series []string
		var vals [][]float64
		for _, c := range clusterConcs {
			for _, s := range clusterSystems {
				series = append(series, s+" "+c)
				var v []float64
				for _, p := range percentiles {
					v = append(v, medianOr(res, mixed(c, s), p.unit)/1e3)
				}
				vals = append(vals, v)
			}
		}
		labels := []string{percentiles[0].label, percentiles[1].label, percentiles[2].label}
		return latencyChart(path, "3-node cluster latency (median of runs)", "µs (log scale)", labels, series, vals)
	})
	fmt.Fprintf(w, "All clusterbench medians (Sequential: one caller, a transport round trip, a GridKV quorum Set, an Olric Put; LocalGet: a Get with consistency One against `store.Get`):\n\n")
	mediansTable(w, res)
}

// medianOr is the median, or NaN if missing.
func medianOr(res *benchfmt.Results, name, unit string) float64 {
	if v, ok := res.Median(name, unit); ok {
		return v
	}
	return math.NaN()
}

var storeSystems = []string{"store", "otter", "ristretto", "map"}

func (r *report) writeStore(w io.Writer, res, hit *benchfmt.Results) {
	fmt.Fprintf(w, "## Store: `store` against otter v2, ristretto v2 and a sharded map (storebench)\n\n")
	fmt.Fprintf(w, "16 hot keys (`GetHot`) or 100k keys, 16-byte keys and 100-byte values; serial and parallel reads (every read must hit: "+
		"ristretto's preload is waited for and checked) and overwrites. `store` ÷ other < 1 means store is faster. "+
		"Ristretto stores 64-bit hashes of keys, not the keys, and buffers sets; `drop%%` is the share of sets it did not take.\n\n")
	p := Pivot{Metric: "ns/op", Systems: storeSystems, Ratios: true}
	p.Write(w, res)
	r.plot(w, "store.svg", "store ns/op", func(path string) error {
		rows, vals := p.Grid(res)
		v := make([][]float64, len(storeSystems))
		for i, s := range storeSystems {
			for _, row := range rows {
				x, ok := vals[row][s]
				if !ok {
					x = math.NaN()
				}
				v[i] = append(v[i], x)
			}
		}
		return barChart(path, "store, otter, ristretto, sharded map (median ns/op, lower is better)", "ns/op", rows, storeSystems, v)
	})
	Pivot{Metric: "allocs/op", Systems: storeSystems}.Write(w, res)
	Pivot{Metric: "drop%", Systems: storeSystems}.Write(w, res)
	if hit != nil {
		fmt.Fprintf(w, "Hit ratio of each eviction policy on Zipf traces (200k keys, 400k requests, room for 10k entries; read, and write on a miss):\n\n")
		Pivot{Metric: "hit%", Systems: storeSystems}.Write(w, hit)
	}
}

func (r *report) writeTransport(w io.Writer, res *benchfmt.Results) {
	fmt.Fprintf(w, "## Transport (QUIC) against a TCP baseline (transport's BenchmarkCall*)\n\n")
	fmt.Fprintf(w, "transport's own benchmarks, run as a test binary of the transport module: `CallSequential` is one caller, one 100-byte call at a time "+
		"(`rawquic`: one quic-go stream, no framing, the floor); `CallParallel` is 32 callers to one peer (quic multiplexes them on one connection, "+
		"tcp uses 32 connections). tcp is plain TCP on loopback with a length prefix and no TLS. Its p50/p99 come from transport's "+
		"bounded sample (the last 65536 calls, sorted), not from a histogram; the cluster section's `Sequential/transport` row "+
		"has the round trip's p50/p99/p999 from the histogram.\n\n")
	sys := []string{"quic", "tcp", "rawquic"}
	Pivot{Metric: "ns/op", Systems: sys, Ratios: true}.Write(w, res)
	Pivot{Metric: "p50-ns", Systems: sys, Ratios: true}.Write(w, res)
	Pivot{Metric: "p99-ns", Systems: sys, Ratios: true}.Write(w, res)
	Pivot{Metric: "calls/s", Systems: sys, Ratios: true}.Write(w, res)
	Pivot{Metric: "allocs/op", Systems: sys}.Write(w, res)
}

func (r *report) writeRedis(w io.Writer) {
	fmt.Fprintf(w, "## Server: `gridkv serve` against redis-server (redis-benchmark)\n\n")
	if r.redis.skipped != "" {
		fmt.Fprintf(w, "Skipped: %s\n\n", r.redis.skipped)
		return
	}
	m := r.redis.medians
	fmt.Fprintf(w, "`%s`: one `gridkv serve` node (N=W=R=1) and one `redis-server --save '' --appendonly no` on 127.0.0.1, "+
		"and `gridkv-3`, node 1 of a 3-node `gridkv serve` cluster with N=3 W=2 R=2; `redis-benchmark -t get,set -c 50 -r 100000 -d 100`, "+
		"`-P 1` and `-P 16`, rounds alternating the servers; medians over rounds. Latencies are redis-benchmark's (its own histogram), in ms.\n\n", r.redis.command)
	writeRedisTable(w, m)
	r.plot(w, "server.svg", "server requests/s", func(path string) error {
		var groups []string
		tests := m.tests()
		for _, t := range tests {
			groups = append(groups, fmt.Sprintf("%s -P %d", t.test, t.pipeline))
		}
		systems := m.systems()
		vals := make([][]float64, len(systems))
		for i, s := range systems {
			for _, t := range tests {
				v, ok := m.rps[redisKey{s, t.test, t.pipeline}]
				if !ok {
					v = math.NaN()
				}
				vals[i] = append(vals[i], v)
			}
		}
		return barChart(path, "redis-benchmark, 50 clients (median requests/s)", "requests/s", groups, systems, vals)
	})
}

// headline is one row of the summary: GridKV's median against a baseline's.
type headline struct {
	what, metric    string
	suite, num, den string // suite name, benchmark names (without "Benchmark")
}

var headlines = []headline{
	{"cluster, 2 goroutines: gridkv vs olric", "ops/s", "clusterbench", "Mixed/c=2/gridkv", "Mixed/c=2/olric"},
	{"cluster, 32 goroutines: gridkv vs olric", "ops/s", "clusterbench", "Mixed/c=32/gridkv", "Mixed/c=32/olric"},
	{"cluster, 2 goroutines: gridkv vs olric", "p50-ns", "clusterbench", "Mixed/c=2/gridkv", "Mixed/c=2/olric"},
	{"cluster, 2 goroutines: gridkv vs olric", "p99-ns", "clusterbench", "Mixed/c=2/gridkv", "Mixed/c=2/olric"},
	{"cluster, 2 goroutines: gridkv vs olric", "p999-ns", "clusterbench", "Mixed/c=2/gridkv", "Mixed/c=2/olric"},
	{"cluster, 32 goroutines: gridkv vs olric", "p50-ns", "clusterbench", "Mixed/c=32/gridkv", "Mixed/c=32/olric"},
	{"cluster, 32 goroutines: gridkv vs olric", "p99-ns", "clusterbench", "Mixed/c=32/gridkv", "Mixed/c=32/olric"},
	{"cluster, 32 goroutines: gridkv vs olric", "p999-ns", "clusterbench", "Mixed/c=32/gridkv", "Mixed/c=32/olric"},
	{"store Get, 100k keys: store vs otter", "ns/op", "storebench", "Get/store", "Get/otter"},
	{"store Get, 100k keys: store vs ristretto", "ns/op", "storebench", "Get/store", "Get/ristretto"},
	{"store Get parallel: store vs otter", "ns/op", "storebench", "GetParallel/store", "GetParallel/otter"},
	{"store Get parallel: store vs ristretto", "ns/op", "storebench", "GetParallel/store", "GetParallel/ristretto"},
	{"transport round trip: quic vs tcp", "p50-ns", "transport", "CallSequential/quic", "CallSequential/tcp"},
	{"transport, 32 callers: quic vs tcp", "calls/s", "transport", "CallParallel/quic", "CallParallel/tcp"},
	{"hlc.Clock.Now vs time.Now", "ns/op", "hlcbench", "Now/clock=hlc", "Now/clock=time.Now"},
	{"ring owner of a key vs consistent", "ns/op", "ringbench", "Owner/ring/key", "Owner/consistent/key"},
}

// writeSummary writes the headline ratios of every section that ran.
func (r *report) writeSummary(w io.Writer) {
	var rows [][]string
	for _, h := range headlines {
		res := r.res[h.suite]
		if res == nil {
			continue
		}
		num, ok1 := res.Median("Benchmark"+h.num, h.metric)
		den, ok2 := res.Median("Benchmark"+h.den, h.metric)
		if !ok1 || !ok2 || den == 0 {
			continue
		}
		metric, scale := h.metric, 1.0
		if p, ok := strings.CutSuffix(metric, "-ns"); ok { // percentiles read better in µs
			metric, scale = p+" µs", 1e-3
		}
		rows = append(rows, []string{h.what, metric, benchfmt.Format(num * scale), benchfmt.Format(den * scale), fmt.Sprintf("%.2f", num/den)})
	}
	if r.redis != nil && r.redis.skipped == "" {
		m := r.redis.medians
		for _, t := range m.tests() {
			g, ok1 := m.rps[redisKey{"gridkv", t.test, t.pipeline}]
			d, ok2 := m.rps[redisKey{"redis", t.test, t.pipeline}]
			if ok1 && ok2 && d != 0 {
				rows = append(rows, []string{fmt.Sprintf("server %s -P %d: gridkv vs redis-server", t.test, t.pipeline), "req/s",
					benchfmt.Format(g), benchfmt.Format(d), fmt.Sprintf("%.2f", g/d)})
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "## Summary\n\nMedians; for ops/s, calls/s and req/s a ratio above 1 favours GridKV, for ns/op and latencies a ratio below 1 does.\n\n")
	table(w, []string{"comparison", "metric", "GridKV", "baseline", "GridKV ÷ baseline"}, rows)
}

// writeFailures lists the rounds that failed: their benchmarks are missing
// from the medians (the runs column shows how many counted).
func (r *report) writeFailures(w io.Writer) {
	if len(r.failures) == 0 {
		return
	}
	fmt.Fprintf(w, "## Failed rounds\n\nThese rounds failed; the benchmarks they completed are counted, the others have fewer runs (see each table's runs).\n\n")
	for _, name := range slices.Sorted(maps.Keys(r.failures)) {
		for _, f := range r.failures[name] {
			fmt.Fprintf(w, "- %s, %s\n", name, f)
		}
	}
	fmt.Fprintln(w)
}
