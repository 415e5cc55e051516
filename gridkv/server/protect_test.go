package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
	"github.com/gridkv/gridkv/gridkv/server"
	"github.com/gridkv/gridkv/store"
	"github.com/redis/go-redis/v9"
)

func tcp(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

// TestProtectedModeDecision is the decision table of protected mode: a
// client is refused exactly when the server has no secret, listens on a
// non-loopback address and the client is not on loopback.
func TestProtectedModeDecision(t *testing.T) {
	for _, tc := range []struct {
		secret, ln, client string
		refused            bool
	}{
		{"", "127.0.0.1:6380", "127.0.0.1:5000", false},
		{"", "[::1]:6380", "[::1]:5000", false},
		{"", "0.0.0.0:6380", "127.0.0.1:5000", false},
		{"", "0.0.0.0:6380", "127.0.0.9:5000", false},
		{"", "0.0.0.0:6380", "[::ffff:127.0.0.1]:5000", false},
		{"", "[::]:6380", "[::1]:5000", false},
		{"", "0.0.0.0:6380", "192.0.2.7:5000", true},
		{"", "[::]:6380", "[2001:db8::1]:5000", true},
		{"", "[::]:6380", "[::ffff:10.0.0.1]:5000", true},
		{"", "10.0.0.1:6380", "10.0.0.2:5000", true},
		{"", "10.0.0.1:6380", "0.0.0.0:5000", true},
		{"s3cret", "0.0.0.0:6380", "192.0.2.7:5000", false},
		{"s3cret", "10.0.0.1:6380", "10.0.0.2:5000", false},
	} {
		refused := server.Protects(tc.secret, tcp(tc.ln)) && !server.IsLoopbackAddr(tcp(tc.client))
		if refused != tc.refused {
			t.Errorf("secret %q, listener %s, client %s: refused %v, want %v", tc.secret, tc.ln, tc.client, refused, tc.refused)
		}
	}
	if !server.IsLoopbackAddr(&net.UnixAddr{Name: "/tmp/x.sock", Net: "unix"}) {
		t.Error("a Unix socket client is not local")
	}
	if server.IsLoopbackAddr(nil) {
		t.Error("a nil address is loopback")
	}
}

// servePair serves RESP and HTTP over a fake KV on the given listeners
// until the test ends.
func servePair(t *testing.T, respLn, httpLn net.Listener, cfg server.Config) {
	t.Helper()
	r := server.NewRESP(newFakeKV(), cfg)
	rdone := make(chan error, 1)
	go func() { rdone <- r.Serve(respLn) }()
	hs := &http.Server{Handler: server.NewHTTP(newFakeKV(), cfg)}
	hdone := make(chan error, 1)
	go func() { hdone <- hs.Serve(httpLn) }()
	t.Cleanup(func() {
		hs.Close()
		<-hdone
		r.Close()
		if err := <-rdone; err != nil {
			t.Errorf("RESP Serve: %v", err)
		}
	})
}

// checkDenied checks that a RESP client at addr (dialled by dial) gets
// the DENIED reply to each command, then a go-redis client reports it
// as the error of its command.
func checkDenied(t *testing.T, dial func() (net.Conn, error), addr string) {
	t.Helper()
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "*1\r\n$4\r\nPING\r\nPING\r\n")
	rd := bufio.NewReader(c)
	for i := range 2 {
		line, err := rd.ReadString('\n')
		if err != nil || line != "-"+server.DeniedRESP+"\r\n" {
			t.Fatalf("reply %d to PING from a remote client: %q, %v", i, line, err)
		}
	}
	cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.Set(ctx, "k", "v", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "DENIED GridKV is running in protected mode") {
		t.Fatalf("go-redis SET from a remote client: %v", err)
	}
}

