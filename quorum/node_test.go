package quorum

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
	"go.uber.org/goleak"
)

func TestSetGetDelete(t *testing.T) {
	c := newCluster(t, 3, Config{})
	ctx := ctxT(t)
	for _, id := range c.ids {
		nd := c.nodes[id]
		key := "k-" + id
		if err := nd.Set(ctx, key, []byte("v-"+id)); err != nil {
			t.Fatalf("Set via %s: %v", id, err)
		}
		if got := c.holders(key, "v-"+id); len(got) < 2 {
			t.Fatalf("after Set, %q is on %v; want at least W=2 replicas", key, got)
		}
		for _, id2 := range c.ids {
			got, err := c.nodes[id2].Get(ctx, key)
			if err != nil || string(got) != "v-"+id {
				t.Fatalf("Get %q via %s = %q, %v; want %q", key, id2, got, err, "v-"+id)
			}
		}
		if err := nd.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		for _, id2 := range c.ids {
			if _, err := c.nodes[id2].Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get deleted %q via %s: err = %v, want ErrNotFound", key, id2, err)
			}
		}
	}
	if _, err := c.nodes["n1"].Get(ctx, "never"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
}

// A caller's buffer may be reused after Set, and a Get result modified,
// without changing what is stored.
func TestBuffersNotShared(t *testing.T) {
	c := newCluster(t, 3, Config{})
	ctx := ctxT(t)
	buf := []byte("original")
	if err := c.nodes["n1"].Set(ctx, "k", buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	for _, id := range c.ids {
		got, err := c.nodes[id].Get(ctx, "k")
		if err != nil || string(got) != "original" {
			t.Fatalf("Get via %s = %q, %v", id, got, err)
		}
		copy(got, "YYYYYYYY")
	}
	if got, _ := c.nodes["n1"].Get(ctx, "k"); string(got) != "original" {
		t.Fatalf("stored value changed to %q", got)
	}
}

func TestNew(t *testing.T) {
	st, _ := store.New(nil)
	defer st.Close()
	net := newFakeNet()
	bad := []Config{
		{Store: st, Network: net},
		{ID: "a", Network: net},
		{ID: "a", Store: st},
		{ID: "a", Store: st, Network: net, N: 3, W: 4},
		{ID: "a", Store: st, Network: net, N: 2, R: 3},
		{ID: "a", Store: st, Network: net, N: 99},
		{ID: "a", Store: st, Network: net, Consistency: 9},
		{ID: "a", Store: st, Network: net, Timeout: -1},
	}
	for i, cfg := range bad {
		if nd, err := New(cfg); !errors.Is(err, ErrBadConfig) {
			if nd != nil {
				nd.Close()
			}
			t.Errorf("%d: New(%+v) = %v, want ErrBadConfig", i, cfg, err)
		}
	}
	nd, err := New(Config{ID: "a", Store: st, Network: net})
	if err != nil {
		t.Fatal(err)
	}
	if nd.cfg.N != 3 || nd.cfg.W != 2 || nd.cfg.R != 2 || nd.cfg.Timeout != DefaultTimeout {
		t.Errorf("defaults: N=%d W=%d R=%d timeout=%v", nd.cfg.N, nd.cfg.W, nd.cfg.R, nd.cfg.Timeout)
	}
	ctx := context.Background()
	if err := nd.Set(ctx, "k", nil); !errors.Is(err, ErrNoRing) {
		t.Errorf("Set without ring: %v, want ErrNoRing", err)
	}
	nd.Close()
	nd.SetRing(newRing(t, []string{"a"}))
	if err := nd.Set(ctx, "k", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close: %v, want ErrClosed", err)
	}
	if _, err := nd.Handle(ctx, "x", encodeRead(nil, "k", 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Handle after Close: %v, want ErrClosed", err)
	}
}

// One replica down: writes and reads succeed. Two down: they fail at
// once (the network refuses) with a QuorumError that says 1 of 3.
func TestQuorumWithFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{})
		ctx := context.Background()
		nd := c.nodes["n1"]
		c.net.set(c.net.down, "n3", true)
		if err := nd.Set(ctx, "k", []byte("v")); err != nil {
			t.Fatalf("Set with one replica down: %v", err)
		}
		if got, err := nd.Get(ctx, "k"); err != nil || string(got) != "v" {
			t.Fatalf("Get with one replica down = %q, %v", got, err)
		}
		c.net.set(c.net.down, "n2", true)
		start := time.Now()
		err := nd.Set(ctx, "k", []byte("w"))
		var qe *QuorumError
		if !errors.Is(err, ErrQuorumNotMet) || !errors.As(err, &qe) || qe.Got != 1 || qe.Need != 2 || qe.Of != 3 || !errors.Is(err, errDown) {
			t.Fatalf("Set with two down: %v; want QuorumError got 1 of 3, need 2, wrapping errDown", err)
		}
		if _, err := nd.Get(ctx, "k"); !errors.Is(err, ErrQuorumNotMet) {
			t.Fatalf("Get with two down: %v, want ErrQuorumNotMet", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("refused calls took %v of virtual time; want an immediate failure", d)
		}
		if s := nd.Stats(); s.QuorumFailures != 2 {
			t.Errorf("Stats.QuorumFailures = %d, want 2", s.QuorumFailures)
		}
	})
}

