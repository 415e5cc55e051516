package store

import (
	"bytes"
	"errors"
	"testing"
)

func TestEncodingRoundTrip(t *testing.T) {
	entries := []Entry{
		{Key: "k", Value: []byte("value"), Version: v(12345, 7), Expires: 99999},
		{Key: "", Value: []byte{}, Version: v(1, 0)},
		{Key: "gone", Version: v(2, 4294967295), Tombstone: true},
		{Key: "expired", Version: v(3, 1), Expires: 10, Tombstone: true},
	}
	var buf []byte
	for _, e := range entries {
		var err error
		if buf, err = e.AppendBinary(buf); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range entries {
		got, n, err := DecodeEntry(buf)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if !sameEntry(got, want) {
			t.Fatalf("entry %d: got %+v, want %+v", i, got, want)
		}
		buf = buf[n:]
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left", len(buf))
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Entry{Key: "k", Value: []byte("v"), Version: v(1, 1)}.MarshalBinary()
	tomb, _ := Entry{Key: "k", Version: v(1, 1), Tombstone: true}.MarshalBinary()
	tests := map[string][]byte{
		"empty":            nil,
		"short":            good[:5],
		"format":           append([]byte{9}, good[1:]...),
		"flags":            append([]byte{1, 0x80}, good[2:]...),
		"truncated value":  good[:len(good)-1],
		"tombstone value":  append(append([]byte{}, tomb[:len(tomb)-1]...), 1, 'x'),
		"huge key length":  append(append([]byte{}, good[:15]...), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"trailing garbage": append(append([]byte{}, good...), 0),
	}
	for name, b := range tests {
		var e Entry
		if err := e.UnmarshalBinary(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := (Entry{Key: "k", Value: []byte("v"), Tombstone: true}).AppendBinary(nil); err == nil {
		t.Error("encoded a tombstone with a value")
	}
}

// FuzzDecodeEntry: decoding never panics, and what decodes re-encodes to
// the same bytes and is either stored or rejected with a clear error.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range []Entry{
		{Key: "k", Value: []byte("value"), Version: v(12345, 7), Expires: 99999},
		{Key: "gone", Version: v(2, 3), Tombstone: true},
		{Key: "", Value: []byte{}, Version: Version{}},
	} {
		b, _ := e.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, n, err := DecodeEntry(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := e.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		if !bytes.Equal(again, b[:n]) {
			// Uvarints have one canonical form only if minimal; accept
			// a shorter re-encoding that decodes to the same entry.
			e2, _, err := DecodeEntry(again)
			if err != nil || !sameEntry(e, e2) {
				t.Fatalf("re-encoding differs: %x vs %x", again, b[:n])
			}
		}
		s := newTest(t, &Config{MaxValueSize: 1 << 16})
		if _, err := s.Apply(e); err != nil {
			for _, want := range []error{ErrZeroVersion, ErrKeyTooLarge, ErrValueTooLarge, ErrInvalidEntry} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("Apply: unexpected error %v", err)
		}
		got, ok := s.Read(e.Key)
		if !ok || got.Version != e.Version {
			t.Fatalf("Read after Apply = %+v, %v", got, ok)
		}
	})
}
