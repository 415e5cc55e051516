package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var wire []byte
	frames := []struct {
		typ     frameType
		id      uint64
		payload []byte
	}{
		{frameRequest, 1, []byte("hello")},
		{frameReply, 1<<64 - 1, nil},
		{frameReply, 42, bytes.Repeat([]byte{7}, 70000)},
	}
	for _, f := range frames {
		wire = appendFrame(wire, f.typ, f.id, f.payload)
	}
	wire = appendErrorFrame(wire, 9, CodeHandler, "boom")
	fr := newFrameReader(bytes.NewReader(wire), 1<<20)
	for i, want := range frames {
		typ, id, p, err := fr.next()
		if err != nil || typ != want.typ || id != want.id || !bytes.Equal(p, want.payload) {
			t.Fatalf("frame %d: %v %v %d bytes %v", i, typ, id, len(p), err)
		}
	}
	typ, id, p, err := fr.next()
	if err != nil || typ != frameError || id != 9 {
		t.Fatalf("error frame: %v %v %v", typ, id, err)
	}
	var re *RemoteError
	if !errors.As(decodeRemoteError(p), &re) || re.Code != CodeHandler || re.Message != "boom" {
		t.Fatalf("remote error %v", decodeRemoteError(p))
	}
	if _, _, _, err := fr.next(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

func TestFrameReaderErrors(t *testing.T) {
	hdr := func(typ byte, id uint64, n uint32) []byte {
		b := binary.BigEndian.AppendUint64([]byte{typ}, id)
		return binary.BigEndian.AppendUint32(b, n)
	}
	tests := []struct {
		name  string
		input []byte
		check func(error) bool
	}{
		{"truncated header", hdr(1, 1, 0)[:5], func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"truncated payload", append(hdr(1, 1, 10), "abc"...), func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"unknown type 0", hdr(0, 1, 0), func(err error) bool { return errors.Is(err, errProtocol) }},
		{"unknown type 200", hdr(200, 1, 0), func(err error) bool { return errors.Is(err, errProtocol) }},
		{"empty error", hdr(3, 1, 0), func(err error) bool { return errors.Is(err, errProtocol) }},
		{"4 GiB then EOF", hdr(1, 1, 1<<32-1), func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"too large, discarded", append(hdr(2, 5, 17), make([]byte, 17)...), func(err error) bool {
			var tl *tooLargeError
			return errors.As(err, &tl) && tl.id == 5 && tl.typ == frameReply && errors.Is(err, ErrMessageTooLarge)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := newFrameReader(bytes.NewReader(tc.input), 16)
			_, _, _, err := fr.next()
			if !tc.check(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	// After a discarded frame the stream is still in sync.
	in := append(append(hdr(2, 5, 17), make([]byte, 17)...), appendFrame(nil, frameReply, 6, []byte("ok"))...)
	fr := newFrameReader(bytes.NewReader(in), 16)
	fr.next()
	if _, id, p, err := fr.next(); err != nil || id != 6 || string(p) != "ok" {
		t.Fatalf("frame after a discarded one: %d %q %v", id, p, err)
	}
}

// FuzzFrameReader: arbitrary bytes never panic, never yield a payload over
// the maximum, and every frame decoded re-encodes to the bytes it came from.
func FuzzFrameReader(f *testing.F) {
	f.Add(appendFrame(nil, frameRequest, 1, []byte("hello")))
	f.Add(appendErrorFrame(appendFrame(nil, frameReply, 2, nil), 3, CodeTooLarge, "x"))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{2, 0, 0})
	f.Add(append([]byte{2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 70}, make([]byte, 70)...))
	const max = 64
	f.Fuzz(func(t *testing.T, in []byte) {
		fr := newFrameReader(bytes.NewReader(in), max)
		var out []byte
		for {
			typ, id, p, err := fr.next()
			var tl *tooLargeError
			if errors.As(err, &tl) {
				if tl.n <= max {
					t.Fatalf("frame of %d bytes reported too large", tl.n)
				}
				out = append(appendFrame(out[:len(out):len(out)], tl.typ, tl.id, nil)[:len(out)+frameHeaderLen-4],
					binary.BigEndian.AppendUint32(nil, tl.n)...)
				out = append(out, in[len(out):len(out)+int(tl.n)]...)
				continue
			}
			if err != nil {
				break
			}
			if len(p) > max {
				t.Fatalf("payload of %d bytes over the maximum %d", len(p), max)
			}
			if typ < frameRequest || typ > frameError {
				t.Fatalf("unknown type %d returned without error", typ)
			}
			out = appendFrame(out, typ, id, p)
		}
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("re-encoded frames %x are not a prefix of the input %x", out, in)
		}
	})
}

// A header that announces a large payload must not make the reader reserve
// it before the bytes arrive: a peer could otherwise pin MaxMessageSize per
// stream with 13-byte headers.
func TestFramePayloadGrowsWithData(t *testing.T) {
	const announced = 16 << 20
	var hdr [frameHeaderLen]byte
	hdr[0] = byte(frameRequest)
	binary.BigEndian.PutUint32(hdr[9:13], announced)
	stream := io.MultiReader(bytes.NewReader(hdr[:]), bytes.NewReader(make([]byte, 1000)))
	fr := newFrameReader(stream, announced)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, _, err := fr.next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated large frame: err = %v, want io.ErrUnexpectedEOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
		t.Fatalf("reading 1000 bytes of an announced %d-byte frame allocated %d bytes", announced, got)
	}
}

func TestFrameLargePayloadExact(t *testing.T) {
	for _, n := range []int{eagerPayload - 1, eagerPayload, eagerPayload + 1, 3*eagerPayload + 7, 1 << 20} {
		want := make([]byte, n)
		for i := range want {
			want[i] = byte(i * 7)
		}
		var hdr [frameHeaderLen]byte
		hdr[0] = byte(frameReply)
		binary.BigEndian.PutUint64(hdr[1:9], 42)
		binary.BigEndian.PutUint32(hdr[9:13], uint32(n))
		// iotest.HalfReader-like chunking: deliver the payload in small reads.
		stream := &chunkReader{r: io.MultiReader(bytes.NewReader(hdr[:]), bytes.NewReader(want)), max: 1000}
		typ, id, got, err := newFrameReader(stream, 2<<20).next()
		if err != nil || typ != frameReply || id != 42 || !bytes.Equal(got, want) {
			t.Fatalf("n=%d: type %d id %d len %d err %v; want reply 42 with the exact payload", n, typ, id, len(got), err)
		}
	}
}

type chunkReader struct {
	r   io.Reader
	max int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.max {
		p = p[:c.max]
	}
	return c.r.Read(p)
}
