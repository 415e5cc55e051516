// Package storebench compares GridKV's store with github.com/maypok86/otter/v2,
// github.com/dgraph-io/ristretto/v2 and a plain 64-shard RWMutex map on the
// same keys: reads of a few hot keys and of 100k keys in random order,
// serial and parallel (every read must hit, ristretto's preload is waited
// for and checked), overwrites (metric drop%: sets a cache did not take),
// and the hit ratio of each eviction policy on Zipf traces
// (BenchmarkHitRatio, metric hit%). TestContenders checks that every cache
// holds the preloaded keys. Run:
//
//	cd benchmarks && go test -run '^$' -bench . -benchmem -count 6 ./storebench
//
// Compare within one run (the machine is shared and noisy), by medians.
package storebench

import (
	"sync"

	"github.com/gridkv/gridkv/store"
)

// ShardedMap is the baseline: 64 shards by key hash, each a map under an
// RWMutex. Values are stored as given (no copy), like otter.
type ShardedMap struct {
	shards [64]struct {
		mu sync.RWMutex
		m  map[string][]byte
		_  [32]byte
	}
}

// NewShardedMap returns an empty map.
func NewShardedMap() *ShardedMap {
	m := &ShardedMap{}
	for i := range m.shards {
		m.shards[i].m = make(map[string][]byte)
	}
	return m
}

// Get returns the value of key.
func (m *ShardedMap) Get(key string) ([]byte, bool) {
	sh := &m.shards[store.KeyHash(key)&63]
	sh.mu.RLock()
	v, ok := sh.m[key]
	sh.mu.RUnlock()
	return v, ok
}

// Set stores value under key.
func (m *ShardedMap) Set(key string, value []byte) {
	sh := &m.shards[store.KeyHash(key)&63]
	sh.mu.Lock()
	sh.m[key] = value
	sh.mu.Unlock()
}
