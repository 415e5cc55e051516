package transport

import (
	"errors"
	"sync"

	"github.com/quic-go/quic-go"
)

// streamWriter is what a sender needs from a *quic.Stream.
type streamWriter interface {
	Write(p []byte) (int, error)
	TryWriteAll(p []byte) error
}

// directWriteMax is the largest frame a caller hands to QUIC itself. Larger
// frames go through the background writer, whose blocking Write waits for flow
// control without holding up callers.
const directWriteMax = 64 << 10

// sender writes frames to one stream from many goroutines.
//
// Coalescing: a small frame is queued directly with TryWriteAll, which only
// appends to the stream's pending STREAM frame; QUIC's send loop packs
// everything that accumulated since its last packet into one packet, so
// concurrent calls share packets without an extra goroutine hop. When QUIC
// cannot take the frame at once (flow control, large frame, a blocking
// Write in progress) frames are appended to pending and one background
// goroutine writes them together with a single Write per batch.
type sender struct {
	w       streamWriter
	wg      *sync.WaitGroup
	mu      sync.Mutex
	scratch []byte
	pending []byte
	writing bool  // a flush goroutine owns pending
	err     error // first write error; later sends fail with it
}

func newSender(w streamWriter, wg *sync.WaitGroup) *sender {
	return &sender{w: w, wg: wg}
}

func (s *sender) send(t frameType, id uint64, payload []byte) error {
	return s.sendFrame(func(b []byte) []byte { return appendFrame(b, t, id, payload) },
		frameHeaderLen+len(payload))
}

func (s *sender) sendError(id uint64, code RemoteCode, msg string) error {
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	return s.sendFrame(func(b []byte) []byte { return appendErrorFrame(b, id, code, msg) },
		frameHeaderLen+1+len(msg))
}

func (s *sender) sendFrame(appendTo func([]byte) []byte, size int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if !s.writing && size <= directWriteMax {
		s.scratch = appendTo(s.scratch[:0])
		err := s.w.TryWriteAll(s.scratch)
		if err == nil {
			return nil
		}
		if !errors.Is(err, quic.ErrWouldBlock) {
			s.err = err
			return err
		}
		s.pending = append(s.pending, s.scratch...)
	} else {
		s.pending = appendTo(s.pending)
	}
	if !s.writing {
		s.writing = true
		s.wg.Add(1)
		go s.flush()
	}
	return nil
}

func (s *sender) flush() {
	defer s.wg.Done()
	var buf []byte
	for {
		s.mu.Lock()
		if len(s.pending) == 0 || s.err != nil {
			s.writing = false
			s.pending = nil
			s.mu.Unlock()
			return
		}
		buf, s.pending = s.pending, buf[:0]
		if cap(s.pending) > 1<<20 {
			s.pending = nil
		}
		s.mu.Unlock()
		if _, err := s.w.Write(buf); err != nil {
			s.fail(err)
		}
	}
}

// fail makes later sends return err.
func (s *sender) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}
