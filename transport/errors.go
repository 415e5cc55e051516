package transport

import (
	"errors"
	"net"
	"strconv"
)

// ErrClosed is returned by Call after Close, and by calls that were in flight
// when Close ran. errors.Is(err, net.ErrClosed) also holds for it.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string { return "transport: closed" }

// Is makes errors.Is(ErrClosed, net.ErrClosed) true, like quic-go's own errors.
func (closedError) Is(target error) bool { return target == net.ErrClosed }

// ErrMessageTooLarge is returned by Call when the request exceeds
// Config.MaxMessageSize (before anything is sent), or when the reply exceeded
// the maximum of either side (the remote handler's reply was dropped).
var ErrMessageTooLarge = errors.New("transport: message too large")

// ErrConnectionLost is returned by calls whose connection broke while they were
// in flight: the peer closed, restarted (stateless reset), timed out or sent
// bytes that violate the protocol. The request may or may not have been
// handled; the next Call dials a new connection.
var ErrConnectionLost = errors.New("transport: connection lost")

// ErrUnreachable is returned by Call when no connection to the peer could be
// established (dial or handshake failed, including certificate rejection), or
// when the last attempt failed and the retry backoff ends after ctx's deadline.
var ErrUnreachable = errors.New("transport: peer unreachable")

// ErrNoHandler is the remote error of a call to a Transport that has no Handler.
var ErrNoHandler = errors.New("transport: peer has no handler")

// RemoteCode classifies a RemoteError.
type RemoteCode uint8

const (
	// CodeHandler means the remote Handler returned an error.
	CodeHandler RemoteCode = 1
	// CodeTooLarge means the request or the reply exceeded the remote maximum.
	CodeTooLarge RemoteCode = 2
	// CodeNoHandler means the remote Transport serves no Handler.
	CodeNoHandler RemoteCode = 3
)

// RemoteError is returned by Call when the peer answered with an error instead
// of a reply. Message is the text of the remote error (the error value itself
// does not cross the network). errors.Is(err, ErrMessageTooLarge) and
// errors.Is(err, ErrNoHandler) hold for the matching codes.
type RemoteError struct {
	Code    RemoteCode
	Message string
}

func (e *RemoteError) Error() string {
	switch e.Code {
	case CodeHandler:
		return "transport: remote: " + e.Message
	case CodeTooLarge:
		return "transport: remote: message too large: " + e.Message
	case CodeNoHandler:
		return "transport: remote: no handler"
	}
	return "transport: remote error " + strconv.Itoa(int(e.Code)) + ": " + e.Message
}

// Is reports the sentinel errors matching the remote code.
func (e *RemoteError) Is(target error) bool {
	switch target {
	case ErrMessageTooLarge:
		return e.Code == CodeTooLarge
	case ErrNoHandler:
		return e.Code == CodeNoHandler
	}
	return false
}
