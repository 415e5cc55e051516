package hlc_test

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridkv/gridkv/hlc"
)

// ms is a wall time in milliseconds since the Unix epoch, for readable tables.
func ms(n int64) time.Time { return time.UnixMilli(n) }

// event is one step of a clock's life: the wall clock moves, the node makes
// a local (or send) event, or it receives a remote timestamp.
type event struct {
	wall    int64         // op "wall": set the manual clock to this many ms
	recv    hlc.Timestamp // op "recv": Update(recv)
	now     hlc.Timestamp // op "now": Now() must return this
	wantErr error         // op "recv": Update must fail with this
	op      string
}

func wallTo(n int64) event        { return event{op: "wall", wall: n} }
func now(w int64, l uint16) event { return event{op: "now", now: hlc.New(w, l)} }
func recv(w int64, l uint16, err error) event {
	return event{op: "recv", recv: hlc.New(w, l), wantErr: err}
}

func TestClockEvents(t *testing.T) {
	tests := []struct {
		name      string
		maxOffset time.Duration
		events    []event
	}{
		{name: "local events within one millisecond tick the logical counter", events: []event{
			wallTo(1000), now(1000, 0), now(1000, 1), now(1000, 2),
			wallTo(1001), now(1001, 0),
		}},
		{name: "wall clock forward jump is followed", events: []event{
			wallTo(1000), now(1000, 0),
			wallTo(3_600_000), now(3_600_000, 0), now(3_600_000, 1),
		}},
		{name: "wall clock backward jump keeps the clock monotonic", events: []event{
			wallTo(5000), now(5000, 0),
			wallTo(1000), now(5000, 1), now(5000, 2),
			wallTo(5000), now(5000, 3),
			wallTo(5001), now(5001, 0),
		}},
		{name: "zero wall clock never yields the zero timestamp", events: []event{
			wallTo(0), now(0, 1), now(0, 2),
		}},
		{name: "wall clock before the epoch reads as the epoch", events: []event{
			wallTo(-5000), now(0, 1),
			wallTo(1), now(1, 0),
		}},
		{name: "receive ahead within max offset: next Now is above it", events: []event{
			wallTo(1000), now(1000, 0),
			recv(1200, 5, nil), now(1200, 6), now(1200, 7),
			wallTo(1200), now(1200, 8),
			wallTo(1201), now(1201, 0),
		}},
		{name: "receive same millisecond, higher logical", events: []event{
			wallTo(1000), now(1000, 0), now(1000, 1),
			recv(1000, 10, nil), now(1000, 11),
		}},
		{name: "receive behind changes nothing", events: []event{
			wallTo(1000), now(1000, 0), now(1000, 1),
			recv(900, 50, nil), recv(1000, 1, nil), now(1000, 2),
		}},
		{name: "receive with an empty local clock", events: []event{
			wallTo(1000), recv(1000, 7, nil), now(1000, 8),
		}},
		{name: "send and receive between two events of the peer", events: []event{
			// Peer sent (1300,2) while our wall clock reads 1000: we move
			// past it, then our wall clock catches up and takes over.
			wallTo(1000), now(1000, 0),
			recv(1300, 2, nil), now(1300, 3),
			wallTo(1100), now(1300, 4),
			wallTo(1301), now(1301, 0),
		}},
		{name: "receive exactly max offset ahead is accepted", events: []event{
			wallTo(1000), recv(1500, 0, nil), now(1500, 1),
		}},
		{name: "receive beyond max offset is rejected and does not move the clock", events: []event{
			wallTo(1000), now(1000, 0),
			recv(1501, 0, hlc.ErrClockOffset), now(1000, 1),
			recv(1<<48-1, 0xffff, hlc.ErrClockOffset), now(1000, 2),
		}},
		{name: "max offset is measured from the current wall clock", events: []event{
			wallTo(1000), recv(1600, 0, hlc.ErrClockOffset),
			wallTo(1100), recv(1600, 0, nil), now(1600, 1),
		}},
		{name: "custom max offset", maxOffset: 10 * time.Millisecond, events: []event{
			wallTo(1000), recv(1011, 0, hlc.ErrClockOffset), recv(1010, 0, nil), now(1010, 1),
		}},
		{name: "sub-millisecond max offset means none", maxOffset: time.Microsecond, events: []event{
			wallTo(1000), recv(1001, 0, hlc.ErrClockOffset), recv(1000, 9, nil), now(1000, 10),
		}},
		{name: "logical overflow carries into the wall part", events: []event{
			wallTo(1000), recv(1000, 0xfffe, nil),
			now(1000, 0xffff), now(1001, 0), now(1001, 1), // runs 1 ms ahead of the wall clock
			wallTo(1001), now(1001, 2),
			wallTo(1002), now(1002, 0),
		}},
		{name: "receive with a full logical counter", events: []event{
			wallTo(1000), recv(1000, 0xffff, nil), now(1001, 0),
		}},
		{name: "full logical counter, then the wall clock moves to the next millisecond", events: []event{
			wallTo(1000), recv(1000, 0xffff, nil),
			wallTo(1001), now(1001, 0), now(1001, 1),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wall := hlc.NewManualClock(ms(0))
			c, err := hlc.NewClock(&hlc.Config{WallClock: wall, MaxOffset: tt.maxOffset})
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range tt.events {
				switch e.op {
				case "wall":
					wall.Set(ms(e.wall))
				case "now":
					if got := c.Now(); got != e.now {
						t.Fatalf("event %d: Now() = %v, want %v", i, got, e.now)
					}
				case "recv":
					if err := c.Update(e.recv); !errors.Is(err, e.wantErr) || (err == nil) != (e.wantErr == nil) {
						t.Fatalf("event %d: Update(%v) = %v, want %v", i, e.recv, err, e.wantErr)
					}
				default:
					t.Fatalf("event %d: unknown op %q", i, e.op)
				}
			}
		})
	}
}

