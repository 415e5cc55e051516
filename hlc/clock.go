package hlc

import (
	"fmt"
	"sync/atomic"
	"time"
)

// DefaultMaxOffset is the MaxOffset of a Config that leaves it zero.
const DefaultMaxOffset = 500 * time.Millisecond

// Config configures a Clock. The zero value is ready to use: the system wall
// clock and DefaultMaxOffset.
type Config struct {
	// WallClock is the physical clock. Nil means the system clock (wall time,
	// CLOCK_REALTIME), read in the cheapest way the platform offers.
	WallClock WallClock

	// MaxOffset is how far a remote timestamp's wall time may be ahead of the
	// local wall clock before Clock.Update rejects it with ErrClockOffset. It
	// bounds how far one peer with a runaway clock can drag the cluster into
	// the future. Zero means DefaultMaxOffset; negative is an error. The check
	// works in whole milliseconds.
	MaxOffset time.Duration
}

// Clock is a hybrid logical clock. All methods are safe for concurrent use
// and lock-free. Every Timestamp it returns from Now is strictly greater
// than every Timestamp it returned before and every Timestamp it accepted
// in Update.
//
// The zero Clock is ready to use, with the zero Config. A Clock must not be
// copied after first use.
type Clock struct {
	// last is the highest Timestamp issued by Now or accepted by Update.
	// It only grows.
	last atomic.Uint64

	wall      WallClock     // nil: system clock, called directly rather than through the interface
	maxOffset time.Duration // 0: DefaultMaxOffset
}

// NewClock returns a Clock configured by cfg; a nil cfg means the zero Config.
func NewClock(cfg *Config) (*Clock, error) {
	c := &Clock{}
	if cfg == nil {
		return c, nil
	}
	if cfg.MaxOffset < 0 {
		return nil, fmt.Errorf("hlc: Config.MaxOffset is negative (%v); use 0 for the default %v", cfg.MaxOffset, DefaultMaxOffset)
	}
	c.wall, c.maxOffset = cfg.WallClock, cfg.MaxOffset
	return c, nil
}

// Now returns a new Timestamp, strictly greater than any before it. It is
// the wall clock when that is ahead of everything seen so far, and the last
// Timestamp plus one otherwise (a logical tick, or a carry into the wall part
// when the logical counter is full), so it never goes backwards, even when
// the wall clock does.
func (c *Clock) Now() Timestamp {
	wall := uint64(New(c.physicalMillis(), 0))
	// Tick first: on a busy clock the wall clock is behind the last Timestamp
	// for all but the first call in each millisecond, and then a single
	// atomic add, which cannot fail, is the whole cost; a load first would
	// make contended callers move the cache line twice. The result is unique
	// and above everything issued before, so if it is not below the wall
	// clock it is the answer.
	if ts := c.last.Add(1); ts >= wall {
		return Timestamp(ts)
	}
	// The wall clock is ahead: move to it, unless another Now or Update
	// moves past it first. The tick above is skipped, which is harmless.
	for {
		last := c.last.Load()
		if wall <= last {
			return Timestamp(c.last.Add(1))
		}
		if c.last.CompareAndSwap(last, wall) {
			return Timestamp(wall)
		}
	}
}

// Update merges a Timestamp received from another node, so that every later
// Now returns a greater Timestamp. It returns an *OffsetError, which matches
// ErrClockOffset, and leaves the clock unchanged if remote's wall time is more
// than MaxOffset ahead of the local wall clock.
func (c *Clock) Update(remote Timestamp) error {
	maxOffset := c.maxOffset
	if maxOffset == 0 {
		maxOffset = DefaultMaxOffset
	}
	pt := c.physicalMillis()
	if remote.WallTime()-pt > int64(maxOffset/time.Millisecond) {
		return newOffsetError(remote, pt, maxOffset)
	}
	for {
		last := c.last.Load()
		if uint64(remote) <= last || c.last.CompareAndSwap(last, uint64(remote)) {
			return nil
		}
	}
}

// physicalMillis reads the wall clock in milliseconds, clamped to what the
// layout holds so that a broken WallClock cannot wrap the clock around.
func (c *Clock) physicalMillis() int64 {
	var ms int64
	if c.wall == nil {
		ms = systemMillis()
	} else {
		ms = c.wall.Now().UnixMilli()
	}
	if uint64(ms) > maxWall {
		if ms < 0 {
			return 0
		}
		return maxWall
	}
	return ms
}
