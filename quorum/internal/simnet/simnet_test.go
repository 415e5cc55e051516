package simnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo returns a handler that answers "<id>:<req>" and counts its calls.
func echo(id string, calls *atomic.Int64) Handler {
	return func(ctx context.Context, from string, req []byte) ([]byte, error) {
		if calls != nil {
			calls.Add(1)
		}
		return append([]byte(id+":"), req...), nil
	}
}

func callTimeout(e *Endpoint, to string, req string, d time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return e.Call(ctx, to, []byte(req))
}

func TestDeliveryCopiesBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1, nil)
		defer n.Close()
		var kept []byte
		n.Register("a", echo("a", nil))
		n.Register("b", func(ctx context.Context, from string, req []byte) ([]byte, error) {
			if from != "a" {
				t.Errorf("from = %q, want a", from)
			}
			kept = req
			return req, nil
		})
		req := []byte("hello")
		got, err := n.Endpoint("a").Call(context.Background(), "b", req)
		if err != nil || string(got) != "hello" {
			t.Fatalf("Call = %q, %v; want hello, nil", got, err)
		}
		req[0], got[1] = 'X', 'Y'
		if string(kept) != "hello" {
			t.Errorf("handler's request changed to %q by the caller: aliasing", kept)
		}
		if _, err := n.Endpoint("a").Call(context.Background(), "nobody", nil); !errors.Is(err, ErrUnreachable) {
			t.Errorf("call to unknown node: %v, want ErrUnreachable", err)
		}
		if s := n.Stats("b"); s.Delivered != 1 {
			t.Errorf("b delivered %d, want 1", s.Delivered)
		}
		if s := n.Stats("a"); s.Sent != 2 {
			t.Errorf("a sent %d, want 2", s.Sent)
		}
	})
}

func TestDelayIsVirtualAndBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(2, &Options{MinDelay: 10 * time.Millisecond, MaxDelay: 30 * time.Millisecond})
		defer n.Close()
		n.Register("a", echo("a", nil))
		n.Register("b", echo("b", nil))
		var lo, hi time.Duration = time.Hour, 0
		for range 200 {
			start := time.Now()
			if _, err := callTimeout(n.Endpoint("a"), "b", "x", time.Second); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			lo, hi = min(lo, d), max(hi, d)
		}
		// Two legs of 10..30 ms each.
		if lo < 20*time.Millisecond || hi > 60*time.Millisecond || hi-lo < 20*time.Millisecond {
			t.Errorf("round trips in [%v, %v], want inside [20ms, 60ms] and spread", lo, hi)
		}
	})
}

func TestDelayReorders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(3, &Options{MinDelay: time.Millisecond, MaxDelay: 50 * time.Millisecond})
		defer n.Close()
		var mu sync.Mutex
		var order []int
		n.Register("b", func(ctx context.Context, from string, req []byte) ([]byte, error) {
			mu.Lock()
			order = append(order, int(req[0]))
			mu.Unlock()
			return nil, nil
		})
		n.Register("a", echo("a", nil))
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = n.Endpoint("a").Call(context.Background(), "b", []byte{byte(i)})
			}()
			time.Sleep(time.Millisecond)
		}
		wg.Wait()
		inversions := 0
		for i := 1; i < len(order); i++ {
			if order[i] < order[i-1] {
				inversions++
			}
		}
		if len(order) != 50 || inversions == 0 {
			t.Errorf("delivered %d messages with %d inversions, want 50 and some reordering", len(order), inversions)
		}
	})
}

