package server

import (
	"context"
	"sync"
	"time"
)

// cmdCtx is the context of a session's commands: it carries the deadline
// of the command in progress (Config.CommandTimeout from its start) and
// is re-armed for each command, so that a command allocates no context
// and no timer (context.WithTimeout cost 3 of the 4 allocations of a GET
// through Exec). Its done channel and timer are replaced only after a
// deadline passed.
//
// A KV method must not use its context once it returned (see KV): the
// next command of the session re-arms it.
type cmdCtx struct {
	deadline time.Time
	done     chan struct{}
	timer    *time.Timer // fires expire at the deadline

	mu  sync.Mutex
	err error
}

var _ context.Context = (*cmdCtx)(nil)

func (c *cmdCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *cmdCtx) Done() <-chan struct{}       { return c.done }
func (c *cmdCtx) Value(any) any               { return nil }

func (c *cmdCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *cmdCtx) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = context.DeadlineExceeded
		close(c.done)
	}
}

// beginCommand returns the context of the session's next command, whose
// deadline is d from now. A parent that is done (the server closed) is
// returned as it is. endCommand must follow once the command returned.
func (s *Session) beginCommand(parent context.Context, d time.Duration) context.Context {
	if parent.Err() != nil {
		return parent
	}
	c := s.cx
	if c == nil {
		c = &cmdCtx{done: make(chan struct{})}
		s.cx = c
	}
	c.deadline = time.Now().Add(d)
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.expire)
	} else {
		c.timer.Reset(d)
	}
	return c
}

// endCommand stops the deadline of the command that began with
// beginCommand. A context whose deadline passed, or whose timer is firing
// now, is dropped: its expire may still run, and must not end the next
// command.
func (s *Session) endCommand() {
	c := s.cx
	if c == nil || c.timer == nil {
		return
	}
	if !c.timer.Stop() {
		s.cx = nil
	}
}
