package swim

import (
	"testing"
)

func BenchmarkMetaAppendBinary(b *testing.B) {
	m := Meta{TransportAddr: "10.0.0.7:7000", Zone: "eu-west-1a", BootID: 42, Protocol: 1, App: []byte("v1")}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = m.AppendBinary(buf[:0])
	}
}

func BenchmarkDecodeMeta(b *testing.B) {
	enc, _ := Meta{TransportAddr: "10.0.0.7:7000", Zone: "eu-west-1a", BootID: 42, Protocol: 1}.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMeta(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventQueue(b *testing.B) {
	q := newEventQueue(1024)
	e := Event{Type: EventUpdate}
	b.ReportAllocs()
	for b.Loop() {
		q.push(e)
		q.pop()
	}
}