func TestDropRates(t *testing.T) {
	for _, tc := range []struct {
		name       string
		req, reply float64
	}{
		{"none", 0, 0},
		{"requests 30%", 0.3, 0},
		{"replies 20%", 0, 0.2},
		{"both 10%", 0.1, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := New(4, &Options{DropRequest: tc.req, DropReply: tc.reply})
				defer n.Close()
				var ran atomic.Int64
				n.Register("a", echo("a", nil))
				n.Register("b", echo("b", &ran))
				const calls = 4000
				failed := 0
				for range calls {
					start := time.Now()
					_, err := callTimeout(n.Endpoint("a"), "b", "x", time.Second)
					if err != nil {
						if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
							t.Fatalf("lost message: %v after %v, want deadline exceeded after 1s", err, time.Since(start))
						}
						failed++
					}
				}
				want := 1 - (1-tc.req)*(1-tc.reply)
				got := float64(failed) / calls
				if d := got - want; d > 0.03 || d < -0.03 {
					t.Errorf("lost %.3f of calls, want %.3f ± 0.03", got, want)
				}
				// Handlers run for requests that arrived, even if the reply is lost.
				wantRan := (1 - tc.req) * calls
				if d := float64(ran.Load()) - wantRan; d > 0.03*calls || d < -0.03*calls {
					t.Errorf("handler ran %d times, want about %.0f", ran.Load(), wantRan)
				}
				s := n.Stats("b")
				if s.DroppedReq+s.DroppedReply != uint64(failed) || s.Delivered != uint64(ran.Load()) {
					t.Errorf("stats %+v disagree with %d failed, %d ran", s, failed, ran.Load())
				}
			})
		})
	}
}

func TestPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(5, nil)
		defer n.Close()
		var ran [3]atomic.Int64
		ids := []string{"a", "b", "c"}
		for i, id := range ids {
			n.Register(id, echo(id, &ran[i]))
		}
		reach := func(from, to string) bool {
			t.Helper()
			start := time.Now()
			_, err := callTimeout(n.Endpoint(from), to, "x", time.Second)
			if err != nil && (!errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second) {
				t.Fatalf("%s→%s: %v after %v", from, to, err, time.Since(start))
			}
			return err == nil
		}
		matrix := func() string {
			var b bytes.Buffer
			for _, f := range ids {
				for _, to := range ids {
					if f != to && reach(f, to) {
						fmt.Fprintf(&b, "%s%s ", f, to)
					}
				}
			}
			return b.String()
		}
		if got, want := matrix(), "ab ac ba bc ca cb "; got != want {
			t.Errorf("healthy: %q, want %q", got, want)
		}
		n.Partition([]string{"a"}, []string{"b", "c"})
		if got, want := matrix(), "bc cb "; got != want {
			t.Errorf("a | b c: %q, want %q", got, want)
		}
		n.Partition([]string{"a", "b"}) // c is alone in the rest group
		if got, want := matrix(), "ab ba "; got != want {
			t.Errorf("a b | c: %q, want %q", got, want)
		}
		n.Heal()
		n.Isolate("b")
		if got, want := matrix(), "ac ca "; got != want {
			t.Errorf("isolate b: %q, want %q", got, want)
		}
		n.Heal()
		n.Block("a", "b")
		before := ran[0].Load()
		if got, want := matrix(), "ac bc ca cb "; got != want {
			t.Errorf("block a→b: %q, want %q", got, want)
		}
		// b→a reached a (its handler ran) but the reply a→b was lost.
		if ran[0].Load()-before != 2 {
			t.Errorf("a's handler ran %d times, want 2 (from b and c: b's request arrives, only the reply is cut)", ran[0].Load()-before)
		}
		n.Unblock("a", "b")
		if got, want := matrix(), "ab ac ba bc ca cb "; got != want {
			t.Errorf("unblocked: %q, want %q", got, want)
		}
	})
}

func TestCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(6, &Options{MinDelay: time.Millisecond, MaxDelay: time.Millisecond})
		defer n.Close()
		var ranB atomic.Int64
		n.Register("a", echo("a", nil))
		n.Register("b", echo("b", &ranB))
		n.Crash("b")
		if !n.Crashed("b") {
			t.Fatal("Crashed(b) = false after Crash")
		}
		start := time.Now()
		if _, err := callTimeout(n.Endpoint("a"), "b", "x", time.Second); !errors.Is(err, ErrUnreachable) || time.Since(start) != time.Millisecond {
			t.Errorf("fail-fast crash: %v after %v, want ErrUnreachable after 1ms", err, time.Since(start))
		}
		if _, err := callTimeout(n.Endpoint("b"), "a", "x", time.Second); !errors.Is(err, ErrCrashed) {
			t.Errorf("call from crashed node: %v, want ErrCrashed", err)
		}
		n.SetCrashMode(CrashTimeout)
		start = time.Now()
		if _, err := callTimeout(n.Endpoint("a"), "b", "x", time.Second); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("timeout crash: %v after %v, want deadline exceeded after 1s", err, time.Since(start))
		}
		if ranB.Load() != 0 {
			t.Errorf("crashed node's handler ran %d times", ranB.Load())
		}
		n.Restart("b", echo("b2", nil))
		if got, err := callTimeout(n.Endpoint("a"), "b", "x", time.Second); err != nil || string(got) != "b2:x" {
			t.Errorf("after restart: %q, %v; want b2:x from the new handler", got, err)
		}
	})
}

func TestCrashCancelsRunningHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(7, nil)
		defer n.Close()
		started := make(chan struct{})
		var handlerErr atomic.Value
		n.Register("a", echo("a", nil))
		n.Register("b", func(ctx context.Context, from string, req []byte) ([]byte, error) {
			close(started)
			if _, ok := ctx.Deadline(); !ok {
				t.Error("handler context has no deadline; want the caller's")
			}
			<-ctx.Done()
			handlerErr.Store(ctx.Err())
			return nil, ctx.Err()
		})
		errc := make(chan error, 1)
		go func() {
			_, err := callTimeout(n.Endpoint("a"), "b", "x", time.Hour)
			errc <- err
		}()
		<-started
		n.Crash("b")
		synctest.Wait()
		if err, _ := handlerErr.Load().(error); !errors.Is(err, context.Canceled) {
			t.Errorf("handler context after crash: %v, want canceled", err)
		}
		if err := <-errc; err == nil {
			t.Error("call to a node that crashed while handling it succeeded")
		}
	})
}

func TestFreeze(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(8, nil)
		defer n.Close()
		var ranB atomic.Int64
		n.Register("a", echo("a", nil))
		n.Register("b", echo("b", &ranB))
		n.Freeze("b")
		start := time.Now()
		_, err := callTimeout(n.Endpoint("a"), "b", "x", 5*time.Second)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Errorf("frozen: %v after %v, want deadline exceeded after exactly 5s", err, time.Since(start))
		}
		if ranB.Load() != 0 {
			t.Errorf("frozen node's handler ran")
		}
		// A frozen node still sends.
		if _, err := callTimeout(n.Endpoint("b"), "a", "x", time.Second); err != nil {
			t.Errorf("call from frozen node: %v", err)
		}
		// A call held while frozen is delivered on Unfreeze.
		type res struct {
			b   []byte
			err error
		}
		rc := make(chan res, 1)
		go func() {
			b, err := callTimeout(n.Endpoint("a"), "b", "held", time.Hour)
			rc <- res{b, err}
		}()
		time.Sleep(time.Minute)
		synctest.Wait()
		if ranB.Load() != 0 {
			t.Fatal("held call delivered while frozen")
		}
		n.Unfreeze("b")
		if r := <-rc; r.err != nil || string(r.b) != "b:held" {
			t.Errorf("held call after unfreeze: %q, %v", r.b, r.err)
		}
	})
}

func TestDuplicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(9, &Options{Duplicate: 1, MaxDelay: 10 * time.Millisecond})
		defer n.Close()
		var ranB atomic.Int64
		n.Register("a", echo("a", nil))
		n.Register("b", echo("b", &ranB))
		for range 10 {
			if got, err := callTimeout(n.Endpoint("a"), "b", "x", time.Second); err != nil || string(got) != "b:x" {
				t.Fatalf("Call = %q, %v", got, err)
			}
		}
		time.Sleep(time.Second)
		if ranB.Load() != 20 || n.Stats("b").Duplicated != 10 {
			t.Errorf("handler ran %d times (%d duplicates), want 20 (10)", ranB.Load(), n.Stats("b").Duplicated)
		}
		n.SetDuplicate(0)
		_, _ = callTimeout(n.Endpoint("a"), "b", "x", time.Second)
		time.Sleep(time.Second)
		if ranB.Load() != 21 {
			t.Errorf("after SetDuplicate(0): %d runs, want 21", ranB.Load())
		}
	})
}