// Two replicas hang (a minority partition seen from n1): operations fail
// with ErrQuorumNotMet exactly at the deadline, never later.
func TestMinorityFailsAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{Timeout: 300 * time.Millisecond})
		nd := c.nodes["n1"]
		c.net.set(c.net.frozen, "n2", true)
		c.net.set(c.net.frozen, "n3", true)
		for _, op := range []string{"set", "get", "delete", "linearizable set"} {
			start := time.Now()
			var err error
			switch op {
			case "set":
				err = nd.Set(context.Background(), "k", []byte("v"))
			case "get":
				_, err = nd.Get(context.Background(), "k")
			case "delete":
				err = nd.Delete(context.Background(), "k")
			case "linearizable set":
				err = nd.Set(context.Background(), "k", []byte("v"), WithConsistency(Linearizable))
			}
			if !errors.Is(err, ErrQuorumNotMet) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v; want ErrQuorumNotMet wrapping DeadlineExceeded", op, err)
			}
			if d := time.Since(start); d != 300*time.Millisecond {
				t.Errorf("%s returned after %v, want the 300ms deadline", op, d)
			}
		}
		// A caller's own deadline wins over Config.Timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := nd.Set(ctx, "k", []byte("v")); !errors.Is(err, ErrQuorumNotMet) || time.Since(start) != 50*time.Millisecond {
			t.Errorf("Set with a 50ms context: %v after %v", err, time.Since(start))
		}
		// A later one does not lengthen it: a server's 5 s per-command
		// deadline must not keep an operation waiting beyond Timeout.
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start = time.Now()
		if _, err := nd.Get(ctx, "k"); !errors.Is(err, ErrQuorumNotMet) || time.Since(start) != 300*time.Millisecond {
			t.Errorf("Get with a 5s context: %v after %v, want ErrQuorumNotMet after the 300ms Timeout", err, time.Since(start))
		}
	})
}

// When the failure detector reports so many replicas down that the quorum
// cannot be reached (the minority side of a partition, detected), an
// operation fails at once with a *QuorumError: no wait for the deadline,
// no call to the replicas reported down. Down members still count in N:
// quorums never shrink, so a write is refused even when the "down"
// replicas would in fact answer.
func TestMinorityFailsFastWhenDetected(t *testing.T) {
	type want struct {
		ok              bool // else a *QuorumError at once
		need, got, down int  // of the QuorumError; down: errors wrapping errReportedDown
	}
	tests := []struct {
		name   string
		w, r   int
		down   []string // reported down to n1
		frozen []string // hang on the network
		op     string   // "set", "get", "delete"
		c      Consistency
		want   want
	}{
		{name: "quorum set, two of three down", down: []string{"n2", "n3"}, frozen: []string{"n2", "n3"}, op: "set", c: Quorum, want: want{need: 2, got: 1, down: 2}},
		{name: "quorum get, two of three down", down: []string{"n2", "n3"}, frozen: []string{"n2", "n3"}, op: "get", c: Quorum, want: want{need: 2, got: 1, down: 2}},
		{name: "quorum delete, two of three down", down: []string{"n2", "n3"}, frozen: []string{"n2", "n3"}, op: "delete", c: Quorum, want: want{need: 2, got: 1, down: 2}},
		{name: "linearizable set, two of three down", down: []string{"n2", "n3"}, frozen: []string{"n2", "n3"}, op: "set", c: Linearizable, want: want{need: 2, got: 1, down: 2}},
		{name: "linearizable get, two of three down", down: []string{"n2", "n3"}, frozen: []string{"n2", "n3"}, op: "get", c: Linearizable, want: want{need: 2, got: 1, down: 2}},
		{name: "all set, one down", down: []string{"n3"}, frozen: []string{"n3"}, op: "set", c: All, want: want{need: 3, got: 2, down: 1}},
		{name: "all get, one down", down: []string{"n3"}, frozen: []string{"n3"}, op: "get", c: All, want: want{need: 3, got: 2, down: 1}},
		// The detector is believed even when it is wrong: a quorum is
		// never made of fewer replicas than W.
		{name: "quorum set, two reported down but reachable", down: []string{"n2", "n3"}, op: "set", c: Quorum, want: want{need: 2, got: 1, down: 2}},
		// The linearizable read's write-back needs W=3: two replicas
		// answer the read, the third is down.
		{name: "linearizable get, write-back quorum down", w: 3, r: 1, down: []string{"n3"}, frozen: []string{"n3"}, op: "get", c: Linearizable, want: want{need: 3, got: 2, down: 1}},
		// Enough replicas believed alive: the operation runs as usual.
		{name: "one set, two down", down: []string{"n2", "n3"}, frozen: []string{"n2", "n3"}, op: "set", c: One, want: want{ok: true}},
		{name: "one get, two down", down: []string{"n2", "n3"}, frozen: []string{"n2", "n3"}, op: "get", c: One, want: want{ok: true}},
		{name: "quorum set, one down", down: []string{"n3"}, frozen: []string{"n3"}, op: "set", c: Quorum, want: want{ok: true}},
		{name: "linearizable get, one down", down: []string{"n3"}, frozen: []string{"n3"}, op: "get", c: Linearizable, want: want{ok: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t, 3, Config{Timeout: 5 * time.Second, W: tt.w, R: tt.r})
				ctx := context.Background()
				nd := c.nodes["n1"]
				if err := nd.Set(ctx, "k", []byte("v"), WithConsistency(All)); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				for _, id := range tt.frozen {
					c.net.set(c.net.frozen, id, true)
				}
				for _, id := range tt.down {
					nd.SetAlive(id, false)
				}
				callsBefore := map[string]int{}
				for _, id := range tt.down {
					callsBefore[id] = c.net.callCount(id)
				}
				failsBefore := nd.Stats().QuorumFailures
				opt := WithConsistency(tt.c)
				start := time.Now()
				var err error
				switch tt.op {
				case "set":
					err = nd.Set(ctx, "k", []byte("w"), opt)
				case "get":
					_, err = nd.Get(ctx, "k", opt)
				case "delete":
					err = nd.Delete(ctx, "k", opt)
				}
				d := time.Since(start)
				if tt.want.ok {
					if err != nil {
						t.Fatalf("%s: %v; want success", tt.op, err)
					}
					return
				}
				var qe *QuorumError
				if !errors.Is(err, ErrQuorumNotMet) || !errors.As(err, &qe) {
					t.Fatalf("%s: %v; want a *QuorumError", tt.op, err)
				}
				if qe.Need != tt.want.need || qe.Got != tt.want.got || qe.Of != 3 || qe.Op != tt.op {
					t.Errorf("%s: %s; want op %s need %d got %d of 3", tt.op, err, tt.op, tt.want.need, tt.want.got)
				}
				down := 0
				for _, e := range qe.Errs {
					if errors.Is(e, errReportedDown) {
						down++
					}
				}
				if down != tt.want.down {
					t.Errorf("%s: %v: %d errors name a replica reported down, want %d", tt.op, err, down, tt.want.down)
				}
				if d != 0 {
					t.Errorf("%s failed after %v of virtual time; want at once (timeout 5s)", tt.op, d)
				}
				synctest.Wait()
				for _, id := range tt.down {
					if n := c.net.callCount(id) - callsBefore[id]; n != 0 {
						t.Errorf("%s: %d calls to %s, which the detector reported down", tt.op, n, id)
					}
				}
				if got := nd.Stats().QuorumFailures - failsBefore; got != 1 {
					t.Errorf("Stats.QuorumFailures went up by %d, want 1", got)
				}
			})
		})
	}
}

