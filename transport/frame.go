package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Wire format of a frame on a stream (all integers big endian):
//
//	[type u8][id u64][len u32][payload: len bytes]
//
// Requests (type 1) go from the dialling side to the accepting side, replies
// (type 2) and error replies (type 3) the other way, carrying the id of their
// request. An error payload is [code u8][message].
const frameHeaderLen = 13

type frameType uint8

const (
	frameRequest frameType = 1
	frameReply   frameType = 2
	frameError   frameType = 3
)

// appendFrame appends one encoded frame to dst.
func appendFrame(dst []byte, t frameType, id uint64, payload []byte) []byte {
	dst = append(dst, byte(t))
	dst = binary.BigEndian.AppendUint64(dst, id)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// appendErrorFrame appends an error reply.
func appendErrorFrame(dst []byte, id uint64, code RemoteCode, msg string) []byte {
	dst = append(dst, byte(frameError))
	dst = binary.BigEndian.AppendUint64(dst, id)
	dst = binary.BigEndian.AppendUint32(dst, uint32(1+len(msg)))
	dst = append(dst, byte(code))
	return append(dst, msg...)
}

// errProtocol marks input that no correct peer sends; the connection is closed.
var errProtocol = errors.New("transport: protocol violation")

// tooLargeError reports a frame whose announced payload exceeded the maximum.
// Its payload was read and discarded, so the stream stays usable.
type tooLargeError struct {
	typ frameType
	id  uint64
	n   uint32
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("transport: frame of %d bytes exceeds the maximum", e.n)
}

func (e *tooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// frameReader decodes frames from a stream. The length is checked against
// max before anything is allocated.
type frameReader struct {
	r   *bufio.Reader
	max int
	hdr [frameHeaderLen]byte
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 4<<10), max: max}
}

// next returns the next frame. The payload is freshly allocated and owned by
// the caller. Errors: io.EOF at a clean frame boundary, io.ErrUnexpectedEOF
// for a truncated frame, *tooLargeError (stream still usable), errProtocol
// for an unknown type, or the stream's error.
func (f *frameReader) next() (frameType, uint64, []byte, error) {
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	t := frameType(f.hdr[0])
	id := binary.BigEndian.Uint64(f.hdr[1:9])
	n := binary.BigEndian.Uint32(f.hdr[9:13])
	if t < frameRequest || t > frameError {
		return 0, 0, nil, fmt.Errorf("%w: unknown frame type %d", errProtocol, t)
	}
	if uint64(n) > uint64(f.max) {
		if _, err := f.r.Discard(int(n)); err != nil {
			return 0, 0, nil, unexpected(err)
		}
		return t, id, nil, &tooLargeError{typ: t, id: id, n: n}
	}
	if t == frameError && n == 0 {
		return 0, 0, nil, fmt.Errorf("%w: empty error frame", errProtocol)
	}
	p, err := readPayload(f.r, int(n))
	if err != nil {
		return 0, 0, nil, unexpected(err)
	}
	return t, id, p, nil
}

// buffered reports whether a whole frame is buffered: next then returns
// without waiting for the stream.
func (f *frameReader) buffered() bool {
	b := f.r.Buffered()
	if b < frameHeaderLen {
		return false
	}
	h, _ := f.r.Peek(frameHeaderLen)
	return uint64(b) >= frameHeaderLen+uint64(binary.BigEndian.Uint32(h[9:13]))
}

// eagerPayload is the largest payload allocated in full as soon as its
// header arrives. Larger payloads grow with the bytes that actually come, so
// a peer cannot make a node reserve MaxMessageSize per stream by sending
// 13-byte headers and nothing else.
const eagerPayload = 64 << 10

// readPayload reads exactly n bytes. Memory held is at most about twice the
// bytes received so far (plus eagerPayload), never n up front.
func readPayload(r io.Reader, n int) ([]byte, error) {
	if n <= eagerPayload {
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, err
		}
		return p, nil
	}
	p := make([]byte, 0, eagerPayload)
	for len(p) < n {
		if len(p) == cap(p) {
			p = slices.Grow(p, min(cap(p), n-len(p)))
		}
		m, err := r.Read(p[len(p):min(cap(p), n)])
		p = p[:len(p)+m]
		if err != nil && len(p) < n {
			if err == io.EOF && len(p) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return p, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decodeRemoteError turns an error frame's payload into a *RemoteError.
func decodeRemoteError(p []byte) error {
	return &RemoteError{Code: RemoteCode(p[0]), Message: string(p[1:])}
}