func TestClockLogicalOverflowWithinOneTick(t *testing.T) {
	wall := hlc.NewManualClock(ms(1000))
	c, err := hlc.NewClock(&hlc.Config{WallClock: wall})
	if err != nil {
		t.Fatal(err)
	}
	prev := c.Now()
	for range 3 << hlc.LogicalBits {
		ts := c.Now()
		if ts <= prev {
			t.Fatalf("Now() = %v after %v", ts, prev)
		}
		prev = ts
	}
	// 3*65536+1 readings in one wall millisecond: the clock ran 3 ms ahead.
	if want := hlc.New(1003, 0); prev != want {
		t.Fatalf("after 3*65536+1 readings in one tick: %v, want %v", prev, want)
	}
	wall.Set(ms(1004))
	if got, want := c.Now(), hlc.New(1004, 0); got != want {
		t.Fatalf("after the wall clock caught up: Now() = %v, want %v", got, want)
	}
}

// wallFunc adapts a function to WallClock.
type wallFunc func() time.Time

func (f wallFunc) Now() time.Time { return f() }

// TestClockWallClockOutOfRange checks that wall times the layout cannot hold
// are clamped rather than wrapped (ManualClock cannot go that far).
func TestClockWallClockOutOfRange(t *testing.T) {
	var wall time.Time
	c, err := hlc.NewClock(&hlc.Config{WallClock: wallFunc(func() time.Time { return wall })})
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range []struct {
		wall time.Time
		want hlc.Timestamp
	}{
		{time.UnixMilli(1000), hlc.New(1000, 0)},
		{time.UnixMilli(1<<48 + 5), hlc.New(1<<48-1, 0)}, // year 10889
		{time.UnixMilli(1<<62 + 5), hlc.New(1<<48-1, 1)},
		{time.UnixMilli(1<<48 - 1), hlc.New(1<<48-1, 2)},
	} {
		wall = step.wall
		if got := c.Now(); got != step.want {
			t.Fatalf("step %d: wall clock at %d ms: Now() = %v, want %v", i, step.wall.UnixMilli(), got, step.want)
		}
	}
}

