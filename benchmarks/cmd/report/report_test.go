package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridkv/gridkv/benchmarks/internal/benchfmt"
)

// Real outputs of this machine, trimmed.
const (
	storeOut = `goos: linux
pkg: github.com/gridkv/gridkv/benchmarks/storebench
BenchmarkGet/store-2            	  933204	       252.3 ns/op	       0 B/op	       0 allocs/op
BenchmarkGet/otter-2            	  190146	      1213 ns/op	       0 B/op	       0 allocs/op
BenchmarkGet/ristretto-2        	  378622	       631.5 ns/op	       3 B/op	       0 allocs/op
BenchmarkGet/map-2              	  525926	       391.5 ns/op	       0 B/op	       0 allocs/op
BenchmarkSet/store-2            	  284534	       707.5 ns/op	         0 drop%	     144 B/op	       1 allocs/op
BenchmarkSet/otter-2            	  109562	      2104 ns/op	         0 drop%	     111 B/op	       2 allocs/op
BenchmarkSet/ristretto-2        	  290473	      1055 ns/op	         0 drop%	      96 B/op	       1 allocs/op
BenchmarkSet/map-2              	  766572	       315.9 ns/op	         0 drop%	       0 B/op	       0 allocs/op
BenchmarkGet/store-2            	  933204	       247.7 ns/op	       0 B/op	       0 allocs/op
BenchmarkGet/otter-2            	  190146	      1187 ns/op	       0 B/op	       0 allocs/op
PASS
`
	transportOut = `BenchmarkCallSequential/quic-2         	    7736	     45797 ns/op	     33700 p50-ns	    136114 p99-ns	     915 B/op	      17 allocs/op
BenchmarkCallSequential/rawquic-2      	    8671	     40330 ns/op	     34331 p50-ns	    110245 p99-ns	     657 B/op	      14 allocs/op
BenchmarkCallSequential/tcp-2          	   21939	     19633 ns/op	     14542 p50-ns	     45368 p99-ns	      40 B/op	       0 allocs/op
BenchmarkCallParallel/quic-2           	   77084	      5625 ns/op	    179224 calls/s	     564 B/op	       4 allocs/op
BenchmarkCallParallel/tcp-2            	   19794	     20788 ns/op	     48214 calls/s	     241 B/op	       0 allocs/op
`
	clusterOut = `BenchmarkMixed/c=32/gridkv-2         	    8516	    185641 ns/op	     41808 cpu-ns/op	      5392 ops/s	    974847 p50-ns	  52953087 p99-ns	  70000000 p999-ns	    1905 B/op	      24 allocs/op
BenchmarkMixed/c=2/gridkv-2          	    9181	    170549 ns/op	     61340 cpu-ns/op	      5863 ops/s	     78847 p50-ns	   3047423 p99-ns	   9000000 p999-ns	    2027 B/op	      35 allocs/op
BenchmarkMixed/c=32/olric-2          	   27890	     71153 ns/op	     69690 cpu-ns/op	     14054 ops/s	   1556479 p50-ns	   8519679 p99-ns	  20000000 p999-ns	    4633 B/op	      69 allocs/op
BenchmarkMixed/c=2/olric-2           	   21319	     53794 ns/op	     53591 cpu-ns/op	     18590 ops/s	     55807 p50-ns	   3047423 p99-ns	   6000000 p999-ns	    4614 B/op	      69 allocs/op
`
	redisOut = `system,test,pipeline,round,rps,avg_ms,p50_ms,p99_ms
gridkv,SET,1,1,44345.90,0.863,0.607,7.071
gridkv,GET,1,1,34071.55,1.188,0.567,14.879
redis,SET,1,1,45766.59,0.710,0.527,7.159
redis,GET,1,1,60060.06,0.547,0.535,0.903
gridkv,SET,1,2,40000.00,0.863,0.707,7.071
gridkv,GET,1,2,36000.00,1.188,0.567,14.879
redis,SET,1,2,50000.00,0.710,0.527,7.159
redis,GET,1,2,62000.00,0.547,0.535,0.903
gridkv,SET,16,1,219780.22,3.342,2.735,18.239
redis,SET,16,1,465116.25,1.459,1.447,2.815
`
)

