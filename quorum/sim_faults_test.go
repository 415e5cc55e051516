package quorum_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/quorum/internal/check"
	"github.com/gridkv/gridkv/quorum/internal/simnet"
)

// timed runs f and returns its virtual duration.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// TestSimMinorityPartitionFailsFast: on the minority side of a partition
// every operation, in every mode, fails with ErrQuorumNotMet within the
// operation timeout (no hang), while the majority side keeps working. With
// crashed peers that refuse connections, or once the failure detector told
// the minority side (SetAlive false), it fails at once: no virtual time
// passes.
func TestSimMinorityPartitionFailsFast(t *testing.T) {
	const timeout = time.Second
	for _, tc := range []struct {
		name     string
		cut      func(c *simCluster)
		detected bool          // the failure detector told the minority
		within   time.Duration // bound on each failed operation
	}{
		{"partition", func(c *simCluster) { c.net.Partition([]string{"n1", "n2"}) }, false, timeout},
		{"partition detected", func(c *simCluster) {
			c.net.Partition([]string{"n1", "n2"})
			for _, id := range []string{"n3", "n4", "n5"} {
				c.node("n1").q.SetAlive(id, false)
				c.node("n2").q.SetAlive(id, false)
			}
		}, true, 0},
		{"majority crashed, detected", func(c *simCluster) {
			c.net.SetCrashMode(simnet.CrashTimeout) // calls to them would hang
			for _, id := range []string{"n3", "n4", "n5"} {
				c.crash(id) // and every node is told
			}
		}, true, 0},
		{"majority crashed, connections refused", func(c *simCluster) {
			c.net.SetCrashMode(simnet.CrashFailFast)
			for _, id := range []string{"n3", "n4", "n5"} {
				c.net.Crash(id)
			}
		}, false, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := simConfig{nodes: 5, n: 3, w: 2, r: 2, timeout: timeout,
					net: simnet.Options{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
				c := newSimCluster(t, 1, cfg)
				defer c.close()
				ctx := context.Background()
				// Keys whose replicas include at most one minority node, so
				// no quorum exists on the minority side, and a few with
				// none.
				var keys []string
				for i := 0; len(keys) < 6; i++ {
					k := fmt.Sprintf("key%d", i)
					in := 0
					for _, id := range c.replicas(k) {
						if id == "n1" || id == "n2" {
							in++
						}
					}
					if in <= 1 {
						keys = append(keys, k)
					}
				}
				for _, k := range keys {
					if err := c.node("n3").q.Set(ctx, k, []byte("before")); err != nil {
						t.Fatalf("set %s before the partition: %v", k, err)
					}
				}
				tc.cut(c)
				var worst time.Duration
				for _, mode := range []quorum.Consistency{quorum.Quorum, quorum.All, quorum.Linearizable} {
					opt := quorum.WithConsistency(mode)
					for _, k := range keys {
						for _, via := range []string{"n1", "n2"} {
							q := c.node(via).q
							for name, op := range map[string]func() error{
								"set":    func() error { return q.Set(ctx, k, []byte("minority"), opt) },
								"get":    func() error { _, err := q.Get(ctx, k, opt); return err },
								"delete": func() error { return q.Delete(ctx, k, opt) },
							} {
								d, err := timed(op)
								worst = max(worst, d)
								if !errors.Is(err, quorum.ErrQuorumNotMet) || d > tc.within {
									t.Errorf("%v %s %s via %s (replicas %v): %v after %v; want ErrQuorumNotMet within %v",
										mode, name, k, via, c.replicas(k), err, d, tc.within)
								}
							}
						}
					}
				}
				t.Logf("slowest failed operation on the minority side: %v (timeout %v)", worst, timeout)
				if tc.detected && worst != 0 {
					t.Errorf("with the majority reported down, an operation took %v of virtual time; want an immediate failure", worst)
				}
				if strings.HasPrefix(tc.name, "majority crashed") {
					return
				}
				// The majority side works in every mode.
				for _, k := range keys {
					for _, mode := range []quorum.Consistency{quorum.Quorum, quorum.Linearizable} {
						q := c.node("n4").q
						if err := q.Set(ctx, k, []byte("majority"), quorum.WithConsistency(mode)); err != nil {
							t.Errorf("%v set %s on the majority side: %v", mode, k, err)
						}
						if v, err := q.Get(ctx, k, quorum.WithConsistency(mode)); err != nil || string(v) != "majority" {
							t.Errorf("%v get %s on the majority side: %q, %v", mode, k, v, err)
						}
					}
				}
				// After healing, the minority side sees the majority's
				// writes (its own failed writes were older).
				c.healAll()
				for _, k := range keys {
					v, err := c.node("n1").q.Get(ctx, k, quorum.WithConsistency(quorum.Linearizable))
					if err != nil || string(v) != "majority" {
						t.Errorf("after heal, get %s via n1: %q, %v; want majority", k, v, err)
					}
				}
			})
		})
	}
}

