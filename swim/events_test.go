package swim

import (
	"testing"
)

func TestEventQueueOrderAndOverflow(t *testing.T) {
	q := newEventQueue(3)
	for i := uint64(1); i <= 3; i++ {
		q.push(Event{Type: EventJoin, Seq: i})
	}
	if e, _ := q.pop(); e.Seq != 1 || e.Type != EventJoin {
		t.Fatalf("first pop = %+v", e)
	}
	q.push(Event{Type: EventJoin, Seq: 4})
	q.push(Event{Type: EventJoin, Seq: 5}) // overflow: 2,3,4 queued
	q.push(Event{Type: EventFailed, Seq: 6})
	q.push(Event{Type: EventFailed, Seq: 7})
	e, ok := q.pop()
	if !ok || e.Type != EventResync || e.Seq != 7 {
		t.Fatalf("after overflow pop = %+v, want resync with seq 7", e)
	}
	if _, ok := q.pop(); ok {
		t.Fatal("queue not empty after resync")
	}
	q.push(Event{Type: EventLeave, Seq: 8})
	if e, _ := q.pop(); e.Seq != 8 {
		t.Fatalf("after resync pop = %+v", e)
	}
	if q.len() != 0 {
		t.Fatal("not empty")
	}
}

func TestEventQueueBounded(t *testing.T) {
	q := newEventQueue(16)
	for i := range uint64(100000) {
		q.push(Event{Type: EventUpdate, Seq: i + 1})
		if q.len() > 16 {
			t.Fatalf("queue grew to %d", q.len())
		}
	}
	if cap(q.buf) > 64 {
		t.Fatalf("buffer capacity %d", cap(q.buf))
	}
}
