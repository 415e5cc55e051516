package swim

import (
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestSweep(t *testing.T) {
	if os.Getenv("SWIM_SWEEP") == "" {
		t.Skip("set SWIM_SWEEP=1")
	}
	type knob struct {
		pi, pt time.Duration
		sm, aw int
		gi     time.Duration
	}
	for _, k := range []knob{
		{100 * time.Millisecond, 50 * time.Millisecond, 5, 8, 20 * time.Millisecond},
		{100 * time.Millisecond, 50 * time.Millisecond, 6, 8, 20 * time.Millisecond},
	} {
		tune := func(mc *memberlist.Config) {
			mc.ProbeInterval, mc.ProbeTimeout, mc.SuspicionMult, mc.AwarenessMaxMultiplier = k.pi, k.pt, k.sm, k.aw
			mc.GossipInterval, mc.GossipNodes = k.gi, 4
		}
		var ds []time.Duration
		for run := range 10 {
			synctest.Test(t, func(t *testing.T) {
				c := newSimCluster(t, uint64(run), 5, func(_ int, c *Config) { c.Tune = tune })
				defer c.closeAll()
				waitFor(time.Minute, c.converged)
				time.Sleep(5*time.Second + time.Duration(run)*137*time.Millisecond)
				crashed := time.Now()
				c.crash(4)
				d, _ := waitFor(time.Minute, func() bool {
					for _, i := range c.live() {
						if _, ok := c.recs[i].first(EventFailed, nodeID(4), crashed); !ok {
							return false
						}
					}
					return true
				})
				ds = append(ds, d)
			})
		}
		tol := map[time.Duration]int{}
		for _, delay := range []time.Duration{300 * time.Millisecond, 500 * time.Millisecond, 700 * time.Millisecond, time.Second} {
			for run := range 3 {
				synctest.Test(t, func(t *testing.T) {
					c := newSimCluster(t, uint64(run), 5, func(_ int, c *Config) { c.Tune = tune })
					defer c.closeAll()
					waitFor(time.Minute, c.converged)
					c.nw.SetNodeDelay(c.addrs[2], delay)
					time.Sleep(60 * time.Second)
					c.nw.SetNodeDelay(c.addrs[2], 0)
					tol[delay] += c.failedTotal()
				})
			}
		}
		loss := 0
		for run := range 3 {
			synctest.Test(t, func(t *testing.T) {
				c := newSimCluster(t, uint64(run), 10, func(_ int, c *Config) { c.Tune = tune })
				defer c.closeAll()
				waitFor(time.Minute, c.converged)
				c.nw.SetLoss(0.1)
				time.Sleep(60 * time.Second)
				c.nw.SetLoss(0)
				loss += c.failedTotal()
			})
		}
		t.Logf("%+v: detection median %v max %v; false failures by slow delay %v; loss10%% %d", k, median(ds), slices_max(ds), tol, loss)
	}
}

func slices_max(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
