package benchfmt

import (
	"bytes"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

// sample is real clusterbench output (two rounds, trimmed), with the
// header lines and a PASS line parse must skip.
const sample = `goos: linux
goarch: amd64
pkg: github.com/gridkv/gridkv/benchmarks/clusterbench
cpu: AMD EPYC
BenchmarkMixed/c=32/gridkv-2         	    8516	    185641 ns/op	     41808 cpu-ns/op	      5392 ops/s	    974847 p50-ns	  52953087 p99-ns	    1905 B/op	      24 allocs/op
BenchmarkMixed/c=32/olric-2          	   27890	     71153 ns/op	     69690 cpu-ns/op	     14054 ops/s	   1556479 p50-ns	   8519679 p99-ns	    4633 B/op	      69 allocs/op
BenchmarkSequential/transport-2      	   37358	     31721 ns/op	     31074 cpu-ns/op	     31526 ops/s	     27391 p50-ns	     68607 p99-ns	     874 B/op	      17 allocs/op
BenchmarkSequential/set/gridkv-2     	   25166	     51576 ns/op	     48886 cpu-ns/op	     19389 ops/s	     40447 p50-ns	    290815 p99-ns	    2556 B/op	      40 allocs/op
BenchmarkLocalGet/serial/store-2     	 1633867	       675.3 ns/op	       621.7 cpu-ns/op	   1480751 ops/s	     112 B/op	       1 allocs/op
PASS
BenchmarkMixed/c=32/gridkv-2         	    9000	    160000 ns/op	     40000 cpu-ns/op	      6000 ops/s	    900000 p50-ns	  50000000 p99-ns	    1900 B/op	      24 allocs/op
BenchmarkMixed/c=32/olric-2          	   27000	     70000 ns/op	     70000 cpu-ns/op	     15000 ops/s	   1500000 p50-ns	   8000000 p99-ns	    4600 B/op	      69 allocs/op
BenchmarkSequential/transport-2      	   37000	     32000 ns/op	     31000 cpu-ns/op	     31000 ops/s	     27000 p50-ns	     68000 p99-ns	     870 B/op	      17 allocs/op
BenchmarkSequential/set/gridkv-2     	   25000	     52000 ns/op	     49000 cpu-ns/op	     19000 ops/s	     41000 p50-ns	    290000 p99-ns	    2550 B/op	      40 allocs/op
BenchmarkBroken-2 notanumber 12 ns/op
ok  	github.com/gridkv/gridkv/benchmarks/clusterbench	60.1s
`

func TestParse(t *testing.T) {
	res, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"BenchmarkMixed/c=32/gridkv", "BenchmarkMixed/c=32/olric", "BenchmarkSequential/transport",
		"BenchmarkSequential/set/gridkv", "BenchmarkLocalGet/serial/store"}
	if !slices.Equal(res.Names, wantNames) {
		t.Errorf("Names = %q, want %q", res.Names, wantNames)
	}
	wantUnits := []string{"ns/op", "cpu-ns/op", "ops/s", "p50-ns", "p99-ns", "B/op", "allocs/op"}
	if !slices.Equal(res.Units, wantUnits) {
		t.Errorf("Units = %q, want %q", res.Units, wantUnits)
	}
	if got := res.Samples["BenchmarkMixed/c=32/gridkv"]["ops/s"]; !slices.Equal(got, []float64{5392, 6000}) {
		t.Errorf("ops/s samples = %v", got)
	}
	if got := res.Runs("BenchmarkLocalGet/serial/store"); got != 1 {
		t.Errorf("Runs = %d, want 1", got)
	}
	if got := res.UnitsOf("BenchmarkLocalGet/serial/store"); slices.Contains(got, "p50-ns") || !slices.Contains(got, "ns/op") {
		t.Errorf("UnitsOf = %q", got)
	}
	if v, ok := res.Median("BenchmarkSequential/set/gridkv", "p50-ns"); !ok || v != 40723.5 {
		t.Errorf("Median p50 = %v, %v, want 40723.5", v, ok)
	}
	if _, ok := res.Median("BenchmarkMissing", "ns/op"); ok {
		t.Error("Median of a missing benchmark is ok")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{[]float64{3}, 3, true},
		{[]float64{3, 1}, 2, true},
		{[]float64{5, 1, 3}, 3, true},
		{[]float64{4, 1, 3, 100}, 3.5, true},
	} {
		in := slices.Clone(tc.in)
		got, ok := Median(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Median(%v) = %v, %v; want %v, %v", in, got, ok, tc.want, tc.ok)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Median reordered its input: %v", tc.in)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{185641, "185641"}, {100, "100"}, {675.3, "675"}, {24, "24.0"}, {1, "1.0"}, {0.5, "0.5"}, {0.01234, "0.0123"}, {0, "0"},
	} {
		if got := Format(tc.in); got != tc.want {
			t.Errorf("Format(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestVerdicts(t *testing.T) {
	res, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	vs := Verdicts(res, ClusterTargets)
	byDesc := map[string]Verdict{}
	for _, v := range vs {
		byDesc[v.Desc] = v
	}
	mixed := byDesc["mixed 32 goroutines: gridkv ops/s ÷ olric ops/s"]
	if want := 5696.0 / 14527; math.Abs(mixed.Ratio-want) > 1e-9 || mixed.Met || mixed.String() != "NOT MET" || mixed.Goal() != "≥ 10" {
		t.Errorf("mixed verdict = %+v (%s, %s), want ratio %v, NOT MET, ≥ 10", mixed, mixed, mixed.Goal(), want)
	}
	seq := byDesc["sequential: quorum Set p50 ÷ transport round trip p50"]
	if !seq.Met || seq.String() != "MET" || seq.Goal() != "≤ 1.5" {
		t.Errorf("sequential verdict = %+v (%s)", seq, seq)
	}
	info := byDesc["mixed 32 goroutines: gridkv p99 ÷ olric p99"]
	if info.String() != "for information" || info.Goal() != "" {
		t.Errorf("information verdict = %s, %q", info, info.Goal())
	}
	// Targets whose benchmarks are missing (c=2, LocalGet/gridkv) are left out.
	if _, ok := byDesc["mixed 2 goroutines: gridkv ops/s ÷ olric ops/s"]; ok {
		t.Error("verdict for missing benchmarks")
	}
	if len(vs) != 4 {
		t.Errorf("%d verdicts, want 4", len(vs))
	}
}

func TestFailLines(t *testing.T) {
	// A real failed round of clusterbench under load.
	out := `BenchmarkLocalGet/parallel/store-2   	 1000000	      6204 ns/op	      1066 cpu-ns/op	    161191 ops/s	     112 B/op	       1 allocs/op
--- FAIL: BenchmarkLocalGet
    bench_test.go:171: gridkv: preload key-000000019768: quorum: set: 1 of 3 replicas answered, need 2; context deadline exceeded
FAIL
`
	want := "--- FAIL: BenchmarkLocalGet / bench_test.go:171: gridkv: preload key-000000019768: quorum: set: 1 of 3 replicas answered, need 2; context deadline exceeded"
	if got := failLines(out); got != want {
		t.Errorf("failLines = %q, want %q", got, want)
	}
	if got := failLines("a\nb\n\nc\nd\n"); got != "b / c / d" {
		t.Errorf("failLines without FAIL = %q", got)
	}
}

// TestRounds builds a tiny benchmark package and runs it in rounds: every
// round's output is kept, and a failing round is recorded without
// stopping the others.
func TestRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	suites := []Suite{
		{Name: "ok", Pkg: "./testdata/tiny", Bench: "A", Benchtime: "10x"},
		{Name: "failing", Pkg: "./testdata/tiny", Benchtime: "10x", Args: []string{"-fail"}},
	}
	var echo strings.Builder
	outs, err := Rounds(suites, 2, &echo)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(echo.String(), "round 1/2: ok\n") || !strings.Contains(echo.String(), "round 2/2: failing\n") {
		t.Errorf("progress lines missing:\n%s", echo.String())
	}
	for i, o := range outs {
		res, err := Parse(bytes.NewReader(o.Out))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Samples["BenchmarkA"]["answers/op"]; !slices.Equal(got, []float64{42, 42}) {
			t.Errorf("%s: BenchmarkA answers/op = %v, want two runs of 42", suites[i].Name, got)
		}
	}
	if len(outs[0].Failures) != 0 {
		t.Errorf("ok suite failed: %q", outs[0].Failures)
	}
	if f := outs[1].Failures; len(f) != 2 || !strings.HasPrefix(f[1], "round 2: exit status 1: --- FAIL: BenchmarkFail") || !strings.Contains(f[1], "failing as asked") {
		t.Errorf("failures = %q", f)
	}
	if _, err := Rounds([]Suite{{Name: "missing", Pkg: "./testdata/missing"}}, 1, io.Discard); err == nil {
		t.Error("no error for a package that does not build")
	}
}
