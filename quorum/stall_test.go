package quorum

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReadOrderStalled: a stalled replica (calls to it unanswered, the
// failure detector not told yet) is asked after the responsive ones, even
// when its RTT is the lowest, and before the ones reported down.
func TestReadOrderStalled(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		ts   []target
		want []int
	}{
		{"stalled fastest goes after the responsive",
			[]target{{id: "a", alive: true, rtt: ms / 10, stalled: true}, {id: "b", alive: true, rtt: 5 * ms}, {id: "c", local: true, alive: true}},
			[]int{2, 1, 0}},
		{"stalled after unknown RTT, before down",
			[]target{{id: "a", alive: false, rtt: ms}, {id: "b", alive: true, rtt: ms, stalled: true}, {id: "c", alive: true}},
			[]int{2, 1, 0}},
		{"stalled ones by RTT, unknown last",
			[]target{{id: "a", alive: true, stalled: true}, {id: "b", alive: true, rtt: 9 * ms, stalled: true}, {id: "c", alive: true, rtt: 2 * ms, stalled: true}, {id: "d", alive: true, rtt: 20 * ms}},
			[]int{3, 2, 1, 0}},
		{"down and stalled is down",
			[]target{{id: "a", alive: false, stalled: true}, {id: "b", alive: true, stalled: true}},
			[]int{1, 0}},
		{"a stalled local replica is still first",
			[]target{{id: "a", alive: true, rtt: ms}, {id: "b", local: true, alive: true, stalled: true}},
			[]int{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readOrder(tt.ts, nil)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readOrder mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPeerStalled: the stall signal in virtual time. A peer is stalled
// once it has had calls outstanding and answered none for max(StallAfter,
// 4×RTT); a reply ends it at once; an error (a timeout) is no reply; with
// nothing outstanding it is not stalled, and the next call starts the
// wait afresh.
func TestPeerStalled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const after = 5 * time.Millisecond
		n := &Node{cfg: Config{StallAfter: after}, epoch: time.Now()}
		p := &peer{}
		check := func(step string, want bool) {
			t.Helper()
			if got := n.stalled(p, n.now()); got != want {
				t.Errorf("%s: stalled = %v, want %v (out %d)", step, got, want, p.out.Load())
			}
		}
		check("never called", false)
		time.Sleep(time.Second)
		check("idle for a second", false)

		p.sent(n)
		time.Sleep(after - time.Microsecond)
		check("one call, just under StallAfter", false)
		time.Sleep(time.Microsecond)
		check("one call, StallAfter unanswered", true)
		p.sent(n) // a second call does not restart the wait
		check("two calls", true)
		p.returned(false)
		check("one timed out, one still out", true)
		p.returned(true)
		check("the other answered: nothing out", false)

		p.sent(n)
		time.Sleep(3 * time.Millisecond)
		p.sent(n)
		time.Sleep(3 * time.Millisecond)
		check("calls out 6 ms", true)
		p.returned(true) // a reply: responsive again, one call still out
		check("just answered", false)
		time.Sleep(after)
		check("the other call unanswered StallAfter after the reply", true)
		p.returned(false)
		check("nothing out after a timeout", false)

		// A slow peer gets 4×RTT.
		p.rtt.Store(int64(2 * time.Millisecond))
		p.sent(n)
		time.Sleep(7 * time.Millisecond)
		check("7 ms out with RTT 2 ms", false)
		time.Sleep(time.Millisecond)
		check("8 ms out with RTT 2 ms", true)

		n.cfg.StallAfter = -1
		check("disabled", false)
	})
}

// BenchmarkStallSignal is what the stall rule adds to an operation with
// one peer call: a send and its reply (atomic adds, and a clock read when
// the send finds nothing outstanding, as here), and the stall check of a
// read's three targets while calls are out.
func BenchmarkStallSignal(b *testing.B) {
	n := &Node{cfg: Config{StallAfter: DefaultStallAfter}, epoch: time.Now()}
	peers := [2]*peer{{}, {}}
	peers[0].sent(n) // calls outstanding: the check reads the clock
	ts := []target{{id: "a", local: true, alive: true}, {id: "b", alive: true, p: peers[0]}, {id: "c", alive: true, p: peers[1]}}
	var buf [maxReplicas]int
	b.Run("send+reply", func(b *testing.B) {
		p := peers[1]
		for b.Loop() {
			p.sent(n)
			p.returned(true)
		}
	})
	b.Run("send+reply, calls out", func(b *testing.B) {
		p := &peer{}
		p.sent(n) // a call outstanding: no clock read
		for b.Loop() {
			p.sent(n)
			p.returned(true)
		}
	})
	b.Run("readOrder", func(b *testing.B) {
		for b.Loop() {
			n.readOrder(ts, 2, buf[:0])
		}
	})
	b.Run("readOrder-without", func(b *testing.B) {
		for b.Loop() {
			readOrder(ts, buf[:0])
		}
	})
}