// One hung replica (calls never return until their context ends) does not
// stall W=2 or R=2 of N=3, even when reads ask it first. The stall rule
// is off here, to test the hedge alone (stall_test.go tests the rule).
func TestFrozenReplicaDoesNotStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{Timeout: 5 * time.Second, StallAfter: -1})
		nd := c.nodes["n1"]
		ctx := context.Background()
		if err := nd.Set(ctx, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		c.net.set(c.net.frozen, "n2", true)
		nd.SetRTT("n2", time.Millisecond) // the fastest: reads ask it first
		nd.SetRTT("n3", 5*time.Millisecond)
		start := time.Now()
		if err := nd.Set(ctx, "k", []byte("w")); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Set waited %v for the hung replica", d)
		}
		start = time.Now()
		got, err := nd.Get(ctx, "k")
		if err != nil || string(got) != "w" {
			t.Fatalf("Get = %q, %v", got, err)
		}
		if d := time.Since(start); d != DefaultHedgeDelay {
			t.Errorf("Get took %v, want the hedge delay %v", d, DefaultHedgeDelay)
		}
		if n := c.net.callCount("n3"); n == 0 {
			t.Errorf("the hedge never asked n3")
		}
		// Reported down: not asked first any more, no hedge delay.
		nd.SetAlive("n2", false)
		start = time.Now()
		if _, err := nd.Get(ctx, "k"); err != nil || time.Since(start) != 0 {
			t.Errorf("Get with n2 reported down: %v after %v", err, time.Since(start))
		}
	})
}

// A replica that missed a write is repaired by a read that sees it stale.
func TestReadRepair(t *testing.T) {
	for _, mode := range []ReadRepair{RepairAsync, RepairSync} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t, 3, Config{ReadRepair: mode, HintInterval: time.Hour})
				ctx := context.Background()
				nd := c.nodes["n1"]
				c.net.set(c.net.down, "n3", true)
				if err := nd.Set(ctx, "k", []byte("v")); err != nil {
					t.Fatal(err)
				}
				synctest.Wait() // the call to n3 has failed
				c.net.set(c.net.down, "n3", false)
				if _, ok := c.stores["n3"].Read("k"); ok {
					t.Fatal("n3 has the key before any repair")
				}
				if got, err := nd.Get(ctx, "k", WithConsistency(All)); err != nil || string(got) != "v" {
					t.Fatalf("Get = %q, %v", got, err)
				}
				if mode == RepairAsync {
					synctest.Wait()
				}
				if v, ok := c.stores["n3"].View("k"); !ok || string(v) != "v" {
					t.Fatalf("n3 not repaired: %q %v", v, ok)
				}
				if s := nd.Stats(); s.ReadRepairs != 1 || s.Hints != 1 {
					t.Errorf("Stats: ReadRepairs=%d Hints=%d, want 1, 1", s.ReadRepairs, s.Hints)
				}
			})
		})
	}
}

