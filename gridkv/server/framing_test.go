package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv/server"
)

// respServer serves a fakeKV over RESP on a loopback port. Its Close must
// return within 10 s: a connection goroutine stuck in a loop fails the
// test instead of hanging it.
type respServer struct {
	t    *testing.T
	r    *server.RESP
	addr string
	done chan error
	once sync.Once
}

func startRESP(t *testing.T, cfg server.Config) *respServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &respServer{t: t, r: server.NewRESP(newFakeKV(), cfg), addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { s.done <- s.r.Serve(ln) }()
	t.Cleanup(s.close)
	return s
}

func (s *respServer) close() { s.once.Do(s.doClose) }

func (s *respServer) doClose() {
	closed := make(chan error, 1)
	go func() { closed <- s.r.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			s.t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		s.t.Fatal("RESP.Close did not return within 10 s: a connection is stuck")
	}
	if err := <-s.done; err != nil {
		s.t.Errorf("Serve: %v", err)
	}
}

// rawConn is a client connection that reads reply lines.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func (s *respServer) dial() *rawConn {
	s.t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: s.t, c: c, rd: bufio.NewReader(c)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) line() string {
	c.t.Helper()
	line, err := c.rd.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading a reply: %q, %v", line, err)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// closed checks that the server closed the connection, within the
// connection's deadline.
func (c *rawConn) closed() {
	c.t.Helper()
	b, err := c.rd.ReadString('\n')
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		c.t.Fatalf("connection still open: read %q, %v", b, err)
	}
}

// TestRESPHostileFraming: requests that crashed (a bulk length near
// MaxInt64 overflowed redcon's index arithmetic) or hung the server (a
// huge array count made redcon loop, and Close wait on it forever) are
// refused with a protocol error, and only their connection is closed.
func TestRESPHostileFraming(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"bulk length MaxInt64", "*1\r\n$9223372036854775807\r\nxx\r\n", "-ERR Protocol error: invalid bulk length"},
		{"bulk length overflowing int64", "*1\r\n$99999999999999999999999\r\nxx\r\n", "-ERR Protocol error: invalid bulk length"},
		{"bulk length beyond MaxRequestBytes", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length"},
		{"negative bulk length", "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length"},
		{"bulk length not a number", "*1\r\n$1x\r\n", "-ERR Protocol error: invalid bulk length"},
		{"no CRLF after the payload", "*1\r\n$1\r\nabc\r\n", "-ERR Protocol error: invalid bulk length"},
		{"array count near MaxInt64", "*999999999999999999\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"array count overflowing int64", "*99999999999999999999999999\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"array count beyond the bound", "*262145\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"array count -1", "*-1\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"array count 0", "*0\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"array count -2^63", "*-9223372036854775808\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"array count empty", "*\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"argument not a bulk string", "*1\r\n:1\r\n", "-ERR Protocol error: expected '$'"},
		{"inline longer than 64 KiB", strings.Repeat("a", 70<<10), "-ERR Protocol error: too big inline request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startRESP(t, server.Config{MaxRequestBytes: 1 << 20})
			other := s.dial()
			other.send("PING\r\n")
			if got := other.line(); got != "+PONG" {
				t.Fatalf("PING before: %q", got)
			}
			bad := s.dial()
			// A command before the bad one is answered first.
			bad.send("PING\r\n" + tc.in)
			if got := bad.line(); got != "+PONG" {
				t.Fatalf("the command before the bad one: %q", got)
			}
			if got := bad.line(); got != tc.want {
				t.Fatalf("reply %q, want %q", got, tc.want)
			}
			bad.closed()
			other.send("SET k v\r\nGET k\r\n")
			if got := other.line() + " " + other.line() + " " + other.line(); got != "+OK $1 v" {
				t.Fatalf("another connection after the attack: %q", got)
			}
			s.close() // within 10 s, or the test fails
		})
	}
}

// TestRESPAttackThenClose: the audit's two inputs, sent whole and
// unanswered by the attacker, leave the server serving and closable.
func TestRESPAttackThenClose(t *testing.T) {
	s := startRESP(t, server.Config{})
	for _, in := range []string{"*1\r\n$9223372036854775807\r\nxx\r\n", "*999999999999999999\r\n"} {
		c := s.dial()
		c.send(in)
		if got := c.line(); !strings.HasPrefix(got, "-ERR Protocol error") {
			t.Fatalf("%q: reply %q", in, got)
		}
		c.closed()
	}
	c := s.dial()
	c.send("*1\r\n$4\r\nPING\r\n")
	if got := c.line(); got != "+PONG" {
		t.Fatalf("PING after the attacks: %q", got)
	}
	s.close()
}

