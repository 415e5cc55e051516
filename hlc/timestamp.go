package hlc

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Timestamp is a hybrid logical clock reading packed into one uint64:
// the high 48 bits are wall-clock milliseconds since the Unix epoch and the
// low 16 bits are a logical counter. It orders correctly as an integer and as
// 8 big-endian bytes. The zero Timestamp is "no version".
//
//	 63                                            16 15            0
//	+------------------------------------------------+---------------+
//	|        wall time, ms since 1970-01-01 UTC      | logical count |
//	+------------------------------------------------+---------------+
//
// 48 bits of milliseconds last until the year 10889. A Clock that issues
// more than 65536 timestamps within one millisecond does not wrap the
// logical counter: the increment carries into the wall part, so the clock
// runs ahead of the wall clock by a millisecond until the wall clock catches
// up. Timestamp t+1 is therefore always the next possible reading after t.
type Timestamp uint64

const (
	// LogicalBits is the number of low bits that hold the logical counter.
	LogicalBits = 16
	logicalMask = 1<<LogicalBits - 1

	// maxWall is the largest wall time, in milliseconds, that fits the layout.
	maxWall = 1<<(64-LogicalBits) - 1

	// encodedLen is the size of a Timestamp in its binary form.
	encodedLen = 8
)

// WallTime returns the wall-clock part in milliseconds since the Unix epoch.
func (t Timestamp) WallTime() int64 { return int64(uint64(t) >> LogicalBits) }

// Logical returns the logical counter.
func (t Timestamp) Logical() uint16 { return uint16(uint64(t) & logicalMask) }

// IsZero reports whether t is the zero Timestamp.
func (t Timestamp) IsZero() bool { return t == 0 }

// New packs a wall time in milliseconds and a logical counter.
func New(wallMillis int64, logical uint16) Timestamp {
	return Timestamp(uint64(wallMillis)<<LogicalBits | uint64(logical))
}

// Append appends the 8-byte big-endian form of t to b and returns the
// extended slice. Byte-wise comparison of two encodings orders them like the
// Timestamps themselves, so encoded timestamps can prefix sortable keys.
func (t Timestamp) Append(b []byte) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t))
}

// Decode reads a Timestamp from the first 8 bytes of b, as written by
// Timestamp.Append, and returns it with the rest of b. If b holds fewer than
// 8 bytes the error wraps ErrShortInput.
func Decode(b []byte) (Timestamp, []byte, error) {
	if len(b) < encodedLen {
		return 0, b, fmt.Errorf("%w: need %d bytes, have %d", ErrShortInput, encodedLen, len(b))
	}
	return Timestamp(binary.BigEndian.Uint64(b)), b[encodedLen:], nil
}

// String formats t as "<unix seconds>.<milliseconds>,<logical>", for
// example "1700000000.123,4": the wall part reads like a Unix time in
// seconds (date -d @1700000000.123) and the logical counter follows the
// comma. Parse reads it back.
func (t Timestamp) String() string {
	var buf [32]byte
	return string(t.appendText(buf[:0]))
}

// MarshalText implements encoding.TextMarshaler with the String format, so
// Timestamps read well in JSON.
func (t Timestamp) MarshalText() ([]byte, error) {
	return t.appendText(make([]byte, 0, 24)), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with Parse.
func (t *Timestamp) UnmarshalText(text []byte) error {
	ts, err := Parse(string(text))
	if err != nil {
		return err
	}
	*t = ts
	return nil
}

func (t Timestamp) appendText(b []byte) []byte {
	wall, logical := uint64(t.WallTime()), uint64(t.Logical())
	b = strconv.AppendUint(b, wall/1000, 10)
	ms := wall % 1000
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), ',')
	return strconv.AppendUint(b, logical, 10)
}

// Parse reads a Timestamp in the format of Timestamp.String. It accepts only
// that canonical form (no signs, spaces or leading zeros, exactly three
// millisecond digits), so Parse(s).String() == s whenever Parse succeeds.
// Errors wrap ErrSyntax.
func Parse(s string) (Timestamp, error) {
	rest := s
	sec, rest, ok := parseDigits(rest, 12) // maxWall/1000 has 12 digits
	if !ok {
		return 0, syntaxError(s, "want <seconds>.<ms>,<logical>, for example 1700000000.123,4")
	}
	if len(rest) < 5 || rest[0] != '.' || rest[4] != ',' {
		return 0, syntaxError(s, "want exactly 3 millisecond digits between '.' and ','")
	}
	var ms uint64
	for _, c := range []byte(rest[1:4]) {
		if c < '0' || c > '9' {
			return 0, syntaxError(s, "want exactly 3 millisecond digits between '.' and ','")
		}
		ms = ms*10 + uint64(c-'0')
	}
	logical, rest, ok := parseDigits(rest[5:], 5)
	if !ok || rest != "" {
		return 0, syntaxError(s, "want a decimal logical counter after ','")
	}
	wall := sec*1000 + ms
	if wall > maxWall {
		return 0, syntaxError(s, "wall time beyond 48 bits of milliseconds")
	}
	if logical > logicalMask {
		return 0, syntaxError(s, "logical counter above 65535")
	}
	return New(int64(wall), uint16(logical)), nil
}

// parseDigits reads a canonical decimal number (no leading zeros) of at most
// max digits from the front of s.
func parseDigits(s string, max int) (n uint64, rest string, ok bool) {
	i := 0
	for i < len(s) && i <= max && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + uint64(s[i]-'0')
		i++
	}
	if i == 0 || i > max || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	return n, s[i:], true
}

func syntaxError(s, reason string) error {
	return fmt.Errorf("%w %q: %s", ErrSyntax, s, reason)
}
