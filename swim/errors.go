package swim

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers test them with errors.Is.
var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("swim: closed")
	// ErrConfig wraps every configuration problem found by Start.
	ErrConfig = errors.New("swim: invalid config")
	// ErrMeta wraps every metadata decoding or size problem.
	ErrMeta = errors.New("swim: invalid metadata")
	// ErrNoKeyring is returned by the key rotation methods when the node
	// was started without SecretKeys (memberlist cannot turn encryption on
	// for a running member).
	ErrNoKeyring = errors.New("swim: encryption not enabled")
)
