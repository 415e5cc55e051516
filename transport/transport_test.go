package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// devTLS is shared by the tests of this package: generating keys is slow.
var devTLS = sync.OnceValues(InsecureDevTLS)

func testTLS(t testing.TB) *tls.Config {
	t.Helper()
	c, err := devTLS()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func echo(_ context.Context, _ Peer, req []byte) ([]byte, error) { return req, nil }

func newTestTransport(t testing.TB, h Handler, conf *Config) *Transport {
	t.Helper()
	tr, err := Listen("127.0.0.1:0", testTLS(t), h, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func callCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRoundTrip(t *testing.T) {
	srv := newTestTransport(t, func(_ context.Context, from Peer, req []byte) ([]byte, error) {
		if string(req) == "fail" {
			return nil, errors.New("handler says no")
		}
		return append([]byte(from.Name+":"), req...), nil
	}, nil)
	cli := newTestTransport(t, nil, nil)
	ctx := callCtx(t)
	for i := range 10 {
		req := fmt.Appendf(nil, "hello %d", i)
		got, err := cli.Call(ctx, srv.Addr().String(), req)
		if err != nil {
			t.Fatal(err)
		}
		if want := append([]byte("gridkv-dev-node:"), req...); !bytes.Equal(got, want) {
			t.Fatalf("reply %q, want %q", got, want)
		}
	}
	_, err := cli.Call(ctx, srv.Addr().String(), []byte("fail"))
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != CodeHandler || re.Message != "handler says no" {
		t.Fatalf("err = %v, want RemoteError(handler says no)", err)
	}
	// Empty request and reply.
	got, err := cli.Call(ctx, srv.Addr().String(), nil)
	if err != nil || string(got) != "gridkv-dev-node:" {
		t.Fatalf("empty call = %q, %v", got, err)
	}
	// The server has no handler of its own for calls back.
	_, err = srv.Call(ctx, cli.Addr().String(), []byte("x"))
	if !errors.Is(err, ErrNoHandler) {
		t.Fatalf("call to handler-less transport: %v, want ErrNoHandler", err)
	}
}

func TestConfigValidation(t *testing.T) {
	tlsConf := testTLS(t)
	bad := []struct {
		name string
		conf Config
	}{
		{"negative size", Config{MaxMessageSize: -1}},
		{"huge size", Config{MaxMessageSize: 2 << 30}},
		{"negative in-flight", Config{MaxInFlightPerPeer: -1}},
		{"too many streams", Config{StreamsPerConn: 17}},
		{"negative dial timeout", Config{DialTimeout: -1}},
		{"tiny idle timeout", Config{IdleTimeout: time.Millisecond}},
		{"backoff order", Config{ReconnectBackoff: time.Second, MaxReconnectBackoff: time.Millisecond}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Listen("127.0.0.1:0", tlsConf, echo, &tc.conf)
			if err == nil {
				tr.Close()
				t.Fatal("Listen accepted an invalid config")
			}
			if !strings.HasPrefix(err.Error(), "transport: invalid config: ") {
				t.Fatalf("error %q does not explain the config problem", err)
			}
		})
	}
	t.Run("zero value works", func(t *testing.T) {
		tr, err := Listen("127.0.0.1:0", tlsConf, echo, &Config{})
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
	})
}

func TestTLSRequired(t *testing.T) {
	good := testTLS(t)
	noCert := good.Clone()
	noCert.Certificates = nil
	noCA := good.Clone()
	noCA.RootCAs, noCA.ClientCAs = nil, nil
	skip := good.Clone()
	skip.InsecureSkipVerify = true
	for name, c := range map[string]*tls.Config{"nil": nil, "no certificate": noCert, "no CA": noCA, "skip verify": skip} {
		tr, err := Listen("127.0.0.1:0", c, echo, nil)
		if err == nil {
			tr.Close()
			t.Errorf("%s: Listen accepted the TLS config", name)
		}
	}
}

// TestCallsConcurrentSafe has three nodes call each other from many
// goroutines at once (run it with -race).
func TestCallsConcurrentSafe(t *testing.T) {
	callMesh(t, &Config{StreamsPerConn: 2}, func(g, i int) []byte {
		return fmt.Appendf(nil, "g%d-%d", g, i)
	})
}

// callMesh has three nodes with cfg call each other from 24 goroutines,
// 150 requests each (req(g, i) is goroutine g's i-th), and checks that
// every reply is the callee's name, '/' and the request.
func callMesh(t *testing.T, cfg *Config, req func(g, i int) []byte) {
	t.Helper()
	var nodes []*Transport
	for i := range 3 {
		name := fmt.Sprint(i)
		nodes = append(nodes, newTestTransport(t, func(_ context.Context, _ Peer, req []byte) ([]byte, error) {
			return append([]byte(name+"/"), req...), nil
		}, cfg))
	}
	ctx := callCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 24 {
		from := nodes[g%3]
		to := (g + 1 + g/3%2) % 3
		wg.Go(func() {
			for i := range 150 {
				req := req(g, i)
				got, err := from.Call(ctx, nodes[to].Addr().String(), req)
				if err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("%d/%s", to, req); string(got) != want {
					errs <- fmt.Errorf("reply %q, want %q", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSimultaneousDial: two nodes that call each other at the same moment
// end with one connection per direction, not more.
func TestSimultaneousDial(t *testing.T) {
	a := newTestTransport(t, echo, nil)
	b := newTestTransport(t, echo, nil)
	ctx := callCtx(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := a.Call(ctx, b.Addr().String(), []byte("a")); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := b.Call(ctx, a.Addr().String(), []byte("b")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for name, tr := range map[string]*Transport{"a": a, "b": b} {
		if n := tr.accepted.Load(); n != 1 {
			t.Errorf("%s: %d accepted connections, want 1", name, n)
		}
		n := 0
		tr.peers.Range(func(_, v any) bool {
			if v.(*peer).cur.Load() != nil {
				n++
			}
			return true
		})
		if n != 1 {
			t.Errorf("%s: %d dialled connections, want 1", name, n)
		}
	}
}

func TestOversizedMessages(t *testing.T) {
	const small, big = 64 << 10, 256 << 10
	ctx := callCtx(t)
	replyOf := func(_ context.Context, _ Peer, req []byte) ([]byte, error) {
		n, err := strconv.Atoi(string(req))
		if err != nil {
			return req, nil // echo
		}
		return make([]byte, n), nil
	}
	smallSrv := newTestTransport(t, replyOf, &Config{MaxMessageSize: small})
	bigSrv := newTestTransport(t, replyOf, &Config{MaxMessageSize: big})
	smallCli := newTestTransport(t, nil, &Config{MaxMessageSize: small})
	bigCli := newTestTransport(t, nil, &Config{MaxMessageSize: big})

	check := func(name string, cli, srv *Transport, req []byte, wantErr bool) {
		t.Helper()
		_, err := cli.Call(ctx, srv.Addr().String(), req)
		if wantErr && !errors.Is(err, ErrMessageTooLarge) {
			t.Errorf("%s: err = %v, want ErrMessageTooLarge", name, err)
		}
		if !wantErr && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// The connection keeps working after a refused message.
		if got, err := cli.Call(ctx, srv.Addr().String(), []byte("hi")); err != nil || string(got) != "hi" {
			t.Errorf("%s: call after: %q, %v", name, got, err)
		}
	}
	check("request over own limit", smallCli, bigSrv, make([]byte, small+1), true)
	check("request at limit", smallCli, smallSrv, make([]byte, small), false)
	check("request over peer limit", bigCli, smallSrv, make([]byte, small+1), true)
	check("reply over peer limit", bigCli, smallSrv, []byte(strconv.Itoa(small+1)), true)
	check("reply over own limit", smallCli, bigSrv, []byte(strconv.Itoa(small+1)), true)
	check("reply at limit", smallCli, bigSrv, []byte(strconv.Itoa(small)), false)

	var re *RemoteError
	_, err := bigCli.Call(ctx, smallSrv.Addr().String(), make([]byte, small+1))
	if !errors.As(err, &re) || re.Code != CodeTooLarge {
		t.Errorf("request over peer limit: %v, want a RemoteError with CodeTooLarge", err)
	}
}

// TestSlowHandlerDoesNotBlockOthers: calls keep completing on the same
// connection while one handler is stuck.
func TestSlowHandlerDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	srv := newTestTransport(t, func(ctx context.Context, _ Peer, req []byte) ([]byte, error) {
		if string(req) == "slow" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return req, nil
	}, nil)
	cli := newTestTransport(t, nil, nil)
	ctx := callCtx(t)
	slowDone := make(chan error, 1)
	go func() {
		_, err := cli.Call(ctx, srv.Addr().String(), []byte("slow"))
		slowDone <- err
	}()
	for i := range 200 {
		if _, err := cli.Call(ctx, srv.Addr().String(), []byte("fast")); err != nil {
			t.Fatalf("fast call %d: %v", i, err)
		}
	}
	select {
	case err := <-slowDone:
		t.Fatalf("slow call returned before release: %v", err)
	default:
	}
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
}

// TestInFlightLimit: with every slot taken, Call waits and gives up with its
// ctx; a freed slot lets it through.
func TestInFlightLimit(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	srv := newTestTransport(t, func(ctx context.Context, _ Peer, req []byte) ([]byte, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return req, nil
	}, nil)
	cli := newTestTransport(t, nil, &Config{MaxInFlightPerPeer: 2})
	ctx := callCtx(t)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := cli.Call(ctx, srv.Addr().String(), nil); err != nil {
				t.Error(err)
			}
		})
	}
	<-started
	<-started
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := cli.Call(short, srv.Addr().String(), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third call: %v, want DeadlineExceeded while slots are taken", err)
	}
	wg.Go(func() {
		if _, err := cli.Call(ctx, srv.Addr().String(), nil); err != nil {
			t.Error(err)
		}
	})
	close(release)
	wg.Wait()
}

func TestCloseFailsCallsInFlight(t *testing.T) {
	started := make(chan struct{})
	srv := newTestTransport(t, func(ctx context.Context, _ Peer, req []byte) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}, nil)
	cli := newTestTransport(t, nil, nil)
	ctx := callCtx(t)
	done := make(chan error, 1)
	go func() {
		_, err := cli.Call(ctx, srv.Addr().String(), []byte("x"))
		done <- err
	}()
	<-started
	cli.Close()
	err := <-done
	if !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("in-flight call after Close: %v, want ErrClosed", err)
	}
	if _, err := cli.Call(ctx, srv.Addr().String(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v, want ErrClosed", err)
	}
	if err := cli.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestServerCloseFailsCalls: the caller learns at once that the server went
// away gracefully, and its handler's ctx ended.
func TestServerCloseFailsCalls(t *testing.T) {
	started, handlerDone := make(chan struct{}), make(chan struct{})
	srv, err := Listen("127.0.0.1:0", testTLS(t), func(ctx context.Context, _ Peer, _ []byte) ([]byte, error) {
		close(started)
		<-ctx.Done()
		close(handlerDone)
		return nil, ctx.Err()
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cli := newTestTransport(t, nil, nil)
	done := make(chan error, 1)
	go func() {
		_, err := cli.Call(callCtx(t), srv.Addr().String(), nil)
		done <- err
	}()
	<-started
	srv.Close()
	<-handlerDone
	if err := <-done; !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("call to a closed server: %v, want ErrConnectionLost", err)
	}
}

// TestLargeMessages: messages over the direct-write limit from several callers at once take the
// blocking-write path and come back intact, interleaved with small calls.
func TestLargeMessages(t *testing.T) {
	srv := newTestTransport(t, echo, nil)
	cli := newTestTransport(t, nil, &Config{StreamsPerConn: 4}) // more streams than the server's own setting
	ctx := callCtx(t)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			req := bytes.Repeat([]byte{byte(i)}, (i%3+1)*300<<10)
			got, err := cli.Call(ctx, srv.Addr().String(), req)
			if err != nil || !bytes.Equal(got, req) {
				t.Errorf("large call %d: %d bytes back, %v", i, len(got), err)
			}
		})
		wg.Go(func() {
			for range 20 {
				if _, err := cli.Call(ctx, srv.Addr().String(), []byte("small")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestUnreachablePeer: nothing listens at the address. The first call fails
// after DialTimeout with ErrUnreachable; while the backoff runs, a call whose
// deadline ends before the next attempt fails at once instead of waiting.
func TestUnreachablePeer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	cli := newTestTransport(t, nil, &Config{DialTimeout: 200 * time.Millisecond, ReconnectBackoff: time.Minute, MaxReconnectBackoff: time.Minute})
	ctx := callCtx(t)
	if _, err := cli.Call(ctx, dead, nil); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("first call: %v, want ErrUnreachable", err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := cli.Call(short, dead, nil); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("call during backoff: %v, want ErrUnreachable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("call during backoff took %v, want an immediate failure", d)
	}
	if _, err := cli.Call(ctx, "not an address", nil); err == nil {
		t.Fatal("call to a malformed address succeeded")
	}
}
