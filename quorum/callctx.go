package quorum

import (
	"context"
	"slices"
	"sync"
	"time"
)

// callCtx is the context of one batchCall's network calls: it carries the
// operation's deadline and is canceled by Node.Close. It is part of the
// pooled batchCall, with its done channel and deadline timer, so that the
// common operation (finished before its deadline) allocates neither: the
// channel is replaced only after it was closed, the timer only after it
// fired. context.WithDeadline would cost four allocations per operation.
//
// Network.Call must not use the context after it returns (the same rule
// as for req); it is reused by a later operation.
type callCtx struct {
	deadline time.Time
	done     chan struct{}
	timer    *time.Timer // fires expire at the deadline

	mu  sync.Mutex
	err error
	// Functions registered by AfterFunc since arm, run by cancel: the
	// first maxReplicas (a batchCall calls each target once) in slots
	// whose stop functions are made once and kept with the pooled
	// callCtx, the others in more.
	slots [maxReplicas]func() // nil once stopped or run
	nslot int
	stops [maxReplicas]func() bool // stops[k] unregisters slots[k]
	more  []afterFunc
	seq   uint64 // ids of more
}

type afterFunc struct {
	id uint64
	f  func()
}

var _ context.Context = (*callCtx)(nil)

func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *callCtx) Done() <-chan struct{}       { return c.done }
func (c *callCtx) Value(any) any               { return nil }

func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *callCtx) cancel(err error) {
	c.mu.Lock()
	var fs []func()
	if c.err == nil {
		c.err = err
		close(c.done)
		for k, f := range c.slots[:c.nslot] {
			if f != nil {
				fs = append(fs, f)
				c.slots[k] = nil
			}
		}
		for _, a := range c.more {
			fs = append(fs, a.f)
		}
		c.more = nil
	}
	c.mu.Unlock()
	for _, f := range fs {
		go f()
	}
}

// AfterFunc is context.AfterFunc for a callCtx (which context.AfterFunc
// and AsyncNetwork implementations look for): f runs on its own goroutine
// once c is canceled; stop unregisters it and reports whether it did so
// before it ran. Unlike context.AfterFunc it allocates nothing for the
// first maxReplicas functions after arm, and it never needs a goroutine
// to watch c. stop must not be called once the operation ended (the
// rule of Network.Call for ctx): c is reused.
func (c *callCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	if k := c.nslot; k < len(c.slots) {
		c.nslot++
		c.slots[k] = f
		if c.stops[k] == nil {
			c.stops[k] = func() bool { return c.stopSlot(k) }
		}
		return c.stops[k]
	}
	c.seq++
	id := c.seq
	c.more = append(c.more, afterFunc{id: id, f: f})
	return func() bool { return c.stopMore(id) }
}

func (c *callCtx) expire() { c.cancel(context.DeadlineExceeded) }

func (c *callCtx) stopSlot(k int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	stopped := c.slots[k] != nil
	c.slots[k] = nil
	return stopped
}

func (c *callCtx) stopMore(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, a := range c.more {
		if a.id == id {
			c.more = slices.Delete(c.more, i, i+1)
			return true
		}
	}
	return false
}

// arm prepares c for a new operation. The caller owns c exclusively (no
// goroutine of a previous operation uses it any more, and its timer is
// stopped: see disarm).
func (c *callCtx) arm(deadline time.Time) {
	c.deadline = deadline
	clear(c.slots[:c.nslot]) // all nil unless a network forgot to stop one
	c.nslot = 0
	c.more = nil
	if c.done == nil || c.err != nil {
		c.done = make(chan struct{})
		c.err = nil
	}
	d := time.Until(deadline)
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.expire)
	} else {
		c.timer.Reset(d)
	}
}

// disarm stops the deadline timer and reports whether c can be reused:
// false if the timer fired (its function may still be running, and must
// not cancel the next operation) or c was canceled.
func (c *callCtx) disarm() bool {
	if !c.timer.Stop() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil
}

// liveCalls lets Close cancel the contexts of the calls in flight.
type liveCalls struct {
	mu     sync.Mutex
	closed bool
	m      map[*batchCall]struct{}
}

// add registers c; if the Node is closed it cancels c at once.
func (l *liveCalls) add(c *batchCall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.cx.cancel(context.Canceled)
		return
	}
	if l.m == nil {
		l.m = make(map[*batchCall]struct{})
	}
	l.m[c] = struct{}{}
}

func (l *liveCalls) remove(c *batchCall) {
	l.mu.Lock()
	delete(l.m, c)
	l.mu.Unlock()
}

// closeAll cancels every registered call and refuses new ones.
func (l *liveCalls) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for c := range l.m {
		c.cx.cancel(context.Canceled)
	}
}
