package swim

import (
	"os"
	"testing"
	"time"
)

// TestSimGossipTraffic reports the steady-state gossip traffic (UDP
// payload plus TCP push/pull bytes, counted by the in-memory transport)
// per member per second, and bounds it loosely so a regression shows.
func TestSimGossipTraffic(t *testing.T) {
	t.Parallel()
	// 100 members take ~40 s of CPU (far more with -race): opt in with
	// SWIM_LONG=1.
	sizes := []int{5, 20}
	if raceEnabled || testing.Short() {
		sizes = sizes[:1]
	}
	if os.Getenv("SWIM_LONG") != "" {
		sizes = append(sizes, 100)
	}
	for _, size := range sizes {
		simTest(t, func(t *testing.T) {
			c := newSimCluster(t, 3, size, nil)
			defer c.closeAll()
			if _, ok := waitFor(2*time.Minute, c.converged); !ok {
				t.Fatal("no convergence")
			}
			time.Sleep(5 * time.Second) // let join broadcasts drain
			const window = 15 * time.Second
			before := c.nw.TotalStats()
			time.Sleep(window)
			after := c.nw.TotalStats()
			perMember := float64(after.Bytes()-before.Bytes()) / float64(size) / window.Seconds()
			pkts := float64(after.Packets-before.Packets) / float64(size) / window.Seconds()
			t.Logf("%3d members: %.0f B/s per member (%.1f packets/s, %.0f B/s push/pull)", size, perMember, pkts,
				float64(after.StreamBytes-before.StreamBytes)/float64(size)/window.Seconds())
			if perMember > 20000 {
				t.Errorf("%d members: %.0f B/s per member, want < 20000", size, perMember)
			}
			if n := c.failedTotal(); n != 0 {
				t.Errorf("%d false failures", n)
			}
		})
	}
}
