package quorum_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/quorum/internal/simnet"
)

// TestSimStalledReplicaSkipped: a replica that stops answering (SIGSTOP:
// simnet's freeze) while the failure detector still reports it alive,
// with the lowest RTT, does not slow reads (R=2 of N=3) beyond the first
// one: that read hedges once the replica has answered nothing for
// StallAfter (not after HedgeDelay), and later reads ask the local and
// the responsive replica only, never waiting for it. When its old calls
// time out, one read asks it again (and hedges after StallAfter). Once it
// answers again, reads ask it again.
func TestSimStalledReplicaSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			timeout    = time.Second
			hedge      = 20 * time.Millisecond
			stallAfter = quorum.DefaultStallAfter
			maxDelay   = 2 * time.Millisecond
		)
		cfg := simConfig{nodes: 3, n: 3, w: 2, r: 2, timeout: timeout, hedgeDelay: hedge,
			net: simnet.Options{MinDelay: time.Millisecond, MaxDelay: maxDelay}}
		c := newSimCluster(t, 11, cfg)
		defer c.close()
		ctx := context.Background()
		q := c.node("n1").q
		var mu sync.Mutex
		readsToN2 := 0
		c.net.SetTap(func(from, to string, req []byte) {
			if from == "n1" && to == "n2" && len(req) > 1 && req[1] == 3 { // mRead
				mu.Lock()
				readsToN2++
				mu.Unlock()
			}
		})
		reads := func() int {
			mu.Lock()
			defer mu.Unlock()
			return readsToN2
		}
		var keys []string
		for i := range 40 {
			k := fmt.Sprintf("key%d", i)
			keys = append(keys, k)
			if err := q.Set(ctx, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond)
		q.SetRTT("n2", 100*time.Microsecond) // n2 looks fastest
		q.SetRTT("n3", time.Millisecond)

		get := func(k string) time.Duration {
			t.Helper()
			d, err := timed(func() error {
				v, err := q.Get(ctx, k)
				if err == nil && string(v) != k {
					err = fmt.Errorf("got %q", v)
				}
				return err
			})
			if err != nil {
				t.Fatalf("get %s: %v after %v", k, err, d)
			}
			return d
		}
		// Healthy: n2 is asked.
		before := reads()
		for _, k := range keys[:5] {
			get(k)
		}
		if got := reads() - before; got != 5 {
			t.Fatalf("healthy: %d of 5 reads asked n2, want all (it has the lowest RTT)", got)
		}

		c.net.Freeze("n2") // never told to anyone: n2 stays "alive"
		// round reads every key; the first read may wait for n2, up to
		// StallAfter, then hedges; the others must not wait for it at all.
		round := func(name string) {
			t.Helper()
			before := reads()
			var times []time.Duration
			for i, k := range keys {
				d := get(k)
				times = append(times, d)
				switch {
				case i == 0 && (d < stallAfter || d > stallAfter+2*maxDelay):
					t.Errorf("%s: first read with n2 frozen took %v, want StallAfter (%v) plus one round trip to n3 (at most %v), not HedgeDelay (%v)",
						name, d, stallAfter, 2*maxDelay, hedge)
				case i > 0 && d > 2*maxDelay:
					t.Errorf("%s: read %d with n2 frozen took %v, want at most one round trip to n3 (%v): it waited for the stalled n2", name, i, d, 2*maxDelay)
				}
			}
			if got := reads() - before; got != 1 {
				t.Errorf("%s: %d reads asked the frozen n2, want only the first", name, got)
			}
			t.Logf("%s: read times %v", name, times)
		}
		round("frozen")
		// Its first call timed out: nothing outstanding, so n2 gets a
		// fresh chance, and stalls again.
		time.Sleep(timeout)
		round("frozen, after its calls timed out")
		s := q.Stats()
		if s.StallHedges != 2 || s.StalledSkips != uint64(2*(len(keys)-1)) {
			t.Errorf("stats: %d stall hedges, %d reads skipped a stalled replica; want 2 and %d", s.StallHedges, s.StalledSkips, 2*(len(keys)-1))
		}

		// n2 answers again (its held call is delivered): reads ask it.
		c.net.Unfreeze("n2")
		time.Sleep(3 * maxDelay)
		before = reads()
		for _, k := range keys {
			if d := get(k); d > 2*maxDelay {
				t.Errorf("n2 back: read %s took %v, want at most %v", k, d, 2*maxDelay)
			}
		}
		if got := reads() - before; got != len(keys) {
			t.Errorf("n2 back: %d of %d reads asked n2, want all", got, len(keys))
		}
	})
}

// TestSimStalledReplicaWrites: with writes going on, a frozen replica
// keeps calls outstanding (every write goes to it) and stays stalled;
// reads of R=2 around it never wait for it, and writes (W=2) are not
// slowed either.
func TestSimStalledReplicaWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxDelay = 2 * time.Millisecond
		cfg := simConfig{nodes: 3, n: 3, w: 2, r: 2, timeout: 500 * time.Millisecond, hedgeDelay: 20 * time.Millisecond,
			net: simnet.Options{MinDelay: time.Millisecond, MaxDelay: maxDelay}}
		c := newSimCluster(t, 12, cfg)
		defer c.close()
		ctx := context.Background()
		q := c.node("n1").q
		q.SetRTT("n2", 100*time.Microsecond)
		q.SetRTT("n3", time.Millisecond)
		if err := q.Set(ctx, "warm", []byte("x")); err != nil {
			t.Fatal(err)
		}
		c.net.Freeze("n2")
		var worst time.Duration
		for i := range 400 { // about 2 s: longer than the timeout
			k := fmt.Sprintf("key%d", i%20)
			v := fmt.Sprint(i)
			d, err := timed(func() error { return q.Set(ctx, k, []byte(v)) })
			if err != nil || d > 2*maxDelay {
				t.Fatalf("set %d: %v after %v", i, err, d)
			}
			var got []byte
			d, err = timed(func() error { var err error; got, err = q.Get(ctx, k); return err })
			if err != nil || string(got) != v {
				t.Fatalf("get %d: %q, %v after %v", i, got, err, d)
			}
			if i > 0 {
				worst = max(worst, d)
			}
		}
		// The first read (i=0, left out) asks n2 before it is found
		// stalled, StallAfter after the first write's call to it; from
		// then on the writes keep calls to it outstanding.
		if worst > 2*maxDelay {
			t.Errorf("with writes keeping n2 stalled, the slowest read took %v, want at most one round trip to n3 (%v)", worst, 2*maxDelay)
		}
		c.net.Unfreeze("n2")
	})
}