// Hints: a write a replica missed is delivered when it is reported alive,
// or at the next periodic retry; hints do not count toward W.
func TestHintedHandoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{HintInterval: time.Minute, AntiEntropyInterval: -1})
		ctx := context.Background()
		nd := c.nodes["n1"]
		c.net.set(c.net.down, "n3", true)
		nd.SetAlive("n3", false)
		for i := range 10 {
			if err := nd.Set(ctx, fmt.Sprint("k", i), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if s := nd.Stats(); s.Hints != 10 || s.HintsStored != 10 {
			t.Fatalf("Stats.Hints = %d (stored %d), want 10", s.Hints, s.HintsStored)
		}
		c.net.set(c.net.down, "n2", true)
		if err := nd.Set(ctx, "k0", []byte("w")); !errors.Is(err, ErrQuorumNotMet) {
			t.Fatalf("Set with two down: %v; hints must not count toward W", err)
		}
		c.net.set(c.net.down, "n2", false)
		c.net.set(c.net.down, "n3", false)
		nd.SetAlive("n3", true)
		synctest.Wait()
		if got := c.stores["n3"].Stats().Keys; got != 10 {
			t.Fatalf("n3 holds %d keys after SetAlive, want 10", got)
		}
		if v, _ := c.stores["n3"].View("k0"); string(v) != "w" {
			t.Errorf("n3 has k0 = %q, want the newer hint %q", v, "w")
		}
		// The periodic retry, without SetAlive.
		c.net.set(c.net.down, "n2", true)
		if err := nd.Set(ctx, "late", []byte("x")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		c.net.set(c.net.down, "n2", false)
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if _, ok := c.stores["n2"].View("late"); !ok {
			t.Error("periodic retry did not deliver the hint to n2")
		}
		if s := nd.Stats(); s.Hints != 0 || s.HintsDelivered != 12 {
			t.Errorf("Stats: Hints=%d Delivered=%d, want 0, 12 (10, k0 for n2 too, late)", s.Hints, s.HintsDelivered)
		}
	})
}

func TestHintLimits(t *testing.T) {
	var h hintStore
	h.init(2, 100, time.Minute)
	now := time.Unix(1000, 0)
	enc := make([]byte, 40)
	if !h.add("p", "a", ver(1), enc, now) || !h.add("p", "b", ver(1), enc, now) {
		t.Fatal("first hints refused")
	}
	if h.add("p", "c", ver(1), enc, now) {
		t.Error("third hint accepted over MaxHints=2")
	}
	if !h.add("p", "a", ver(2), enc, now) || h.count != 2 {
		t.Errorf("a newer hint for a held key must replace it (count %d)", h.count)
	}
	msg, keys := h.batch("p", now.Add(2*time.Minute), nil, nil)
	if len(keys) != 0 || len(msg) != 0 || h.count != 0 || h.expired != 2 || h.dropped != 1 {
		t.Errorf("after TTL: keys %v count %d expired %d dropped %d", keys, h.count, h.expired, h.dropped)
	}
	h.init(10, 100, time.Minute)
	h.add("p", "a", ver(1), make([]byte, 60), now)
	if h.add("q", "b", ver(1), make([]byte, 60), now) {
		t.Error("hint accepted over MaxHintBytes=100")
	}
}

// Anti-entropy refills a replica that came back empty, at once on
// Restarted, and periodically.
func TestAntiEntropyRefillsEmptiedNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{AntiEntropyInterval: -1})
		ctx := context.Background()
		const keys = 300
		c.writeKeys(keys, c.ids...)
		if err := c.nodes["n1"].Delete(ctx, "key7"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		c.restartEmpty("n3", Config{AntiEntropyInterval: -1})
		if got := c.stores["n3"].Stats().Keys; got != 0 {
			t.Fatalf("restarted n3 holds %d keys", got)
		}
		c.nodes["n1"].Restarted("n3")
		synctest.Wait()
		c.checkConverged(t, keys)
		if s := c.nodes["n1"].Stats(); s.AntiEntropyPushed == 0 || s.AntiEntropyRounds != 1 {
			t.Errorf("n1 anti-entropy: pushed %d in %d rounds", s.AntiEntropyPushed, s.AntiEntropyRounds)
		}
		// A second round finds nothing to send.
		before := c.nodes["n1"].Stats().AntiEntropyPushed
		c.nodes["n1"].Restarted("n3")
		synctest.Wait()
		if s := c.nodes["n1"].Stats(); s.AntiEntropyPushed != before || s.AntiEntropyPulled != 0 {
			t.Errorf("an idle round moved entries: pushed %d→%d pulled %d", before, s.AntiEntropyPushed, s.AntiEntropyPulled)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// Hints wait an hour: only anti-entropy can repair n2 in time.
		c := newCluster(t, 3, Config{AntiEntropyInterval: 10 * time.Second, HintInterval: time.Hour})
		c.net.set(c.net.down, "n2", true)
		c.writeKeys(50, "n1")
		synctest.Wait()
		c.net.set(c.net.down, "n2", false)
		time.Sleep(11 * time.Second)
		synctest.Wait()
		c.checkConverged(t, 50)
	})
}

