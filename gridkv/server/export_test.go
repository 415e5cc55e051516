package server

import "io"

// NewRequestReader returns the reader that frames a connection's bytes
// for redcon, reading from rd, with the bounds of maxRequestBytes.
func NewRequestReader(rd io.Reader, maxRequestBytes int) io.Reader {
	return &requestReader{read: rd.Read, f: newFramer(maxRequestBytes)}
}

// ProtocolError is the error of a request refused by the framing.
type ProtocolError = protocolError