func TestOffsetError(t *testing.T) {
	wall := hlc.NewManualClock(ms(1_700_000_000_000))
	c, err := hlc.NewClock(&hlc.Config{WallClock: wall, MaxOffset: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	remote := hlc.New(1_700_000_001_500, 3)
	err = c.Update(remote)
	var oe *hlc.OffsetError
	if !errors.As(err, &oe) {
		t.Fatalf("Update() = %#v, want an *OffsetError", err)
	}
	want := hlc.OffsetError{Remote: remote, LocalWall: 1_700_000_000_000, Offset: 1500 * time.Millisecond, MaxOffset: 250 * time.Millisecond}
	if *oe != want {
		t.Errorf("OffsetError = %+v, want %+v", *oe, want)
	}
	if !errors.Is(err, hlc.ErrClockOffset) {
		t.Errorf("errors.Is(%v, ErrClockOffset) = false", err)
	}
	if errors.Is(err, hlc.ErrSyntax) {
		t.Errorf("errors.Is(%v, ErrSyntax) = true", err)
	}
	const msg = "hlc: remote timestamp 1700000001.500,3 is 1.5s ahead of the local wall clock (max offset 250ms)"
	if got := err.Error(); got != msg {
		t.Errorf("Error() = %q, want %q", got, msg)
	}

	// A timestamp at the end of time: the offset saturates instead of
	// overflowing into a negative Duration.
	wall.Set(ms(0))
	err = c.Update(hlc.New(1<<48-1, 0))
	if !errors.As(err, &oe) || oe.Offset != time.Duration(1<<63-1) {
		t.Errorf("Update(max) = %v, want an *OffsetError with a saturated Offset", err)
	}
}

func TestNewClockConfig(t *testing.T) {
	if _, err := hlc.NewClock(&hlc.Config{MaxOffset: -time.Second}); err == nil {
		t.Error("NewClock with a negative MaxOffset: no error")
	}
	for name, cfg := range map[string]*hlc.Config{"nil": nil, "zero": {}} {
		c, err := hlc.NewClock(cfg)
		if err != nil {
			t.Fatalf("NewClock(%s): %v", name, err)
		}
		checkSystemClock(t, c)
	}
	var zero hlc.Clock
	checkSystemClock(t, &zero)
}

// checkSystemClock checks that c reads the system wall clock and uses
// DefaultMaxOffset.
func checkSystemClock(t *testing.T, c *hlc.Clock) {
	t.Helper()
	before := time.Now().UnixMilli()
	ts := c.Now()
	after := time.Now().UnixMilli()
	if w := ts.WallTime(); w < before || w > after {
		t.Errorf("Now().WallTime() = %d, want within [%d, %d] of the system clock", w, before, after)
	}
	// 5 seconds is well beyond DefaultMaxOffset and well beyond any time the
	// test can take between the reading above and the Update below.
	ahead := hlc.New(after+(hlc.DefaultMaxOffset+5*time.Second).Milliseconds(), 0)
	if err := c.Update(ahead); !errors.Is(err, hlc.ErrClockOffset) {
		t.Errorf("Update(+%v) = %v, want ErrClockOffset", hlc.DefaultMaxOffset+5*time.Second, err)
	}
	within := hlc.New(after+100, 0)
	if err := c.Update(within); err != nil {
		t.Errorf("Update(+100ms) = %v, want nil", err)
	}
	if got := c.Now(); got <= within {
		t.Errorf("Now() = %v after Update(%v)", got, within)
	}
}

// model is the clock of Kulkarni et al. written as in the paper, with the
// wall part l and the counter c kept apart, plus this package's carry rule.
type model struct{ l, c int64 }

func (m *model) tick(pt int64) hlc.Timestamp {
	if pt > m.l {
		m.l, m.c = pt, 0
	} else {
		m.c++
	}
	if m.c > 0xffff {
		m.l, m.c = m.l+1, 0
	}
	return hlc.New(m.l, uint16(m.c))
}

func (m *model) recv(r hlc.Timestamp) {
	rl, rc := r.WallTime(), int64(r.Logical())
	if rl > m.l || (rl == m.l && rc > m.c) {
		m.l, m.c = rl, rc
	}
}

// TestClockMatchesModel drives a Clock and the model through random events
// (wall clock jumps both ways, local events, receipts near and beyond the
// max offset) and checks that they agree and that every Now is above
// everything issued or accepted before.
func TestClockMatchesModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const maxOffset = 500
	for run := range 200 {
		wall := hlc.NewManualClock(ms(1_700_000_000_000))
		c, err := hlc.NewClock(&hlc.Config{WallClock: wall})
		if err != nil {
			t.Fatal(err)
		}
		var m model
		var high hlc.Timestamp // highest timestamp issued or accepted
		for step := range 500 {
			switch r := rng.IntN(10); {
			case r < 2: // wall clock moves, mostly forward, sometimes back
				wall.Advance(time.Duration(rng.IntN(40)-10) * time.Millisecond)
			case r < 6:
				got, want := c.Now(), m.tick(wall.Now().UnixMilli())
				if got != want {
					t.Fatalf("run %d step %d: Now() = %v, model %v", run, step, got, want)
				}
				if got <= high {
					t.Fatalf("run %d step %d: Now() = %v, not above %v", run, step, got, high)
				}
				high = got
			default: // a remote timestamp around the local wall clock
				pt := wall.Now().UnixMilli()
				remote := hlc.New(pt+int64(rng.IntN(2*maxOffset+100))-maxOffset, uint16(rng.IntN(1<<hlc.LogicalBits)))
				err := c.Update(remote)
				if tooFar := remote.WallTime()-pt > maxOffset; tooFar != errors.Is(err, hlc.ErrClockOffset) || (err != nil && !tooFar) {
					t.Fatalf("run %d step %d: Update(%v) at wall %d = %v", run, step, remote, pt, err)
				}
				if err != nil {
					continue // rejected: the next Now must still match the model, which ignored it
				}
				m.recv(remote)
				got, want := c.Now(), m.tick(pt)
				if got != want {
					t.Fatalf("run %d step %d: Now() = %v after Update(%v), model %v", run, step, got, remote, want)
				}
				if got <= remote || got <= high {
					t.Fatalf("run %d step %d: Now() = %v after Update(%v), not above it and %v", run, step, got, remote, high)
				}
				high = got
			}
		}
	}
}

// TestClockConcurrentSafe runs Now and Update from many goroutines while the
// wall clock jumps about, and checks that each goroutine sees strictly
// increasing timestamps, that no timestamp is issued twice, and that Now is
// above every remote timestamp its goroutine merged. Run it with -race.
func TestClockConcurrentSafe(t *testing.T) {
	const (
		goroutines = 8
		perG       = 5000
	)
	wall := hlc.NewManualClock(ms(1_700_000_000_000))
	c, err := hlc.NewClock(&hlc.Config{WallClock: wall})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		results [goroutines][]hlc.Timestamp
	)
	wg.Go(func() { // the wall clock: forward, and now and then back
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%10 == 9 {
				wall.Advance(-7 * time.Millisecond)
			} else {
				wall.Advance(time.Millisecond)
			}
		}
	})
	var workers sync.WaitGroup
	for g := range goroutines {
		workers.Go(func() {
			out := make([]hlc.Timestamp, 0, perG)
			for i := range perG {
				if g%2 == 1 && i%16 == 0 {
					remote := hlc.New(wall.Now().UnixMilli()+100, uint16(i))
					if err := c.Update(remote); err != nil {
						t.Errorf("Update(%v): %v", remote, err)
						return
					}
					ts := c.Now()
					if ts <= remote {
						t.Errorf("Now() = %v after Update(%v)", ts, remote)
						return
					}
					out = append(out, ts)
					continue
				}
				out = append(out, c.Now())
			}
			results[g] = out
		})
	}
	workers.Wait()
	close(stop)
	wg.Wait()

	checkIncreasingUnique(t, results[:], perG)
}