// restartEmpty replaces node id by a new one with an empty store.
func (c *cluster) restartEmpty(id string, cfg Config) {
	c.t.Helper()
	r := c.nodes[c.ids[0]].ring.Load().r
	nd := c.replaceEmpty(id, uint32(slices.Index(c.ids, id)+1), cfg)
	nd.SetRing(r)
}

// replaceEmpty closes node id and its store and starts in its place a
// node with an empty store, nodeID and cfg, not yet given a ring.
func (c *cluster) replaceEmpty(id string, nodeID uint32, cfg Config) *Node {
	c.t.Helper()
	c.nodes[id].Close()
	c.stores[id].Close()
	return c.add(id, nodeID, cfg)
}

// writeKeys sets "key<i>" to "v<i>" for i < keys, through the nodes of via
// in turn.
func (c *cluster) writeKeys(keys int, via ...string) {
	c.t.Helper()
	for i := range keys {
		if err := c.nodes[via[i%len(via)]].Set(context.Background(), fmt.Sprint("key", i), []byte(fmt.Sprint("v", i))); err != nil {
			c.t.Fatal(err)
		}
	}
}

// checkConverged checks that every key of a "key<i>" workload is held,
// with the same version, by exactly its replicas among the nodes.
func (c *cluster) checkConverged(t *testing.T, keys int) {
	t.Helper()
	for i := range keys {
		k := fmt.Sprint("key", i)
		reps := c.replicasOf(k)
		var want store.Version
		for _, id := range reps {
			e, ok := c.stores[id].Read(k)
			if !ok {
				t.Fatalf("%s: replica %s has nothing (replicas %v)", k, id, reps)
			}
			if want.IsZero() {
				want = e.Version
			} else if e.Version != want {
				t.Fatalf("%s: replica %s has version %v, another %v", k, id, e.Version, want)
			}
		}
	}
}

// N larger than the members: every member holds each key, W and R are
// capped at the members, and a member being down does not shrink them.
func TestNExceedsMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 2, Config{N: 5, W: 3, R: 3})
		ctx := context.Background()
		if err := c.nodes["n1"].Set(ctx, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		if got := c.holders("k", "v"); len(got) != 2 {
			t.Fatalf("k on %v, want both members", got)
		}
		if got, err := c.nodes["n2"].Get(ctx, "k"); err != nil || string(got) != "v" {
			t.Fatalf("Get = %q, %v", got, err)
		}
		c.net.set(c.net.down, "n2", true)
		err := c.nodes["n1"].Set(ctx, "k", []byte("w"))
		var qe *QuorumError
		if !errors.As(err, &qe) || qe.Need != 2 || qe.Of != 2 {
			t.Fatalf("Set with one of two down: %v; want need 2 of 2", err)
		}
		err = c.nodes["n1"].Set(ctx, "k", []byte("w"), WithConsistency(One))
		if err != nil {
			t.Fatalf("Set One with one of two down: %v", err)
		}
	})
}

func TestTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{})
		ctx := context.Background()
		if err := c.nodes["n1"].Set(ctx, "k", []byte("v"), WithTTL(time.Second)); err != nil {
			t.Fatal(err)
		}
		e, _ := c.stores[c.replicasOf("k")[1]].Read("k")
		if e.Expires != e.Version.Time.WallTime()+1000 {
			t.Errorf("replica expiry %d, want version time + 1s", e.Expires)
		}
		// GetEntry reports the winning version and the absolute expiry,
		// through every node (replica or not), and hands out its own copy.
		for _, id := range c.ids {
			got, err := c.nodes[id].GetEntry(ctx, "k")
			if err != nil || string(got.Value) != "v" || got.Expires != e.Expires || got.Version != e.Version {
				t.Fatalf("GetEntry via %s = %+v, %v; want value v, expiry %d, version %v", id, got, err, e.Expires, e.Version)
			}
			got.Value[0] = 'X'
		}
		time.Sleep(999 * time.Millisecond)
		if v, err := c.nodes["n2"].Get(ctx, "k"); err != nil || string(v) != "v" {
			t.Fatalf("Get before expiry: %q, %v", v, err)
		}
		time.Sleep(time.Millisecond)
		for _, id := range c.ids {
			if _, err := c.nodes[id].Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get via %s after expiry: %v, want ErrNotFound", id, err)
			}
			if _, err := c.nodes[id].GetEntry(ctx, "k"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("GetEntry via %s after expiry: %v, want ErrNotFound", id, err)
			}
		}
	})
}

