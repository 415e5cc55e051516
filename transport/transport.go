package transport

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
)

// ALPN is the TLS application protocol GridKV nodes negotiate.
const ALPN = "gridkv-transport/1"

// Handler serves one request. It runs on its own goroutine, concurrently with
// other handlers (at most Config.MaxConcurrentHandlers per connection), and
// must be safe for concurrent use; requests Config.Inline selects run on the
// goroutine that reads their stream instead. ctx ends when the connection or the
// Transport closes; Close waits for handlers, so they must honour ctx.
// The handler owns req. A returned error reaches the caller as a
// *RemoteError with CodeHandler and the error's text.
type Handler func(ctx context.Context, from Peer, req []byte) ([]byte, error)

// Peer identifies the sender of a request.
type Peer struct {
	// Addr is the sender's own listening address ("ip:port"): a Transport
	// dials from its listening socket, so Call(ctx, from.Addr, ...) reaches it.
	Addr string
	// Name is the Common Name of the sender's verified certificate.
	Name string
}

// Transport sends calls to peers and serves calls from them over one UDP
// socket. It is safe for concurrent use.
type Transport struct {
	cfg       Config
	handler   Handler
	pc        net.PacketConn
	qt        *quic.Transport
	ln        *quic.Listener
	qconf     *quic.Config
	clientTLS *tls.Config
	log       *slog.Logger

	ctx    context.Context // ends at Close; parent of dials and handlers
	cancel context.CancelFunc
	peers  sync.Map  // string -> *peer
	calls  sync.Pool // *call
	// accepted counts live accepted connections (for tests).
	accepted atomic.Int64
	wg       sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
	spawnMu   sync.RWMutex
	stopping  bool // set by Close before it waits for wg
}

// spawn runs f on a goroutine that Close waits for, unless Close has begun
// (then it returns false). Goroutines that are themselves tracked may use
// wg directly; spawn is for the ones started from callers' goroutines.
func (t *Transport) spawn(f func()) bool {
	t.spawnMu.RLock()
	defer t.spawnMu.RUnlock()
	if t.stopping {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// Listen opens a UDP socket on addr ("127.0.0.1:0" picks a free port) and
// returns a Transport serving h on it. See New.
func Listen(addr string, tlsConf *tls.Config, h Handler, conf *Config) (*Transport, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %q: %w", addr, err)
	}
	pc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %q: %w", addr, err)
	}
	t, err := New(pc, tlsConf, h, conf)
	if err != nil {
		pc.Close()
		return nil, err
	}
	return t, nil
}

// New returns a Transport using pc (a *net.UDPConn, a faultnet wrapper or an
// in-memory socket) for both directions: it accepts connections on pc and
// dials peers from it. The Transport owns pc and closes it in Close.
//
// tlsConf must hold this node's certificate and the cluster CA (see NodeTLS,
// InsecureDevTLS); it is cloned, and the clone is made mutual: peers must
// present a certificate that verifies against ClientCAs (or RootCAs when
// ClientCAs is nil). ServerName defaults to DefaultServerName. h may be nil
// for a Transport that only calls out; calls to it fail with ErrNoHandler.
func New(pc net.PacketConn, tlsConf *tls.Config, h Handler, conf *Config) (*Transport, error) {
	cfg, err := conf.withDefaults()
	if err != nil {
		return nil, err
	}
	if pc == nil {
		return nil, fmt.Errorf("transport: nil PacketConn")
	}
	serverTLS, clientTLS, err := mutualTLS(tlsConf)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	resetKey := quic.StatelessResetKey(deriveResetKey(cfg.StatelessResetKey, tlsConf))
	t := &Transport{
		cfg:       cfg,
		handler:   h,
		pc:        pc,
		clientTLS: clientTLS,
		log:       log,
	}
	t.qconf = &quic.Config{
		HandshakeIdleTimeout:           cfg.DialTimeout,
		MaxIdleTimeout:                 cfg.IdleTimeout,
		KeepAlivePeriod:                cfg.IdleTimeout / 3,
		InitialStreamReceiveWindow:     4 << 20,
		MaxStreamReceiveWindow:         32 << 20,
		InitialConnectionReceiveWindow: 8 << 20,
		MaxConnectionReceiveWindow:     64 << 20,
		MaxIncomingStreams:             maxStreamsPerConn, // whatever the dialler's StreamsPerConn
		MaxIncomingUniStreams:          -1,
	}
	t.qt = &quic.Transport{Conn: pc, StatelessResetKey: &resetKey}
	t.ln, err = t.qt.Listen(serverTLS, t.qconf)
	if err != nil {
		t.qt.Close()
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr returns the local address; its String form is what peers pass to Call.
func (t *Transport) Addr() net.Addr { return t.pc.LocalAddr() }

// Close stops all goroutines, closes every connection and the socket, and
// waits for running handlers to return. Calls in flight and later calls fail
// with ErrClosed. Close is idempotent.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.cancel()
		t.ln.Close()
		t.peers.Range(func(_, v any) bool {
			v.(*peer).close()
			return true
		})
		// Closing the quic.Transport destroys every connection, which ends
		// all stream readers, flushers and handler contexts.
		t.qt.Close()
		t.closeErr = t.pc.Close()
		t.spawnMu.Lock()
		t.stopping = true
		t.spawnMu.Unlock()
		t.wg.Wait()
	})
	return t.closeErr
}

func (t *Transport) closed() bool { return t.ctx.Err() != nil }

// deriveResetKey picks the stateless reset key: the configured one, else one
// derived from the certificate's private key (stable across restarts of the
// node), else random.
func deriveResetKey(k *[32]byte, tlsConf *tls.Config) [32]byte {
	if k != nil {
		return *k
	}
	if tlsConf != nil && len(tlsConf.Certificates) > 0 && tlsConf.Certificates[0].PrivateKey != nil {
		if der, err := x509.MarshalPKCS8PrivateKey(tlsConf.Certificates[0].PrivateKey); err == nil {
			h := sha256.New()
			h.Write([]byte("gridkv transport stateless reset key v1\x00"))
			h.Write(der)
			var out [32]byte
			copy(out[:], h.Sum(nil))
			return out
		}
	}
	var out [32]byte
	rand.Read(out[:])
	return out
}