// TestClockConcurrentSafeSystemClock is TestClockConcurrentSafe's check of
// uniqueness and order on the default, system wall clock.
func TestClockConcurrentSafeSystemClock(t *testing.T) {
	checkConcurrentNow(t, &hlc.Clock{}, 4, 20000)
}

// steppingClock is a WallClock that moves 1 ms forward every other reading
// and 3 ms back every 64th, so that concurrent calls to Now often find the
// wall clock ahead of the Clock at the same moment and race to move it.
type steppingClock struct{ reads atomic.Int64 }

func (s *steppingClock) Now() time.Time {
	n := s.reads.Add(1)
	ms := n / 2
	if n%64 == 0 {
		ms -= 3
	}
	return time.UnixMilli(1_700_000_000_000 + ms)
}

// TestClockConcurrentSafeWallRace is TestClockConcurrentSafe with a wall
// clock that is ahead of the Clock at nearly every reading.
func TestClockConcurrentSafeWallRace(t *testing.T) {
	c, err := hlc.NewClock(&hlc.Config{WallClock: &steppingClock{}})
	if err != nil {
		t.Fatal(err)
	}
	checkConcurrentNow(t, c, 4, 50000)
}

// TestClockConcurrentSafeSameMillisecond releases goroutines together in
// rounds. The wall clock moves 1 ms every other round, so that they race
// through the path where Now moves the Clock up to the wall clock, and then
// tick from there together. It checks that no timestamp is issued twice.
func TestClockConcurrentSafeSameMillisecond(t *testing.T) {
	goroutines := max(2, runtime.GOMAXPROCS(0))
	rounds := 5000
	if testing.Short() {
		rounds = 500
	}
	var round atomic.Int64
	c, err := hlc.NewClock(&hlc.Config{WallClock: wallFunc(func() time.Time {
		return time.UnixMilli(1_700_000_000_000 + round.Load()/2)
	})})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		arrived atomic.Int64
		results = make([][]hlc.Timestamp, goroutines)
	)
	for g := range goroutines {
		wg.Go(func() {
			out := make([]hlc.Timestamp, rounds)
			for r := range int64(rounds) {
				// A spinning barrier: the last goroutine to arrive starts
				// round r by moving the wall clock; the others see it
				// within nanoseconds, and all call Now at once.
				if arrived.Add(1) == (r+1)*int64(goroutines) {
					round.Store(r + 1)
				}
				for spins := 0; round.Load() <= r; spins++ {
					if spins%64 == 63 {
						runtime.Gosched() // fewer CPUs than goroutines
					}
				}
				out[r] = c.Now()
			}
			results[g] = out
		})
	}
	wg.Wait()
	checkIncreasingUnique(t, results, rounds)
}

