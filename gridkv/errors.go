package gridkv

import (
	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/store"
)

// Errors returned by a GridKV; test them with errors.Is. They are the
// sentinels of the modules that detect them, re-exported.
var (
	// ErrNotFound: the key has no live value (never written, deleted or
	// expired) on the replicas that answered.
	ErrNotFound = quorum.ErrNotFound
	// ErrQuorumNotMet: fewer replicas than required answered in time. A
	// write that fails with it may still have been applied by some
	// replicas: its outcome is unknown. The error is a *QuorumError.
	ErrQuorumNotMet = quorum.ErrQuorumNotMet
	// ErrClosed: the node was closed.
	ErrClosed = quorum.ErrClosed
	// ErrKeyTooLarge: the key is longer than Storage.MaxKeySize. Nothing
	// was stored.
	ErrKeyTooLarge = store.ErrKeyTooLarge
	// ErrValueTooLarge: the value is longer than Storage.MaxValueSize.
	// Nothing was stored.
	ErrValueTooLarge = store.ErrValueTooLarge
)

// QuorumError details an ErrQuorumNotMet: replies needed and received.
type QuorumError = quorum.QuorumError