// skewedClock returns an hlc clock whose wall clock runs d ahead of
// time.Now.
type skewedWall time.Duration

func (s skewedWall) Now() time.Time { return time.Now().Add(time.Duration(s)) }

func skewedClock(t testing.TB, d time.Duration) *hlc.Clock {
	clk, err := hlc.NewClock(&hlc.Config{WallClock: skewedWall(d)})
	if err != nil {
		t.Fatal(err)
	}
	return clk
}

// keyOutside returns a key whose replicas do not include id.
func (c *cluster) keyOutside(id string) string {
	for i := 0; ; i++ {
		k := fmt.Sprint("key", i)
		if !slices.Contains(c.replicasOf(k), id) {
			return k
		}
	}
}

// With clocks apart, a Quorum write that follows another in real time can
// lose (last-write-wins by clock); a Linearizable one cannot: it reads the
// highest version first and writes above it.
func TestLinearizableWriteBeatsClockSkew(t *testing.T) {
	for _, c := range []Consistency{Quorum, Linearizable} {
		t.Run(c.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cl := &cluster{t: t, net: newFakeNet(), ids: memberIDs(4), nodes: map[string]*Node{}, stores: map[string]*store.Store{}}
				t.Cleanup(cl.close)
				for i, id := range cl.ids {
					skew := time.Duration(0)
					if id == "n1" {
						skew = 400 * time.Millisecond // within hlc's MaxOffset
					}
					cl.add(id, uint32(i+1), Config{Clock: skewedClock(t, skew)})
				}
				cl.setRing(cl.ids)
				k := cl.keyOutside("n4")
				ctx := context.Background()
				if err := cl.nodes["n1"].Set(ctx, k, []byte("first")); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
				if err := cl.nodes["n4"].Set(ctx, k, []byte("second"), WithConsistency(c)); err != nil {
					t.Fatal(err)
				}
				got, err := cl.nodes["n4"].Get(ctx, k, WithConsistency(c))
				want := "second"
				if c == Quorum {
					want = "first" // the documented LWW hazard
				}
				if err != nil || string(got) != want {
					t.Fatalf("Get = %q, %v; want %q", got, err, want)
				}
			})
		})
	}
}

// A linearizable read writes what it returns back to a quorum before it
// returns.
func TestLinearizableReadWritesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 4, Config{ReadRepair: RepairOff, HintInterval: time.Hour, AntiEntropyInterval: -1})
		ctx := context.Background()
		k := c.keyOutside("n1")
		reps := c.replicasOf(k)
		c.net.set(c.net.down, reps[1], true)
		c.net.set(c.net.down, reps[2], true)
		if err := c.nodes["n1"].Set(ctx, k, []byte("v"), WithConsistency(One)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		c.net.set(c.net.down, reps[1], false)
		c.net.set(c.net.down, reps[2], false)
		if got := c.holders(k, "v"); len(got) != 1 {
			t.Fatalf("setup: %s on %v, want one replica", k, got)
		}
		got, err := c.nodes["n1"].Get(ctx, k, WithConsistency(Linearizable))
		if err != nil || string(got) != "v" {
			// n1 is no replica and knows no RTT: it asks reps[0] (which
			// has the copy) and reps[1] first.
			t.Fatalf("Get = %q, %v", got, err)
		}
		if h := c.holders(k, "v"); len(h) < 2 {
			t.Fatalf("after a linearizable read returned it, %s is on %v; want a quorum", k, h)
		}
	})
}

// Rebalancing: a joining node pulls its ranges; reads during the move do
// not return false not-found; afterwards every key is on all its replicas.
func TestRebalanceJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{MoveDelay: 5 * time.Second, AntiEntropyInterval: -1}
		c := newCluster(t, 3, cfg)
		ctx := context.Background()
		const keys = 400
		c.writeKeys(keys, c.ids...)
		synctest.Wait()
		joinCfg := cfg
		joinCfg.Join = true
		c.ids = append(c.ids, "n4")
		c.add("n4", 4, joinCfg)
		c.setRing(c.ids)
		if c.nodes["n4"].Stats().RangesReceiving == 0 {
			t.Fatal("n4 is not receiving any range")
		}
		// During the move: n4 holds nothing yet, but no read may say not found.
		for i := range keys {
			k := fmt.Sprint("key", i)
			for _, id := range c.ids {
				got, err := c.nodes[id].Get(ctx, k)
				if err != nil || string(got) != fmt.Sprint("v", i) {
					t.Fatalf("during the move, Get %s via %s = %q, %v", k, id, got, err)
				}
			}
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		s := c.nodes["n4"].Stats()
		if s.RangesReceiving != 0 || s.EntriesMoved == 0 {
			t.Fatalf("n4 after the move: %d ranges receiving, %d entries moved", s.RangesReceiving, s.EntriesMoved)
		}
		// Each key was copied once (from the first old replica); the
		// other old replicas only listed versions, which all matched.
		if held := c.stores["n4"].Stats().Keys; s.EntriesMoved != uint64(held) || s.AntiEntropyPulled != 0 {
			t.Errorf("n4 holds %d keys but received %d by scan and %d by version diff", held, s.EntriesMoved, s.AntiEntropyPulled)
		}
		c.checkConverged(t, keys)
		// Now n4's answers count: read every key through n4 with One.
		for i := range keys {
			k := fmt.Sprint("key", i)
			if slices.Contains(c.replicasOf(k), "n4") {
				if _, ok := c.stores["n4"].View(k); !ok {
					t.Fatalf("%s missing on new replica n4", k)
				}
			}
		}
	})
}

