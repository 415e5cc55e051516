package hlc

import (
	"sync/atomic"
	"time"
)

// WallClock is the physical clock a Clock reads. Implementations must be
// safe for concurrent use. They need not be monotonic: a Clock stays
// monotonic when its WallClock jumps backwards. Only the wall time in
// milliseconds since the Unix epoch (Time.UnixMilli) is used.
type WallClock interface {
	Now() time.Time
}

// ManualClock is a WallClock that moves only when told to, for tests and
// simulations. It is safe for concurrent use. The zero ManualClock reads the
// Unix epoch. It holds Unix nanoseconds in an int64, so it covers the years
// 1678 to 2262.
type ManualClock struct {
	nanos atomic.Int64 // Unix nanoseconds
}

// NewManualClock returns a ManualClock that reads t.
func NewManualClock(t time.Time) *ManualClock {
	m := &ManualClock{}
	m.Set(t)
	return m
}

// Now returns the current reading, in UTC.
func (m *ManualClock) Now() time.Time { return time.Unix(0, m.nanos.Load()).UTC() }

// Set moves the clock to t, forwards or backwards.
func (m *ManualClock) Set(t time.Time) { m.nanos.Store(t.UnixNano()) }

// Advance moves the clock by d; a negative d moves it backwards.
func (m *ManualClock) Advance(d time.Duration) { m.nanos.Add(int64(d)) }
