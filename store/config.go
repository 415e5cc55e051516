package store

import (
	"fmt"
	"time"
)

// Limits that the entry layout imposes; Config values above them are rejected.
const (
	// MaxKeySizeLimit is the largest key any store accepts (keys lengths are 16 bits).
	MaxKeySizeLimit = 1<<16 - 1
	// MaxValueSizeLimit is the largest value any store accepts.
	MaxValueSizeLimit = 1 << 30
)

// Defaults used for zero Config fields.
const (
	DefaultMaxKeySize     = 4096
	DefaultMaxValueSize   = 1 << 20
	DefaultTombstoneGrace = 10 * time.Minute
	DefaultSweepInterval  = time.Second
	DefaultSweepBatch     = 256
	DefaultDigestBits     = 16
)

// Config configures a Store. The zero value (or a nil *Config) works: every
// zero field means its default.
type Config struct {
	// MaxBytes is the memory limit in bytes for keys, values, per-entry
	// overhead and the store's fixed structures (see Stats.Bytes for how
	// it is counted). When a write would exceed it the store evicts other
	// entries; it never rejects the write. Zero means no limit; a limit
	// below the fixed structures (Stats.FixedBytes, about 0.6 MiB with the
	// default DigestBits) is an error.
	MaxBytes int64

	// MaxKeySize and MaxValueSize bound what a write may carry; larger
	// writes fail with ErrKeyTooLarge / ErrValueTooLarge.
	// Zero means DefaultMaxKeySize / DefaultMaxValueSize.
	MaxKeySize   int
	MaxValueSize int

	// TombstoneGrace is how long a tombstone is kept before it is dropped,
	// counted from the tombstone's version time (a Delete) or from the
	// expiry (an expired entry). It must exceed the longest hinted-handoff
	// and anti-entropy delay, or a deleted key can come back.
	// Zero means DefaultTombstoneGrace.
	TombstoneGrace time.Duration

	// SweepInterval is how often the background sweeper runs. Each run
	// examines at most SweepBatch slots per shard, under that shard's lock
	// only. Negative disables the background goroutine (expired entries are
	// then removed lazily on access, by eviction, and by Sweep).
	// Zero means DefaultSweepInterval.
	SweepInterval time.Duration
	// SweepBatch: zero means DefaultSweepBatch.
	SweepBatch int

	// DigestBits sets the width of digest buckets: the hash space is cut
	// into 2^DigestBits aligned buckets. Replicas that compare digests must
	// use the same value. Range 8..24; zero means DefaultDigestBits.
	DigestBits int

	// Now returns the current time in Unix milliseconds, the unit of
	// Entry.Expires and of hlc wall time. Tests inject a manual clock.
	// Nil means time.Now().UnixMilli().
	Now func() int64
}

func (c *Config) withDefaults() (Config, error) {
	var out Config
	if c != nil {
		out = *c
	}
	if out.MaxBytes < 0 {
		return out, fmt.Errorf("store: MaxBytes %d is negative", out.MaxBytes)
	}
	if out.MaxKeySize == 0 {
		out.MaxKeySize = DefaultMaxKeySize
	}
	if out.MaxKeySize < 0 || out.MaxKeySize > MaxKeySizeLimit {
		return out, fmt.Errorf("store: MaxKeySize %d outside 1..%d", out.MaxKeySize, MaxKeySizeLimit)
	}
	if out.MaxValueSize == 0 {
		out.MaxValueSize = DefaultMaxValueSize
	}
	if out.MaxValueSize < 0 || out.MaxValueSize > MaxValueSizeLimit {
		return out, fmt.Errorf("store: MaxValueSize %d outside 1..%d", out.MaxValueSize, MaxValueSizeLimit)
	}
	if out.TombstoneGrace == 0 {
		out.TombstoneGrace = DefaultTombstoneGrace
	}
	if out.TombstoneGrace < 0 {
		return out, fmt.Errorf("store: TombstoneGrace %v is negative", out.TombstoneGrace)
	}
	if out.SweepInterval == 0 {
		out.SweepInterval = DefaultSweepInterval
	}
	if out.SweepBatch == 0 {
		out.SweepBatch = DefaultSweepBatch
	}
	if out.SweepBatch < 0 {
		return out, fmt.Errorf("store: SweepBatch %d is negative", out.SweepBatch)
	}
	if out.DigestBits == 0 {
		out.DigestBits = DefaultDigestBits
	}
	if out.DigestBits < 8 || out.DigestBits > 24 {
		return out, fmt.Errorf("store: DigestBits %d outside 8..24", out.DigestBits)
	}
	if out.Now == nil {
		out.Now = func() int64 { return time.Now().UnixMilli() }
	}
	return out, nil
}
