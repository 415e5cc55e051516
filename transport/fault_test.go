package transport

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridkv/gridkv/transport/faultnet"
	"github.com/quic-go/quic-go"
)

// wrapped starts a Transport on a faultnet.Conn over a real UDP socket.
func wrapped(t *testing.T, addr string, h Handler, conf *Config) (*Transport, *faultnet.Conn) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fc := faultnet.Wrap(pc, 1)
	tr, err := New(fc, testTLS(t), h, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, fc
}

// TestPeerRestart: a node that crashes (no CONNECTION_CLOSE reaches anyone)
// and comes back on the same address is noticed at the next call through
// its stateless reset, long before the idle timeout; the call after that
// succeeds on a new connection.
func TestPeerRestart(t *testing.T) {
	conf := &Config{IdleTimeout: 30 * time.Second}
	srv, fc := wrapped(t, "127.0.0.1:0", echo, conf)
	addr := srv.Addr().String()
	cli := newTestTransport(t, nil, conf)
	ctx := callCtx(t)
	if _, err := cli.Call(ctx, addr, []byte("before")); err != nil {
		t.Fatal(err)
	}
	// Crash: drop everything the dying node would send, then close it.
	fc.SetFaults(faultnet.Faults{Blackhole: true})
	srv.Close()
	srv2, err := Listen(addr, testTLS(t), echo, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()

	start := time.Now()
	_, err = cli.Call(ctx, addr, []byte("first after restart"))
	var reset *quic.StatelessResetError
	if err == nil || !errors.Is(err, ErrConnectionLost) || !errors.As(err, &reset) {
		t.Fatalf("first call after restart: %v, want ErrConnectionLost by stateless reset", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("restart noticed after %v, want well below the 30s idle timeout", d)
	}
	if got, err := cli.Call(ctx, addr, []byte("again")); err != nil || string(got) != "again" {
		t.Fatalf("second call after restart: %q, %v", got, err)
	}
}

// TestPartitionAndHeal on real sockets: while the link is cut, calls fail by
// their own deadline (no hang); after healing they succeed again without any
// manual step, whether or not the old connection timed out meanwhile.
func TestPartitionAndHeal(t *testing.T) {
	conf := &Config{IdleTimeout: 300 * time.Millisecond, DialTimeout: 300 * time.Millisecond, MaxReconnectBackoff: 100 * time.Millisecond}
	srv := newTestTransport(t, echo, conf)
	cli, fc := wrapped(t, "127.0.0.1:0", nil, conf)
	addr := srv.Addr().String()
	ctx := callCtx(t)
	if _, err := cli.Call(ctx, addr, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, partition := range []time.Duration{100 * time.Millisecond, time.Second} {
		fc.SetPeerFaults(addr, faultnet.Faults{Blackhole: true})
		end := time.Now().Add(partition)
		for time.Now().Before(end) {
			const timeout = 100 * time.Millisecond
			cctx, cancel := context.WithTimeout(ctx, timeout)
			start := time.Now()
			_, err := cli.Call(cctx, addr, []byte("x"))
			cancel()
			if err == nil {
				t.Fatal("call succeeded across a partition")
			}
			if d := time.Since(start); d > timeout+2*time.Second {
				t.Fatalf("call took %v with a %v deadline", d, timeout)
			}
		}
		fc.SetPeerFaults(addr, faultnet.Faults{})
		healed := time.Now()
		for {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := cli.Call(cctx, addr, []byte("x"))
			cancel()
			if err == nil {
				break
			}
			if time.Since(healed) > 15*time.Second {
				t.Fatalf("still failing 15s after healing a %v partition: %v", partition, err)
			}
		}
	}
}

// TestLossyLinkSynctest runs two nodes on the in-memory network in virtual
// time: 10% loss, delay and jitter both ways; every call still succeeds, then
// a partition makes calls fail by their deadline and healing restores them.
func TestLossyLinkSynctest(t *testing.T) {
	// The bubble's clock starts in 2000; verify certificates at real time.
	tlsConf := testTLS(t).Clone()
	now := time.Now()
	tlsConf.Time = func() time.Time { return now }
	synctest.Test(t, func(t *testing.T) {
		n := faultnet.NewNetwork(42)
		conf := &Config{IdleTimeout: 2 * time.Second, DialTimeout: time.Second}
		start := func(h Handler) *Transport {
			pc, err := n.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			tr, err := New(pc, tlsConf, h, conf)
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}
		srv, cli := start(echo), start(nil)
		defer srv.Close()
		defer cli.Close()
		addr := srv.Addr().String()
		n.SetFaults(faultnet.Faults{Drop: 0.1, Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		for i := range 50 {
			if _, err := cli.Call(ctx, addr, []byte("x")); err != nil {
				t.Fatalf("call %d on a lossy link: %v", i, err)
			}
		}
		n.SetFaults(faultnet.Faults{})
		n.Partition(addr, cli.Addr().String())
		for range 30 {
			cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			t0 := time.Now()
			_, err := cli.Call(cctx, addr, []byte("x"))
			cancel()
			if err == nil {
				t.Fatal("call succeeded across a partition")
			}
			if d := time.Since(t0); d > 100*time.Millisecond {
				t.Fatalf("partitioned call took %v with a 100ms deadline", d)
			}
		}
		n.Heal(addr, cli.Addr().String())
		healed := time.Now()
		for {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := cli.Call(cctx, addr, []byte("x"))
			cancel()
			if err == nil {
				break
			}
			if time.Since(healed) > time.Minute {
				t.Fatalf("still failing a minute after healing: %v", err)
			}
		}
		t.Logf("reconnected %v after healing (virtual time)", time.Since(healed))
	})
}
