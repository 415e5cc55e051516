package hlc

import (
	"errors"
	"fmt"
	"math"
	"time"
)

var (
	// ErrClockOffset is reported by Clock.Update when a remote timestamp is
	// further ahead of the local wall clock than the configured MaxOffset.
	// The actual error is an *OffsetError.
	ErrClockOffset = errors.New("hlc: remote clock too far ahead")

	// ErrSyntax is wrapped by the errors of Parse and Timestamp.UnmarshalText.
	ErrSyntax = errors.New("hlc: invalid timestamp")

	// ErrShortInput is wrapped by the error of Decode when fewer than 8 bytes
	// are left.
	ErrShortInput = errors.New("hlc: short input for timestamp")
)

// OffsetError describes a remote timestamp that Clock.Update rejected
// because it is more than MaxOffset ahead of the local wall clock.
// errors.Is(err, ErrClockOffset) reports true for it.
type OffsetError struct {
	Remote    Timestamp     // the rejected timestamp
	LocalWall int64         // local wall clock at the check, ms since the Unix epoch
	Offset    time.Duration // how far Remote's wall time is ahead of LocalWall
	MaxOffset time.Duration // the configured limit
}

func newOffsetError(remote Timestamp, localWall int64, maxOffset time.Duration) *OffsetError {
	ahead := remote.WallTime() - localWall
	offset := time.Duration(math.MaxInt64) // saturate: 2^48 ms does not fit a Duration
	if ahead <= int64(math.MaxInt64/time.Millisecond) {
		offset = time.Duration(ahead) * time.Millisecond
	}
	return &OffsetError{Remote: remote, LocalWall: localWall, Offset: offset, MaxOffset: maxOffset}
}

func (e *OffsetError) Error() string {
	return fmt.Sprintf("hlc: remote timestamp %v is %v ahead of the local wall clock (max offset %v)",
		e.Remote, e.Offset, e.MaxOffset)
}

// Is reports whether target is ErrClockOffset.
func (e *OffsetError) Is(target error) bool { return target == ErrClockOffset }
