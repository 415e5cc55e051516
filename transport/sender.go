package transport

import (
	"errors"
	"runtime"
	"sync"

	"github.com/quic-go/quic-go"
)

// streamWriter is what a sender needs from a *quic.Stream.
type streamWriter interface {
	Write(p []byte) (int, error)
	TryWriteAll(p []byte) error
}

// directWriteMax is the largest batch handed to QUIC without blocking. A larger
// batch, or one QUIC cannot take at once (flow control), is written by a
// background goroutine whose blocking Write waits without holding up callers.
const directWriteMax = 256 << 10

// sender writes frames to one stream from many goroutines, coalescing them.
//
// Every frame is appended to pending. The goroutine that finds no writer
// active becomes the writer: it yields once (runtime.Gosched) so that the
// goroutines made runnable by the same incoming packet (callers woken by
// their replies, handlers started by their requests) append their frames
// first, then hands the whole batch to QUIC in one TryWriteAll, which QUIC
// packs into as few packets as fit. With one caller the yield costs
// nothing; with many, one packet carries many frames, which is where the
// throughput comes from: the per-packet cost (a sendmsg and a recvmmsg on
// each side, AEAD, ack processing) dwarfs the per-frame cost.
//
// If frames arrive while a write is in progress, a flush goroutine takes over
// so that the caller that wrote first does not loop on the others' frames.
type sender struct {
	w     streamWriter
	spawn func(func()) bool // Transport.spawn

	mu      sync.Mutex
	pending []byte
	spare   []byte
	writing bool  // a goroutine owns the write side; others only append
	err     error // first write error; later sends fail with it
}

func newSender(w streamWriter, spawn func(func()) bool) *sender {
	return &sender{w: w, spawn: spawn}
}

func (s *sender) send(t frameType, id uint64, payload []byte) error {
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return err
	}
	s.pending = appendFrame(s.pending, t, id, payload)
	return s.kick()
}

// queue appends a frame without writing it: the caller must call flush
// (or send) before it waits for anything.
func (s *sender) queue(t frameType, id uint64, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.pending = appendFrame(s.pending, t, id, payload)
	return nil
}

// flushQueued writes the frames queue appended, unless a writer is active
// (it takes them).
func (s *sender) flushQueued() error {
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return err
	}
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return nil
	}
	return s.kick()
}

func (s *sender) sendError(id uint64, code RemoteCode, msg string) error {
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return err
	}
	s.pending = appendErrorFrame(s.pending, id, code, msg)
	return s.kick()
}

// kick is called with s.mu held after appending, and releases it.
func (s *sender) kick() error {
	if s.writing {
		s.mu.Unlock()
		return nil
	}
	s.writing = true
	s.mu.Unlock()

	runtime.Gosched()
	s.mu.Lock()
	buf := s.pending
	s.pending = s.spare[:0]
	s.spare = nil
	s.mu.Unlock()
	if len(buf) <= directWriteMax {
		err := s.w.TryWriteAll(buf)
		if err == nil {
			s.mu.Lock()
			s.recycle(buf)
			if len(s.pending) == 0 {
				s.writing = false
				s.mu.Unlock()
				return nil
			}
			s.mu.Unlock()
			buf = nil
		} else if !errors.Is(err, quic.ErrWouldBlock) {
			s.fail(err)
			return err
		}
	}
	// Hand over to a flush goroutine: buf (if any) first, then what piles up.
	if !s.spawn(func() { s.flush(buf) }) {
		s.fail(ErrClosed)
		return ErrClosed
	}
	return nil
}

func (s *sender) recycle(buf []byte) {
	if cap(buf) <= 1<<20 && s.spare == nil {
		s.spare = buf[:0]
	}
}

func (s *sender) flush(buf []byte) {
	for {
		if len(buf) > 0 {
			if _, err := s.w.Write(buf); err != nil {
				s.fail(err)
				return
			}
		}
		runtime.Gosched()
		s.mu.Lock()
		if buf != nil {
			s.recycle(buf)
		}
		if len(s.pending) == 0 || s.err != nil {
			s.writing = false
			s.mu.Unlock()
			return
		}
		buf = s.pending
		s.pending = s.spare[:0]
		s.spare = nil
		s.mu.Unlock()
	}
}

// fail makes later sends return err and drops what is pending.
func (s *sender) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.pending = nil
	s.writing = false
	s.mu.Unlock()
}
