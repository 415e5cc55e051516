package storebench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
	"github.com/maypok86/otter/v2"
)

// zipfTrace returns n requests over keys with a Zipf distribution.
func zipfTrace(n, keys int, s float64) []string {
	rng := rand.New(rand.NewPCG(42, 42))
	z := rand.NewZipf(rng, s, 1, uint64(keys-1))
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("key-%012d", i)
	}
	trace := make([]string, n)
	for i := range trace {
		trace[i] = names[z.Uint64()]
	}
	return trace
}

// BenchmarkHitRatio replays a skewed trace (read, and write on a miss)
// through each cache sized for the same number of entries, and reports
// the hit ratio. The store's size is in bytes: room for the same count of
// 16-byte keys with 100-byte values. Ristretto's sets are applied
// asynchronously and may be dropped or refused by its admission policy;
// the replay does not wait for them, as a cache in use would not.
func BenchmarkHitRatio(b *testing.B) {
	const (
		keys     = 200_000
		requests = 400_000
		capacity = 10_000
	)
	for _, skew := range []float64{1.01, 1.2} {
		trace := zipfTrace(requests, keys, skew)
		val := make([]byte, valueLen)
		b.Run(fmt.Sprintf("zipf=%.2f/store", skew), func(b *testing.B) {
			for b.Loop() {
				probe, _ := store.New(&store.Config{SweepInterval: -1})
				fixed := probe.Stats().FixedBytes
				probe.Close()
				s, _ := store.New(&store.Config{SweepInterval: -1, MaxBytes: fixed + capacity*(144+24)})
				hits := 0
				for i, k := range trace {
					if _, ok := s.View(k); ok {
						hits++
					} else {
						s.Set(k, val, store.Version{Time: hlc.Timestamp(i + 1), Node: 1}, 0)
					}
				}
				s.Close()
				b.ReportMetric(100*float64(hits)/requests, "hit%")
			}
		})
		b.Run(fmt.Sprintf("zipf=%.2f/otter", skew), func(b *testing.B) {
			for b.Loop() {
				o := otter.Must(&otter.Options[string, []byte]{MaximumSize: capacity})
				hits := 0
				for _, k := range trace {
					if _, ok := o.GetIfPresent(k); ok {
						hits++
					} else {
						o.Set(k, val)
					}
				}
				o.StopAllGoroutines()
				b.ReportMetric(100*float64(hits)/requests, "hit%")
			}
		})
		b.Run(fmt.Sprintf("zipf=%.2f/ristretto", skew), func(b *testing.B) {
			for b.Loop() {
				r, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
					NumCounters: 10 * capacity, MaxCost: capacity, BufferItems: 64, IgnoreInternalCost: true,
				})
				if err != nil {
					b.Fatal(err)
				}
				hits := 0
				for _, k := range trace {
					if _, ok := r.Get(k); ok {
						hits++
					} else {
						r.Set(k, val, 1)
					}
				}
				r.Close()
				b.ReportMetric(100*float64(hits)/requests, "hit%")
			}
		})
	}
}
