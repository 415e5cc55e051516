package store

import "fmt"

// Range is a half-open interval [Start, End) of key hashes (see KeyHash).
// It may wrap around: if End <= Start it covers [Start, 2^64) and [0, End).
// Start == End (for example the zero Range) covers the whole hash space. This matches how a hash ring
// cuts the space into arcs.
type Range struct {
	Start, End uint64
}

// Contains reports whether hash h lies in r.
func (r Range) Contains(h uint64) bool {
	return r.offset(h) <= r.last()
}

// offset is the position of h in r's order: 0 at Start, growing toward End.
func (r Range) offset(h uint64) uint64 { return h - r.Start }

// last is the offset of the last hash in r (the size minus one, so that the
// full space fits in a uint64).
func (r Range) last() uint64 { return r.End - r.Start - 1 }

func (r Range) String() string { return fmt.Sprintf("[%#016x, %#016x)", r.Start, r.End) }

// Cursor is a position in a Scan of a Range: after the entry with hash Hash
// and key Key. The zero Cursor is the start. Entries are ordered by hash
// (in the range's order, which wraps) and then by key, so a cursor stays
// meaningful while the store changes and can be sent to another node.
type Cursor struct {
	Started bool   // false: the start of the range
	Done    bool   // true: the scan is complete
	Hash    uint64 // key hash of the last entry returned
	Key     string // key of the last entry returned
}
