package gridkv_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// BenchmarkSingleNode measures the library path of a node alone (no
// network): Set, Get with the default consistency, and the local One read.
func BenchmarkSingleNode(b *testing.B) {
	g := testcluster.Start(b, 1, nil)[0]
	ctx := context.Background()
	val := make([]byte, 128)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "bench:" + strconv.Itoa(i)
		if err := g.Set(ctx, keys[i], val); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := g.Set(ctx, keys[i%len(keys)], val); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := g.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetOne", func(b *testing.B) {
		b.ReportAllocs()
		one := gridkv.WithConsistency(gridkv.One)
		for i := 0; b.Loop(); i++ {
			if _, err := g.Get(ctx, keys[i%len(keys)], one); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCluster3 measures Set and Get (N=3, W=2, R=2) on three nodes
// over QUIC on loopback.
func BenchmarkCluster3(b *testing.B) {
	nodes := testcluster.Start(b, 3, nil)
	ctx := context.Background()
	val := make([]byte, 128)
	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := nodes[i%3].Set(ctx, "c:"+strconv.Itoa(i%1024), val); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := nodes[i%3].Get(ctx, "c:"+strconv.Itoa(i%1024)); err != nil && err != gridkv.ErrNotFound {
				b.Fatal(err)
			}
		}
	})
}
