package transport

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults used for zero fields of Config.
const (
	DefaultMaxMessageSize        = 16 << 20
	DefaultMaxInFlightPerPeer    = 4096
	DefaultMaxConcurrentHandlers = 1024
	DefaultStreamsPerConn        = 1
	DefaultDialTimeout           = 5 * time.Second
	DefaultIdleTimeout           = 6 * time.Second
	DefaultReconnectBackoff      = 20 * time.Millisecond
	DefaultMaxReconnectBackoff   = 2 * time.Second

	maxStreamsPerConn = 16
)

// Config tunes a Transport. The zero value (and a nil *Config) means
// defaults; a negative value is an error. A Config may be shared by several
// Transports: it is only read.
type Config struct {
	// MaxMessageSize bounds requests and replies, in bytes. A frame that
	// announces more is never allocated: its payload is discarded and the
	// call fails with ErrMessageTooLarge. Default 16 MiB, at most 1 GiB.
	MaxMessageSize int

	// MaxInFlightPerPeer bounds the calls to one peer that are waiting for a
	// reply; further Calls block until a slot frees or their ctx ends.
	// Default 4096.
	MaxInFlightPerPeer int

	// MaxConcurrentHandlers bounds the handlers running for one incoming
	// connection. When it is reached the connection's streams stop being read
	// and QUIC flow control pushes back on the caller. Default 1024.
	MaxConcurrentHandlers int

	// StreamsPerConn is the number of long-lived streams a connection
	// multiplexes calls over. More streams avoid head-of-line blocking under
	// loss, fewer coalesce better. Default 1, at most 16.
	StreamsPerConn int

	// DialTimeout bounds a connection attempt including the handshake.
	// Default 5s.
	DialTimeout time.Duration

	// IdleTimeout closes a connection after that long without any packet from
	// the peer; keep-alives are sent every IdleTimeout/3, so only a dead or
	// partitioned peer hits it. Default 6s.
	IdleTimeout time.Duration

	// ReconnectBackoff is the delay before redialling a peer after the first
	// failed attempt; it doubles per further failure up to MaxReconnectBackoff.
	// Defaults 20ms and 2s.
	ReconnectBackoff    time.Duration
	MaxReconnectBackoff time.Duration

	// StatelessResetKey lets a restarted node tell its peers, within one round
	// trip, that their connections to it are gone. It must be secret and must
	// survive restarts of the node. If nil, it is derived from the private key
	// of the first certificate of the tls.Config (which a restarted node
	// reloads), or random if there is none.
	StatelessResetKey *[32]byte

	// Inline, if set, picks the requests served on the goroutine that reads
	// their stream instead of a goroutine of their own: it is called with
	// each request and, for those it reports true, the Handler must be quick
	// and must never block (no I/O, no waiting on other calls or on locks
	// held across them), since the requests behind it on the stream wait.
	// Replies to inline requests that arrived together are written
	// together. Inline must not retain req. Nil: every request gets its
	// own goroutine.
	Inline func(req []byte) bool

	// Logger receives connection-level events (dial failures, protocol
	// errors). Nil means silent. Never used on the per-call path.
	Logger *slog.Logger
}

// validate checks c and returns a copy with defaults filled in.
func (c *Config) withDefaults() (Config, error) {
	var r Config
	if c != nil {
		r = *c
	}
	checks := []struct {
		name string
		v    int64
		max  int64
	}{
		{"MaxMessageSize", int64(r.MaxMessageSize), 1 << 30},
		{"MaxInFlightPerPeer", int64(r.MaxInFlightPerPeer), 1 << 20},
		{"MaxConcurrentHandlers", int64(r.MaxConcurrentHandlers), 1 << 20},
		{"StreamsPerConn", int64(r.StreamsPerConn), maxStreamsPerConn},
		{"DialTimeout", int64(r.DialTimeout), -1},
		{"IdleTimeout", int64(r.IdleTimeout), -1},
		{"ReconnectBackoff", int64(r.ReconnectBackoff), -1},
		{"MaxReconnectBackoff", int64(r.MaxReconnectBackoff), -1},
	}
	for _, ch := range checks {
		if ch.v < 0 {
			return r, fmt.Errorf("transport: invalid config: %s is negative (%d)", ch.name, ch.v)
		}
		if ch.max > 0 && ch.v > ch.max {
			return r, fmt.Errorf("transport: invalid config: %s %d exceeds the maximum %d", ch.name, ch.v, ch.max)
		}
	}
	def := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	defD := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	def(&r.MaxMessageSize, DefaultMaxMessageSize)
	def(&r.MaxInFlightPerPeer, DefaultMaxInFlightPerPeer)
	def(&r.MaxConcurrentHandlers, DefaultMaxConcurrentHandlers)
	def(&r.StreamsPerConn, DefaultStreamsPerConn)
	defD(&r.DialTimeout, DefaultDialTimeout)
	defD(&r.IdleTimeout, DefaultIdleTimeout)
	defD(&r.ReconnectBackoff, DefaultReconnectBackoff)
	defD(&r.MaxReconnectBackoff, DefaultMaxReconnectBackoff)
	if r.MaxReconnectBackoff < r.ReconnectBackoff {
		return r, fmt.Errorf("transport: invalid config: MaxReconnectBackoff %v is below ReconnectBackoff %v",
			r.MaxReconnectBackoff, r.ReconnectBackoff)
	}
	if r.IdleTimeout < 30*time.Millisecond {
		return r, fmt.Errorf("transport: invalid config: IdleTimeout %v is below 30ms", r.IdleTimeout)
	}
	return r, nil
}
