package swim

import (
	"testing"
	"time"
)

// partitionRun splits 10 members (6 under -race) in two halves for split
// (longer than the fast preset's GossipToTheDeadTime of 15 s), heals, and
// returns how long until every member sees all alive again (ok false: not
// within max).
func partitionRun(t *testing.T, seed uint64, rejoin, split, max time.Duration) (time.Duration, bool) {
	var d time.Duration
	var ok bool
	simTest(t, func(t *testing.T) {
		size := underRace(10, 6)
		c := newSimCluster(t, seed, size, func(_ int, c *Config) { c.RejoinInterval = rejoin })
		defer c.closeAll()
		if _, ok := waitFor(time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		c.nw.Partition(c.addrs[:size/2], c.addrs[size/2:])
		time.Sleep(split)
		for i := range size {
			if got := c.aliveView(i); got != size/2 {
				t.Fatalf("%s sees %d alive during the partition, want %d", nodeID(i), got, size/2)
			}
		}
		c.nw.Heal()
		d, ok = waitFor(max, c.converged)
	})
	return d, ok
}

func TestSimPartitionHeals(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for run := range underRace(3, 1) {
		d, ok := partitionRun(t, uint64(40+run), 0, 60*time.Second, 15*time.Second)
		if !ok {
			t.Fatalf("run %d: not one cluster %v after healing", run, d)
		}
		ds = append(ds, d)
	}
	t.Logf("one cluster again after a 60 s partition healed: median %v, runs %v", median(ds), ds)
}

// TestSimPartitionWithoutRejoinStaysSplit is the control: memberlist alone
// does not merge halves that declared each other dead long ago.
func TestSimPartitionWithoutRejoinStaysSplit(t *testing.T) {
	t.Parallel()
	if d, ok := partitionRun(t, 50, -1, 20*time.Second, 30*time.Second); ok {
		t.Fatalf("healed in %v without re-join; the heal test proves nothing", d)
	}
}

// TestSimRestart: a member restarting with a new boot id is reported as
// restarted by every other member, both for a quick restart (memberlist
// shows only an update) and after it was declared failed.
func TestSimRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		down time.Duration
	}{
		{"quick", 0},
		{"after-failure", 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ds []time.Duration
			for run := range 5 {
				simTest(t, func(t *testing.T) {
					c := newSimCluster(t, uint64(60+run), 5, nil)
					defer c.closeAll()
					if _, ok := waitFor(time.Minute, c.converged); !ok {
						t.Fatal("no convergence")
					}
					time.Sleep(3 * time.Second)
					oldBoot := c.nodes[4].Meta().BootID
					c.crash(4)
					time.Sleep(tc.down)
					restarted := time.Now()
					c.start(4, 0)
					if c.nodes[4].Meta().BootID == oldBoot {
						t.Fatal("boot id did not change")
					}
					d, ok := waitFor(time.Minute, func() bool {
						for i := range 4 {
							if _, ok := c.recs[i].first(EventRestart, nodeID(4), restarted); !ok {
								return false
							}
						}
						return true
					})
					if !ok {
						for i := range 4 {
							for _, te := range c.recs[i].all() {
								if te.e.Member.ID == nodeID(4) {
									t.Logf("%s: %v %v", nodeID(i), te.at.Format("15:04:05.000"), te.e.Type)
								}
							}
						}
						t.Fatalf("restart not reported by all after %v", d)
					}
					for i := range 4 {
						if at, ok := c.recs[i].first(EventJoin, nodeID(4), restarted); ok {
							t.Errorf("%s reported a join at %v instead of only a restart", nodeID(i), at)
						}
					}
					ds = append(ds, d)
				})
			}
			m := median(ds)
			t.Logf("restart reported by every member: median %v, runs %v", m, ds)
			if m > 2*time.Second {
				t.Errorf("median %v > 2s", m)
			}
		})
	}
}

// TestSimRestartNewAddress: a member restarted on another address (a
// rescheduled pod) takes its ID over and is reported restarted.
func TestSimRestartNewAddress(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 70, 5, nil)
		defer c.closeAll()
		if _, ok := waitFor(time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		c.crash(4)
		c.addrs[4] = "127.0.0.1:30999"
		restarted := time.Now()
		c.start(4, 0)
		d, ok := waitFor(time.Minute, func() bool {
			for i := range 4 {
				if _, ok := c.recs[i].first(EventRestart, nodeID(4), restarted); !ok {
					return false
				}
			}
			return true
		})
		if !ok {
			t.Fatalf("restart on a new address not reported by all after %v", d)
		}
		t.Logf("restart on a new address reported by every member after %v", d)
		if d > 4*time.Second {
			t.Errorf("took %v, want < 4s (detection + DeadNodeReclaimTime + announce)", d)
		}
		if _, ok := waitFor(30*time.Second, c.converged); !ok {
			t.Fatal("no single cluster after the restart")
		}
		if m, _ := c.nodes[0].Member(nodeID(4)); m.Addr != "127.0.0.1:30999" {
			t.Fatalf("member address %s, want the new one", m.Addr)
		}
	})
}
