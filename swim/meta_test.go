package swim

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []Meta{
		{},
		{TransportAddr: "127.0.0.1:7000", Zone: "eu-west-1a", BootID: 42, Protocol: 3, App: []byte{1, 2, 3}},
		{TransportAddr: strings.Repeat("a", MaxTransportAddrLen), Zone: strings.Repeat("z", MaxZoneLen),
			BootID: ^uint64(0), Protocol: 65535, App: bytes.Repeat([]byte{0xff}, MaxAppLen)},
		{leaving: true, BootID: 7},
	} {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if len(b) != m.EncodedLen() || len(b) > 512 {
			t.Fatalf("encoded %d bytes, EncodedLen %d", len(b), m.EncodedLen())
		}
		got, err := DecodeMeta(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", m, err)
		}
		if got.TransportAddr != m.TransportAddr || got.Zone != m.Zone || got.BootID != m.BootID ||
			got.Protocol != m.Protocol || !bytes.Equal(got.App, m.App) || got.leaving != m.leaving {
			t.Fatalf("mismatch: want %+v got %+v", m, got)
		}
	}
}

func TestMetaRejects(t *testing.T) {
	good, err := Meta{TransportAddr: "a:1", Zone: "z", BootID: 1, App: []byte("x")}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short":         good[:5],
		"version 0":     mut(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":     mut(func(b []byte) []byte { b[0] = 2; return b }),
		"unknown flag":  mut(func(b []byte) []byte { b[1] = 0x80; return b }),
		"trailing":      append(append([]byte(nil), good...), 0),
		"truncated app": good[:len(good)-1],
		"addr too long": mut(func(b []byte) []byte { b[12] = 200; return b }),
		"zone over max": mut(func(b []byte) []byte {
			return append(b[:12], append([]byte{0, MaxZoneLen + 1}, make([]byte, MaxZoneLen+2)...)...)
		}),
		"bad utf8": mut(func(b []byte) []byte { b[13] = 0xff; return b }),
	} {
		if _, err := DecodeMeta(b); !errors.Is(err, ErrMeta) {
			t.Errorf("%s: err = %v, want ErrMeta", name, err)
		}
	}
	for name, m := range map[string]Meta{
		"addr": {TransportAddr: strings.Repeat("a", MaxTransportAddrLen+1)},
		"zone": {Zone: strings.Repeat("z", MaxZoneLen+1)},
		"app":  {App: make([]byte, MaxAppLen+1)},
		"utf8": {Zone: "\xff"},
	} {
		if _, err := m.MarshalBinary(); !errors.Is(err, ErrMeta) {
			t.Errorf("encode %s: err = %v, want ErrMeta", name, err)
		}
	}
}

// FuzzDecodeMeta: decoding never panics, and whatever decodes re-encodes
// to the same bytes (the encoding is canonical).
func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []Meta{{}, {TransportAddr: "10.0.0.1:7000", Zone: "a", BootID: 9, Protocol: 1, App: []byte("app")}} {
		b, _ := m.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			if !errors.Is(err, ErrMeta) {
				t.Fatalf("error not ErrMeta: %v", err)
			}
			return
		}
		if len(b) > 512 {
			t.Fatalf("decoded %d bytes, over memberlist's limit", len(b))
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("not canonical: %x -> %x", b, again)
		}
	})
}
