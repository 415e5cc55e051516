package store

import (
	"fmt"
	"testing"
	"time"
)

// bunchedKeys returns n keys whose hashes all fall in shard 9 and in the
// top 1/16 of that shard's hash range: what a replica holds when a ring
// cell it replicates ends a shard's range (few ring points per member).
func bunchedKeys(n int) []string {
	const band = 1 << (64 - shardBits - 4)
	lo := uint64(9)<<(64-shardBits) + (1<<(64-shardBits) - band)
	var keys []string
	for i := 0; len(keys) < n; i++ {
		k := fmt.Sprintf("bunch-%d", i)
		if h := KeyHash(k); h >= lo && h>>(64-shardBits) == 9 {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestBunchedKeysAtShardEnd: keys bunched at the end of a shard's hash
// range make linear probing run past the last home slot. Apply used to
// rebuild for ever (doubling the table moves the bunch along with it),
// holding the shard's lock: it must store them all, and reads and scans
// must find them.
func TestBunchedKeysAtShardEnd(t *testing.T) {
	keys := bunchedKeys(1000)
	s, err := New(&Config{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, k := range keys {
			if _, err := s.Set(k, []byte("v"), Version{Time: 1, Node: 1}, 0); err != nil {
				t.Errorf("Set %s: %v", k, err)
				return
			}
			if i%2 == 1 { // deletes and rebuilds too: drop every other key again
				if !s.Drop(keys[i-1], Version{Time: 1, Node: 1}) {
					t.Errorf("Drop %s failed", keys[i-1])
					return
				}
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // the old code never returns
		t.Fatal("Apply of keys bunched at the end of a shard did not finish (rebuild loop)")
	}
	if t.Failed() {
		return
	}
	want := map[string]bool{}
	for i, k := range keys {
		_, ok := s.Get(k)
		if kept := i%2 == 1; ok != kept {
			t.Fatalf("Get %s: found %v, want %v", k, ok, kept)
		}
		if i%2 == 1 {
			want[k] = true
		}
	}
	got := 0
	var cur Cursor
	for {
		var page []Entry
		page, cur = s.Scan(nil, Range{}, cur, 1000)
		for _, e := range page {
			if !want[e.Key] {
				t.Fatalf("Scan returned %q", e.Key)
			}
			got++
		}
		if cur.Done {
			break
		}
	}
	if got != len(want) {
		t.Fatalf("Scan found %d keys, want %d", got, len(want))
	}
}

// BenchmarkGetBunched reads 2000 keys bunched at the end of a shard's hash
// range (bunchedKeys) against 2000 keys spread over the hash space: the
// cost of the long probe chains of bunched keys.
func BenchmarkGetBunched(b *testing.B) {
	for _, bunched := range []bool{false, true} {
		keys := bunchedKeys(2000)
		if !bunched {
			for i := range keys {
				keys[i] = fmt.Sprint("spread-", i)
			}
		}
		b.Run(fmt.Sprint("bunched=", bunched), func(b *testing.B) {
			s, err := New(&Config{SweepInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for _, k := range keys {
				if _, err := s.Set(k, []byte("v"), Version{Time: 1, Node: 1}, 0); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; b.Loop(); i++ {
				if _, ok := s.Get(keys[i%len(keys)]); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}
