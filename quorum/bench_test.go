package quorum

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridkv/gridkv/store"
)

// benchNet is the cheapest possible in-process Network: it calls the
// peer's Handle directly, without copying (Handle never keeps req, and the
// reply is a fresh slice). It isolates the engine's own cost.
type benchNet struct{ nodes map[string]*Node }

func (b *benchNet) Call(ctx context.Context, to string, req []byte) ([]byte, error) {
	return b.nodes[to].Handle(ctx, "", req)
}

func benchCluster(b *testing.B, cfg Config) map[string]*Node {
	b.Helper()
	net := &benchNet{nodes: map[string]*Node{}}
	ids := memberIDs(3)
	for i, id := range ids {
		st, err := store.New(&store.Config{SweepInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		c := cfg
		c.ID, c.NodeID, c.Store, c.Network = id, store.NodeID(i+1), st, net
		c.AntiEntropyInterval = -1
		nd, err := New(c)
		if err != nil {
			b.Fatal(err)
		}
		net.nodes[id] = nd
		b.Cleanup(func() { nd.Close(); st.Close() })
	}
	r := newRing(b, ids)
	for _, nd := range net.nodes {
		nd.SetRing(r)
	}
	return net.nodes
}

// Three nodes, N=3 W=2 R=2, 128-byte values; operations go through n1.
// Run: go test -run '^$' -bench 'Set|Get' -benchmem -count=5
func BenchmarkSet(b *testing.B) {
	for _, c := range []Consistency{Quorum, Linearizable} {
		b.Run(c.String(), func(b *testing.B) {
			nodes := benchCluster(b, Config{Consistency: c})
			ctx := context.Background()
			keys := benchKeys(1024)
			val := make([]byte, 128)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := nodes["n1"].Set(ctx, keys[i%len(keys)], val); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	for _, c := range []Consistency{One, Quorum, Linearizable} {
		b.Run(c.String(), func(b *testing.B) {
			nodes := benchCluster(b, Config{})
			ctx := context.Background()
			keys := benchKeys(1024)
			val := make([]byte, 128)
			for _, k := range keys {
				if err := nodes["n1"].Set(ctx, k, val, WithConsistency(All)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := nodes["n1"].Get(ctx, keys[i%len(keys)], WithConsistency(c)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench-key-%d", i)
	}
	return keys
}

// BenchmarkMixedFloor is the engine's floor for clusterbench's Mixed
// target: 3 nodes, N=3 W=2 R=2, 100-byte values over 100k keys, 50/50
// Get/Set from 32 goroutines spread over the nodes, on benchNet (a peer's
// Handle called directly: no transport, no copies). Whatever a real
// network adds comes on top of its cpu-ns/op.
// Run: go test -run '^$' -bench MixedFloor -benchmem -count 5
func BenchmarkMixedFloor(b *testing.B) {
	// A long Timeout: on a loaded machine an operation must not fail the
	// benchmark (it measures cost, not deadlines).
	nodes := benchCluster(b, Config{Timeout: time.Minute})
	ids := memberIDs(3)
	ctx := context.Background()
	keys := benchKeys(100_000)
	val := make([]byte, 100)
	for _, k := range keys {
		if err := nodes[ids[0]].Set(ctx, k, val, WithConsistency(All)); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(16) // 32 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := seq.Add(1)
		nd := nodes[ids[g%3]]
		r := rand.New(rand.NewPCG(g, 1))
		for pb.Next() {
			x := r.Uint64()
			k := keys[x%uint64(len(keys))]
			var err error
			if x&(1<<40) == 0 {
				_, err = nd.Get(ctx, k)
			} else {
				err = nd.Set(ctx, k, val)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
