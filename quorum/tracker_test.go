package quorum

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
)

func TestQuorumSizes(t *testing.T) {
	tests := []struct {
		name             string
		n, w, r, members int
		c                Consistency
		nEff, wq, rq     int
	}{
		{"defaults", 3, 2, 2, 5, Quorum, 3, 2, 2},
		{"one", 3, 2, 2, 5, One, 3, 1, 1},
		{"all", 3, 2, 2, 5, All, 3, 3, 3},
		{"linearizable majorities", 3, 1, 1, 5, Linearizable, 3, 2, 2},
		{"linearizable keeps larger W", 5, 4, 1, 5, Linearizable, 5, 4, 3},
		{"linearizable R+W>N", 4, 2, 2, 4, Linearizable, 4, 3, 3},
		{"two members", 3, 2, 2, 2, Quorum, 2, 2, 2},
		{"one member", 3, 2, 2, 1, Quorum, 1, 1, 1},
		{"N=5 on three", 5, 3, 3, 3, Quorum, 3, 3, 3},
		{"all on two", 3, 2, 2, 2, All, 2, 2, 2},
		{"linearizable on two", 3, 1, 1, 2, Linearizable, 2, 2, 2},
		{"no members", 3, 2, 2, 0, Quorum, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nEff, wq, rq := quorumSizes(tt.n, tt.w, tt.r, tt.members, tt.c)
			if nEff != tt.nEff || wq != tt.wq || rq != tt.rq {
				t.Errorf("quorumSizes(%d,%d,%d,%d,%v) = %d,%d,%d; want %d,%d,%d",
					tt.n, tt.w, tt.r, tt.members, tt.c, nEff, wq, rq, tt.nEff, tt.wq, tt.rq)
			}
		})
	}
}

