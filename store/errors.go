package store

import "errors"

// Sentinel errors. Errors returned by the store wrap one of these with %w and
// add detail, so callers test them with errors.Is.
var (
	// ErrKeyTooLarge: the key is longer than Config.MaxKeySize. Nothing was stored.
	ErrKeyTooLarge = errors.New("store: key too large")
	// ErrValueTooLarge: the value is longer than Config.MaxValueSize. Nothing was stored.
	ErrValueTooLarge = errors.New("store: value too large")
	// ErrZeroVersion: the entry carries the zero version (no timestamp).
	// Every write must be stamped; a zero version from a peer is a bug there.
	ErrZeroVersion = errors.New("store: zero version")
	// ErrInvalidEntry: the entry is malformed (a tombstone with a value, a
	// negative expiry). Nothing was stored.
	ErrInvalidEntry = errors.New("store: invalid entry")
	// ErrMalformed: an encoded entry could not be decoded.
	ErrMalformed = errors.New("store: malformed encoding")
	// ErrDigestMismatch: two digest trees cover different ranges or use
	// different bucket widths, so they cannot be compared.
	ErrDigestMismatch = errors.New("store: digest trees are not comparable")
	// ErrClosed: the store was closed; writes are refused.
	ErrClosed = errors.New("store: closed")
)
