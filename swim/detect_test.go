package swim

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// detectionRun starts 5 members with preset, crashes one at a random
// moment and returns how long until every survivor reported it failed,
// and how many events wrongly reported another member failed.
func detectionRun(t *testing.T, cfg func(int, *Config), seed uint64) (d time.Duration, falseFailures int) {
	t.Helper()
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, seed, 5, cfg)
		defer c.closeAll()
		if _, ok := waitFor(2*time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		time.Sleep(5*time.Second + time.Duration(rng.Int64N(int64(5*time.Second))))
		victim := 4
		crashed := time.Now()
		c.crash(victim)
		var ok bool
		d, ok = waitFor(5*time.Minute, func() bool {
			for _, i := range c.live() {
				if _, ok := c.recs[i].first(EventFailed, nodeID(victim), crashed); !ok {
					return false
				}
			}
			return true
		})
		if !ok {
			t.Fatalf("crash not detected by all after %v", d)
		}
		var last time.Time
		for _, i := range c.live() {
			at, _ := c.recs[i].first(EventFailed, nodeID(victim), crashed)
			if at.After(last) {
				last = at
			}
		}
		d = last.Sub(crashed)
		for _, i := range c.live() {
			falseFailures += c.recs[i].count(EventFailed) - 1
		}
	})
	return d, falseFailures
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestSimDetectionFast asserts the default preset's target: a crashed
// member is reported failed by every survivor within 1 s, median of 10
// runs of 5 members.
func TestSimDetectionFast(t *testing.T) {
	var ds []time.Duration
	for run := range 10 {
		d, ff := detectionRun(t, nil, uint64(100+run))
		if ff != 0 {
			t.Errorf("run %d: %d false failures", run, ff)
		}
		ds = append(ds, d)
	}
	m := median(ds)
	t.Logf("PresetFast detection by all survivors: median %v, runs %v", m, ds)
	if m >= time.Second {
		t.Errorf("median detection %v, want < 1s", m)
	}
}

// TestSimDetectionPresets measures (and bounds loosely) the other presets.
func TestSimDetectionPresets(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, tc := range []struct {
		p   Preset
		max time.Duration
	}{
		{PresetLAN, 15 * time.Second},
		{PresetLocal, 10 * time.Second},
		{PresetWAN, 60 * time.Second},
	} {
		t.Run(tc.p.String(), func(t *testing.T) {
			var ds []time.Duration
			for run := range 5 {
				d, _ := detectionRun(t, func(_ int, c *Config) { c.Preset = tc.p }, uint64(200+run))
				ds = append(ds, d)
			}
			m := median(ds)
			t.Logf("%v detection by all survivors: median %v, runs %v", tc.p, m, ds)
			if m > tc.max {
				t.Errorf("median %v > %v", m, tc.max)
			}
		})
	}
}
