package hlc_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gridkv/gridkv/hlc"
)

// FuzzParse checks that Parse accepts only the canonical String form and
// never panics: whatever it accepts prints back to the same text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0.000,0", "1700000000.123,4", "281474976710.655,65535",
		"", "1.000", "01.000,0", "1.00,0", "1.000,65536", "281474976710.656,0", "-1.000,0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := hlc.Parse(s)
		if err != nil {
			if !errors.Is(err, hlc.ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", s, err)
			}
			return
		}
		if got := ts.String(); got != s {
			t.Fatalf("Parse(%q) = %#x, which prints as %q", s, uint64(ts), got)
		}
	})
}

// FuzzTimestampText checks that every Timestamp survives String and Parse.
func FuzzTimestampText(f *testing.F) {
	for _, v := range []uint64{0, 1, 0xffff, 0x10000, 1_700_000_000_123<<16 | 4, 1<<64 - 1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v uint64) {
		ts := hlc.Timestamp(v)
		got, err := hlc.Parse(ts.String())
		if err != nil || got != ts {
			t.Fatalf("Parse(%q) = %#x, %v, want %#x", ts.String(), uint64(got), err, v)
		}
	})
}

// FuzzDecode checks Decode on arbitrary input: short input is an
// ErrShortInput error that consumes nothing, anything else yields the
// Timestamp whose Append gives back the first 8 bytes.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, 0x00, 0x04, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, rest, err := hlc.Decode(b)
		if len(b) < 8 {
			if !errors.Is(err, hlc.ErrShortInput) || ts != 0 || !bytes.Equal(rest, b) {
				t.Fatalf("Decode(% x) = %v, % x, %v, want 0, the input, ErrShortInput", b, ts, rest, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Decode(% x): %v", b, err)
		}
		if enc := ts.Append(nil); !bytes.Equal(enc, b[:8]) || !bytes.Equal(rest, b[8:]) {
			t.Fatalf("Decode(% x) = %v (encoded % x), rest % x", b, ts, enc, rest)
		}
	})
}