// Rebalancing when a member leaves: the remaining nodes pull the ranges
// they newly replicate from the old replicas (including the leaving one).
func TestRebalanceLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{MoveDelay: time.Second, AntiEntropyInterval: -1}
		c := newCluster(t, 4, cfg)
		ctx := context.Background()
		const keys = 300
		c.writeKeys(keys, "n1")
		synctest.Wait()
		c.ids = []string{"n1", "n2", "n3"}
		c.setRing(c.ids)
		for i := range keys {
			if _, err := c.nodes["n2"].Get(ctx, fmt.Sprint("key", i)); err != nil {
				t.Fatalf("during the move: %v", err)
			}
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		c.checkConverged(t, keys)
	})
}

func TestCloseStopsEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := &cluster{t: t, net: newFakeNet(), ids: memberIDs(3), nodes: map[string]*Node{}, stores: map[string]*store.Store{}}
	for i, id := range c.ids {
		c.add(id, uint32(i+1), Config{AntiEntropyInterval: 10 * time.Millisecond, HintInterval: 10 * time.Millisecond})
	}
	c.setRing(c.ids)
	c.net.set(c.net.frozen, "n3", true)
	ctx := ctxT(t)
	for i := range 20 {
		if err := c.nodes["n1"].Set(ctx, fmt.Sprint("k", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	c.close()
	c.close() // idempotent
}

// A node restarted empty with Join answers nothing that counts until it
// has pulled its ranges, so reads through it see every key; then it holds
// them all.
func TestJoinRestartedEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{AntiEntropyInterval: -1, MoveDelay: time.Second}
		c := newCluster(t, 3, cfg)
		ctx := context.Background()
		const keys = 200
		c.writeKeys(keys, "n1")
		synctest.Wait()
		join := cfg
		join.Join = true
		c.restartEmpty("n3", join)
		for _, con := range []Consistency{One, Quorum, Linearizable} {
			for i := range keys {
				got, err := c.nodes["n3"].Get(ctx, fmt.Sprint("key", i), WithConsistency(con))
				if err != nil || string(got) != fmt.Sprint("v", i) {
					t.Fatalf("%v read of key%d through the refilling n3 = %q, %v", con, i, got, err)
				}
			}
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := c.nodes["n3"].Stats(); s.RangesReceiving != 0 {
			t.Fatalf("n3 still receiving %d ranges", s.RangesReceiving)
		}
		if got := c.stores["n3"].Stats().Keys; got != keys {
			t.Fatalf("n3 holds %d keys after its pull, want %d", got, keys)
		}
	})
}

// A fresh cluster whose nodes all start with Join does not wait for ever:
// every source answers that it is receiving too, so the pulls complete.
func TestJoinFreshCluster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{Join: true, MoveDelay: time.Second})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for _, id := range c.ids {
			if s := c.nodes[id].Stats(); s.RangesReceiving != 0 {
				t.Fatalf("%s still receiving %d ranges", id, s.RangesReceiving)
			}
		}
		ctx := context.Background()
		if _, err := c.nodes["n1"].Get(ctx, "missing", WithConsistency(Linearizable)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get: %v, want ErrNotFound", err)
		}
	})
}

// Operations of every kind from many goroutines, while liveness, RTTs and
// the ring change underneath: no race, no unexpected error.
func TestNodeConcurrentSafe(t *testing.T) {
	// A generous per-operation timeout: -race on a loaded machine is slow,
	// and this test is about races, not latency.
	c := newCluster(t, 4, Config{MoveDelay: time.Millisecond, HintInterval: 5 * time.Millisecond, AntiEntropyInterval: 20 * time.Millisecond, Timeout: 20 * time.Second})
	ctx := context.Background()
	stop := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		rings := [][]string{{"n1", "n2", "n3", "n4"}, {"n1", "n2", "n3"}}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			r := newRing(t, rings[i%2])
			for _, id := range c.ids {
				c.nodes[id].SetRing(r)
				c.nodes[id].SetRTT(c.ids[i%4], time.Duration(i%7)*time.Millisecond)
				c.nodes[id].SetAlive(c.ids[(i+1)%4], i%3 != 0)
			}
		}
	}()
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			nd := c.nodes[c.ids[g%4]]
			var err error
			for i := 0; i < 100 && err == nil; i++ {
				k := fmt.Sprint("key", (g*7+i)%20)
				con := []Consistency{One, Quorum, All, Linearizable}[i%4]
				switch i % 3 {
				case 0:
					err = nd.Set(ctx, k, []byte(fmt.Sprint(g, i)), WithConsistency(con), WithTTL(time.Minute))
				case 1:
					_, err = nd.Get(ctx, k, WithConsistency(con))
					if errors.Is(err, ErrNotFound) {
						err = nil
					}
				case 2:
					err = nd.Delete(ctx, k, WithConsistency(con))
				}
				// While ranges move, a replica that is still receiving
				// cannot make up a read quorum (nor a linearizable write's
				// first phase) with a "not found"; nothing else may fail.
				if errors.Is(err, errReceiving) {
					err = nil
				}
				// Nor can replicas the failure detector reports down (the
				// churn reports some members down while they are up): an
				// operation that needs them fails at once.
				if errors.Is(err, errReportedDown) {
					err = nil
				}
				_ = nd.Stats()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(stop)
	<-churned
}

