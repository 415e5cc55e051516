package swim

import (
	"os"
	"testing"
	"testing/synctest"
	"time"
)

func TestSlowSweepTmp(t *testing.T) {
	if os.Getenv("SWIM_SWEEP2") == "" {
		t.Skip()
	}
	for _, delay := range []time.Duration{150 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond} {
		bad := 0
		for run := range 10 {
			synctest.Test(t, func(t *testing.T) {
				c := newSimCluster(t, uint64(run), 5, nil)
				defer c.closeAll()
				waitFor(time.Minute, c.converged)
				c.nw.SetNodeDelay(c.addrs[2], delay)
				time.Sleep(60 * time.Second)
				c.nw.SetNodeDelay(c.addrs[2], 0)
				if c.failedTotal() > 0 {
					bad++
				}
			})
		}
		t.Logf("delay %v: %d/10 runs with false failures", delay, bad)
	}
}
