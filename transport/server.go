package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/quic-go/quic-go"
)

// acceptLoop accepts connections dialled by peers; they only carry the
// peers' requests to this node's handler.
func (t *Transport) acceptLoop() {
	defer t.wg.Done()
	for {
		qc, err := t.ln.Accept(t.ctx)
		if err != nil {
			return
		}
		t.wg.Add(1)
		go t.serveConn(qc)
	}
}

// serverConn is an accepted connection.
type serverConn struct {
	t    *Transport
	qc   *quic.Conn
	from Peer
	sem  chan struct{} // bounds concurrent handlers
	once sync.Once
}

func (t *Transport) serveConn(qc *quic.Conn) {
	defer t.wg.Done()
	t.accepted.Add(1)
	defer t.accepted.Add(-1)
	sc := &serverConn{
		t:    t,
		qc:   qc,
		from: Peer{Addr: qc.RemoteAddr().String()},
		sem:  make(chan struct{}, t.cfg.MaxConcurrentHandlers),
	}
	if certs := qc.ConnectionState().TLS.PeerCertificates; len(certs) > 0 {
		sc.from.Name = certs[0].Subject.CommonName
	}
	for {
		s, err := qc.AcceptStream(t.ctx)
		if err != nil {
			sc.close(codeClosing)
			return
		}
		t.wg.Add(1)
		go sc.serveStream(s)
	}
}

func (sc *serverConn) close(code quic.ApplicationErrorCode) {
	sc.once.Do(func() {
		if code == codeProtocol {
			sc.qc.CloseWithError(code, "protocol error")
		} else {
			sc.qc.CloseWithError(code, "")
		}
	})
}

// serveStream reads requests from one stream. For each request it hands
// the reading over to a fresh goroutine and runs the handler itself: the
// handler starts without waiting for a goroutine to be scheduled (one
// scheduler hop less per call than "go handle(req)"), and a slow handler
// still never delays the requests behind it. Replies share the stream's
// sender, so they coalesce like requests do. Requests Config.Inline selects
// are served by the reader itself, with no goroutine handed over.
func (sc *serverConn) serveStream(s *quic.Stream) {
	sc.readRequests(s, newFrameReader(s, sc.t.cfg.MaxMessageSize), newSender(s, sc.t.spawn))
}

func (sc *serverConn) readRequests(s *quic.Stream, fr *frameReader, tx *sender) {
	t := sc.t
	defer t.wg.Done()
	ctx := sc.qc.Context()
	for {
		typ, id, req, err := fr.next()
		if err != nil {
			var tl *tooLargeError
			if errors.As(err, &tl) && tl.typ == frameRequest {
				msg := fmt.Sprintf("request of %d bytes, maximum %d", tl.n, t.cfg.MaxMessageSize)
				if tx.sendError(id, CodeTooLarge, msg) != nil {
					return
				}
				continue
			}
			if errors.Is(err, errProtocol) || errors.Is(err, io.ErrUnexpectedEOF) || tl != nil {
				t.log.Warn("transport: closing connection", "peer", sc.from.Addr, "err", err)
				sc.close(codeProtocol)
			} else if err != io.EOF {
				s.CancelRead(0)
			}
			s.CancelWrite(0)
			return
		}
		if typ != frameRequest {
			t.log.Warn("transport: closing connection", "peer", sc.from.Addr, "err", "reply frame on an accepted stream")
			sc.close(codeProtocol)
			return
		}
		if t.handler == nil {
			if tx.sendError(id, CodeNoHandler, "") != nil {
				return
			}
			continue
		}
		select {
		case sc.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if t.cfg.Inline != nil && t.cfg.Inline(req) {
			// Served here: no goroutine to start. The reply is queued, and
			// written once no further whole request is buffered, so the
			// replies to requests that came in one packet leave in one.
			sc.handle(ctx, tx, id, req, !fr.buffered())
			continue
		}
		if tx.flushQueued() != nil {
			<-sc.sem
			return
		}
		t.wg.Add(1)
		go sc.readRequests(s, fr, tx)
		sc.handle(ctx, tx, id, req, true)
		return
	}
}

// handle runs the handler and sends its reply; with flush false the reply
// is only queued (see sender.queue).
func (sc *serverConn) handle(ctx context.Context, tx *sender, id uint64, req []byte, flush bool) {
	t := sc.t
	defer func() { <-sc.sem }()
	reply, err := t.handler(ctx, sc.from, req)
	switch {
	case err != nil:
		tx.sendError(id, CodeHandler, err.Error())
	case len(reply) > t.cfg.MaxMessageSize:
		tx.sendError(id, CodeTooLarge, fmt.Sprintf("reply of %d bytes, maximum %d", len(reply), t.cfg.MaxMessageSize))
	case flush:
		tx.send(frameReply, id, reply)
	default:
		tx.queue(frameReply, id, reply)
	}
}