// TestSimFrozenReplica: one replica that never answers (a hung process)
// does not stall writes or reads with W=2, R=2 of N=3: every operation
// completes with the other two replicas, in about the time it takes
// without the freeze plus the hedge delay, far below the timeout, even
// when the frozen replica looks like the fastest.
func TestSimFrozenReplica(t *testing.T) {
	for _, mode := range []quorum.Consistency{quorum.Quorum, quorum.Linearizable} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const timeout = 2 * time.Second
				cfg := simConfig{nodes: 4, n: 3, w: 2, r: 2, consistency: mode, timeout: timeout,
					hedgeDelay: 20 * time.Millisecond,
					net:        simnet.Options{MinDelay: 2 * time.Millisecond, MaxDelay: 5 * time.Millisecond}}
				c := newSimCluster(t, 7, cfg)
				defer c.close()
				ctx := context.Background()
				// Keys replicated on n4, the node that will freeze.
				var keys []string
				for i := 0; len(keys) < 20; i++ {
					k := fmt.Sprintf("key%d", i)
					if slices.Contains(c.replicas(k), "n4") {
						keys = append(keys, k)
					}
				}
				workload := func(round int) (worst time.Duration) {
					for _, k := range keys {
						for _, via := range []string{"n1", "n2", "n3"} {
							q := c.node(via).q
							val := fmt.Sprintf("%s-%d-%s", k, round, via)
							d, err := timed(func() error { return q.Set(ctx, k, []byte(val)) })
							if err != nil {
								t.Errorf("round %d: set %s via %s (replicas %v): %v after %v", round, k, via, c.replicas(k), err, d)
							}
							worst = max(worst, d)
							var v []byte
							d, err = timed(func() error { var err error; v, err = q.Get(ctx, k); return err })
							if err != nil || string(v) != val {
								t.Errorf("round %d: get %s via %s (replicas %v): %q, %v after %v; want %q", round, k, via, c.replicas(k), v, err, d, val)
							}
							worst = max(worst, d)
						}
					}
					return worst
				}
				healthy := workload(0)
				c.net.Freeze("n4")
				for _, via := range []string{"n1", "n2", "n3"} {
					c.node(via).q.SetRTT("n4", 100*time.Microsecond) // looks fastest
				}
				frozen := workload(1)
				bound := healthy + cfg.hedgeDelay + 2*cfg.net.MaxDelay
				t.Logf("%v: slowest operation %v healthy, %v with n4 frozen (bound %v, timeout %v)", mode, healthy, frozen, bound, timeout)
				if frozen > bound {
					t.Errorf("%v: with one replica frozen the slowest operation took %v; healthy %v, want at most %v (not the timeout %v)", mode, frozen, healthy, bound, timeout)
				}
				c.net.Unfreeze("n4")
			})
		})
	}
}

// TestSimEmptyRestartRefilled: a node that restarts with an empty store
// (same name, new boot) is refilled once the others are told it restarted,
// without any periodic anti-entropy rounds and without reads: by the
// others' anti-entropy alone (Restarted), and with Config.Join set on the
// restarted node (it also pulls its ranges).
func TestSimEmptyRestartRefilled(t *testing.T) {
	for _, tc := range []struct {
		nodes int
		join  bool
	}{{3, false}, {5, false}, {3, true}, {5, true}} {
		nodes := tc.nodes
		t.Run(fmt.Sprintf("%d nodes join=%v", nodes, tc.join), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := simConfig{nodes: nodes, n: 3, w: 2, r: 2, timeout: time.Second,
					antiEntropy: -1, // only Restarted triggers a round
					readRepair:  quorum.RepairOff,
					net:         simnet.Options{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
				c := newSimCluster(t, 3, cfg)
				defer c.close()
				ctx := context.Background()
				var keys []string
				for i := range 200 {
					k := fmt.Sprintf("key%d", i)
					keys = append(keys, k)
					var err error
					if i%10 == 0 {
						err = c.node("n1").q.Delete(ctx, k)
					} else {
						err = c.node("n1").q.Set(ctx, k, []byte(k))
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(time.Second)
				if p := c.census(keys, false); len(p) > 0 {
					t.Fatalf("not converged before the restart:%s", problemList(p))
				}
				before := c.node("n2").st.Stats()
				nd := c.restartEmpty("n2", tc.join)
				if s := nd.st.Stats(); s.Keys+s.Tombstones != 0 {
					t.Fatalf("restarted store not empty: %+v", s)
				}
				time.Sleep(5 * time.Second)
				after := nd.st.Stats()
				if p := c.census(keys, false); len(p) > 0 {
					t.Errorf("n2 not refilled 5s after restarting empty (%d keys and %d tombstones before, %d and %d after):%s",
						before.Keys, before.Tombstones, after.Keys, after.Tombstones, problemList(p))
				}
			})
		})
	}
}

// TestSimHintedHandoff: writes that a replica missed while it was cut off
// reach it by hinted handoff once it is back, with anti-entropy and read
// repair off, so nothing else could repair it.
func TestSimHintedHandoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := simConfig{nodes: 3, n: 3, w: 2, r: 2, timeout: 200 * time.Millisecond,
			antiEntropy: -1, readRepair: quorum.RepairOff, hintInterval: 100 * time.Millisecond,
			net: simnet.Options{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
		c := newSimCluster(t, 5, cfg)
		defer c.close()
		ctx := context.Background()
		c.net.Isolate("n3")
		c.tellAlive("n3", false)
		var keys []string
		for i := range 100 {
			k := fmt.Sprintf("key%d", i)
			keys = append(keys, k)
			via := []string{"n1", "n2"}[i%2]
			var err error
			if i%10 == 0 {
				err = c.node(via).q.Delete(ctx, k)
			} else {
				err = c.node(via).q.Set(ctx, k, []byte(check.Value(k, i)))
			}
			if err != nil {
				t.Fatalf("%s via %s with n3 cut off: %v", k, via, err)
			}
		}
		time.Sleep(time.Second)
		if s := c.node("n3").st.Stats(); s.Keys+s.Tombstones != 0 {
			t.Fatalf("n3 got %d entries while cut off", s.Keys+s.Tombstones)
		}
		held := c.node("n1").q.Stats().Hints + c.node("n2").q.Stats().Hints
		c.healAll() // tells n1 and n2 that n3 is alive again
		time.Sleep(time.Second)
		delivered := c.node("n1").q.Stats().HintsDelivered + c.node("n2").q.Stats().HintsDelivered
		if p := c.census(keys, false); len(p) > 0 {
			t.Errorf("n3 not repaired by hints (%d held, %d delivered):%s", held, delivered, problemList(p))
		}
		t.Logf("%d hints held while n3 was cut off, %d delivered", held, delivered)
	})
}

