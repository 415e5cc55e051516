package quorum

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCallCtxAfterFunc: functions registered with AfterFunc run once the
// context is canceled, unless stopped first; stop reports which happened;
// a function registered after the cancel runs at once.
func TestCallCtxAfterFunc(t *testing.T) {
	var c callCtx
	c.arm(time.Now().Add(time.Hour))
	var ran [3]atomic.Bool
	done := make(chan int, 3)
	fn := func(i int) func() {
		return func() { ran[i].Store(true); done <- i }
	}
	stop0 := c.AfterFunc(fn(0))
	stop1 := c.AfterFunc(fn(1))
	if !stop1() {
		t.Fatal("stop before cancel = false")
	}
	if stop1() {
		t.Fatal("second stop = true")
	}
	c.cancel(context.Canceled)
	if got := <-done; got != 0 {
		t.Fatalf("function %d ran, want 0", got)
	}
	if stop0() {
		t.Fatal("stop after the function ran = true")
	}
	stop2 := c.AfterFunc(fn(2))
	if got := <-done; got != 2 {
		t.Fatalf("function %d ran, want 2", got)
	}
	if stop2() {
		t.Fatal("stop of a function registered after cancel = true")
	}
	if ran[1].Load() {
		t.Fatal("the stopped function ran")
	}
	if n := registered(&c); n != 0 {
		t.Fatalf("%d functions still registered", n)
	}
	// context.AfterFunc uses the method (no goroutine of its own).
	var c2 callCtx
	c2.arm(time.Now().Add(time.Hour))
	fired := make(chan struct{})
	context.AfterFunc(&c2, func() { close(fired) })
	if n := registered(&c2); n != 1 {
		t.Fatalf("context.AfterFunc registered %d functions through the method, want 1", n)
	}
	c2.cancel(context.Canceled)
	<-fired
	c.disarm()
	c2.disarm()
}

func registered(c *callCtx) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.more)
	for _, f := range c.slots[:c.nslot] {
		if f != nil {
			n++
		}
	}
	return n
}

// TestCallCtxAfterFuncMany: more functions than the preallocated slots;
// each one runs or is stopped, and a rearmed callCtx starts empty.
func TestCallCtxAfterFuncMany(t *testing.T) {
	var c callCtx
	for round := range 2 {
		c.arm(time.Now().Add(time.Hour))
		const n = maxReplicas + 5
		var ran [n]atomic.Bool
		var wg sync.WaitGroup
		stops := make([]func() bool, n)
		for i := range n {
			stops[i] = c.AfterFunc(func() { ran[i].Store(true); wg.Done() })
		}
		for i := 0; i < n; i += 3 {
			if !stops[i]() {
				t.Fatalf("round %d: stop %d = false", round, i)
			}
		}
		if round == 0 {
			// Stop the rest too: nothing runs, and the callCtx is reusable.
			for i := range n {
				if i%3 != 0 && !stops[i]() {
					t.Fatalf("stop %d = false", i)
				}
			}
			if !c.disarm() {
				t.Fatal("disarm = false")
			}
			for i := range n {
				if ran[i].Load() {
					t.Fatalf("stopped function %d ran", i)
				}
			}
			continue
		}
		wg.Add(n - (n+2)/3)
		c.cancel(context.Canceled)
		wg.Wait()
		for i := range n {
			if ran[i].Load() != (i%3 != 0) {
				t.Errorf("function %d ran = %v", i, ran[i].Load())
			}
			if i%3 != 0 && stops[i]() {
				t.Errorf("stop %d after it ran = true", i)
			}
		}
		c.disarm()
	}
}