// checkConcurrentNow calls c.Now perG times from each of the goroutines at
// once, and checks that each goroutine sees strictly increasing timestamps
// and that no timestamp is issued twice.
func checkConcurrentNow(t *testing.T, c *hlc.Clock, goroutines, perG int) {
	t.Helper()
	var wg sync.WaitGroup
	results := make([][]hlc.Timestamp, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			out := make([]hlc.Timestamp, perG)
			for i := range out {
				out[i] = c.Now()
			}
			results[g] = out
		})
	}
	wg.Wait()
	checkIncreasingUnique(t, results, perG)
}

// checkIncreasingUnique checks that each goroutine's n timestamps (index i:
// its i-th call to Now) strictly increase and that no timestamp was issued
// twice.
func checkIncreasingUnique(t *testing.T, results [][]hlc.Timestamp, n int) {
	t.Helper()
	seen := make(map[hlc.Timestamp]int, len(results)*n)
	for g, out := range results {
		if len(out) != n {
			t.Fatalf("goroutine %d: %d timestamps, want %d", g, len(out), n)
		}
		for i, ts := range out {
			if i > 0 && ts <= out[i-1] {
				t.Fatalf("goroutine %d: timestamp %d = %v, not above the previous %v", g, i, ts, out[i-1])
			}
			if other, dup := seen[ts]; dup {
				t.Fatalf("timestamp %v (call %d) issued to goroutines %d and %d", ts, i, other, g)
			}
			seen[ts] = g
		}
	}
}

func TestManualClock(t *testing.T) {
	var zero hlc.ManualClock
	if got := zero.Now(); !got.Equal(time.Unix(0, 0)) {
		t.Errorf("zero ManualClock reads %v, want the Unix epoch", got)
	}
	start := time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)
	m := hlc.NewManualClock(start)
	if got := m.Now(); !got.Equal(start) {
		t.Errorf("Now() = %v, want %v", got, start)
	}
	m.Advance(1500 * time.Millisecond)
	m.Advance(-500 * time.Millisecond)
	if got, want := m.Now(), start.Add(time.Second); !got.Equal(want) {
		t.Errorf("after Advance: Now() = %v, want %v", got, want)
	}
	m.Set(start.Add(-time.Hour))
	if got, want := m.Now(), start.Add(-time.Hour); !got.Equal(want) {
		t.Errorf("after Set: Now() = %v, want %v", got, want)
	}
}

// TestNowUpdateDoNotAllocate backs the package doc: Now and a successful
// Update do not allocate, on the system and on a manual wall clock.
func TestNowUpdateDoNotAllocate(t *testing.T) {
	manual, err := hlc.NewClock(&hlc.Config{WallClock: hlc.NewManualClock(ms(1_700_000_000_000))})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*hlc.Clock{"system": {}, "manual": manual} {
		allocs := testing.AllocsPerRun(1000, func() {
			ts := c.Now()
			if err := c.Update(ts + 1); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s wall clock: Now and Update allocate %v times per run", name, allocs)
		}
	}
}
