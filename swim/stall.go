package swim

import (
	"sync"
	"sync/atomic"
	"time"
)

// Local stalls.
//
// When the whole process (or the whole host) is not scheduled for a
// while, nobody is heard during that time, and memberlist's timers that
// expired meanwhile (probe and suspicion timeouts) fire as soon as it
// runs again, before the packets that peers sent (late as well) are
// processed. The failure hold would not apply, as the last packet from
// everyone is as old as the stall. So a Node watches for its own stalls:
// one goroutine ticks every stallTickPeriod and a tick that arrives more
// than Config.StallThreshold after it was due marks a stall that ended
// when the tick arrived. The hold measures a member's silence from the
// later of its last packet and the end of the last local stall (see
// liveness.go): time during which the local member itself did not run is
// no evidence of anyone's silence.

// stallDetector notices when the local process was not running. Its
// methods are safe for concurrent use.
type stallDetector struct {
	period    time.Duration // tick period
	threshold time.Duration // lateness that counts as a stall
	now       func() time.Time
	onStall   func(start, end time.Time) // called by run for each stall

	// paused is for tests: a paused detector ignores its ticks, as if
	// it was not running; the first tick after unpausing is late.
	paused atomic.Bool

	mu       sync.Mutex
	lastTick time.Time // when the detector last ran
	endedAt  time.Time // when the last stall ended; zero if none
}

// stallTickPeriod is the detector's tick period for a lifeWindow: an
// eighth of it, between 10 ms and 1 s.
func stallTickPeriod(lifeWindow time.Duration) time.Duration {
	return min(max(lifeWindow/8, 10*time.Millisecond), time.Second)
}

func newStallDetector(period, threshold time.Duration, now func() time.Time) *stallDetector {
	return &stallDetector{period: period, threshold: threshold, now: now, lastTick: now()}
}

// tick records that the detector ran at now. It reports whether the
// detector had not run for longer than period + threshold, and since when.
func (d *stallDetector) tick(now time.Time) (start time.Time, stalled bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	start = d.lastTick
	stalled = now.Sub(start) > d.period+d.threshold
	if stalled {
		d.endedAt = now
	}
	d.lastTick = now
	return start, stalled
}

// resumedAt returns when the local member last came back from a stall:
// now if the detector is overdue (a stall it has not noticed yet: after
// one, any goroutine may run before it), else the end of the last stall
// it noticed, or the zero time. A nil detector (disabled) never saw one.
func (d *stallDetector) resumedAt(now time.Time) time.Time {
	r, _ := d.resumed(now)
	return r
}

// resumed is resumedAt, and whether the detector is overdue.
func (d *stallDetector) resumed(now time.Time) (time.Time, bool) {
	if d == nil {
		return time.Time{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.lastTick) > d.period+d.threshold {
		return now, true
	}
	return d.endedAt, false
}

// run ticks until stop is closed. The time of a tick is read from the
// clock when the tick is received: the value a time.Ticker sends is when
// the tick was due, which hides the lateness.
func (d *stallDetector) run(ticks <-chan time.Time, stop <-chan struct{}) {
	for {
		select {
		case <-ticks:
			if d.paused.Load() {
				continue
			}
			now := d.now()
			if start, ok := d.tick(now); ok && d.onStall != nil {
				d.onStall(start, now)
			}
		case <-stop:
			return
		}
	}
}

// newStall returns the Node's detector, or nil when disabled. Set it
// before memberlist starts: its callbacks read it.
func (n *Node) newStall() *stallDetector {
	threshold := n.cfg.StallThreshold
	if threshold == 0 {
		threshold = n.lifeWindow
	}
	if threshold < 0 || n.cfg.FailureHold <= 0 || n.lifeWindow <= 0 {
		return nil
	}
	d := newStallDetector(stallTickPeriod(n.lifeWindow), threshold, time.Now)
	log := n.cfg.Logger
	d.onStall = func(start, end time.Time) {
		log.Info("swim: local stall: this member did not run", "for", end.Sub(start).Round(time.Millisecond))
	}
	return d
}

// runStall starts the detector's goroutine, which stops with the others
// on shutdown.
func (n *Node) runStall() {
	if n.stall == nil {
		return
	}
	n.stall.mu.Lock()
	n.stall.lastTick = n.stall.now() // memberlist.Create took some time
	n.stall.mu.Unlock()
	ticker := time.NewTicker(n.stall.period)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer ticker.Stop()
		n.stall.run(ticker.C, n.stop)
	}()
}
