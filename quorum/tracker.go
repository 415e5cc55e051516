package quorum

import (
	"cmp"
	"slices"
	"time"

	"github.com/gridkv/gridkv/store"
)

// The decision logic of an operation: which replicas to ask and in which
// order, when enough have answered, which version wins and who needs a
// repair. It is plain code with no goroutines, timers or I/O: the
// coordinator (node.go) feeds it replies one at a time and does what it
// says, and the tests drive it the same way, reply by reply.

// outcome is a tracker's verdict so far.
type outcome uint8

const (
	pending outcome = iota // need more replies
	done                   // the quorum is reached
	failed                 // the quorum can no longer be reached
)

func (o outcome) String() string {
	return [...]string{"pending", "done", "failed"}[o]
}

// target is one replica of a key as the coordinator sees it.
type target struct {
	id    string
	local bool          // this node: served from the local store, no network
	alive bool          // the failure detector thinks it is up
	rtt   time.Duration // 0: unknown
	far   bool          // in another zone (ring.Member.Zone) than this node
	// stalled: it has left calls unanswered for too long (Node.stalled);
	// set for reads only.
	stalled bool
	p       *peer // nil for the local replica (and in tests)
}

// quorumSizes returns the number of replicas of a key (N capped at the
// members that exist) and the write and read quorums for consistency c.
// Quorums are capped at the replicas that exist, never at the replicas
// that are up: a down member still counts in N.
func quorumSizes(n, w, r, members int, c Consistency) (nEff, wq, rq int) {
	nEff = min(n, members)
	wq, rq = min(w, nEff), min(r, nEff)
	switch c {
	case One:
		wq, rq = 1, 1
	case All:
		wq, rq = nEff, nEff
	case Linearizable:
		// Any two majorities intersect, and a read quorum always meets a
		// write quorum: the two-phase protocol needs both.
		maj := nEff/2 + 1
		wq, rq = max(wq, maj), max(rq, maj)
		if wq+rq <= nEff {
			rq = nEff - wq + 1
		}
	}
	if nEff == 0 {
		wq, rq = 0, 0
	}
	return nEff, wq, rq
}

// readOrder writes into dst the order in which a read asks the targets:
// the local replica first (no network), then the live replicas in this
// node's zone, then the live ones in other zones, each group by ascending
// RTT (unknown RTT after known ones, in ring order); then live replicas
// that are stalled (Node.stalled), in the same order; then the ones the
// failure detector reports down (asked only if the others fail).
func readOrder(ts []target, dst []int) []int {
	dst = dst[:0]
	for i := range ts {
		dst = append(dst, i)
	}
	rank := func(t *target) int {
		switch {
		case t.local:
			return 0
		case !t.alive:
			return 9
		}
		r := 1
		if t.stalled {
			r += 4
		}
		if t.far {
			r += 2
		}
		if t.rtt == 0 {
			r++
		}
		return r
	}
	slices.SortStableFunc(dst, func(a, b int) int {
		ta, tb := &ts[a], &ts[b]
		ra, rb := rank(ta), rank(tb)
		if c := cmp.Compare(ra, rb); c != 0 {
			return c
		}
		if ta.alive && ta.rtt > 0 {
			return cmp.Compare(ta.rtt, tb.rtt)
		}
		return 0
	})
	return dst
}

// writeTracker counts the acknowledgements of one write.
type writeTracker struct {
	need, total int
	acks, fails int
	superseded  int     // acks from replicas that already held a newer version
	errs        []error // one per failed replica
}

func newWriteTracker(need, total int) writeTracker {
	return writeTracker{need: need, total: total}
}

// ack records a replica that applied the write, or that already holds a
// newer version (superseded): under last-write-wins the write is then
// durably ordered before that version on that replica, which is all a
// write can achieve, so it counts.
func (t *writeTracker) ack(superseded bool) outcome {
	t.acks++
	if superseded {
		t.superseded++
	}
	return t.outcome()
}

// fail records a replica that did not apply the write.
func (t *writeTracker) fail(err error) outcome {
	t.fails++
	if err != nil {
		t.errs = append(t.errs, err)
	}
	return t.outcome()
}

func (t *writeTracker) outcome() outcome {
	switch {
	case t.acks >= t.need:
		return done
	case t.total-t.fails < t.need:
		return failed
	}
	return pending
}

// err returns the error of a write that did not reach its quorum.
func (t *writeTracker) err(op string, extra error) error {
	errs := t.errs
	if extra != nil {
		errs = append(errs, extra)
	}
	return &QuorumError{Op: op, Need: t.need, Got: t.acks, Of: t.total, Errs: errs}
}

// Per-target states of a readTracker.
const (
	rIdle      uint8 = iota // not asked
	rAsked                  // asked, no reply yet
	rOK                     // answered; counts toward the quorum
	rUncounted              // answered while still receiving the key's range: does not count
	rFailed                 // error or timeout
)

