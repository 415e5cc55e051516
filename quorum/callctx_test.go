package quorum

import (
	"context"
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
	if len(c.afters) != 0 {
		t.Fatalf("%d functions still registered", len(c.afters))
	}
	// context.AfterFunc uses the method (no goroutine of its own).
	var c2 callCtx
	c2.arm(time.Now().Add(time.Hour))
	fired := make(chan struct{})
	context.AfterFunc(&c2, func() { close(fired) })
	if len(c2.afters) != 1 {
		t.Fatalf("context.AfterFunc registered %d functions through the method, want 1", len(c2.afters))
	}
	c2.cancel(context.Canceled)
	<-fired
	c.disarm()
	c2.disarm()
}
