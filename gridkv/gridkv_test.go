package gridkv_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
	"go.uber.org/goleak"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSingleNode(t *testing.T) {
	g := testcluster.Start(t, 1, nil)[0]
	ctx := ctxT(t)
	if err := g.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	v, err := g.Get(ctx, "a")
	if err != nil || string(v) != "1" {
		t.Fatalf("Get = %q, %v; want 1", v, err)
	}
	if _, err := g.Get(ctx, "missing"); !errors.Is(err, gridkv.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if err := g.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := g.Exists(ctx, "a"); err != nil || ok {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
}

func TestNewInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    gridkv.Options
		want string
	}{
		{"W>N", gridkv.Options{ReplicaCount: 2, WriteQuorum: 3}, "WriteQuorum"},
		{"R>N", gridkv.Options{ReplicaCount: 2, ReadQuorum: 3}, "ReadQuorum"},
		{"bad address", gridkv.Options{LocalAddress: "nope"}, "LocalAddress"},
		{"bad port", gridkv.Options{LocalAddress: "127.0.0.1:99999"}, "LocalAddress"},
		{"bad seed", gridkv.Options{LocalAddress: "127.0.0.1:0", SeedAddrs: []string{"x"}}, "seed"},
		{"bad key", gridkv.Options{LocalAddress: "127.0.0.1:0", EncryptionKey: []byte("short")}, "EncryptionKey"},
		{"negative N", gridkv.Options{ReplicaCount: -1}, "ReplicaCount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := gridkv.New(tc.o)
			if err == nil {
				g.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestClusterReplicatesAndScans(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	ctx := ctxT(t)
	const keys = 200
	for i := range keys {
		k := fmt.Sprintf("key-%03d", i)
		if err := nodes[i%3].Set(ctx, k, []byte("value-of-"+k)); err != nil {
			t.Fatalf("Set %s: %v", k, err)
		}
	}
	for i := range keys {
		k := fmt.Sprintf("key-%03d", i)
		for j, g := range nodes {
			v, err := g.Get(ctx, k)
			if err != nil || string(v) != "value-of-"+k {
				t.Fatalf("node %d Get %s = %q, %v", j, k, v, err)
			}
		}
	}
	// A full scan from any node returns each key exactly once.
	var got []string
	var cursor uint64
	for {
		page, next, err := nodes[1].Scan(ctx, cursor, "key-*", 17)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == 0 {
			break
		}
		cursor = next
	}
	slices.Sort(got)
	if len(got) != keys || len(slices.Compact(slices.Clone(got))) != keys {
		t.Fatalf("scan returned %d keys (%d distinct), want %d", len(got), len(slices.Compact(slices.Clone(got))), keys)
	}
	n, err := nodes[2].Count(ctx)
	if err != nil || n != keys {
		t.Fatalf("Count = %d, %v; want %d", n, err, keys)
	}
}

// TestCloseStopsGoroutines checks that Close leaves gracefully and stops
// every goroutine a cluster started, while the others keep serving.
func TestCloseStopsGoroutines(t *testing.T) {
	base := goleak.IgnoreCurrent()
	nodes := testcluster.Start(t, 3, nil)
	ctx := ctxT(t)
	for i := range 20 {
		if err := nodes[i%3].Set(ctx, fmt.Sprint("leak-", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := nodes[2].Set(ctx, "x", nil); !errors.Is(err, gridkv.ErrClosed) {
		t.Fatalf("Set after Close: %v, want ErrClosed", err)
	}
	// The survivors see a leave, not a failure, and keep working.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := false
		for _, m := range nodes[0].Members() {
			if m.ID == nodes[2].ID() && m.State == "left" {
				left = true
			}
		}
		if left {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 0 does not see node 2 as left: %+v", nodes[0].Members())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v, err := nodes[1].Get(ctx, "leak-2"); err != nil || string(v) != "v" {
		t.Fatalf("Get after a node left = %q, %v", v, err)
	}
	nodes[0].Close()
	nodes[1].Close()
	goleak.VerifyNone(t, base)
}
