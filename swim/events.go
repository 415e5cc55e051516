package swim

import (
	"strconv"
	"sync"
)

// EventType says what happened to a member.
type EventType uint8

const (
	// EventJoin: a member became alive: first seen, or back with the same
	// BootID after being failed or left (a healed partition, a false
	// failure). Its memory is intact.
	EventJoin EventType = iota + 1
	// EventLeave: a member left gracefully.
	EventLeave
	// EventFailed: the failure detector declared a member dead.
	EventFailed
	// EventUpdate: an alive member changed its metadata or address, with
	// the same BootID.
	EventUpdate
	// EventRestart: a member with a known ID is alive with a new BootID:
	// it restarted and lost its memory. Sent whether or not it was seen
	// failing in between (memberlist reports a quick restart only as an
	// update). Never sent for the local member.
	EventRestart
	// EventResync: the consumer fell behind and the queue overflowed;
	// events up to Event.Seq were discarded. Take a Snapshot (its Seq is
	// at least Event.Seq) and skip later events with Seq <= Snapshot.Seq.
	EventResync
)

func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventFailed:
		return "failed"
	case EventUpdate:
		return "update"
	case EventRestart:
		return "restart"
	case EventResync:
		return "resync"
	}
	return "event(" + strconv.Itoa(int(t)) + ")"
}

// Event is one membership change, in the order the local member saw it.
type Event struct {
	Type EventType
	// Seq numbers events from 1 without gaps (before overflow).
	Seq uint64
	// Member is the member after the change (zero for EventResync).
	// RTT, Distance and the suspect state are not filled in.
	Member Member
	// PrevMeta is the metadata before an EventUpdate or EventRestart.
	PrevMeta Meta
}

// eventQueue decouples memberlist's goroutines (which call the delegates
// while holding memberlist's node lock) from the consumer: push never
// blocks. It holds at most max events; on overflow it discards them all
// and keeps one EventResync in their place, so nothing is dropped
// silently and memory stays bounded.
type eventQueue struct {
	mu     sync.Mutex
	buf    []Event
	head   int
	max    int
	signal chan struct{}
}

func newEventQueue(max int) *eventQueue {
	return &eventQueue{max: max, signal: make(chan struct{}, 1)}
}

func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if len(q.buf)-q.head >= q.max {
		q.buf = append(q.buf[:0], Event{Type: EventResync, Seq: e.Seq})
		q.head = 0
	} else if n := len(q.buf) - q.head; n == 1 && q.buf[q.head].Type == EventResync {
		// A pending resync already covers everything; keep it and
		// advance its Seq rather than queueing more.
		q.buf[q.head].Seq = e.Seq
	} else {
		q.buf = append(q.buf, e)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.buf) {
		return Event{}, false
	}
	e := q.buf[q.head]
	q.buf[q.head] = Event{}
	q.head++
	if q.head == len(q.buf) {
		q.buf = q.buf[:0]
		q.head = 0
	}
	return e, true
}

func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.buf) - q.head
}