// TestRESPByteAtATime: a pipeline of inline and array commands, sent one
// byte per write, is answered exactly as if sent whole.
func TestRESPByteAtATime(t *testing.T) {
	s := startRESP(t, server.Config{})
	big := strings.Repeat("x\r\n*$", 2000) // framing bytes inside a payload
	pipeline := "PING\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + fmt.Sprint(len(big)) + "\r\n" + big + "\r\n" +
		"\r\n" + // an empty inline line: no command
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" +
		"SET e \"\"\n" +
		"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nz\r\n" +
		"*2\r\n$3\r\nGET\r\n$0\r\n\r\n" +
		"*2\r\n$003\r\nGET\r\n$1\r\ne\r\n" +
		"ECHO hi\r\n"
	want := []string{"+PONG", "+OK", "$<big>", "+OK", "+OK", "$z", "$", "$hi"}
	c := s.dial()
	if tc, ok := c.c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	done := make(chan error, 1)
	go func() {
		for i := range len(pipeline) {
			if _, err := c.c.Write([]byte{pipeline[i]}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var got []string
	for len(got) < len(want) {
		line := c.line()
		if strings.HasPrefix(line, "$") && line != "$-1" {
			var n int
			if _, err := fmt.Sscanf(line, "$%d", &n); err != nil {
				t.Fatalf("reply %q: %v", line, err)
			}
			body := make([]byte, n+2)
			if _, err := io.ReadFull(c.rd, body); err != nil {
				t.Fatal(err)
			}
			line = "$" + string(body[:n])
			if line == "$"+big {
				line = "$<big>"
			}
		}
		got = append(got, line)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies\n got %q\nwant %q", got, want)
	}
}

func TestRESPMaxConnections(t *testing.T) {
	s := startRESP(t, server.Config{MaxConnections: 2})
	a, b := s.dial(), s.dial()
	for _, c := range []*rawConn{a, b} {
		c.send("PING\r\n")
		if got := c.line(); got != "+PONG" {
			t.Fatalf("PING: %q", got)
		}
	}
	third := s.dial()
	if got := third.line(); got != "-ERR max number of clients reached" {
		t.Fatalf("third connection: %q", got)
	}
	third.closed()
	a.c.Close()
	// The server notices the close asynchronously: retry until a slot is free.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := s.dial()
		c.send("PING\r\n")
		got, _ := c.rd.ReadString('\n')
		c.c.Close()
		if got == "+PONG\r\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection accepted after one of two closed: %q", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.send("PING\r\n")
	if got := b.line(); got != "+PONG" {
		t.Fatalf("PING on an open connection: %q", got)
	}
}

func TestRESPIdleTimeout(t *testing.T) {
	s := startRESP(t, server.Config{IdleTimeout: 300 * time.Millisecond})
	idle := s.dial()
	idle.closed() // within the 20 s deadline of the connection
	// A connection that keeps sending stays open past the timeout.
	busy := s.dial()
	for range 10 {
		busy.send("PING\r\n")
		if got := busy.line(); got != "+PONG" {
			t.Fatalf("PING: %q", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRESPQuitStopsThePipeline: commands pipelined after QUIT are not
// run, as in Redis.
func TestRESPQuitStopsThePipeline(t *testing.T) {
	s := startRESP(t, server.Config{})
	c := s.dial()
	c.send("SET a 1\r\nQUIT\r\nSET b 2\r\n")
	if got := c.line() + " " + c.line(); got != "+OK +OK" {
		t.Fatalf("replies %q", got)
	}
	c.closed()
	d := s.dial()
	d.send("EXISTS a\r\nEXISTS b\r\n")
	if got := d.line() + " " + d.line(); got != ":1 :0" {
		t.Fatalf("EXISTS a, b after QUIT: %q; want :1 :0", got)
	}
}

// TestRESPRequestBytes: a command whose every length is within bounds
// but whose total exceeds MaxRequestBytes closes its connection.
func TestRESPRequestBytes(t *testing.T) {
	s := startRESP(t, server.Config{MaxRequestBytes: 64 << 10})
	c := s.dial()
	val := strings.Repeat("v", 40000)
	cmd := "*7\r\n$4\r\nMSET\r\n" + strings.Repeat("$1\r\nk\r\n$40000\r\n"+val+"\r\n", 3)
	go io.WriteString(c.c, cmd) // fails once the server closes
	got, err := io.ReadAll(c.rd)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %d bytes of one command", len(cmd))
	}
	if len(got) != 0 {
		t.Fatalf("reply %q to a command beyond MaxRequestBytes", got)
	}
	d := s.dial()
	d.send("PING\r\n")
	if got := d.line(); got != "+PONG" {
		t.Fatalf("another connection: %q", got)
	}
}
