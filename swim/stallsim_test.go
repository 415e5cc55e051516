package swim

import (
	"os"
	"testing"
	"time"
)

// stallAll simulates a stall of the whole machine for d (every process
// descheduled at once): no member's stall detector runs, and everything
// sent meanwhile is delivered only once the stall is over
// (swimtest.Network.Stall). memberlist's own timers cannot be stopped in
// a bubble: they fire during the stall rather than all at once after it;
// either way memberlist declares members dead that it did not hear. It
// returns when the stall ended.
func (c *simCluster) stallAll(d time.Duration) time.Time {
	for _, i := range c.live() {
		c.nodes[i].stall.paused.Store(true)
	}
	c.nw.Stall(d)
	time.Sleep(d)
	for _, i := range c.live() {
		c.nodes[i].stall.paused.Store(false)
	}
	return time.Now()
}

// TestSimStallNoFalseFailure: the whole machine stalls for 4.5 s, so
// every member hears nobody for 4.5 s and memberlist declares members
// dead all over; the failure hold does not count the stall as silence.
// Over the runs, at most 2 EventFailed in all (residue: members whose
// memberlist-level death is not refuted within lifeWindow after the
// stall, until the re-join loop merges them); without the stall detector
// every member reports every other failed in every run.
func TestSimStallNoFalseFailure(t *testing.T) {
	t.Parallel()
	total := 0
	for seed := range uint64(underRace(5, 2)) {
		simTest(t, func(t *testing.T) {
			c := newSimCluster(t, 40+seed, 5, withStallDetector)
			defer c.closeAll()
			if _, ok := waitFor(time.Minute, c.converged); !ok {
				t.Fatal("no convergence")
			}
			c.stallAll(4500 * time.Millisecond)
			time.Sleep(20 * time.Second)
			if n := c.failedTotal(); n > 0 {
				t.Logf("seed %d: %d false failures", seed, n)
				c.dumpFailures(t)
				total += n
			}
			if !c.converged() {
				t.Errorf("seed %d: not converged 20 s after the stall", seed)
			}
		})
	}
	if total > 2 {
		t.Errorf("%d false failures after a 4.5 s stall, want at most 2", total)
	}
}

// TestSimStallCrashStillReported: a member crashes during a 4.5 s stall
// of the whole machine. Every survivor still reports it, once it was
// silent for lifeWindow after the stall: within lifeWindow, one re-check
// (lifeWindow/2) and two detector ticks after the stall ended.
func TestSimStallCrashStillReported(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 50, 5, withStallDetector)
		defer c.closeAll()
		if _, ok := waitFor(time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		go func() {
			time.Sleep(500 * time.Millisecond)
			c.crash(4)
		}()
		end := c.stallAll(4500 * time.Millisecond)
		lw := c.nodes[0].lifeWindow
		limit := lw + lw/2 + 2*c.nodes[0].stall.period
		time.Sleep(limit + time.Millisecond)
		for i := range 4 {
			at, ok := c.recs[i].first(EventFailed, nodeID(4), time.Time{})
			switch {
			case !ok:
				t.Errorf("%s: crashed member not reported %v after the stall", nodeID(i), limit)
			case at.Before(end):
				t.Errorf("%s: crashed member reported %v before the stall ended", nodeID(i), end.Sub(at))
			default:
				t.Logf("%s: crashed member reported %v after the stall", nodeID(i), at.Sub(end))
			}
		}
	})
}

// TestSimStallSweep reports (SWIM_LONG=1) how many runs of 5 members see
// false failures after a stall of the whole machine, with and without the
// stall detector.
func TestSimStallSweep(t *testing.T) {
	if os.Getenv("SWIM_LONG") == "" {
		t.Skip("SWIM_LONG=1")
	}
	for _, detector := range []bool{true, false} {
		for _, d := range []time.Duration{time.Second, 3 * time.Second, 4500 * time.Millisecond} {
			bad, total := 0, 0
			const runs = 20
			for seed := range uint64(runs) {
				simTest(t, func(t *testing.T) {
					c := newSimCluster(t, 100+seed, 5, func(_ int, c *Config) {
						c.StallThreshold = 0
						if !detector {
							c.StallThreshold = -1
						}
					})
					defer c.closeAll()
					if _, ok := waitFor(time.Minute, c.converged); !ok {
						t.Fatal("no convergence")
					}
					if detector {
						c.stallAll(d)
					} else {
						c.nw.Stall(d)
						time.Sleep(d)
					}
					time.Sleep(20 * time.Second)
					if n := c.failedTotal(); n > 0 {
						bad++
						total += n
					}
				})
			}
			t.Logf("detector=%v stall %v: %d/%d runs with false failures, %d in all", detector, d, bad, runs, total)
		}
	}
}
