package swim

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// TestPresetSweep is the tool used to tune PresetFast: for candidate
// timings it measures crash detection (10 runs of 5 members), false
// failures with one slow member (3 runs of 60 s per delay) and with 10%
// packet loss (3 runs of 10 members for 60 s). It takes minutes, so it
// runs only with SWIM_SWEEP=1:
//
//	SWIM_SWEEP=1 go test -run TestPresetSweep -v .
func TestPresetSweep(t *testing.T) {
	if os.Getenv("SWIM_SWEEP") == "" {
		t.Skip("set SWIM_SWEEP=1 to run the tuning sweep")
	}
	type knob struct {
		name   string
		preset Preset
		tune   func(*memberlist.Config)
	}
	timings := func(pi, pt time.Duration, sm int) func(*memberlist.Config) {
		return func(mc *memberlist.Config) {
			mc.ProbeInterval, mc.ProbeTimeout, mc.SuspicionMult = pi, pt, sm
		}
	}
	for _, k := range []knob{
		{"fast", PresetFast, nil},
		{"fast pi=150ms pt=100ms sm=4", PresetFast, timings(150*time.Millisecond, 100*time.Millisecond, 4)},
		{"lan", PresetLAN, nil},
		{"local", PresetLocal, nil},
	} {
		cfg := func(_ int, c *Config) { c.Preset, c.Tune = k.preset, k.tune }
		var ds []time.Duration
		for run := range 10 {
			d, _ := detectionRun(t, cfg, uint64(run))
			ds = append(ds, d)
		}
		slow := map[time.Duration]int{}
		for _, delay := range []time.Duration{300 * time.Millisecond, 500 * time.Millisecond, time.Second} {
			for run := range 3 {
				simTest(t, func(t *testing.T) {
					c := newSimCluster(t, uint64(run), 5, cfg)
					defer c.closeAll()
					waitFor(time.Minute, c.converged)
					c.nw.SetNodeDelay(c.addrs[2], delay)
					time.Sleep(60 * time.Second)
					c.nw.SetNodeDelay(c.addrs[2], 0)
					slow[delay] += c.failedTotal()
				})
			}
		}
		loss := 0
		for run := range 3 {
			simTest(t, func(t *testing.T) {
				c := newSimCluster(t, uint64(run), 10, cfg)
				defer c.closeAll()
				waitFor(time.Minute, c.converged)
				c.nw.SetLoss(0.1)
				time.Sleep(60 * time.Second)
				c.nw.SetLoss(0)
				loss += c.failedTotal()
			})
		}
		t.Logf("%s: detection median %v max %v; false failures per slow delay %v; with 10%% loss %d",
			k.name, median(ds), slices.Max(ds), slow, loss)
	}
}
