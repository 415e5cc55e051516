package server_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/server"
	"github.com/tidwall/redcon"
)

// ctxKV records the context of each GetItem; with block set, GetItem
// waits for the context to end and returns its error.
type ctxKV struct {
	*fakeKV
	block bool
	seen  []ctxSeen
}

type ctxSeen struct {
	deadline time.Time
	ok       bool
	errAtIn  error
	done     bool // Done() was closed on entry
}

func (k *ctxKV) GetItem(ctx context.Context, key string, opts ...gridkv.Option) (gridkv.Item, error) {
	dl, ok := ctx.Deadline()
	s := ctxSeen{deadline: dl, ok: ok, errAtIn: ctx.Err()}
	select {
	case <-ctx.Done():
		s.done = true
	default:
	}
	k.seen = append(k.seen, s)
	if k.block {
		<-ctx.Done()
		return gridkv.Item{}, ctx.Err()
	}
	return k.fakeKV.GetItem(ctx, key, opts...)
}

// TestCommandDeadline: every command runs with the deadline
// CommandTimeout from its start, a command that outlives it is answered
// "command timed out", and the next command of the connection starts with
// a fresh, live context (the context is re-armed per command).
func TestCommandDeadline(t *testing.T) {
	const timeout = 50 * time.Millisecond
	kv := &ctxKV{fakeKV: newFakeKV()}
	s := newSession(t, kv, server.Config{CommandTimeout: timeout})
	for round := range 3 {
		kv.block = true
		start := time.Now()
		if got := s.do("GET", "k"); got != "-TRYAGAIN command timed out" {
			t.Fatalf("round %d: GET past its deadline = %s", round, got)
		}
		if waited := time.Since(start); waited < timeout {
			t.Fatalf("round %d: the command ended after %v, before its deadline %v", round, waited, timeout)
		}
		kv.block = false
		for range 3 {
			start := time.Now()
			if got := s.do("GET", "k"); got != "nil" {
				t.Fatalf("round %d: GET after a timed-out command = %s", round, got)
			}
			last := kv.seen[len(kv.seen)-1]
			if !last.ok || last.errAtIn != nil || last.done {
				t.Fatalf("round %d: command context on entry: %+v", round, last)
			}
			if last.deadline.Before(start.Add(timeout)) || last.deadline.After(time.Now().Add(timeout)) {
				t.Fatalf("round %d: deadline %v not CommandTimeout after the command began (%v)", round, last.deadline, start)
			}
		}
	}
}

// TestCommandAfterClose: a command run through Exec after Close gets a
// canceled context ("server shutting down"), as before Close it got a
// live one.
func TestCommandAfterClose(t *testing.T) {
	kv := &ctxKV{fakeKV: newFakeKV(), block: true}
	r := server.NewRESP(kv, server.Config{})
	r.Close()
	var out stringWriter
	w := redcon.NewWriter(&out)
	r.Exec(r.NewSession(), w, [][]byte{[]byte("GET"), []byte("k")})
	w.Flush()
	if out.s != "-ERR server shutting down\r\n" {
		t.Fatalf("GET after Close = %q", out.s)
	}
}

type stringWriter struct{ s string }

func (w *stringWriter) Write(p []byte) (int, error) { w.s += string(p); return len(p), nil }

// TestExecGetAllocations: a GET through Exec allocates only what the KV
// does (the fake clones the value: one allocation), not a context or a
// timer per command.
func TestExecGetAllocations(t *testing.T) {
	kv := newFakeKV()
	kv.Set(context.Background(), "k", []byte("v"))
	r := server.NewRESP(kv, server.Config{})
	defer r.Close()
	sess := r.NewSession()
	w := redcon.NewWriter(io.Discard)
	args := [][]byte{[]byte("GET"), []byte("k")}
	r.Exec(sess, w, args) // the session's context is made on first use
	if n := testing.AllocsPerRun(1000, func() {
		r.Exec(sess, w, args)
		w.Flush()
	}); n > 1 {
		t.Fatalf("Exec GET: %v allocations, want at most 1 (the fake's copy of the value)", n)
	}
}
