package gridkv_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// samples reads g's metrics into name{labels} → value.
func samples(t *testing.T, g *gridkv.GridKV) map[string]float64 {
	t.Helper()
	var b strings.Builder
	g.WritePrometheus(&b)
	return testcluster.ParseMetrics(t, b.String())
}

// TestMetrics: every documented series is there, the counters move with
// operations and errors, and the latency histograms have the layout
// Prometheus' histogram_quantile reads: cumulative le buckets ending in
// +Inf, equal to _count.
func TestMetrics(t *testing.T) {
	g := testcluster.Start(t, 1, nil)[0]
	ctx := ctxT(t)
	before := samples(t, g)
	for i := range 20 {
		k := fmt.Sprint("m:", i)
		if err := g.Set(ctx, k, []byte("v")); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	g.Get(ctx, "m:missing") // not found: an operation, not an error
	g.Set(ctx, strings.Repeat("k", 5000), nil)
	if err := g.Delete(ctx, "m:0"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Scan(ctx, 0, "m:*", 100); err != nil {
		t.Fatal(err)
	}
	after := samples(t, g)

	for _, name := range []string{
		`gridkv_local_reads_total`, `gridkv_membership_events_total`, `gridkv_ring_members`,
		`gridkv_members{state="alive"}`, `gridkv_members{state="suspect"}`, `gridkv_members{state="failed"}`, `gridkv_members{state="left"}`,
		`gridkv_hints_pending`, `gridkv_hints_stored_total`, `gridkv_hints_delivered_total`, `gridkv_hints_dropped_total`, `gridkv_hints_expired_total`,
		`gridkv_quorum_failures_total`, `gridkv_read_repairs_total`, `gridkv_superseded_writes_total`,
		`gridkv_anti_entropy_rounds_total`, `gridkv_anti_entropy_pushed_total`, `gridkv_anti_entropy_pulled_total`,
		`gridkv_rebalance_ranges_receiving`, `gridkv_rebalance_entries_moved_total`,
		`gridkv_handoff_ranges`, `gridkv_handoff_entries_pushed_total`, `gridkv_handoff_entries_dropped_total`,
		`gridkv_store_keys`, `gridkv_store_tombstones`, `gridkv_store_bytes`, `gridkv_store_max_bytes`, `gridkv_store_evictions_total`,
	} {
		if _, ok := after[name]; !ok {
			t.Errorf("no series %s", name)
		}
	}
	moved := map[string]float64{
		`gridkv_operations_total{op="set"}`:                            21,
		`gridkv_operations_total{op="get"}`:                            21,
		`gridkv_operations_total{op="delete"}`:                         1,
		`gridkv_operations_total{op="scan"}`:                           1,
		`gridkv_errors_total{op="set",type="too_large"}`:               1,
		`gridkv_operation_duration_seconds_count{op="set"}`:            21,
		`gridkv_operation_duration_seconds_count{op="get"}`:            21,
		`gridkv_operation_duration_seconds_bucket{op="get",le="+Inf"}`: 21,
		`gridkv_store_keys`:                                            19,
		`gridkv_store_tombstones`:                                      1,
	}
	for name, d := range moved {
		if got := after[name] - before[name]; got != d {
			t.Errorf("%s moved by %v, want %v", name, got, d)
		}
	}
	if _, ok := after[`gridkv_errors_total{op="get",type="not_found"}`]; ok {
		t.Error("not found counted as an error")
	}
	for _, op := range []string{"set", "get", "delete", "scan"} {
		// Walk the buckets in the order of their bounds.
		prev, prevLE := 0.0, 0.0
		for _, le := range []string{"5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
			v, ok := after[`gridkv_operation_duration_seconds_bucket{op="`+op+`",le="`+le+`"}`]
			if !ok {
				t.Fatalf("op %s: no bucket le=%s", op, le)
			}
			bound := math.Inf(1)
			if le != "+Inf" {
				bound, _ = strconv.ParseFloat(le, 64)
			}
			if v < prev || bound <= prevLE {
				t.Fatalf("op %s: bucket le=%s = %v after %v: not cumulative", op, le, v, prev)
			}
			prev, prevLE = v, bound
		}
		count := after[`gridkv_operation_duration_seconds_count{op="`+op+`"}`]
		if prev != count || count != after[`gridkv_operations_total{op="`+op+`"}`] {
			t.Errorf("op %s: +Inf bucket %v, _count %v, operations %v: want equal", op, prev, count, after[`gridkv_operations_total{op="`+op+`"}`])
		}
		if sum := after[`gridkv_operation_duration_seconds_sum{op="`+op+`"}`]; count > 0 && sum <= 0 {
			t.Errorf("op %s: _sum %v", op, sum)
		}
	}
}

// TestLocalReadAllocations: a Get with consistency One (the node's
// default here) on a node that holds a replica reads its own store: it
// allocates the value it returns and nothing else.
func TestLocalReadAllocations(t *testing.T) {
	g := testcluster.Start(t, 1, func(_ int, o *gridkv.Options) { o.DefaultConsistency = gridkv.One })[0]
	ctx := context.Background()
	if err := g.Set(ctx, "local", []byte("value")); err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	g.WritePrometheus(&buf)
	before := metricValue(t, buf.String(), "gridkv_local_reads_total")
	const runs = 1000
	if n := testing.AllocsPerRun(runs, func() {
		if v, err := g.Get(ctx, "local"); err != nil || string(v) != "value" {
			t.Fatalf("Get = %q, %v", v, err)
		}
	}); n > 1 {
		t.Fatalf("local One Get: %v allocations, want at most 1 (the value)", n)
	}
	// The same with the consistency passed per call (Options are values:
	// passing one allocates nothing).
	if n := testing.AllocsPerRun(runs, func() {
		if v, err := g.Get(ctx, "local", gridkv.WithConsistency(gridkv.One)); err != nil || string(v) != "value" {
			t.Fatalf("Get = %q, %v", v, err)
		}
	}); n > 1 {
		t.Fatalf("local Get with WithConsistency(One): %v allocations, want at most 1 (the value)", n)
	}
	buf.Reset()
	g.WritePrometheus(&buf)
	if after := metricValue(t, buf.String(), "gridkv_local_reads_total"); after < before+2*runs {
		t.Fatalf("local reads went from %v to %v: the Gets were not served locally", before, after)
	}
	for c := gridkv.One; c <= gridkv.Linearizable+1; c++ {
		if _, got := gridkv.OptionValues(gridkv.WithConsistency(c)); got != c {
			t.Fatalf("WithConsistency(%v) sets %v", c, got)
		}
	}
}
