package store

// Stats is a snapshot of a store's counters. Counts are gathered shard by
// shard without a global lock, so under concurrent writes they are a close
// approximation, not a consistent cut.
type Stats struct {
	// Keys counts live entries (values, including ones whose expiry has
	// passed but that were not yet noticed); Tombstones counts tombstones,
	// including expired entries converted into tombstones.
	Keys, Tombstones int64
	// Bytes is the memory charged against MaxBytes: the store's fixed
	// structures (FixedBytes: shards, digest bucket sums, about 0.6 MiB
	// with the default DigestBits) plus, for each entry, the Go size class
	// of its single allocation (a 28-byte header, key and value) and its
	// average share of the index (24 bytes). MaxBytes is the limit (0: none).
	// The Go heap may hold more: memory freed by evictions is reused by
	// later writes of similar size but not returned at once.
	Bytes, FixedBytes, MaxBytes int64
	// Evictions counts entries removed to stay under MaxBytes.
	Evictions uint64
	// Expirations counts live entries whose expiry passed and that were
	// turned into tombstones (lazily on access, by eviction or by the sweep).
	Expirations uint64
	// TombstonesDropped counts tombstones removed after their grace period.
	TombstonesDropped uint64
	// Removed counts entries removed by Drop.
	Removed uint64
	// Visited counts entries examined by Scan, Versions and Digest; it lets
	// tests check that digest comparison does not walk every key.
	Visited uint64
}
