package swim

import (
	"testing"
	"time"
)

// failedTotal counts EventFailed over every live member's recorder.
func (c *simCluster) failedTotal() int {
	n := 0
	for _, i := range c.live() {
		n += c.recs[i].count(EventFailed)
	}
	return n
}

// TestSimLossNoFalseFailure: 60 s with 10% packet loss (and 10% of stream
// dials timing out) must not declare anyone failed.
func TestSimLossNoFalseFailure(t *testing.T) {
	t.Parallel()
	for _, size := range underRace([]int{5, 10}, []int{5}) {
		simTest(t, func(t *testing.T) {
			c := newSimCluster(t, 7, size, nil)
			defer c.closeAll()
			if _, ok := waitFor(time.Minute, c.converged); !ok {
				t.Fatal("no convergence")
			}
			c.nw.SetLoss(0.10)
			time.Sleep(60 * time.Second)
			c.nw.SetLoss(0)
			if n := c.failedTotal(); n != 0 {
				t.Errorf("%d members: %d false failures with 10%% loss", size, n)
			}
		})
	}
}

// TestSimSlowMember: one member whose incoming traffic is 1 s late must
// not be reported failed (memberlist alone declares it dead again and
// again; the failure hold keeps that from the application).
func TestSimSlowMember(t *testing.T) {
	t.Parallel()
	type slowCase struct {
		p     Preset
		delay time.Duration
	}
	cases := []slowCase{{PresetFast, time.Second}, {PresetFast, 300 * time.Millisecond}}
	for _, tc := range underRace(cases, cases[:1]) {
		t.Run(tc.p.String()+"/"+tc.delay.String(), func(t *testing.T) {
			simTest(t, func(t *testing.T) {
				c := newSimCluster(t, 9, 5, func(_ int, c *Config) { c.Preset = tc.p })
				defer c.closeAll()
				if _, ok := waitFor(time.Minute, c.converged); !ok {
					t.Fatal("no convergence")
				}
				c.nw.SetNodeDelay(c.addrs[2], tc.delay)
				time.Sleep(underRace(60*time.Second, 30*time.Second))
				c.nw.SetNodeDelay(c.addrs[2], 0)
				if n := c.failedTotal(); n != 0 {
					t.Errorf("%d false failures", n)
					c.dumpFailures(t)
				}
			})
		})
	}
}

func (c *simCluster) dumpFailures(t *testing.T) {
	for _, i := range c.live() {
		for _, te := range c.recs[i].all() {
			if te.e.Type == EventFailed {
				t.Logf("%s saw %s failed at %v", nodeID(i), te.e.Member.ID, te.at.Format("15:04:05.000"))
			}
		}
	}
}

// TestSimLeave: a graceful Close is seen as a leave at once, never as a
// failure.
func TestSimLeave(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 11, 5, nil)
		defer c.closeAll()
		if _, ok := waitFor(time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		left := time.Now()
		if err := c.nodes[3].Close(); err != nil {
			t.Fatal(err)
		}
		d, ok := waitFor(time.Minute, func() bool {
			for _, i := range []int{0, 1, 2, 4} {
				if _, ok := c.recs[i].first(EventLeave, nodeID(3), left); !ok {
					return false
				}
			}
			return true
		})
		if !ok {
			for _, i := range []int{0, 1, 2, 4} {
				for _, te := range c.recs[i].all() {
					t.Logf("%s: %v %v %s %v", nodeID(i), te.at.Format("05.000"), te.e.Type, te.e.Member.ID, te.e.Member.State)
				}
			}
			t.Fatalf("leave not seen by all in %v", d)
		}
		t.Logf("leave seen by all after %v", d)
		if d > 500*time.Millisecond {
			t.Errorf("leave took %v, want < 500ms", d)
		}
		if n := c.failedTotal(); n != 0 {
			t.Errorf("%d failures reported", n)
			c.dumpFailures(t)
		}
		for _, i := range []int{0, 1, 2, 4} {
			m, ok := c.nodes[i].Member(nodeID(3))
			if !ok || m.State != StateLeft {
				t.Errorf("%s: member n003 = %+v, want state left", nodeID(i), m)
			}
		}
	})
}

// TestSimDeafMember: a member that still sends but receives nothing (a
// one-way partition) cannot refute; its failure is held for FailureHold
// and then reported.
func TestSimDeafMember(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 13, 5, nil)
		defer c.closeAll()
		if _, ok := waitFor(time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		deaf := time.Now()
		c.nw.SetNodeDelay(c.addrs[4], time.Hour)
		d, ok := waitFor(time.Minute, func() bool {
			for i := range 4 {
				if _, ok := c.recs[i].first(EventFailed, nodeID(4), deaf); !ok {
					return false
				}
			}
			return true
		})
		if !ok {
			t.Fatal("deaf member never reported failed")
		}
		t.Logf("deaf member reported failed by all after %v", d)
		if d < 5*time.Second || d > 8*time.Second {
			t.Errorf("reported after %v, want FailureHold (5 s) plus detection", d)
		}
		c.nw.SetNodeDelay(c.addrs[4], 0)
	})
}
