package swim

import (
	"bytes"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridkv/gridkv/swim/swimtest"
	"github.com/hashicorp/memberlist"
)

// TestStallDetectorTick: a tick more than period + threshold after the
// previous one is a stall that ended when it arrived; an on-time or
// slightly late one is not. An overdue detector reports a stall in
// progress.
func TestStallDetectorTick(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	d := newStallDetector(50*time.Millisecond, 300*time.Millisecond, func() time.Time { return now })
	if r := d.resumedAt(now); !r.IsZero() {
		t.Fatalf("resumedAt before any stall = %v, want zero", r)
	}
	for _, gap := range []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 349 * time.Millisecond, 350 * time.Millisecond} {
		now = now.Add(gap)
		if _, stalled := d.tick(now); stalled {
			t.Fatalf("tick %v after the previous one counted as a stall", gap)
		}
	}
	if r := d.resumedAt(now); !r.IsZero() {
		t.Fatalf("resumedAt after on-time ticks = %v, want zero", r)
	}
	// Overdue: the detector has not run for longer than period +
	// threshold; a stall is in progress or not noticed yet.
	if r := d.resumedAt(now.Add(351 * time.Millisecond)); !r.Equal(now.Add(351 * time.Millisecond)) {
		t.Fatalf("overdue resumedAt = %v, want now", r)
	}
	prev := now
	now = now.Add(4500 * time.Millisecond)
	start, stalled := d.tick(now)
	if !stalled || !start.Equal(prev) {
		t.Fatalf("tick 4.5 s late: stalled=%v start=%v, want true %v", stalled, start, prev)
	}
	end := now
	now = now.Add(50 * time.Millisecond)
	d.tick(now)
	if r := d.resumedAt(now); !r.Equal(end) {
		t.Fatalf("resumedAt after the stall = %v, want its end %v", r, end)
	}
	var nilDetector *stallDetector
	if r := nilDetector.resumedAt(now); !r.IsZero() {
		t.Fatalf("disabled detector: resumedAt = %v", r)
	}
}

// TestStallDetectorRun: run reads the clock when a tick is received, not
// the tick's value (a time.Ticker sends when the tick was due, hiding the
// lateness), reports stalls, ignores ticks while paused and returns when
// stop is closed.
func TestStallDetectorRun(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := make(chan time.Time, 1)
	now := t0
	d := newStallDetector(50*time.Millisecond, 300*time.Millisecond, func() time.Time { return now })
	d.now = func() time.Time { return <-clock }
	type stall struct{ start, end time.Time }
	stalls := make(chan stall, 10)
	d.onStall = func(s, e time.Time) { stalls <- stall{s, e} }
	ticks := make(chan time.Time)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.run(ticks, stop)
	}()
	due := t0
	tick := func(at time.Time) {
		due = due.Add(50 * time.Millisecond)
		clock <- at
		ticks <- due // the value a Ticker sends: when the tick was due
	}
	tick(t0.Add(50 * time.Millisecond))
	tick(t0.Add(100 * time.Millisecond))
	late := t0.Add(2100 * time.Millisecond)
	tick(late)
	tick(late.Add(50 * time.Millisecond))
	d.paused.Store(true)
	ticks <- due // ignored: does not read the clock
	close(stop)
	<-done
	close(stalls)
	var got []stall
	for s := range stalls {
		got = append(got, s)
	}
	want := stall{t0.Add(100 * time.Millisecond), late}
	if len(got) != 1 || !got[0].start.Equal(want.start) || !got[0].end.Equal(want.end) {
		t.Fatalf("stalls = %v, want one from %v to %v", got, want.start, want.end)
	}
	if r := d.resumedAt(late.Add(60 * time.Millisecond)); !r.Equal(late) {
		t.Fatalf("resumedAt = %v, want %v", r, late)
	}
}

// holdFixture is one member with a fake peer "x" fed to observe directly,
// inside a synctest bubble.
type holdFixture struct {
	t    *testing.T
	nw   *swimtest.Network
	n    *Node
	rec  *recorder
	x    *memberlist.Node
	addr string
}

func newHoldFixture(t *testing.T) *holdFixture {
	return newHoldFixtureLog(t, nil)
}

