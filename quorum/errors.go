package quorum

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Errors returned by a Node wrap one of these (or are a
// *QuorumError, which matches ErrQuorumNotMet), so callers test them with
// errors.Is.
var (
	// ErrNotFound: the key has no live value (never written, deleted, or
	// expired) on the replicas that answered.
	ErrNotFound = errors.New("quorum: not found")
	// ErrQuorumNotMet: fewer replicas than required answered before the
	// deadline. A write that fails with it may still have been applied by
	// some replicas (and may spread from them later): its outcome is
	// unknown, not "not written". The error is a *QuorumError.
	ErrQuorumNotMet = errors.New("quorum: quorum not met")
	// ErrClosed: the Node was closed.
	ErrClosed = errors.New("quorum: node closed")
	// ErrNoRing: SetRing was never called, so the Node does not know the
	// members.
	ErrNoRing = errors.New("quorum: no ring")
	// ErrBadConfig: New rejected a Config field.
	ErrBadConfig = errors.New("quorum: bad config")
	// ErrMalformed: a peer's message could not be decoded.
	ErrMalformed = errors.New("quorum: malformed message")
	// ErrRemote: a replica refused a request (for example a value larger
	// than its store accepts). The message names the replica and its reason.
	ErrRemote = errors.New("quorum: replica refused")
)

// errReceiving is listed in a QuorumError for each replica whose answer
// did not count because it is still receiving the key's range.
var errReceiving = errors.New("quorum: replica still receiving the key's range after a ring change")

// errReportedDown is listed in a QuorumError for each replica the failure
// detector reported down when an operation failed at once because too few
// replicas were believed alive to make up its quorum.
var errReportedDown = errors.New("quorum: replica reported down by the failure detector")

// QuorumError reports an operation that did not reach its quorum: Need
// replies were required and Got arrived (of Of replicas asked in total).
// Errs holds the individual failures that were seen, at most one per replica.
// An operation that fails at once, without waiting, because fewer than Need
// of its Of replicas are believed alive (SetAlive) reports Got as the
// number believed alive, and one error per replica reported down.
type QuorumError struct {
	Op   string // "set", "get", "delete"
	Need int
	Got  int
	Of   int
	Errs []error
}

func (e *QuorumError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "quorum: %s: %d of %d replicas answered, need %d", e.Op, e.Got, e.Of, e.Need)
	for i, err := range e.Errs {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errs)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Is reports whether target is ErrQuorumNotMet.
func (e *QuorumError) Is(target error) bool { return target == ErrQuorumNotMet }

// Unwrap returns the individual failures, so errors.Is also finds
// context.DeadlineExceeded or ErrRemote among them.
func (e *QuorumError) Unwrap() []error { return e.Errs }