// checkForbidden checks that an HTTP GET of url through client gets the
// 403 JSON refusal.
func checkForbidden(t *testing.T, client *http.Client, url string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden || body["error"] != server.DeniedHTTP || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s from a remote client: %d %q %v", url, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestProtectedModeRefusesRemoteClients plays a remote client on
// loopback (the listener's loopback test says no) against both servers,
// and a local one (it says yes).
func TestProtectedModeRefusesRemoteClients(t *testing.T) {
	for _, remote := range []bool{true, false} {
		listen := func(proto server.Protocol) net.Listener {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			// On a loopback listener Protect does nothing: pretend the
			// listener is public by protecting a wrapper that says so.
			return server.ProtectWith(publicAddr{ln}, proto, "", func(net.Addr) bool { return !remote })
		}
		rln, hln := listen(server.ProtocolRESP), listen(server.ProtocolHTTP)
		servePair(t, rln, hln, server.Config{})
		raddr, haddr := rln.Addr().(publicTCPAddr).real, hln.Addr().(publicTCPAddr).real
		if remote {
			checkDenied(t, func() (net.Conn, error) { return net.Dial("tcp", raddr) }, raddr)
			checkForbidden(t, &http.Client{}, "http://"+haddr+"/v1/cluster")
			continue
		}
		cl := redis.NewClient(&redis.Options{Addr: raddr, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := cl.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatalf("SET from a loopback client: %v", err)
		}
		cancel()
		cl.Close()
		resp, err := http.Get("http://" + haddr + "/v1/keys/k")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound { // the HTTP server's fake KV is another
			t.Fatalf("GET from a loopback client: %d", resp.StatusCode)
		}
	}
}

// publicAddr makes a loopback listener report an unspecified address,
// as a listener on all interfaces does.
type publicAddr struct{ net.Listener }

type publicTCPAddr struct{ real string }

func (publicTCPAddr) Network() string { return "tcp" }
func (publicTCPAddr) String() string  { return "0.0.0.0:1" }
func (p publicAddr) Addr() net.Addr   { return publicTCPAddr{p.Listener.Addr().String()} }

// TestProtectedModeWithSecret: a password or token turns protected mode
// off, and a loopback listener is never wrapped.
func TestProtectedModeWithSecret(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if p := server.Protect(ln, server.ProtocolRESP, ""); p != ln {
		t.Error("a loopback listener was wrapped")
	}
	pub := publicAddr{ln}
	if p := server.Protect(pub, server.ProtocolRESP, "pw"); p != net.Listener(pub) {
		t.Error("a listener with a password was wrapped")
	}
	if p := server.Protect(pub, server.ProtocolHTTP, ""); p == net.Listener(pub) {
		t.Error("a public listener without a token was not wrapped")
	}
}

// TestProtectedModeOnRealAddress listens on all interfaces with the real
// loopback test: a client connecting through this machine's
// non-loopback address is refused, one through 127.0.0.1 is served.
func TestProtectedModeOnRealAddress(t *testing.T) {
	ip := testcluster.LocalIPv4()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	listen := func(proto server.Protocol) (net.Listener, string) {
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		return server.Protect(ln, proto, ""), port
	}
	rln, rport := listen(server.ProtocolRESP)
	hln, hport := listen(server.ProtocolHTTP)
	servePair(t, rln, hln, server.Config{})
	remote := net.JoinHostPort(ip, rport)
	if c, err := net.Dial("tcp", remote); err != nil {
		t.Skipf("cannot connect to %s: %v", remote, err)
	} else {
		c.Close()
	}
	checkDenied(t, func() (net.Conn, error) { return net.Dial("tcp", remote) }, remote)
	checkForbidden(t, &http.Client{}, "http://"+net.JoinHostPort(ip, hport)+"/healthz")

	cl := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", rport), MaxRetries: -1})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING through 127.0.0.1: %v", err)
	}
	resp, err := http.Get("http://" + net.JoinHostPort("127.0.0.1", hport) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz through 127.0.0.1: %d", resp.StatusCode)
	}
}

func TestIsLoopback(t *testing.T) {
	for hp, want := range map[string]bool{
		"127.0.0.1:6380": true, "127.9.9.9:1": true, "[::1]:6380": true, "localhost:80": true, "LocalHost:80": true,
		"[::ffff:127.0.0.1]:1": true,
		"0.0.0.0:6380":         false, ":6380": false, "[::]:1": false, "10.0.0.1:6380": false, "example.com:1": false,
		"127.0.0.1": false, "": false,
	} {
		if got := server.IsLoopback(hp); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", hp, got, want)
		}
	}
	if got := server.MaxRequestBytesFor(store.DefaultMaxValueSize); got != server.DefaultMaxRequestBytes {
		t.Errorf("MaxRequestBytesFor(the default value limit) = %d, DefaultMaxRequestBytes = %d", got, server.DefaultMaxRequestBytes)
	}
}