func newHoldFixtureLog(t *testing.T, log *slog.Logger) *holdFixture {
	nw := swimtest.NewNetwork(1)
	n, err := Start(&Config{NodeID: "a", Transport: nw.NewTransport(), RejoinInterval: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := (&Meta{TransportAddr: "127.0.0.1:7001", Zone: "z1", BootID: 7}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f := &holdFixture{
		t: t, nw: nw, n: n, rec: newRecorder(n.Events()),
		x:    &memberlist.Node{Name: "x", Addr: net.IPv4(127, 0, 0, 1), Port: 40000, Meta: meta},
		addr: "127.0.0.1:40000",
	}
	n.observe(f.x, EventJoin)
	f.hear()
	return f
}

func (f *holdFixture) hear() { f.n.heard.mark(f.addr, time.Now()) }

func (f *holdFixture) close() {
	_ = f.n.Close()
	<-f.rec.done
	time.Sleep(time.Minute)
}

// state returns x's recorded state and whether its failure is held.
// (Snapshot would show x suspect either way: no probe of it is ever
// acknowledged.)
func (f *holdFixture) state() (State, bool) {
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	p := f.n.peers["x"]
	return p.m.State, p.held
}

// stall simulates a local stall of d: the detector does not run and
// nothing is heard from x. It returns when the stall ended.
func (f *holdFixture) stall(d time.Duration) time.Time {
	f.n.stall.paused.Store(true)
	time.Sleep(d)
	f.n.stall.paused.Store(false)
	return time.Now()
}

// awaitTick waits until the detector ran after the stall.
func (f *holdFixture) awaitTick() {
	time.Sleep(2 * f.n.stall.period)
	synctest.Wait()
}

// localStall simulates a 4.5 s local stall. If noticed, the detector
// then runs and notices it; if not, it stays paused, so still overdue.
func (f *holdFixture) localStall(noticed bool) {
	f.n.stall.paused.Store(true)
	time.Sleep(4500 * time.Millisecond)
	if !noticed {
		return
	}
	f.n.stall.paused.Store(false)
	f.awaitTick()
	if r := f.n.stall.resumedAt(time.Now()); time.Since(r) > f.n.stall.period*2 {
		f.t.Fatalf("stall not noticed: resumed at %v, now %v", r, time.Now())
	}
}

// TestStallHoldsFailureOfTalkingMember: memberlist declares x dead right
// after a local stall, before its packets are processed (its last packet
// is as old as the stall); x then sends and refutes. No EventFailed. Both
// orders: the detector noticed the stall first, or the failure arrives
// while the detector is still overdue.
func TestStallHoldsFailureOfTalkingMember(t *testing.T) {
	for _, noticed := range []bool{true, false} {
		simTest(t, func(t *testing.T) {
			f := newHoldFixture(t)
			defer f.close()
			f.localStall(noticed)
			f.n.observe(f.x, EventLeave) // memberlist: dead
			synctest.Wait()
			if s, held := f.state(); !held || f.rec.count(EventFailed) != 0 {
				t.Fatalf("noticed=%v: right after the stall x is %v, held=%v, want held", noticed, s, held)
			}
			f.n.stall.paused.Store(false)
			// x keeps talking for a while, then refutes.
			for range 20 {
				f.hear()
				time.Sleep(50 * time.Millisecond)
			}
			f.n.observe(f.x, EventJoin)
			synctest.Wait()
			if n := f.rec.count(EventFailed); n != 0 {
				t.Errorf("noticed=%v: %d EventFailed for a member that kept talking", noticed, n)
			}
			if s, held := f.state(); s != StateAlive || held {
				t.Errorf("x is %v, held=%v after refuting, want alive", s, held)
			}
		})
	}
}

// TestStallStillReportsGoneMember: x is gone (nothing heard) when
// memberlist declares it dead right after a local stall: EventFailed
// comes once x was silent for lifeWindow since the stall ended, plus at
// most one re-check.
func TestStallStillReportsGoneMember(t *testing.T) {
	for _, noticed := range []bool{true, false} {
		simTest(t, func(t *testing.T) {
			f := newHoldFixture(t)
			defer f.close()
			f.localStall(noticed)
			f.n.observe(f.x, EventLeave)
			resumed := f.n.stall.resumedAt(time.Now())
			f.n.stall.paused.Store(false)
			lw := f.n.lifeWindow
			time.Sleep(lw + lw/2 + f.n.stall.period*2 + time.Millisecond)
			synctest.Wait()
			at, ok := f.rec.first(EventFailed, "x", time.Time{})
			if !ok {
				t.Fatalf("noticed=%v: gone member not reported %v after the stall", noticed, time.Since(resumed))
			}
			if d := at.Sub(resumed); d < lw {
				t.Errorf("noticed=%v: reported %v after the stall, want after lifeWindow %v", noticed, d, lw)
			}
			if s, held := f.state(); s != StateFailed || held {
				t.Errorf("x is %v, held=%v, want failed", s, held)
			}
		})
	}
}

// TestNoStallNoHoldForSilentMember: without a stall, a member silent for
// longer than lifeWindow is reported at once (the stall detector running
// on time changes nothing).
func TestNoStallNoHoldForSilentMember(t *testing.T) {
	simTest(t, func(t *testing.T) {
		f := newHoldFixture(t)
		defer f.close()
		time.Sleep(4500 * time.Millisecond)
		f.n.observe(f.x, EventLeave)
		synctest.Wait()
		if _, ok := f.rec.first(EventFailed, "x", time.Time{}); !ok {
			t.Fatal("silent member not reported at once without a stall")
		}
	})
}

// TestHoldSyncsWithHeldMember: while a failure is held, the member may
// not know it was declared dead (memberlist's dead broadcast did not
// reach it), so it does not refute. The Node pushes/pulls state with it
// once per hold, and once more after each local stall, never during one.
// Here nobody answers at x's address; the dials are counted.
func TestHoldSyncsWithHeldMember(t *testing.T) {
	simTest(t, func(t *testing.T) {
		f := newHoldFixture(t)
		defer f.close()
		xt, err := f.nw.Listen(f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer xt.Shutdown()
		dials := 0
		count := func() int {
			synctest.Wait()
			for {
				select {
				case c := <-xt.StreamCh():
					c.Close()
					dials++
				default:
					return dials
				}
			}
		}
		lw := f.n.lifeWindow
		talk := func(d time.Duration) {
			for end := time.Now().Add(d); time.Now().Before(end); {
				f.hear()
				time.Sleep(50 * time.Millisecond)
			}
		}
		// Held while heard, no stall: one push/pull at the first
		// re-check, no more.
		f.n.observe(f.x, EventLeave)
		talk(3 * lw)
		if n := count(); n != 1 {
			t.Fatalf("%d push/pulls during a hold without a stall, want 1", n)
		}
		// A stall during the hold: none while stalled, one after. (x
		// is still heard meanwhile: in a bubble the re-check timers
		// keep running, and the detector notices a stall only once it
		// is StallThreshold old.)
		f.n.stall.paused.Store(true)
		talk(3 * lw)
		if n := count(); n != 1 {
			t.Fatalf("%d push/pulls, want none during the stall", n-1)
		}
		f.n.stall.paused.Store(false)
		talk(3 * lw)
		if n := count(); n != 2 {
			t.Fatalf("%d push/pulls after the stall, want 1", n-1)
		}
		if _, held := f.state(); !held {
			t.Fatal("x no longer held while it talks")
		}
	})
}

// TestStallHoldsNeverHeardMember: right after a local stall even a member
// never heard from at its address is held (without a stall it is not).
func TestStallHoldsNeverHeardMember(t *testing.T) {
	for _, stall := range []bool{false, true} {
		simTest(t, func(t *testing.T) {
			f := newHoldFixture(t)
			defer f.close()
			f.n.heard.mu.Lock()
			delete(f.n.heard.last, f.addr)
			f.n.heard.mu.Unlock()
			if stall {
				f.stall(4500 * time.Millisecond)
				f.awaitTick()
			}
			f.n.observe(f.x, EventLeave)
			synctest.Wait()
			if _, held := f.state(); held != stall {
				t.Fatalf("stall=%v: held=%v", stall, held)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestStallLogged: a noticed stall is logged at Info with its length;
// on-time ticks log nothing.
func TestStallLogged(t *testing.T) {
	simTest(t, func(t *testing.T) {
		var buf syncBuffer
		f := newHoldFixtureLog(t, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
		defer f.close()
		time.Sleep(10 * time.Second)
		if strings.Contains(buf.String(), "local stall") {
			t.Fatalf("stall logged without one: %s", buf.String())
		}
		f.stall(2 * time.Second)
		f.awaitTick()
		if out := buf.String(); !regexp.MustCompile(`level=INFO msg="swim: local stall[^"]*" for=2(\.\d+)?s`).MatchString(out) {
			t.Fatalf("stall not logged at Info with its length: %q", out)
		}
	})
}
