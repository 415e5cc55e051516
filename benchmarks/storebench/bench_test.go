package storebench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
	"github.com/maypok86/otter/v2"
)

const (
	hotKeys  = 16
	manyKeys = 100_000
	valueLen = 100
)

// cache is what each contender offers to the benchmarks. set reports
// whether the cache took the value: only ristretto may drop a set.
type cache struct {
	get func(key string) ([]byte, bool)
	set func(key string, value []byte) bool
}

// contenders builds the four caches holding the same n keys (16 bytes)
// with 100-byte values, and returns the keys in random order.
//
// Ristretto applies sets asynchronously, through a buffer that drops sets
// when full and a TinyLFU admission policy that may reject new keys once
// the cache is full. To compare reads of the same keys, it gets room for
// twice the keys (cost 1 each), its preload is waited for (Wait) and
// checked: every key must be readable before the benchmarks start, and
// the Get benchmarks fail on any miss, for every cache.
func contenders(b testing.TB, n int) (map[string]cache, []string) {
	b.Helper()
	keys := make([]string, n)
	val := make([]byte, valueLen)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%012d", i)
	}
	s, err := store.New(&store.Config{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var ts atomic.Int64
	ts.Store(1)
	o := otter.Must(&otter.Options[string, []byte]{MaximumSize: 2 * n, InitialCapacity: n})
	m := NewShardedMap()
	r, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters:        int64(10 * n), // the 10 × entries its docs advise
		MaxCost:            int64(2 * n),
		BufferItems:        64, // its docs' advice
		IgnoreInternalCost: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	for _, k := range keys {
		// The caches keep their own copy of each key, as keys parsed from
		// requests would be: lookups cannot win by pointer equality.
		s.Set(k, val, store.Version{Time: hlc.Timestamp(ts.Add(1)), Node: 1}, 0)
		o.Set(strings.Clone(k), val)
		m.Set(strings.Clone(k), val)
	}
	preloadRistretto(b, r, keys, val)
	rand.New(rand.NewPCG(1, 1)).Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return map[string]cache{
		"store": {
			get: s.View,
			set: func(k string, v []byte) bool {
				s.Set(k, v, store.Version{Time: hlc.Timestamp(ts.Add(1)), Node: 1}, 0)
				return true
			},
		},
		"otter": {
			get: o.GetIfPresent,
			set: func(k string, v []byte) bool { o.Set(k, v); return true },
		},
		"ristretto": {
			get: r.Get,
			set: func(k string, v []byte) bool { return r.Set(k, v, 1) },
		},
		"map": {get: m.Get, set: func(k string, v []byte) bool { m.Set(k, v); return true }},
	}, keys
}

// preloadRistretto sets every key and waits until ristretto applied the
// sets, setting again the keys it dropped, until all of them read back.
func preloadRistretto(b testing.TB, r *ristretto.Cache[string, []byte], keys []string, val []byte) {
	b.Helper()
	missing := keys
	for try := 0; len(missing) > 0; try++ {
		if try == 10 {
			b.Fatalf("ristretto: %d of %d keys still missing after %d preloads", len(missing), len(keys), try)
		}
		for _, k := range missing {
			r.Set(strings.Clone(k), val, 1)
		}
		r.Wait()
		var again []string
		for _, k := range missing {
			if _, ok := r.Get(k); !ok {
				again = append(again, k)
			}
		}
		missing = again
	}
}

var order = []string{"store", "otter", "ristretto", "map"}

func benchGet(b *testing.B, n int, parallel bool) {
	cs, keys := contenders(b, n)
	for _, name := range order {
		get := cs[name].get
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					i := rand.IntN(len(keys))
					for pb.Next() {
						if _, ok := get(keys[i]); !ok {
							b.Fatal("miss")
						}
						if i++; i == len(keys) {
							i = 0
						}
					}
				})
				return
			}
			i := 0
			for b.Loop() {
				if _, ok := get(keys[i]); !ok {
					b.Fatal("miss")
				}
				if i++; i == len(keys) {
					i = 0
				}
			}
		})
	}
}

// benchSet overwrites the preloaded keys and reports drop%, the share of
// sets the cache did not take (ristretto's full set buffer; overwrites of
// keys it holds are applied at once, so it should stay near 0).
func benchSet(b *testing.B, n int, parallel bool) {
	cs, keys := contenders(b, n)
	val := make([]byte, valueLen)
	for _, name := range order {
		set := cs[name].set
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var dropped atomic.Int64
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					i, drops := rand.IntN(len(keys)), int64(0)
					for pb.Next() {
						if !set(keys[i], val) {
							drops++
						}
						if i++; i == len(keys) {
							i = 0
						}
					}
					dropped.Add(drops)
				})
			} else {
				i := 0
				for b.Loop() {
					if !set(keys[i], val) {
						dropped.Add(1)
					}
					if i++; i == len(keys) {
						i = 0
					}
				}
			}
			b.ReportMetric(100*float64(dropped.Load())/float64(b.N), "drop%")
		})
	}
}

func BenchmarkGetHot(b *testing.B)         { benchGet(b, hotKeys, false) }
func BenchmarkGetHotParallel(b *testing.B) { benchGet(b, hotKeys, true) }
func BenchmarkGet(b *testing.B)            { benchGet(b, manyKeys, false) }
func BenchmarkGetParallel(b *testing.B)    { benchGet(b, manyKeys, true) }
func BenchmarkSet(b *testing.B)            { benchSet(b, manyKeys, false) }
func BenchmarkSetParallel(b *testing.B)    { benchSet(b, manyKeys, true) }