// TestSimClockTooFarAhead found (seed 6) that entries stamped by a node
// whose clock ran an hour ahead, refused on the write path, reached every
// replica by anti-entropy (mBatch applied without the MaxOffset check), and
// then won over every later write; fixed in 924c033.

// TestSimClockTooFarAhead: a node whose clock runs far ahead (one hour,
// beyond the clocks' MaxOffset) cannot write: the replicas refuse its
// versions, its writes fail with ErrQuorumNotMet, and the other nodes'
// clocks are not dragged forward. Nor may its versions spread: after
// anti-entropy rounds no healthy replica holds a version from the future,
// and the healthy nodes' acknowledged writes read back.
func TestSimClockTooFarAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := simConfig{nodes: 4, n: 3, w: 2, r: 2, timeout: 200 * time.Millisecond, antiEntropy: 100 * time.Millisecond,
			net: simnet.Options{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
		c := newSimCluster(t, 6, cfg)
		defer c.close()
		c.restartWithSkew("n1", time.Hour)
		watch := c.watchVersions()
		ctx := context.Background()
		var keys []string
		for i := range 20 {
			k := fmt.Sprintf("key%d", i)
			keys = append(keys, k)
			if err := c.node("n1").q.Set(ctx, k, []byte("from the future")); !errors.Is(err, quorum.ErrQuorumNotMet) {
				t.Errorf("set %s via n1 (replicas %v) with its clock an hour ahead: %v, want ErrQuorumNotMet", k, c.replicas(k), err)
			}
		}
		time.Sleep(time.Second) // anti-entropy rounds
		for _, k := range keys {
			if err := c.node("n2").q.Set(ctx, k, []byte("now"), quorum.WithConsistency(quorum.All)); err != nil {
				t.Errorf("set %s via n2: %v", k, err)
			}
		}
		// The healthy nodes' clocks were not dragged: their versions are
		// near their wall time.
		limit := time.Now().Add(hlc.DefaultMaxOffset).UnixMilli()
		for kv, v := range watch.versions() {
			if kv.Value == "now" && v.Time.WallTime() > limit {
				t.Errorf("%s written by n2 with version %v: its clock was dragged towards n1's", kv.Key, v.Time)
			}
		}
		// No version from the future on a healthy replica; every
		// acknowledged write of n2 reads back through n3.
		for _, k := range keys {
			for _, id := range []string{"n2", "n3", "n4"} {
				if e, ok := c.node(id).st.Read(k); ok && e.Version.Time.WallTime() > limit {
					t.Errorf("%s on %s (replicas %v): %q with version %v, %v ahead: a refused version spread",
						k, id, c.replicas(k), e.Value, e.Version.Time, time.UnixMilli(e.Version.Time.WallTime()).Sub(time.Now()).Round(time.Second))
				}
			}
			if !slices.Contains(c.replicas(k), "n1") {
				if v, err := c.node("n3").q.Get(ctx, k); err != nil || string(v) != "now" {
					t.Errorf("get %s via n3 (replicas %v, n1 not among them): %q, %v; want now", k, c.replicas(k), v, err)
				}
			}
		}
	})
}