// readTracker decides a read: it hands out the replicas to ask (need at
// first, one more for every failure or uncounted answer, one more per
// hedge), counts the answers, and keeps the highest version.
type readTracker struct {
	need   int
	order  [maxReplicas]int // targets in the order to ask them
	norder int
	next   int // order[:next] have been asked
	state  [maxReplicas]uint8
	found  [maxReplicas]bool
	ver    [maxReplicas]store.Version
	got    int // rOK answers
	out    int // rAsked
	best   store.Entry
	has    bool // best holds an entry
	errs   []error
}

// newReadTracker returns a tracker over targets asked in order (see
// readOrder; at most maxReplicas). It keeps a copy of order.
func newReadTracker(need int, order []int) readTracker {
	t := readTracker{need: need, norder: len(order)}
	copy(t.order[:], order)
	return t
}

// start returns the targets to ask first: the first need in order.
func (t *readTracker) start() []int {
	n := min(t.need, t.norder)
	for _, i := range t.order[:n] {
		t.state[i] = rAsked
	}
	t.next, t.out = n, n
	return t.order[:n]
}

// more asks the next target in order, if any, and returns it (or -1).
func (t *readTracker) more() int {
	if t.next >= t.norder {
		return -1
	}
	i := t.order[t.next]
	t.next++
	t.state[i] = rAsked
	t.out++
	return i
}

// reply records target i's answer: e if found; receiving reports that
// the replica is still receiving the key's range after a ring change.
// It returns the verdict and a target to ask now (-1: none).
func (t *readTracker) reply(i int, e store.Entry, found, receiving bool) (outcome, int) {
	if t.state[i] != rAsked || t.outcome() != pending {
		return t.outcome(), -1 // duplicate, unexpected or late: ignore
	}
	t.out--
	t.found[i] = found
	if found {
		t.ver[i] = e.Version
		if !t.has || e.Version.Newer(t.best.Version) {
			t.best, t.has = e, true
		}
	}
	if receiving {
		// A replica that has not received its whole range yet may answer
		// "not found", or an old version, for a key that holds a newer
		// acknowledged write: its answer must not make up the quorum, in
		// any mode, or R+W>N freshness breaks (a receiving replica that
		// got only a later write with a lower version, from a skewed
		// clock, and one stale replica would outvote the write). Its
		// entry still competes for the winner. Ask another one.
		t.state[i] = rUncounted
		t.errs = append(t.errs, errReceiving)
		if o := t.outcome(); o != pending {
			return o, -1
		}
		return t.outcome(), t.more()
	}
	t.state[i] = rOK
	t.got++
	return t.outcome(), -1
}

// fail records that target i failed and returns the verdict and a target
// to ask instead (-1: none).
func (t *readTracker) fail(i int, err error) (outcome, int) {
	if t.state[i] != rAsked || t.outcome() != pending {
		return t.outcome(), -1
	}
	t.out--
	t.state[i] = rFailed
	if err != nil {
		t.errs = append(t.errs, err)
	}
	if o := t.outcome(); o != pending {
		return o, -1
	}
	return t.outcome(), t.more()
}

// hedge is called when the asked targets are slow: it asks one more (-1:
// none left).
func (t *readTracker) hedge() int {
	if t.outcome() != pending {
		return -1
	}
	return t.more()
}

func (t *readTracker) outcome() outcome {
	switch {
	case t.got >= t.need:
		return done
	case t.got+t.out+t.norder-t.next < t.need:
		return failed
	}
	return pending
}

// repairs appends to dst the targets that answered with an older version
// than the winner, or with nothing. Only answers seen are judged: a
// replica that did not answer is not assumed stale.
func (t *readTracker) repairs(dst []int) []int {
	if !t.has {
		return dst
	}
	for _, i := range t.order[:t.next] {
		if (t.state[i] == rOK || t.state[i] == rUncounted) &&
			(!t.found[i] || t.best.Version.Newer(t.ver[i])) {
			dst = append(dst, i)
		}
	}
	return dst
}

// current reports whether target i answered with the winning version.
func (t *readTracker) current(i int) bool {
	return t.has && (t.state[i] == rOK || t.state[i] == rUncounted) && t.found[i] && t.ver[i] == t.best.Version
}

func (t *readTracker) err(op string, extra error) error {
	errs := t.errs
	if extra != nil {
		errs = append(errs, extra)
	}
	return &QuorumError{Op: op, Need: t.need, Got: t.got, Of: t.norder, Errs: errs}
}

// live reports whether entry e (the winner of a read) is a value at
// nowMs: tombstones and expired values read as not found.
func live(e store.Entry, nowMs int64) bool {
	return !e.Tombstone && (e.Expires == 0 || e.Expires > nowMs)
}
