package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// goResult is what one Go call handed to done.
type goResult struct {
	reply []byte
	err   error
}

// goCall runs Go and waits for done, checking it is called once.
func goCall(t *testing.T, tr *Transport, ctx context.Context, addr string, req []byte) ([]byte, error) {
	t.Helper()
	ch := make(chan goResult, 2)
	tr.Go(ctx, addr, req, func(b []byte, err error) { ch <- goResult{b, err} })
	r := <-ch
	select {
	case r2 := <-ch:
		t.Fatalf("done called twice: %v then %v", r, r2)
	case <-time.After(10 * time.Millisecond):
	}
	return r.reply, r.err
}

// TestGo: replies, handler errors, a first call that has to dial (the
// goroutine path), and a req changed as soon as Go returns.
func TestGo(t *testing.T) {
	srv := newTestTransport(t, func(_ context.Context, _ Peer, req []byte) ([]byte, error) {
		if string(req) == "fail" {
			return nil, errors.New("no")
		}
		return append([]byte("re:"), req...), nil
	}, nil)
	cli := newTestTransport(t, nil, nil)
	ctx := callCtx(t)
	addr := srv.Addr().String()
	for i := range 3 { // the first one dials
		req := fmt.Appendf(nil, "r%d", i)
		ch := make(chan goResult, 1)
		cli.Go(ctx, addr, req, func(b []byte, err error) { ch <- goResult{b, err} })
		copy(req, "XX") // not retained
		r := <-ch
		if want := fmt.Sprintf("re:r%d", i); r.err != nil || string(r.reply) != want {
			t.Fatalf("call %d: %q %v, want %q", i, r.reply, r.err, want)
		}
	}
	_, err := goCall(t, cli, ctx, addr, []byte("fail"))
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != CodeHandler || re.Message != "no" {
		t.Fatalf("handler error: %v", err)
	}
	if _, err := goCall(t, cli, ctx, "not an address", []byte("x")); err == nil {
		t.Fatal("bad address: no error")
	}
	big := make([]byte, DefaultMaxMessageSize+1)
	if _, err := goCall(t, cli, ctx, addr, big); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("too large: %v", err)
	}
}

// afterCtx is a context with its own AfterFunc, as quorum's pooled
// contexts have; it counts registrations.
type afterCtx struct {
	context.Context
	mu   sync.Mutex
	regs int
}

func (c *afterCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	c.regs++
	c.mu.Unlock()
	return context.AfterFunc(c.Context, f)
}

// TestGoContextEnds: a Go call whose handler never answers ends with its
// context's error, through the context's own AfterFunc when it has one,
// and frees its in-flight slot.
func TestGoContextEnds(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newTestTransport(t, func(ctx context.Context, _ Peer, req []byte) ([]byte, error) {
		if string(req) == "hang" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return req, nil
	}, nil)
	cli := newTestTransport(t, nil, &Config{MaxInFlightPerPeer: 1})
	addr := srv.Addr().String()
	if _, err := cli.Call(callCtx(t), addr, []byte("dial")); err != nil {
		t.Fatal(err)
	}
	for _, own := range []bool{false, true} {
		base, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		var ctx context.Context = base
		ac := &afterCtx{Context: base}
		if own {
			ctx = ac
		}
		_, err := goCall(t, cli, ctx, addr, []byte("hang"))
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("own AfterFunc %v: %v, want the deadline", own, err)
		}
		if own && ac.regs != 1 {
			t.Fatalf("the context's AfterFunc was used %d times, want 1", ac.regs)
		}
		// With one slot, this call only goes through if the slot was freed.
		if b, err := goCall(t, cli, callCtx(t), addr, []byte("next")); err != nil || string(b) != "next" {
			t.Fatalf("call after the timeout: %q %v", b, err)
		}
	}
	// An already ended context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := goCall(t, cli, ctx, addr, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended context: %v", err)
	}
}

// TestGoConnectionLost: calls in flight when the peer closes end with an
// error, each exactly once.
func TestGoConnectionLost(t *testing.T) {
	started := make(chan struct{}, 16)
	srv := newTestTransport(t, func(ctx context.Context, _ Peer, req []byte) ([]byte, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}, nil)
	cli := newTestTransport(t, nil, nil)
	addr := srv.Addr().String()
	ctx := callCtx(t)
	// Connect first so that the calls below take the goroutine-free path.
	cli.Go(ctx, addr, []byte("warm"), func([]byte, error) {})
	<-started
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	wg.Add(n)
	for range n {
		cli.Go(ctx, addr, []byte("x"), func(_ []byte, err error) {
			errs <- err
			wg.Done()
		})
	}
	for range n {
		<-started
	}
	srv.Close()
	wg.Wait()
	close(errs)
	k := 0
	for err := range errs {
		k++
		if err == nil {
			t.Error("call in flight when the peer closed: no error")
		}
	}
	if k != n {
		t.Fatalf("%d results for %d calls", k, n)
	}
}
