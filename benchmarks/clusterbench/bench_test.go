package clusterbench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
)

// op is one timed operation on key; r is a random number for the
// operation's other choices (node, get or set).
type op func(ctx context.Context, r int, key string) error

// measure runs b.N operations from conc goroutines, each picking random
// keys, and reports ops/s, p50-ns, p99-ns and p999-ns of the operations.
func measure(b *testing.B, conc int, do op) {
	b.ReportAllocs()
	ks := keys()
	hists := make([]Histogram, conc)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		firstEr error
	)
	ctx := context.Background()
	b.ResetTimer()
	cpu0, cpuOK := cpuTime()
	start := time.Now()
	for g := range conc {
		wg.Go(func() {
			rng := newRand(g)
			h := &hists[g]
			for next.Add(1) <= int64(b.N) {
				k := ks[rng.IntN(len(ks))]
				t0 := time.Now()
				err := do(ctx, int(rng.Uint32()), k)
				h.Record(time.Since(t0))
				if err != nil {
					errOnce.Do(func() { firstEr = fmt.Errorf("key %s: %w", k, err) })
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, _ := cpuTime()
	b.StopTimer()
	if firstEr != nil {
		b.Fatal(firstEr)
	}
	var all Histogram
	for i := range hists {
		all.Merge(&hists[i])
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(all.Quantile(0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(all.Quantile(0.99).Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(all.Quantile(0.999).Nanoseconds()), "p999-ns")
	reportCPU(b, cpu0, cpu1, cpuOK)
}

// reportCPU reports the CPU time the whole process (every node, every
// caller) spent per operation: on a shared machine throughput follows the
// CPU that other processes leave, while CPU per operation hardly moves.
func reportCPU(b *testing.B, cpu0, cpu1 time.Duration, ok bool) {
	if ok && b.N > 0 {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkMixed is target 1: 50/50 Get/Set over 100k preloaded keys on a
// 3-node cluster (N=3 W=2 R=2), from 32 and from 2 goroutines; each
// operation goes to a random node. One system's cluster runs at a time.
func BenchmarkMixed(b *testing.B) {
	val := make([]byte, valueLen)
	for _, s := range starters {
		if !enabled(s.name) {
			continue
		}
		func() {
			c := s.start(b)
			defer func() {
				if err := c.close(); err != nil {
					b.Errorf("%s: close: %v", s.name, err)
				}
			}()
			preload(b, c)
			for _, conc := range []int{32, 2} {
				b.Run(fmt.Sprintf("c=%d/%s", conc, s.name), func(b *testing.B) {
					measure(b, conc, func(ctx context.Context, r int, key string) error {
						n := c.nodes[uint(r)%numNodes]
						if r&(1<<16) == 0 {
							_, err := n.get(ctx, key)
							return err
						}
						return n.set(ctx, key, val)
					})
				})
			}
		}()
	}
}

// BenchmarkSequential is target 2: one caller, one operation at a time.
// transport is the 100-byte round trip of transport's
// BenchmarkCallSequential; gridkv a quorum Set (W=2) through node 0, which
// is a replica, so it applies locally and waits for one remote ack; olric a
// Put through member 0 with WriteQuorum 2 (Olric v0.5.7 forwards it to the
// key's partition owner, which writes to both backups one after the other
// and then locally, whatever WriteQuorum says).
func BenchmarkSequential(b *testing.B) {
	req := make([]byte, valueLen)
	func() {
		cli, addr, closeAll := transportPair(b)
		defer closeAll()
		b.Run("transport", func(b *testing.B) {
			measure(b, 1, func(ctx context.Context, _ int, _ string) error {
				_, err := cli.Call(ctx, addr, req)
				return err
			})
		})
	}()
	for _, s := range starters {
		if !enabled(s.name) {
			continue
		}
		func() {
			c := s.start(b)
			defer c.close()
			n := c.nodes[0]
			b.Run("set/"+s.name, func(b *testing.B) {
				measure(b, 1, func(ctx context.Context, _ int, key string) error {
					return n.set(ctx, key, req)
				})
			})
		}()
	}
}

// BenchmarkLocalGet is target 3: a Get with consistency One on a node that
// holds a replica of every key, against store.Get (which also returns a
// copy the caller owns) on a store holding the same 100k keys.
func BenchmarkLocalGet(b *testing.B) {
	ks := keys()
	val := make([]byte, valueLen)
	gets := []struct {
		name  string
		start func(testing.TB) (get func(string) bool, closeAll func() error)
	}{
		{"store", func(tb testing.TB) (func(string) bool, func() error) {
			s, err := store.New(&store.Config{SweepInterval: -1})
			if err != nil {
				tb.Fatal(err)
			}
			for i, k := range ks {
				s.Set(k, val, store.Version{Time: hlc.Timestamp(i + 1), Node: 1}, 0)
			}
			return func(k string) bool { _, ok := s.Get(k); return ok }, s.Close
		}},
		{"gridkv", func(tb testing.TB) (func(string) bool, func() error) {
			nodes := startGridKV(tb)
			c := gridkvCluster(tb, nodes)
			preload(tb, c)
			g, ctx, one := nodes[0], context.Background(), gridkv.WithConsistency(gridkv.One)
			return func(k string) bool { _, err := g.Get(ctx, k, one); return err == nil }, c.close
		}},
	}
	for _, gt := range gets {
		if gt.name != "store" && !enabled(gt.name) {
			continue
		}
		func() {
			get, closeAll := gt.start(b)
			defer closeAll()
			b.Run("serial/"+gt.name, func(b *testing.B) {
				b.ReportAllocs()
				rng := newRand(0)
				cpu0, ok := cpuTime()
				for b.Loop() {
					if !get(ks[rng.IntN(len(ks))]) {
						b.Fatal("miss")
					}
				}
				cpu1, _ := cpuTime()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				reportCPU(b, cpu0, cpu1, ok)
			})
			b.Run("parallel/"+gt.name, func(b *testing.B) {
				b.ReportAllocs()
				var seed atomic.Int64
				cpu0, ok := cpuTime()
				b.RunParallel(func(pb *testing.PB) {
					rng := newRand(int(seed.Add(1)))
					for pb.Next() {
						if !get(ks[rng.IntN(len(ks))]) {
							b.Error("miss")
							return
						}
					}
				})
				cpu1, _ := cpuTime()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				reportCPU(b, cpu0, cpu1, ok)
			})
		}()
	}
}