func parse(t *testing.T, s string) *benchfmt.Results {
	t.Helper()
	res, err := benchfmt.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPivot(t *testing.T) {
	var b strings.Builder
	Pivot{Metric: "ns/op", Systems: storeSystems, Ratios: true}.Write(&b, parse(t, storeOut))
	want := `| benchmark, ns/op (median) | store | otter | ristretto | map | store ÷ otter | store ÷ ristretto | store ÷ map |
|---|---:|---:|---:|---:|---:|---:|---:|
| Get | 250 | 1200 | 632 | 392 | 0.21 | 0.40 | 0.64 |
| Set | 708 | 2104 | 1055 | 316 | 0.34 | 0.67 | 2.24 |

`
	if got := b.String(); got != want {
		t.Errorf("pivot:\n%s\nwant:\n%s", got, want)
	}
	// Systems without a value for the metric are left out; rows without
	// the metric too.
	b.Reset()
	Pivot{Metric: "calls/s", Systems: []string{"quic", "tcp", "rawquic"}, Ratios: true}.Write(&b, parse(t, transportOut))
	want = `| benchmark, calls/s (median) | quic | tcp | quic ÷ tcp |
|---|---:|---:|---:|
| CallParallel | 179224 | 48214 | 3.72 |

`
	if got := b.String(); got != want {
		t.Errorf("pivot:\n%s\nwant:\n%s", got, want)
	}
	// Aliases and a system in the middle of the name.
	p := Pivot{Metric: "ns/op", Systems: []string{"ring", "jump"}, Alias: map[string]string{"gridkv_ring": "ring"}}
	for _, tc := range []struct{ name, row, sys string }{
		{"BenchmarkOwner/ring/hash", "Owner/hash", "ring"},
		{"BenchmarkBuild100/gridkv_ring", "Build100", "ring"},
		{"BenchmarkOwner/jump/hash", "Owner/hash", "jump"},
	} {
		row, sys, ok := p.split(tc.name)
		if !ok || row != tc.row || sys != tc.sys {
			t.Errorf("split(%s) = %q, %q, %v; want %q, %q", tc.name, row, sys, ok, tc.row, tc.sys)
		}
	}
	if _, _, ok := p.split("BenchmarkOwner/consistent/key"); ok {
		t.Error("split found a system that is not a column")
	}
}

func TestTableAlignment(t *testing.T) {
	var b strings.Builder
	table(&b, []string{"a", "n", "text", "mixed|pipe"}, [][]string{{"x", "1.5", "abc", "-"}, {"y", "-", "2", "3"}})
	want := "| a | n | text | mixed\\|pipe |\n|---|---:|---|---:|\n| x | 1.5 | abc | - |\n| y | - | 2 | 3 |\n\n"
	if got := b.String(); got != want {
		t.Errorf("table:\n%q\nwant:\n%q", got, want)
	}
}

func TestRedis(t *testing.T) {
	rows, err := parseRedisCSV(strings.NewReader(redisOut))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10 {
		t.Fatalf("%d rows, want 10", len(rows))
	}
	m := medianRedis(rows)
	if got := m.rps[redisKey{"gridkv", "SET", 1}]; got != 42172.95 {
		t.Errorf("gridkv SET -P 1 median = %v", got)
	}
	if got := m.rounds[redisKey{"redis", "GET", 1}]; got != 2 {
		t.Errorf("rounds = %d, want 2", got)
	}
	var b strings.Builder
	writeRedisTable(&b, m)
	want := `| test | gridkv ÷ redis | gridkv req/s | redis req/s | gridkv p50 ms | gridkv p99 ms | redis p50 ms | redis p99 ms | rounds |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| SET -P 1 | 0.88 | 42173 | 47883 | 0.657 | 7.1 | 0.527 | 7.2 | 2 |
| GET -P 1 | 0.57 | 35036 | 61030 | 0.567 | 14.9 | 0.535 | 0.903 | 2 |
| SET -P 16 | 0.47 | 219780 | 465116 | 2.7 | 18.2 | 1.4 | 2.8 | 1 |

`
	if got := b.String(); got != want {
		t.Errorf("redis table:\n%s\nwant:\n%s", got, want)
	}
	if _, err := parseRedisCSV(strings.NewReader("system,test\ngridkv,SET\n")); err == nil {
		t.Error("no error for a header without rps")
	}
}

// TestReport writes a whole report from real outputs, with plots, and
// checks its sections and headline rows.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	rows, err := parseRedisCSV(strings.NewReader(redisOut))
	if err != nil {
		t.Fatal(err)
	}
	r := &report{
		dir: dir, count: 2, benchtime: "300ms", clusterTime: "1s",
		machine: &machine{Date: "2026-11-22 00:45 UTC", CPU: "AMD EPYC", Cores: 2, Commit: "abc1234 subject", LoadBefore: "1.00 1.00 1.00", LoadAfter: "2.00 1.00 1.00", Duration: time.Minute},
		res: map[string]*benchfmt.Results{
			"clusterbench": parse(t, clusterOut),
			"storebench":   parse(t, storeOut),
			"transport":    parse(t, transportOut),
		},
		redis: &redisResult{medians: medianRedis(rows), command: "scripts/bench-redis.sh"},
	}
	var b strings.Builder
	r.write(&b)
	if len(r.plotErrs) > 0 {
		t.Fatal(r.plotErrs)
	}
	md := b.String()
	for _, want := range []string{
		"## Machine", "| git commit | `abc1234 subject` |", "| uncommitted changes | none |",
		"## Summary", "| cluster, 32 goroutines: gridkv vs olric | ops/s | 5392 | 14054 | 0.38 |",
		"| store Get, 100k keys: store vs ristretto | ns/op | 250 | 632 | 0.40 |",
		"| transport round trip: quic vs tcp | p50 µs | 33.7 | 14.5 | 2.32 |",
		"| server GET -P 1: gridkv vs redis-server | req/s | 35036 | 61030 | 0.57 |",
		"| c=32 gridkv | 5392 | 975 | 52953 | 70000 | 41808 | 24.0 | 1 |",
		"| cluster, 32 goroutines: gridkv vs olric | p999 µs | 70000 | 20000 | 3.50 |",
		"| mixed 2 goroutines: gridkv ops/s ÷ olric ops/s | 0.32 | ≥ 10 | NOT MET |",
		"![cluster throughput](cluster_ops.svg)", "![cluster latency percentiles](cluster_latency.svg)",
		"![store ns/op](store.svg)", "![server requests/s](server.svg)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, f := range []string{"cluster_ops.svg", "cluster_latency.svg", "store.svg", "server.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !strings.Contains(string(b), "<svg") {
			t.Errorf("%s: %v, not an SVG", f, err)
		}
	}
	if t.Failed() {
		t.Log(md)
	}

	// Failed rounds are listed.
	r.failures = map[string][]string{"clusterbench": {"round 5: exit status 1: --- FAIL: BenchmarkLocalGet"}}
	b.Reset()
	r.write(&b)
	if !strings.Contains(b.String(), "## Failed rounds") || !strings.Contains(b.String(), "- clusterbench, round 5: exit status 1: --- FAIL: BenchmarkLocalGet") {
		t.Errorf("report with a failed round:\n%s", b.String())
	}

	// A skipped redis section says why, and the rest stands.
	r.redis = &redisResult{skipped: "redis-server or redis-tools missing, and installing them with apt-get needs root"}
	b.Reset()
	r.write(&b)
	if !strings.Contains(b.String(), "Skipped: redis-server or redis-tools missing") || !strings.Contains(b.String(), "## Cluster") {
		t.Errorf("report with redis skipped:\n%s", b.String())
	}
}

