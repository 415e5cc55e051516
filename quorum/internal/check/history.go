// Package check records histories of key-value operations against a
// cluster and checks them: linearizability (porcupine, per-key model),
// no acknowledged write lost, no read of another key's value, and a
// convergence census of the replicas' stores.
//
// Every checker returns what it found instead of failing a test itself, so
// the tests of this package can feed it histories that must fail.
//
// Usage:
//  1. rec := check.NewRecorder(); each client brackets every operation with
//     c := rec.Begin(client, check.Put, key, value) and c.End(value, found, err)
//     (found false with a nil error for "not found").
//  2. After the run (outside any synctest bubble, so porcupine's timeout is
//     real time): res := check.Linearizable(rec.Ops(), time.Second), and
//     check.ForeignReads, check.LostWrites, check.Census as the test needs.
//  3. Report res.Result, res.VizPath and the seed on failure.
package check

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Kind is an operation kind.
type Kind uint8

// Operation kinds.
const (
	Get Kind = iota + 1
	Put
	Delete
)

func (k Kind) String() string {
	switch k {
	case Get:
		return "get"
	case Put:
		return "put"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Op is one recorded operation.
type Op struct {
	Client int
	Node   string // the coordinator the client called, if recorded (Call.On)
	Kind   Kind
	Key    string
	Value  string // Put's input
	Out    string // Get's result when Found
	Found  bool   // Get found a value
	Err    error  // nil: the operation succeeded (a Get that found nothing too)
	// Call and Return are offsets from the recorder's start. Return is
	// when the client saw the result, also for failed operations.
	Call, Return time.Duration
}

// Ambiguous reports whether the operation's effect is unknown: a write that
// failed (timed out, quorum not met) may or may not have been applied, and
// may still be applied later.
func (o Op) Ambiguous() bool { return o.Err != nil && o.Kind != Get }

func (o Op) String() string {
	var s string
	switch o.Kind {
	case Get:
		switch {
		case o.Err != nil:
			s = fmt.Sprintf("get(%s) -> error %v", o.Key, o.Err)
		case o.Found:
			s = fmt.Sprintf("get(%s) -> %q", o.Key, o.Out)
		default:
			s = fmt.Sprintf("get(%s) -> not found", o.Key)
		}
	case Put:
		s = fmt.Sprintf("put(%s, %q)", o.Key, o.Value)
	case Delete:
		s = fmt.Sprintf("delete(%s)", o.Key)
	default:
		s = o.Kind.String()
	}
	if o.Kind != Get {
		if o.Err != nil {
			s += fmt.Sprintf(" -> unknown (%v)", o.Err)
		} else {
			s += " -> ok"
		}
	}
	via := ""
	if o.Node != "" {
		via = " via " + o.Node
	}
	return fmt.Sprintf("[%v, %v] client %d%s: %s", o.Call, o.Return, o.Client, via, s)
}

// Recorder collects operations from concurrent clients. It reads time.Now,
// which is virtual time inside a synctest bubble. It is safe for concurrent
// use.
type Recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []Op
}

// NewRecorder returns an empty recorder whose clock starts now.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// Call is an operation in flight.
type Call struct {
	r  *Recorder
	op Op
}

// Begin records the invocation of an operation. value is Put's input.
func (r *Recorder) Begin(client int, kind Kind, key, value string) *Call {
	return &Call{r: r, op: Op{Client: client, Kind: kind, Key: key, Value: value, Call: time.Since(r.start)}}
}

// On records the node that coordinates the operation.
func (c *Call) On(node string) *Call {
	c.op.Node = node
	return c
}

// End records the result: for a Get, the value and whether one was found
// (not found is found == false and err == nil); for writes only err. It
// returns the recorded Op.
func (c *Call) End(value []byte, found bool, err error) Op {
	op := c.op
	op.Return = time.Since(c.r.start)
	op.Err = err
	if op.Kind == Get && err == nil {
		op.Found = found
		if found {
			op.Out = string(value)
		}
	}
	c.r.mu.Lock()
	c.r.ops = append(c.r.ops, op)
	c.r.mu.Unlock()
	return op
}

// Ops returns a copy of the recorded operations, in order of invocation.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	ops := append([]Op(nil), r.ops...)
	r.mu.Unlock()
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	return ops
}

// KeyOps returns the operations on key, in order of invocation.
func KeyOps(ops []Op, key string) []Op {
	var out []Op
	for _, o := range ops {
		if o.Key == key {
			out = append(out, o)
		}
	}
	return out
}

// Summary counts a history's operations by outcome.
type Summary struct {
	Ops, Gets, Puts, Deletes int
	Failed                   int // operations with an error (reads and writes)
	Ambiguous                int // failed writes
	NotFound                 int // successful reads that found nothing
}

// Summarize counts ops.
func Summarize(ops []Op) Summary {
	var s Summary
	for _, o := range ops {
		s.Ops++
		switch o.Kind {
		case Get:
			s.Gets++
			if o.Err == nil && !o.Found {
				s.NotFound++
			}
		case Put:
			s.Puts++
		case Delete:
			s.Deletes++
		}
		if o.Err != nil {
			s.Failed++
		}
		if o.Ambiguous() {
			s.Ambiguous++
		}
	}
	return s
}

// MaxInFlight returns the largest number of operations on one key that were
// in flight at the same time (by their recorded call and return times), and
// that key. Porcupine's search grows exponentially with it.
func MaxInFlight(ops []Op) (int, string) {
	type ev struct {
		t     time.Duration
		delta int
	}
	byKey := make(map[string][]ev)
	for _, o := range ops {
		byKey[o.Key] = append(byKey[o.Key], ev{o.Call, +1}, ev{o.Return, -1})
	}
	best, bestKey := 0, ""
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		evs := byKey[k]
		// At equal times returns count first: a client that starts its next
		// operation when the previous one returns has one in flight.
		sort.Slice(evs, func(i, j int) bool {
			if evs[i].t != evs[j].t {
				return evs[i].t < evs[j].t
			}
			return evs[i].delta < evs[j].delta
		})
		n := 0
		for _, e := range evs {
			n += e.delta
			if n > best {
				best, bestKey = n, k
			}
		}
	}
	return best, bestKey
}