func TestReadOrder(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		ts   []target
		want []int
	}{
		{"ring order without RTT", []target{{id: "a", alive: true}, {id: "b", alive: true}, {id: "c", alive: true}}, []int{0, 1, 2}},
		{"local first", []target{{id: "a", alive: true}, {id: "b", alive: true}, {id: "c", local: true, alive: true}}, []int{2, 0, 1}},
		{"by RTT", []target{{id: "a", alive: true, rtt: 9 * ms}, {id: "b", alive: true, rtt: 1 * ms}, {id: "c", alive: true, rtt: 5 * ms}}, []int{1, 2, 0}},
		{"known RTT before unknown", []target{{id: "a", alive: true}, {id: "b", alive: true, rtt: 7 * ms}}, []int{1, 0}},
		{"down last", []target{{id: "a", alive: false, rtt: 1 * ms}, {id: "b", alive: true, rtt: 9 * ms}, {id: "c", local: true, alive: true}}, []int{2, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readOrder(tt.ts, nil)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteTracker(t *testing.T) {
	type step struct {
		ok         bool
		superseded bool
		want       outcome
	}
	tests := []struct {
		name        string
		need, total int
		steps       []step
	}{
		{"two acks", 2, 3, []step{{ok: true, want: pending}, {ok: true, want: done}}},
		{"ack fail ack", 2, 3, []step{{ok: true, want: pending}, {want: pending}, {ok: true, want: done}}},
		{"two failures", 2, 3, []step{{want: pending}, {want: failed}}},
		{"superseded counts", 2, 3, []step{{ok: true, superseded: true, want: pending}, {ok: true, want: done}}},
		{"all needs all", 3, 3, []step{{ok: true, want: pending}, {ok: true, want: pending}, {want: failed}}},
		{"one", 1, 3, []step{{want: pending}, {ok: true, want: done}}},
		{"single replica fails", 1, 1, []step{{want: failed}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newWriteTracker(tt.need, tt.total)
			for i, s := range tt.steps {
				var got outcome
				if s.ok {
					got = tr.ack(s.superseded)
				} else {
					got = tr.fail(errors.New("x"))
				}
				if got != s.want {
					t.Fatalf("step %d: %v, want %v", i, got, s.want)
				}
			}
		})
	}
	tr := newWriteTracker(2, 3)
	tr.ack(false)
	tr.fail(errDown)
	tr.fail(errDown)
	err := tr.err("set", nil)
	var qe *QuorumError
	if !errors.Is(err, ErrQuorumNotMet) || !errors.As(err, &qe) || qe.Got != 1 || qe.Need != 2 || qe.Of != 3 || !errors.Is(err, errDown) {
		t.Errorf("err = %v; want a QuorumError 1 of 3, need 2, wrapping errDown", err)
	}
}

func ver(ms int64) store.Version { return store.Version{Time: hlc.New(ms, 0), Node: 1} }

func TestReadTracker(t *testing.T) {
	// Each step is a reply (found/not found/receiving), a failure or a
	// hedge; the tracker answers a verdict and which target to ask next.
	type step struct {
		kind      string // "found", "none", "fail", "hedge"
		i         int
		ms        int64
		receiving bool
		want      outcome
		next      int
	}
	tests := []struct {
		name    string
		need    int
		n       int
		start   []int
		steps   []step
		best    int64 // 0: no entry
		repairs []int
	}{
		{
			name: "two agree", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 5, want: pending, next: -1}, {kind: "found", i: 1, ms: 5, want: done, next: -1}},
			best:  5,
		},
		{
			name: "newest wins, stale repaired", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 5, want: pending, next: -1}, {kind: "found", i: 1, ms: 9, want: done, next: -1}},
			best:  9, repairs: []int{0},
		},
		{
			name: "missing repaired", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "none", i: 0, want: pending, next: -1}, {kind: "found", i: 1, ms: 9, want: done, next: -1}},
			best:  9, repairs: []int{0},
		},
		{
			name: "failure asks the next", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "fail", i: 1, want: pending, next: 2}, {kind: "found", i: 0, ms: 3, want: pending, next: -1}, {kind: "found", i: 2, ms: 3, want: done, next: -1}},
			best:  3,
		},
		{
			name: "two failures of three", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "fail", i: 0, want: pending, next: 2}, {kind: "fail", i: 2, want: failed, next: -1}},
		},
		{
			name: "hedge then the slow one is ignored", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 1, want: pending, next: -1}, {kind: "hedge", want: pending, next: 2}, {kind: "found", i: 2, ms: 1, want: done, next: -1}, {kind: "found", i: 1, ms: 7, want: done, next: -1}},
			best:  1,
		},
		{
			name: "receiving not-found does not count", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "none", i: 0, receiving: true, want: pending, next: 2}, {kind: "found", i: 1, ms: 4, want: pending, next: -1}, {kind: "found", i: 2, ms: 4, want: done, next: -1}},
			best:  4, repairs: []int{0},
		},
		{
			// Every answer of a replica still receiving its range is left
			// out of R, in every mode (seed 59 of
			// TestSimQuorumReadsNotStale: a receiving replica's found answer
			// plus one stale replica outvoted an acknowledged write).
			name: "receiving found does not count", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 4, receiving: true, want: pending, next: 2}, {kind: "found", i: 1, ms: 4, want: pending, next: -1}, {kind: "none", i: 2, want: done, next: -1}},
			best:  4, repairs: []int{2},
		},
		{
			name: "receiving answer with an older version: the next replica decides", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 3, receiving: true, want: pending, next: 2}, {kind: "found", i: 1, ms: 3, want: pending, next: -1}, {kind: "found", i: 2, ms: 8, want: done, next: -1}},
			best:  8, repairs: []int{0, 1},
		},
		{
			name: "receiving entry newer than the quorum's still wins", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 9, receiving: true, want: pending, next: 2}, {kind: "found", i: 1, ms: 3, want: pending, next: -1}, {kind: "found", i: 2, ms: 3, want: done, next: -1}},
			best:  9, repairs: []int{1, 2},
		},
		{
			name: "too few replicas that are not receiving: quorum not met", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 4, receiving: true, want: pending, next: 2}, {kind: "found", i: 1, ms: 4, receiving: true, want: failed, next: -1}},
			best:  4,
		},
		{
			name: "receiving and a failure: quorum not met", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 4, receiving: true, want: pending, next: 2}, {kind: "fail", i: 1, want: failed, next: -1}},
			best:  4,
		},
		{
			name: "all not found", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "none", i: 0, want: pending, next: -1}, {kind: "none", i: 1, want: done, next: -1}},
		},
		{
			name: "duplicate reply ignored", need: 2, n: 3, start: []int{0, 1},
			steps: []step{{kind: "found", i: 0, ms: 1, want: pending, next: -1}, {kind: "found", i: 0, ms: 1, want: pending, next: -1}},
			best:  1,
		},
		{
			name: "reply from an unasked target ignored", need: 1, n: 3, start: []int{0},
			steps: []step{{kind: "found", i: 2, ms: 1, want: pending, next: -1}},
		},
		{
			name: "one of one", need: 1, n: 1, start: []int{0},
			steps: []step{{kind: "fail", i: 0, want: failed, next: -1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order := make([]int, tt.n)
			for i := range order {
				order[i] = i
			}
			tr := newReadTracker(tt.need, order)
			if diff := cmp.Diff(tt.start, tr.start()); diff != "" {
				t.Fatalf("start mismatch (-want +got):\n%s", diff)
			}
			for k, s := range tt.steps {
				var got outcome
				var next int
				switch s.kind {
				case "found":
					got, next = tr.reply(s.i, store.Entry{Key: "k", Value: []byte("v"), Version: ver(s.ms)}, true, s.receiving)
				case "none":
					got, next = tr.reply(s.i, store.Entry{}, false, s.receiving)
				case "fail":
					got, next = tr.fail(s.i, errDown)
				case "hedge":
					next = tr.hedge()
					got = tr.outcome()
				}
				if got != s.want || next != s.next {
					t.Fatalf("step %d (%s %d): %v next %d; want %v next %d", k, s.kind, s.i, got, next, s.want, s.next)
				}
			}
			if tt.best == 0 {
				if tr.has {
					t.Errorf("best = %v, want none", tr.best.Version)
				}
			} else if !tr.has || tr.best.Version != ver(tt.best) {
				t.Errorf("best = %v (has %v), want %v", tr.best.Version, tr.has, ver(tt.best))
			}
			if diff := cmp.Diff(tt.repairs, tr.repairs(nil)); diff != "" {
				t.Errorf("repairs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLive(t *testing.T) {
	tests := []struct {
		e    store.Entry
		now  int64
		want bool
	}{
		{store.Entry{Value: []byte("x")}, 100, true},
		{store.Entry{Tombstone: true}, 100, false},
		{store.Entry{Value: []byte("x"), Expires: 100}, 100, false},
		{store.Entry{Value: []byte("x"), Expires: 101}, 100, true},
	}
	for i, tt := range tests {
		if got := live(tt.e, tt.now); got != tt.want {
			t.Errorf("%d: live = %v, want %v", i, got, tt.want)
		}
	}
}
