package hlc_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/gridkv/gridkv/hlc"
)

func TestTimestampLayout(t *testing.T) {
	tests := []struct {
		wall    int64
		logical uint16
		raw     uint64
	}{
		{0, 0, 0},
		{0, 1, 1},
		{0, 0xffff, 0xffff},
		{1, 0, 0x1_0000},
		{1_700_000_000_123, 4, 1_700_000_000_123<<16 | 4},
		{1<<48 - 1, 0xffff, 1<<64 - 1},
	}
	for _, tt := range tests {
		ts := hlc.New(tt.wall, tt.logical)
		if uint64(ts) != tt.raw {
			t.Errorf("New(%d, %d) = %#x, want %#x", tt.wall, tt.logical, uint64(ts), tt.raw)
		}
		if ts.WallTime() != tt.wall || ts.Logical() != tt.logical {
			t.Errorf("New(%d, %d): WallTime, Logical = %d, %d", tt.wall, tt.logical, ts.WallTime(), ts.Logical())
		}
		if ts.IsZero() != (tt.raw == 0) {
			t.Errorf("New(%d, %d).IsZero() = %v", tt.wall, tt.logical, ts.IsZero())
		}
	}
	// The logical counter carries into the wall part.
	if got, want := hlc.New(7, 0xffff)+1, hlc.New(8, 0); got != want {
		t.Errorf("New(7, 0xffff)+1 = %v, want %v", got, want)
	}
}

// TestTimestampOrder checks that integer order, (wall, logical) order and the
// byte order of the binary form agree.
func TestTimestampOrder(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	random := func() hlc.Timestamp {
		// Small ranges so that equal wall times and equal timestamps occur.
		return hlc.New(int64(rng.IntN(4))<<rng.IntN(45), uint16(rng.IntN(3))<<rng.IntN(14))
	}
	for range 10000 {
		a, b := random(), random()
		byInt := cmp.Compare(uint64(a), uint64(b))
		byParts := cmp.Or(cmp.Compare(a.WallTime(), b.WallTime()), cmp.Compare(a.Logical(), b.Logical()))
		byBytes := bytes.Compare(a.Append(nil), b.Append(nil))
		if byInt != byParts || byInt != byBytes {
			t.Fatalf("%v vs %v: integer order %d, (wall, logical) order %d, byte order %d", a, b, byInt, byParts, byBytes)
		}
	}
}

func TestTimestampString(t *testing.T) {
	tests := []struct {
		ts   hlc.Timestamp
		text string
	}{
		{0, "0.000,0"},
		{hlc.New(1, 0), "0.001,0"},
		{hlc.New(10, 1), "0.010,1"},
		{hlc.New(999, 65535), "0.999,65535"},
		{hlc.New(1000, 0), "1.000,0"},
		{hlc.New(1_700_000_000_123, 4), "1700000000.123,4"},
		{hlc.New(1_700_000_000_120, 40), "1700000000.120,40"},
		{hlc.New(1<<48-1, 0xffff), "281474976710.655,65535"},
	}
	for _, tt := range tests {
		if got := tt.ts.String(); got != tt.text {
			t.Errorf("%#x.String() = %q, want %q", uint64(tt.ts), got, tt.text)
		}
		got, err := hlc.Parse(tt.text)
		if err != nil || got != tt.ts {
			t.Errorf("Parse(%q) = %#x, %v, want %#x", tt.text, uint64(got), err, uint64(tt.ts))
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"1",
		"1.000",
		"1.000,",
		"1,0",
		".000,0",
		"1.00,0",
		"1.0000,0",
		"1.0a0,0",
		"1.000,0,",
		"1.000,0 ",
		" 1.000,0",
		"+1.000,0",
		"-1.000,0",
		"01.000,0",
		"1.000,01",
		"1.000,+1",
		"1.000,65536",
		"1.000,100000",
		"281474976710.656,0",  // one millisecond beyond 48 bits
		"281474976711.000,0",  // beyond 48 bits
		"9999999999999.000,0", // too many digits
		"18446744073709551616.000,0",
		"1\x00.000,0",
		"١.000,0", // not ASCII digits
	} {
		ts, err := hlc.Parse(s)
		if !errors.Is(err, hlc.ErrSyntax) {
			t.Errorf("Parse(%q) = %v, %v, want ErrSyntax", s, ts, err)
		}
	}
}

func TestDecode(t *testing.T) {
	ts := hlc.New(1_700_000_000_123, 4)
	b := ts.Append([]byte("key:"))
	if want := []byte{'k', 'e', 'y', ':', 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, 0x00, 0x04}; !bytes.Equal(b, want) {
		t.Fatalf("Append = % x, want % x", b, want)
	}
	b = append(b, "rest"...)
	got, rest, err := hlc.Decode(b[4:])
	if err != nil || got != ts || string(rest) != "rest" {
		t.Errorf("Decode = %v, %q, %v, want %v, \"rest\", nil", got, rest, err, ts)
	}
	for n := range 8 {
		got, rest, err := hlc.Decode(b[4 : 4+n])
		if !errors.Is(err, hlc.ErrShortInput) || got != 0 || len(rest) != n {
			t.Errorf("Decode(%d bytes) = %v, %d bytes, %v, want 0, the input, ErrShortInput", n, got, len(rest), err)
		}
	}
	if _, _, err := hlc.Decode(nil); err == nil || err.Error() != "hlc: short input for timestamp: need 8 bytes, have 0" {
		t.Errorf("Decode(nil) error = %v", err)
	}
}

func TestTimestampJSON(t *testing.T) {
	type version struct {
		TS   hlc.Timestamp  `json:"ts"`
		Opt  *hlc.Timestamp `json:"opt,omitempty"`
		Node string         `json:"node"`
	}
	in := version{TS: hlc.New(1_700_000_000_123, 4), Node: "a"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"ts":"1700000000.123,4","node":"a"}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	var out version
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("json.Unmarshal = %+v, %v, want %+v", out, err, in)
	}
	err = json.Unmarshal([]byte(`{"ts":"1700000000.12,4"}`), &out)
	if !errors.Is(err, hlc.ErrSyntax) {
		t.Errorf("json.Unmarshal of a bad timestamp: %v, want ErrSyntax", err)
	}
	if out.TS != in.TS {
		t.Errorf("failed UnmarshalText changed the timestamp to %v", out.TS)
	}
}
