package storebench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
	"github.com/maypok86/otter/v2"
)

const (
	hotKeys  = 16
	manyKeys = 100_000
	valueLen = 100
)

// cache is what each contender offers to the benchmarks.
type cache struct {
	get func(key string) ([]byte, bool)
	set func(key string, value []byte)
}

// contenders builds the three caches holding the same n keys (16 bytes)
// with 100-byte values, and returns the keys in random order.
func contenders(b *testing.B, n int) (map[string]cache, []string) {
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
	for _, k := range keys {
		// The caches keep their own copy of each key, as keys parsed from
		// requests would be: lookups cannot win by pointer equality.
		s.Set(k, val, store.Version{Time: hlc.Timestamp(ts.Add(1)), Node: 1}, 0)
		o.Set(strings.Clone(k), val)
		m.Set(strings.Clone(k), val)
	}
	rand.New(rand.NewPCG(1, 1)).Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return map[string]cache{
		"store": {
			get: s.View,
			set: func(k string, v []byte) { s.Set(k, v, store.Version{Time: hlc.Timestamp(ts.Add(1)), Node: 1}, 0) },
		},
		"otter": {
			get: o.GetIfPresent,
			set: func(k string, v []byte) { o.Set(k, v) },
		},
		"map": {get: m.Get, set: m.Set},
	}, keys
}

var order = []string{"store", "otter", "map"}

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

func benchSet(b *testing.B, n int, parallel bool) {
	cs, keys := contenders(b, n)
	val := make([]byte, valueLen)
	for _, name := range order {
		set := cs[name].set
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					i := rand.IntN(len(keys))
					for pb.Next() {
						set(keys[i], val)
						if i++; i == len(keys) {
							i = 0
						}
					}
				})
				return
			}
			i := 0
			for b.Loop() {
				set(keys[i], val)
				if i++; i == len(keys) {
					i = 0
				}
			}
		})
	}
}

func BenchmarkGetHot(b *testing.B)         { benchGet(b, hotKeys, false) }
func BenchmarkGetHotParallel(b *testing.B) { benchGet(b, hotKeys, true) }
func BenchmarkGet(b *testing.B)            { benchGet(b, manyKeys, false) }
func BenchmarkGetParallel(b *testing.B)    { benchGet(b, manyKeys, true) }
func BenchmarkSet(b *testing.B)            { benchSet(b, manyKeys, false) }
func BenchmarkSetParallel(b *testing.B)    { benchSet(b, manyKeys, true) }