// TestRender writes a report from a raw/ folder alone, as -render does
// (and as a run does once its outputs are in raw/).
func TestRender(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw")
	files := map[string]string{
		"clusterbench.txt": clusterOut,
		"transport.txt":    transportOut,
		"redis.csv":        redisOut,
		"ringbalance.md":   "| placement | CV |\n|---|---|\n| gridkv ring | 2.49% |\n",
		"run.json": `{"Machine": {"Date": "2026-11-22 01:17 UTC", "Commit": "abc1234 subject", "Cores": 2, "Duration": 60000000000},
			"Count": 5, "Benchtime": "300ms", "ClusterTime": "1s", "Suites": ["clusterbench", "transport"],
			"Failures": {"transport": ["round 2: exit status 1: --- FAIL: BenchmarkCallParallel"]},
			"Ring": true, "Redis": {"Command": "ROUNDS=5 scripts/bench-redis.sh"}}`,
	}
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(raw, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeReport(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"median of 5 runs", "| duration of the run | 1m0s |",
		"- transport, round 2: exit status 1: --- FAIL: BenchmarkCallParallel",
		"| c=2 olric | 18590 |", "| CallParallel | 179224 | 48214 | 3.72 |",
		"`ROUNDS=5 scripts/bench-redis.sh`", "| gridkv ring | 2.49% |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, f := range []string{"cluster_ops.svg", "cluster_latency.svg", "server.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
	if err := writeReport(t.TempDir()); err == nil {
		t.Error("no error without raw/run.json")
	}
}