// trace runs a fixed sequence of calls on a faulty network and describes
// what happened to each, with virtual timings. Call it inside a bubble.
func trace(seed int64) string {
	var out bytes.Buffer
	func() {
		n := New(seed, &Options{DropRequest: 0.2, DropReply: 0.2, Duplicate: 0.2, MinDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond})
		defer n.Close()
		var ran atomic.Int64
		n.Register("a", echo("a", nil))
		n.Register("b", echo("b", &ran))
		for i := range 100 {
			start := time.Now()
			_, err := callTimeout(n.Endpoint("a"), "b", fmt.Sprint(i), 100*time.Millisecond)
			fmt.Fprintf(&out, "%d:%v:%v:%d ", i, err != nil, time.Since(start), ran.Load())
		}
	}()
	return out.String()
}

func TestDeterministicPerSeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := trace(42), trace(42), trace(43)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("seed 42 ran differently twice (-first +second):\n%s", diff)
		}
		if a == c {
			t.Error("seeds 42 and 43 gave the same trace")
		}
	})
}

func TestCloseReleasesEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(10, &Options{DropReply: 1})
		n.Register("a", echo("a", nil))
		n.Register("b", echo("b", nil))
		n.Register("f", echo("f", nil))
		n.Freeze("f")
		errs := make(chan error, 2)
		go func() { _, err := n.Endpoint("a").Call(context.Background(), "b", nil); errs <- err }()
		go func() { _, err := n.Endpoint("a").Call(context.Background(), "f", nil); errs <- err }()
		synctest.Wait()
		n.Close()
		for range 2 {
			if err := <-errs; !errors.Is(err, ErrClosed) {
				t.Errorf("call in flight at Close: %v, want ErrClosed", err)
			}
		}
		if _, err := n.Endpoint("a").Call(context.Background(), "b", nil); !errors.Is(err, ErrClosed) {
			t.Errorf("call after Close: %v, want ErrClosed", err)
		}
		n.Close()
	})
}

func TestHealAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(11, &Options{MinDelay: time.Millisecond, MaxDelay: time.Millisecond})
		defer n.Close()
		for _, id := range []string{"a", "b", "c", "d"} {
			n.Register(id, echo(id, nil))
		}
		n.SetDrop(1, 1)
		n.SetDelay(time.Second, time.Second)
		n.SetDuplicate(1)
		n.SetCrashMode(CrashTimeout)
		n.Partition([]string{"a"})
		n.Block("a", "c")
		n.Crash("b")
		n.Freeze("d")
		n.HealAll()
		for _, to := range []string{"b", "c", "d"} {
			start := time.Now()
			if _, err := callTimeout(n.Endpoint("a"), to, "x", time.Second); err != nil || time.Since(start) != 2*time.Millisecond {
				t.Errorf("a→%s after HealAll: %v after %v, want success after the initial 2×1ms", to, err, time.Since(start))
			}
		}
		time.Sleep(time.Second)
		if s := n.Stats("b"); s.Duplicated != 0 {
			t.Errorf("duplicates after HealAll: %d", s.Duplicated)
		}
	})
}

func TestTap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(12, &Options{DropRequest: 1})
		defer n.Close()
		n.Register("a", echo("a", nil))
		n.Register("b", echo("b", nil))
		var seen []string
		n.SetTap(func(from, to string, req []byte) { seen = append(seen, from+">"+to+":"+string(req)) })
		_, _ = callTimeout(n.Endpoint("a"), "b", "x", time.Millisecond)
		_, _ = callTimeout(n.Endpoint("b"), "a", "y", time.Millisecond)
		n.SetTap(nil)
		_, _ = callTimeout(n.Endpoint("b"), "a", "z", time.Millisecond)
		if diff := cmp.Diff([]string{"a>b:x", "b>a:y"}, seen); diff != "" {
			t.Errorf("tap mismatch (-want +got):\n%s", diff)
		}
	})
}
