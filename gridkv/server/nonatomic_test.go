package server_test

import (
	"context"
	"testing"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/server"
)

// interleavingKV runs between once, the first time a command reads the
// key, after the read: another client's command slips in between a
// read-then-write command's read and its write.
type interleavingKV struct {
	*fakeKV
	between func()
}

func (k *interleavingKV) GetItem(ctx context.Context, key string, opts ...gridkv.Option) (gridkv.Item, error) {
	it, err := k.fakeKV.GetItem(ctx, key, opts...)
	if f := k.between; f != nil {
		k.between = nil
		f()
	}
	return it, err
}

// TestReadThenWriteIsNotAtomic shows what the documentation of SET NX and
// EXPIRE warns of, with the other client's command run between the
// command's read and its write.
func TestReadThenWriteIsNotAtomic(t *testing.T) {
	t.Run("two SET NX both succeed", func(t *testing.T) {
		kv := &interleavingKV{fakeKV: newFakeKV()}
		a := newSession(t, kv, server.Config{})
		b := newSession(t, kv, server.Config{})
		var bReply string
		kv.between = func() { bReply = b.do("SET", "lock", "b", "NX") }
		if got := a.do("SET", "lock", "a", "NX"); got != "+OK" || bReply != "+OK" {
			t.Fatalf("SET NX replies: a %s, b %s; both OK is the documented hazard", got, bReply)
		}
		if got := a.do("GET", "lock"); got != `"a"` {
			t.Fatalf("GET lock = %s, want the later write", got)
		}
	})
	t.Run("SET XX recreates a deleted key", func(t *testing.T) {
		kv := &interleavingKV{fakeKV: newFakeKV()}
		a := newSession(t, kv, server.Config{})
		b := newSession(t, kv, server.Config{})
		a.do("SET", "k", "v1")
		kv.between = func() { b.do("DEL", "k") }
		if got := a.do("SET", "k", "v2", "XX", "GET"); got != `"v1"` {
			t.Fatalf("SET XX GET = %s", got)
		}
		if got := a.do("GET", "k"); got != `"v2"` {
			t.Fatalf("GET k = %s: the documented recreation would read v2", got)
		}
	})
	t.Run("EXPIRE loses a concurrent write", func(t *testing.T) {
		kv := &interleavingKV{fakeKV: newFakeKV()}
		a := newSession(t, kv, server.Config{})
		b := newSession(t, kv, server.Config{})
		a.do("SET", "k", "v1")
		var bReply string
		kv.between = func() { bReply = b.do("SET", "k", "v2") }
		if got := a.do("EXPIRE", "k", "100"); got != ":1" || bReply != "+OK" {
			t.Fatalf("EXPIRE = %s, SET = %s", got, bReply)
		}
		if got := a.do("GET", "k"); got != `"v1"` {
			t.Fatalf("GET k = %s: the documented lost update would read v1", got)
		}
	})
	t.Run("EXPIRE brings back a deleted key", func(t *testing.T) {
		kv := &interleavingKV{fakeKV: newFakeKV()}
		a := newSession(t, kv, server.Config{})
		b := newSession(t, kv, server.Config{})
		a.do("SET", "k", "v1")
		kv.between = func() { b.do("DEL", "k") }
		a.do("EXPIRE", "k", "100")
		if got := a.do("GET", "k"); got != `"v1"` {
			t.Fatalf("GET k = %s: the documented resurrection would read v1", got)
		}
	})
}
