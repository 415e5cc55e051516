package store

import (
	"encoding/binary"
	"fmt"

	"github.com/gridkv/gridkv/hlc"
)

// Encoding of one Entry, used to transfer entries between nodes:
//
//	byte    format (1)
//	byte    flags (bit 0: tombstone)
//	8 bytes version time, big endian
//	4 bytes version node, big endian
//	uvarint expires (Unix ms, 0 = never)
//	uvarint key length, key bytes
//	uvarint value length, value bytes
//
// Entries concatenate: DecodeEntry returns how many bytes it consumed.
const (
	encodingFormat = 1
	flagTombstone  = 1
	minEncodedSize = 1 + 1 + 8 + 4 + 1 + 1 + 1
)

// AppendBinary appends the encoding of e to dst.
func (e Entry) AppendBinary(dst []byte) ([]byte, error) {
	if len(e.Key) > MaxKeySizeLimit {
		return dst, fmt.Errorf("%w: %d bytes", ErrKeyTooLarge, len(e.Key))
	}
	if len(e.Value) > MaxValueSizeLimit {
		return dst, fmt.Errorf("%w: %d bytes", ErrValueTooLarge, len(e.Value))
	}
	if e.Expires < 0 || (e.Tombstone && len(e.Value) != 0) {
		return dst, ErrInvalidEntry
	}
	var flags byte
	if e.Tombstone {
		flags |= flagTombstone
	}
	dst = append(dst, encodingFormat, flags)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Version.Time))
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.Version.Node))
	dst = binary.AppendUvarint(dst, uint64(e.Expires))
	dst = binary.AppendUvarint(dst, uint64(len(e.Key)))
	dst = append(dst, e.Key...)
	dst = binary.AppendUvarint(dst, uint64(len(e.Value)))
	dst = append(dst, e.Value...)
	return dst, nil
}

// MarshalBinary returns the encoding of e.
func (e Entry) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// UnmarshalBinary decodes exactly one entry; trailing bytes are an error.
// e.Value aliases b.
func (e *Entry) UnmarshalBinary(b []byte) error {
	got, n, err := DecodeEntry(b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-n)
	}
	*e = got
	return nil
}

// DecodeEntry decodes the entry at the start of b and returns it with the
// number of bytes consumed. The entry's Value aliases b (no copy; Apply
// copies). It checks the format limits (MaxKeySizeLimit,
// MaxValueSizeLimit) but not a store's configured ones, nor the version:
// Apply does that. It never panics and never allocates more than len(b).
func DecodeEntry(b []byte) (Entry, int, error) {
	var e Entry
	if len(b) < minEncodedSize {
		return e, 0, fmt.Errorf("%w: %d bytes, need at least %d", ErrMalformed, len(b), minEncodedSize)
	}
	if b[0] != encodingFormat {
		return e, 0, fmt.Errorf("%w: unknown format %d", ErrMalformed, b[0])
	}
	flags := b[1]
	if flags&^flagTombstone != 0 {
		return e, 0, fmt.Errorf("%w: unknown flags %#x", ErrMalformed, flags)
	}
	e.Tombstone = flags&flagTombstone != 0
	e.Version.Time = hlc.Timestamp(binary.BigEndian.Uint64(b[2:]))
	e.Version.Node = NodeID(binary.BigEndian.Uint32(b[10:]))
	off := 14
	exp, n := binary.Uvarint(b[off:])
	if n <= 0 || exp > 1<<62 {
		return e, 0, fmt.Errorf("%w: bad expiry", ErrMalformed)
	}
	e.Expires = int64(exp)
	off += n
	klen, n := binary.Uvarint(b[off:])
	if n <= 0 || klen > MaxKeySizeLimit || klen > uint64(len(b)-off-n) {
		return e, 0, fmt.Errorf("%w: bad key length", ErrMalformed)
	}
	off += n
	e.Key = string(b[off : off+int(klen)])
	off += int(klen)
	vlen, n := binary.Uvarint(b[off:])
	if n <= 0 || vlen > MaxValueSizeLimit || vlen > uint64(len(b)-off-n) {
		return e, 0, fmt.Errorf("%w: bad value length", ErrMalformed)
	}
	off += n
	if vlen > 0 {
		if e.Tombstone {
			return e, 0, fmt.Errorf("%w: tombstone with a value", ErrMalformed)
		}
		e.Value = b[off : off+int(vlen) : off+int(vlen)]
	} else if !e.Tombstone {
		e.Value = b[off:off:off]
	}
	off += int(vlen)
	return e, off, nil
}
