package server

import (
	"bytes"
	"io"
)

// redcon (v1.6.2) trusts the lengths a client announces: a bulk length
// near MaxInt64 overflows its index arithmetic and panics in a goroutine
// nothing can recover, and a huge array length makes it loop over the
// announced count on every read. It also re-parses everything it has
// buffered on each read. So every byte a client sends passes through a
// framer first, which follows the same framing incrementally, refuses
// what redcon must not see, and tells the reader where commands end.

// Bounds of the framing that are not configured.
const (
	// maxInlineBytes bounds an inline command (a line not starting with
	// '*'), as Redis does (PROTO_INLINE_MAX_SIZE).
	maxInlineBytes = 64 << 10
	// maxArgsLimit caps the number of arguments of one command whatever
	// MaxRequestBytes is.
	maxArgsLimit = 1 << 20
	// maxHeaderBytes bounds a "*N" or "$N" line: 20 digits and a sign fit.
	maxHeaderBytes = 24
)

// protocolError is the reason a connection was closed for bytes that do
// not frame as RESP requests within the configured bounds. The client
// receives "-ERR " + Error() before the close.
type protocolError struct {
	msg string
}

func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

// The messages are those of Redis and redcon for the same faults.
var (
	errInlineTooBig       = &protocolError{"too big inline request"}
	errBadMultibulkLength = &protocolError{"invalid multibulk length"}
	errBadBulkLength      = &protocolError{"invalid bulk length"}
	errExpectedDollarSign = &protocolError{"expected '$'"}
)

type frameState uint8

const (
	fsStart     frameState = iota // before the first byte of a command
	fsInline                      // in an inline command, up to '\n'
	fsCount                       // in "*N", after '*'
	fsCountLF                     // after "*N\r"
	fsArg                         // expecting '$' of the next argument
	fsBulkLen                     // in "$N", after '$'
	fsBulkLenLF                   // after "$N\r"
	fsPayload                     // in the payload of a bulk string
	fsPayloadCR                   // expecting '\r' after the payload
	fsPayloadLF                   // expecting '\n' after the payload
)

// framer follows the RESP request framing that redcon parses: inline
// commands (one line) and arrays of bulk strings. Its numbers accept
// only digits, with a '-' for counts only, and never overflow: anything
// past the bounds is an error before its line ends.
type framer struct {
	maxArgs int64 // per command
	maxBulk int64 // per argument

	state  frameState
	neg    bool  // the number being read has a '-'
	digits int   // characters of the header line read so far
	num    int64 // the number being read
	args   int64 // arguments left in the current array
	left   int64 // payload bytes left, or inline bytes so far
}

func newFramer(maxRequestBytes int) framer {
	return framer{
		maxArgs: int64(min(maxArgsLimit, max(maxRequestBytes/4, 1))),
		maxBulk: int64(maxRequestBytes),
	}
}

// feed advances over b. It returns how many bytes of b are acceptable
// (all of b unless err is set, then the bytes before the offending one),
// and whether a command ended within them.
func (f *framer) feed(b []byte) (n int, ended bool, err error) {
	i := 0
	for i < len(b) {
		c := b[i]
		switch f.state {
		case fsStart:
			if c == '*' {
				f.state, f.neg, f.digits, f.num = fsCount, false, 0, 0
			} else {
				f.state, f.left = fsInline, 0
				continue // the byte belongs to the line
			}
		case fsInline:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				j = len(b) - i
			}
			if f.left+int64(j) > maxInlineBytes {
				return i + int(maxInlineBytes-f.left), ended, errInlineTooBig
			}
			f.left += int64(j)
			i += j
			if i < len(b) { // at '\n'
				f.state, ended = fsStart, true
			} else {
				continue
			}
		case fsCount, fsBulkLen:
			count := f.state == fsCount
			lim, bad := f.maxBulk, errBadBulkLength
			if count {
				lim, bad = f.maxArgs, errBadMultibulkLength
			}
			switch {
			case c >= '0' && c <= '9':
				d := int64(c - '0')
				if f.num > (lim-d)/10 || f.digits >= maxHeaderBytes {
					return i, ended, bad
				}
				f.num = f.num*10 + d
				f.digits++
			case c == '-' && count && f.digits == 0 && !f.neg:
				f.neg = true
			case c == '\r' && f.digits > 0:
				if count && (f.neg || f.num <= 0) {
					// redcon refuses *0 and *-1 (Redis skips them).
					return i, ended, bad
				}
				f.state = fsBulkLenLF
				if count {
					f.state = fsCountLF
				}
			default:
				return i, ended, bad
			}
		case fsCountLF:
			if c != '\n' {
				return i, ended, errBadMultibulkLength
			}
			f.state, f.args = fsArg, f.num
		case fsBulkLenLF:
			if c != '\n' {
				return i, ended, errBadBulkLength
			}
			f.state, f.left = fsPayload, f.num
			if f.left == 0 {
				f.state = fsPayloadCR
			}
		case fsArg:
			if c != '$' {
				return i, ended, errExpectedDollarSign
			}
			f.state, f.neg, f.digits, f.num = fsBulkLen, false, 0, 0
		case fsPayload:
			k := int64(len(b) - i)
			if k >= f.left {
				i += int(f.left)
				f.left, f.state = 0, fsPayloadCR
			} else {
				f.left -= k
				i = len(b)
			}
			continue
		case fsPayloadCR:
			if c != '\r' {
				return i, ended, errBadBulkLength // as redcon says
			}
			f.state = fsPayloadLF
		case fsPayloadLF:
			if c != '\n' {
				return i, ended, errBadBulkLength
			}
			f.args--
			if f.args == 0 {
				f.state, ended = fsStart, true
			} else {
				f.state = fsArg
			}
		}
		i++
	}
	return i, ended, nil
}

// requestReader passes a client's bytes to redcon through a framer. A
// Read returns as soon as a command has ended in what it read, and
// otherwise fills p: redcon then re-parses an incomplete command only
// when its buffer grows, a logarithmic number of times, not on every
// network read. After a protocolError it returns the bytes before the
// error first, so the commands they complete are answered, then the
// error on every call.
type requestReader struct {
	read func(p []byte) (int, error)
	f    framer
	err  error
}

func (r *requestReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n := 0
	for n < len(p) {
		m, err := r.read(p[n:])
		k, ended, ferr := r.f.feed(p[n : n+m])
		n += k
		if ferr != nil {
			err = ferr
		}
		if err != nil {
			if n == 0 {
				r.err = err
				return 0, err
			}
			// redcon drops the bytes of a Read that also fails: report
			// the error on the next call.
			r.err = err
			return n, nil
		}
		if ended || m == 0 {
			break
		}
	}
	return n, nil
}

var _ io.Reader = (*requestReader)(nil)
