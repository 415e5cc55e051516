package store

import (
	"fmt"

	"github.com/zeebo/xxh3"
)

// KeyHash is the 64-bit hash that places a key in hash space: xxh3 of the
// key bytes. It is the same function as ring.KeyHash, so a Range means the
// same keys in both packages.
func KeyHash(key string) uint64 { return xxh3.HashString(key) }

// Entry is one versioned write of a key: a value, or a tombstone.
//
// Entries handed out by the store (Read, Scan) share the store's memory:
// Key and Value are immutable and stay valid forever (a later write
// allocates anew, it never changes them), but the caller must not modify
// Value. Entries handed to the store (Apply) are copied, so the caller may
// reuse its buffers right away.
type Entry struct {
	Key     string
	Value   []byte // nil for a tombstone
	Version Version
	// Expires is the absolute expiry in Unix milliseconds; 0 means never.
	// It is absolute so that every replica expires the key at the same time.
	Expires int64
	// Tombstone marks a delete. Read and Scan also report entries whose
	// expiry has passed as tombstones (keeping their version), because an
	// expired write still supersedes older versions on other replicas.
	Tombstone bool
}

// validate checks the shape of e against the store's limits.
func (s *Store) validate(e *Entry) error {
	if len(e.Key) > s.cfg.MaxKeySize {
		return fmt.Errorf("%w: %d bytes, max %d", ErrKeyTooLarge, len(e.Key), s.cfg.MaxKeySize)
	}
	if len(e.Value) > s.cfg.MaxValueSize {
		return fmt.Errorf("%w: %d bytes, max %d", ErrValueTooLarge, len(e.Value), s.cfg.MaxValueSize)
	}
	if e.Version.IsZero() {
		return fmt.Errorf("%w: key %q", ErrZeroVersion, e.Key)
	}
	if e.Tombstone && len(e.Value) != 0 {
		return fmt.Errorf("%w: tombstone with a %d-byte value", ErrInvalidEntry, len(e.Value))
	}
	if e.Expires < 0 {
		return fmt.Errorf("%w: negative expiry %d", ErrInvalidEntry, e.Expires)
	}
	return nil
}
