package quorum

import (
	"context"
	"testing"
)

// The common case (no ring change under way) of what reads during a move
// touch: Quick on a replica read, and Handle serving one.

func BenchmarkQuickRead(b *testing.B) {
	req := encodeRead(nil, "key17", 0)
	for b.Loop() {
		if !Quick(req) {
			b.Fatal("not quick")
		}
	}
}

func BenchmarkHandleRead(b *testing.B) {
	c := newCluster(b, 3, Config{AntiEntropyInterval: -1})
	nd := c.nodes["n1"]
	ctx := context.Background()
	if err := nd.Set(ctx, "key17", make([]byte, 100)); err != nil {
		b.Fatal(err)
	}
	req := encodeRead(nil, "key17", 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nd.Handle(ctx, "n2", req); err != nil {
			b.Fatal(err)
		}
	}
}
