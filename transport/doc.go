// Package transport is GridKV's node-to-node RPC: opaque byte requests and
// replies between the nodes of a cluster, over QUIC (quic-go), authenticated
// by mutual TLS. It knows nothing of the messages it carries; quorum defines
// their encoding on top.
//
// Usage:
//
//  1. Give every node a tls.Config from one cluster CA: NewCA once, CA.NodeCert
//     per node, NodeTLS(caPEM, certPEM, keyPEM) on the node (PEM, so they can
//     live in files). InsecureDevTLS does all of it in memory for tests.
//  2. Start a node: tr, err := transport.Listen("127.0.0.1:7000", tlsConf, handler, nil)
//     (or New with any net.PacketConn, such as a faultnet socket). A nil
//     *Config means defaults; defer tr.Close().
//  3. Call a peer by its address: reply, err := tr.Call(ctx, "127.0.0.1:7001", req).
//     The handler of the peer sees the caller as Peer{Addr, Name}.
//     tr.Go(ctx, addr, req, done) starts the same call without waiting: done
//     gets the reply on the goroutine that reads it. While the connection
//     is up and one of the peer's MaxInFlightPerPeer slots is free, that
//     costs no goroutine per call; otherwise Go runs Call on a goroutine.
//  4. Tell errors apart with errors.Is: ErrUnreachable (no connection),
//     ErrConnectionLost (broke mid-call: the request may have run),
//     ErrMessageTooLarge, ErrClosed, ctx's error; a handler's error arrives as
//     a *RemoteError.
//
// # Connections
//
// A Transport uses one UDP socket to accept connections and to dial. The
// first Call to an address dials one QUIC connection, which every later
// call shares; a broken connection is replaced by the next Call, after a
// backoff (Config.ReconnectBackoff doubling up to MaxReconnectBackoff) if
// dialling failed. A Call whose deadline ends before the backoff does fails
// at once with ErrUnreachable instead of waiting.
//
// Calls only travel on connections the calling side dialled, and accepted
// connections only serve: when two nodes dial each other at the same time
// each ends up with exactly one connection per direction, and neither has to
// be torn down. The cost is two connections per pair of nodes that call each
// other (memory per idle connection: see BenchmarkIdleConnMemory).
//
// Keep-alives every IdleTimeout/3 keep connections open; a peer silent for
// IdleTimeout (default 6s) is dropped. A peer that restarts on the same
// address is noticed within one round trip: it answers the old connection's
// packets with a QUIC stateless reset, so the call in flight fails with
// ErrConnectionLost at once and the next call dials. That needs the same
// stateless reset key before and after the restart: by default it is
// derived from the node's TLS private key (Config.StatelessResetKey to set
// it explicitly).
//
// # Multiplexing and batching
//
// Each connection carries Config.StreamsPerConn (default 1) long-lived
// bidirectional streams; a call is a request frame with a fresh id on one of
// them and a reply frame with the same id coming back, matched to the
// waiting caller. Frames from concurrent callers are coalesced: each is
// appended to the stream's pending bytes, and whoever writes yields first so
// that the other runnable callers add theirs, then hands the batch to QUIC in
// one write. Under load one packet carries many calls, which is what lets 32
// callers on one connection go several times faster than 32 TCP connections.
// A lone caller pays nothing for it.
//
// Handlers run concurrently, at most Config.MaxConcurrentHandlers per
// connection, so a slow handler never delays other calls; beyond the bound
// the connection stops being read and QUIC flow control pushes back.
// Requests that Config.Inline selects (quick ones whose handler never
// blocks) are served on the goroutine that reads their stream instead, one
// after the other, and the replies to the requests that arrived together
// leave in one write.
// Callers are bounded too: at most Config.MaxInFlightPerPeer calls wait for
// replies from one peer, further Calls block until a slot frees or their ctx
// ends. Nothing is queued without bound.
//
// # Wire format
//
// Frames on a stream, integers big endian:
//
//	[type u8][id u64][len u32][payload: len bytes]
//
//	type 1  request  dialling side -> accepting side
//	type 2  reply    payload is the handler's reply
//	type 3  error    payload is [code u8][message]; code 1 handler error,
//	                 2 message too large, 3 no handler
//
// TLS negotiates ALPN "gridkv-transport/1"; a future incompatible format gets
// a new ALPN.
//
// # Limits and bad input
//
// The length of a frame is checked against Config.MaxMessageSize (default
// 16 MiB) before anything is allocated, and a payload above 64 KiB is
// allocated as its bytes arrive (at most about twice what was received), so
// a header alone never reserves memory. An oversized request is refused by
// the caller before sending; one that arrives anyway (the peers' limits
// differ) is read and discarded, and answered with an error frame, so the
// connection stays usable; the same for an oversized reply. An unknown frame
// type, a frame in the wrong direction, or a stream that ends inside a frame
// closes that connection with a protocol error; other connections are not
// affected. Datagrams that are not QUIC, and handshakes without a
// certificate from the cluster CA, never reach the handler.
//
// # Hazards
//
//   - A handler's ctx ends when its connection or the Transport closes, not
//     when the caller gives up: the wire carries no cancellation.
//   - ErrConnectionLost and ctx errors do not say whether the handler ran;
//     retry only idempotent requests (quorum's versioned writes are).
//   - Close waits for running handlers: handlers must return when ctx ends.
//   - A panic in a handler is not recovered: it is a bug and crashes the node.
//   - Peers are addressed by "ip:port" strings (no DNS); use the string the
//     peer's Addr or Peer.Addr gives.
//   - Every Transport given the InsecureDevTLS configuration trusts every
//     other: never use it in production.
//
// The subpackage faultnet provides the fault-injecting net.PacketConn and the
// in-memory network that the tests use, for tests of code built on this one.
package transport
