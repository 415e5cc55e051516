package gridkv_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
	"github.com/gridkv/gridkv/transport"
)

// TestProductionTLS runs a cluster on certificates from a cluster CA.
func TestProductionTLS(t *testing.T) {
	ca, err := transport.NewCA("test cluster", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nodes := testcluster.Start(t, 2, func(i int, o *gridkv.Options) {
		cert, key, err := ca.NodeCert(o.LocalNodeID, time.Hour, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if o.TLS, err = transport.NodeTLS(ca.CertPEM, cert, key); err != nil {
			t.Fatal(err)
		}
	})
	ctx := ctxT(t)
	if err := nodes[0].Set(ctx, "k", []byte("v"), gridkv.WithConsistency(gridkv.All)); err != nil {
		t.Fatalf("Set over mTLS: %v", err)
	}
	if v, err := nodes[1].Get(ctx, "k", gridkv.WithConsistency(gridkv.All)); err != nil || string(v) != "v" {
		t.Fatalf("Get over mTLS = %q, %v", v, err)
	}
}

// TestEncryptionKeySeparatesClusters: nodes with another gossip key (and
// so another development certificate) do not join.
func TestEncryptionKeySeparatesClusters(t *testing.T) {
	key := func(b byte) []byte {
		k := make([]byte, 16)
		for i := range k {
			k[i] = b
		}
		return k
	}
	nodes := testcluster.Start(t, 2, func(_ int, o *gridkv.Options) { o.EncryptionKey = key(1) })
	stranger, err := gridkv.New(gridkv.Options{
		LocalNodeID:   "stranger",
		LocalAddress:  "127.0.0.1:0",
		SeedAddrs:     []string{nodes[0].GossipAddr()},
		EncryptionKey: key(2),
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := stranger.WaitReady(ctx, 2); err == nil {
		t.Fatal("a node with another encryption key joined")
	}
	if n := len(nodes[0].Members()); n != 2 {
		t.Fatalf("the cluster has %d members, want 2", n)
	}
	if err := nodes[1].Set(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
}