// A range with more keys than one versions reply holds is split until the
// pieces fit.
func TestAntiEntropySplitsLargeRanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 2, Config{AntiEntropyInterval: -1})
		const keys = 5000
		clk := c.nodes["n1"].clock
		for i := range keys {
			v := store.Version{Time: clk.Now(), Node: 1}
			if _, err := c.stores["n1"].Set(fmt.Sprint("key", i), []byte("v"), v, 0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.nodes["n2"].syncRange(context.Background(), "n1", store.Range{}, 0, true); err != nil {
			t.Fatal(err)
		}
		if got := c.stores["n2"].Stats().Keys; got != keys {
			t.Fatalf("n2 pulled %d keys, want %d", got, keys)
		}
		if s := c.nodes["n2"].Stats(); s.AntiEntropyPulled != keys {
			t.Errorf("Stats.AntiEntropyPulled = %d", s.AntiEntropyPulled)
		}
	})
}

// A replica refuses a write stamped further in the future than its
// clock's MaxOffset; the coordinator reports it as a refusal.
func TestFutureWriteRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl := &cluster{t: t, net: newFakeNet(), ids: memberIDs(3), nodes: map[string]*Node{}, stores: map[string]*store.Store{}}
		t.Cleanup(cl.close)
		for i, id := range cl.ids {
			skew := time.Duration(0)
			if id == "n1" {
				skew = time.Hour
			}
			cl.add(id, uint32(i+1), Config{Clock: skewedClock(t, skew)})
		}
		cl.setRing(cl.ids)
		err := cl.nodes["n1"].Set(context.Background(), "k", []byte("v"))
		var re *RemoteError
		if !errors.Is(err, ErrQuorumNotMet) || !errors.As(err, &re) || re.Code != codeClock {
			t.Fatalf("Set from a node an hour ahead: %v; want refusals for the clock", err)
		}
		if _, ok := cl.stores["n2"].Read("k"); ok {
			t.Error("n2 stored the future write")
		}
		if s := cl.nodes["n1"].Stats(); s.Hints != 0 {
			t.Errorf("refused writes became %d hints", s.Hints)
		}
		// n1 stored it locally; anti-entropy does not spread it either.
		cl.nodes["n1"].Restarted("n2")
		synctest.Wait()
		if _, ok := cl.stores["n2"].Read("k"); ok {
			t.Error("anti-entropy spread the future write to n2")
		}
	})
}

// A second ring change before a node finished pulling its ranges keeps
// the unfinished parts pending (with the sources of both changes), so the
// node still receives them and reads stay right throughout.
func TestRebalanceConsecutiveChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// No read repair, hints nor anti-entropy: only the pulls can fill
		// the new replicas.
		cfg := Config{MoveDelay: 2 * time.Second, AntiEntropyInterval: -1, HintInterval: time.Hour, ReadRepair: RepairOff}
		c := newCluster(t, 3, cfg)
		ctx := context.Background()
		const keys = 300
		c.writeKeys(keys, "n1")
		synctest.Wait()
		join := cfg
		join.Join = true
		// While two of a key's replicas are receiving, a read cannot make
		// its quorum and fails; it never returns a wrong answer.
		readAll := func(when string, mayFail bool) (failed int) {
			t.Helper()
			for i := range keys {
				for _, id := range c.ids {
					got, err := c.nodes[id].Get(ctx, fmt.Sprint("key", i))
					if mayFail && errors.Is(err, errReceiving) {
						failed++
						continue
					}
					if err != nil || string(got) != fmt.Sprint("v", i) {
						t.Fatalf("%s: Get key%d via %s = %q, %v", when, i, id, got, err)
					}
				}
			}
			return failed
		}
		c.ids = append(c.ids, "n4")
		c.add("n4", 4, join)
		c.setRing(c.ids)
		time.Sleep(time.Second) // n4 has not pulled yet
		c.ids = append(c.ids, "n5")
		c.add("n5", 5, join)
		c.setRing(c.ids)
		t.Logf("%d of %d reads failed during the moves", readAll("during the moves", true), keys*len(c.ids))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		for _, id := range c.ids {
			if s := c.nodes[id].Stats(); s.RangesReceiving != 0 {
				t.Fatalf("%s still receiving %d ranges", id, s.RangesReceiving)
			}
		}
		c.checkConverged(t, keys)
		readAll("after the moves", false)
	})
}
