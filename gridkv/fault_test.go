package gridkv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// TestHungReplica: one of three replicas stops answering data requests
// while the failure detector still reports it alive. Writes and reads
// through the others keep succeeding (W=2, R=2 of the two that answer),
// and every acknowledged write reads back exactly.
func TestHungReplica(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	// Close the hung node first (cleanups run last-registered first): its
	// handoff fails at once, and the others then leave a ring without it.
	// Closed last, each of the others would wait for its handoff to the
	// hung node to time out (about 20 s each).
	t.Cleanup(func() { nodes[2].Close() })
	ctx := ctxT(t)
	var acked sync.Map
	var n atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Go(func() {
			g := nodes[w%2]
			for i := 0; !stop.Load(); i++ {
				k := fmt.Sprintf("hung:%d:%d", w, i)
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := g.Set(wctx, k, []byte("v:"+k))
				cancel()
				if err != nil {
					select {
					case errs <- fmt.Errorf("%s: %w", k, err):
					default:
					}
					continue
				}
				acked.Store(k, true)
				n.Add(1)
			}
		})
	}
	wait := func(min int64) {
		deadline := time.Now().Add(30 * time.Second)
		for n.Load() < min {
			if time.Now().After(deadline) {
				t.Fatalf("only %d writes acknowledged within 30 s", n.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait(50)
	gridkv.KillTransport(nodes[2])
	mark := n.Load()
	wait(mark + 100)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write failed with a hung replica: %v", err)
	}
	// Read everything back, in parallel: with a replica hung, a read that
	// asks it first waits for the hedge delay before asking another.
	var keys []string
	acked.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })
	checked := len(keys)
	var rg sync.WaitGroup
	for w := range 8 {
		rg.Go(func() {
			for i := w; i < len(keys); i += 8 {
				key := keys[i]
				for j, g := range nodes[:2] {
					v, err := g.Get(ctx, key)
					if err != nil || string(v) != "v:"+key {
						t.Errorf("acknowledged %s: node %d Get = %q, %v", key, j, v, err)
						return
					}
				}
			}
		})
	}
	rg.Wait()
	// All needs the hung replica too: the write fails, as ErrQuorumNotMet.
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := nodes[0].Set(actx, "needs-all", []byte("v"), gridkv.WithConsistency(gridkv.All))
	var qe *gridkv.QuorumError
	if !errors.Is(err, gridkv.ErrQuorumNotMet) || !errors.As(err, &qe) || qe.Need != 3 {
		t.Fatalf("Set with All and a hung replica: %v, want a QuorumError needing 3", err)
	}
	t.Logf("%d acknowledged writes, %d after the replica hung, all read back", checked, checked-int(mark))
}

// TestRestartedEmptyIsRefilled: a node that comes back empty under the
// same ID (a new boot id) gets its replicas back from the others.
func TestRestartedEmptyIsRefilled(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	const keys = 100
	for i := range keys {
		setupSet(t, nodes[i%2], fmt.Sprint("refill:", i), []byte("v"))
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	back := testcluster.Join(t, nodes[0], "node-2")
	deadline := time.Now().Add(30 * time.Second)
	for back.Stats().Keys < keys {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node holds %d of %d keys after 30 s", back.Stats().Keys, keys)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// It holds them locally: a One read on it needs no other node.
	ctx := ctxT(t)
	for i := range keys {
		if v, err := back.Get(ctx, fmt.Sprint("refill:", i), gridkv.WithConsistency(gridkv.One)); err != nil || string(v) != "v" {
			t.Fatalf("refill:%d on the restarted node = %q, %v", i, v, err)
		}
	}
}

// TestRestartedEmptyDoesNotCount: a node that comes back empty under its
// ID (a restart that lost memory: new boot id) does not answer as a full
// replica until it has pulled its ranges, so a Quorum read that begins
// after a write completed sees it, from the moment the node starts.
//
// Node 1 refuses replication while node 2 coordinates the writes, so they
// are acknowledged by nodes 2 and 0 only, and node 1's hints end with node
// 2. After node 2 comes back empty, node 0 alone holds the acknowledged
// values: a read (R=2 of N=3) that counted the empty node 2 together with
// node 1 would return not found (odd keys) or an older value (even keys).
func TestRestartedEmptyDoesNotCount(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	const keys = 100
	key := func(i int) string { return fmt.Sprint("restart:", i) }
	for i := 0; i < keys; i += 2 {
		setupSet(t, nodes[0], key(i), []byte("old"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for nodes[1].Stats().Keys < keys/2 {
		if time.Now().After(deadline) {
			t.Fatalf("node 1 holds %d of %d keys", nodes[1].Stats().Keys, keys/2)
		}
		time.Sleep(10 * time.Millisecond)
	}
	gridkv.Refuse(nodes[1], true)
	want := make([]string, keys)
	for i := range keys {
		want[i] = fmt.Sprint("new-", i)
		setupSet(t, nodes[2], key(i), []byte(want[i]))
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	gridkv.Refuse(nodes[1], false)
	ctx := ctxT(t)
	back := testcluster.StartNode(t, nodes[0], "node-2")
	all := []*gridkv.GridKV{nodes[0], nodes[1], back}
	// Read every key through every node, from the moment node 2 starts
	// until well after it has pulled its ranges.
	var reads atomic.Int64
	var wg sync.WaitGroup
	for w, g := range all {
		wg.Go(func() {
			end := time.Now().Add(3 * time.Second)
			for round := 0; round < 3 || time.Now().Before(end); round++ {
				for i := range keys {
					v, err := g.Get(ctx, key(i))
					reads.Add(1)
					if err != nil || string(v) != want[i] {
						t.Errorf("round %d: %s via node %d = %q, %v; want %q", round, key(i), w, v, err, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err := back.WaitReady(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if s := back.Stats(); s.RangesReceiving != 0 || s.Keys != keys {
		t.Fatalf("after WaitReady, node 2 receives %d ranges and holds %d of %d keys", s.RangesReceiving, s.Keys, keys)
	}
	if !t.Failed() {
		t.Logf("%d reads, all acknowledged values", reads.Load())
	}
}

// setupSet writes a test's initial data, retrying (up to 5 attempts of up
// to 10 s each) a write that fails: on a loaded machine a write can miss
// its quorum's deadline, and a test of what happens after its setup must
// not fail for that. Rewriting the same value is idempotent. Assertions
// must not use it.
func setupSet(t *testing.T, g *gridkv.GridKV, key string, value []byte) {
	t.Helper()
	var err error
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = g.Set(ctx, key, value)
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("setup: Set %s failed 5 times, last: %v", key, err)
}
