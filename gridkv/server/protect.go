package server

import (
	"bytes"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Protected mode, as Redis has it: a server with no password (RESP) or
// token (HTTP) that listens on a non-loopback address answers only
// clients that connect from a loopback address. Every other client gets
// one refusal in its protocol's words (Redis's -DENIED error, or an HTTP
// 403 with a JSON error) and the close of its connection. It is done on
// the listener, before redcon or net/http see the connection, so both
// servers share it and a refused client costs no command parsing.

// Protocol is what a protected listener speaks to the clients it
// refuses.
type Protocol int

// Protocols of Protect.
const (
	ProtocolRESP Protocol = iota + 1
	ProtocolHTTP
)

// DeniedRESP is the error a refused RESP client receives (the text
// after "-").
const DeniedRESP = "DENIED GridKV is running in protected mode because protected mode is enabled and no password is set. " +
	"In this mode connections are only accepted from the loopback interface. " +
	"To accept clients from other hosts, either 1) set a password with -password (GRIDKV_PASSWORD) and use it with AUTH, " +
	"or 2) restart the server with -protected-mode=false (GRIDKV_PROTECTED_MODE=false), " +
	"making sure it is not reachable from the internet."

// DeniedHTTP is the "error" of the 403 JSON body a refused HTTP client
// receives.
const DeniedHTTP = "gridkv is running in protected mode: no token is set, so only loopback clients are served; " +
	"set -token (GRIDKV_TOKEN) and send it as a bearer token, " +
	"or restart with -protected-mode=false (GRIDKV_PROTECTED_MODE=false)"

// Bounds of the refusal of one client.
const (
	// denyTimeout bounds the refusal of one client: reading its request
	// (HTTP), writing the refusal and draining what it sends until it
	// closes.
	denyTimeout = 2 * time.Second
	// maxDenying bounds the refusals in progress; beyond it a refused
	// connection is closed at once, without a message.
	maxDenying = 64
	// maxDenyRead bounds what is read from a refused client.
	maxDenyRead = 16 << 10
)

// Protect returns ln in protected mode for proto: connections from
// clients that are not on a loopback address are refused and closed, and
// Accept returns only the others. secret is the server's Password
// (RESP) or Token (HTTP): if it is set, or if ln listens on a loopback
// address (or a Unix socket), Protect returns ln itself, as no remote
// client can then use the server without credentials.
//
// Close of the returned listener also ends the refusals in progress and
// waits for them.
func Protect(ln net.Listener, proto Protocol, secret string) net.Listener {
	if !protects(secret, ln.Addr()) {
		return ln
	}
	return &protectedListener{Listener: ln, proto: proto, loopback: isLoopback, conns: map[net.Conn]struct{}{}}
}

// protects reports whether a listener on addr with the given secret needs
// protected mode.
func protects(secret string, addr net.Addr) bool {
	return secret == "" && !isLoopback(addr)
}

// isLoopback reports whether addr is a loopback IP address (IPv4
// 127.0.0.0/8, IPv6 ::1, or IPv4-mapped 127.x) or a Unix socket.
// Unspecified addresses (0.0.0.0, ::) and every other address are not.
func isLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UDPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	case nil:
		return false
	}
	return IsLoopback(addr.String())
}

// IsLoopback reports whether hostport (host:port) names a loopback
// address: "localhost" or a loopback IP (IPv4 127.0.0.0/8, IPv6 ::1,
// IPv4-mapped 127.x). An empty or unspecified host (every interface) and
// other names are not. Protect and the gridkv command's check of
// node-to-node addresses decide with it.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type protectedListener struct {
	net.Listener
	proto    Protocol
	loopback func(net.Addr) bool // isLoopback; tests replace it

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{} // being refused
	wg     sync.WaitGroup
}

// Accept returns the next connection from a loopback client and refuses
// the others on the way.
func (l *protectedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.loopback(c.RemoteAddr()) {
			return c, nil
		}
		l.mu.Lock()
		if l.closed || len(l.conns) >= maxDenying {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.deny(c)
	}
}

// Close closes the listener and the connections being refused, and
// waits for their goroutines.
func (l *protectedListener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// deny refuses c. An HTTP client gets a 403 after its request head;
// a RESP client gets DeniedRESP as the reply to each command it sends
// (so a client library reports it as the error of the caller's command,
// not of its connection handshake), until it closes, sends more than
// maxDenyRead bytes or denyTimeout passes. Reading until the client
// closes also keeps the kernel from resetting the connection over unread
// bytes, which could lose the refusal.
func (l *protectedListener) deny(c net.Conn) {
	defer func() {
		c.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		l.wg.Done()
	}()
	_ = c.SetDeadline(time.Now().Add(denyTimeout))
	buf := make([]byte, 4096)
	read := 0
	if l.proto == ProtocolHTTP {
		var head []byte
		for !bytes.Contains(head, []byte("\r\n\r\n")) {
			if read >= maxDenyRead {
				return
			}
			n, err := c.Read(buf)
			read += n
			head = append(head, buf[:n]...)
			if err != nil {
				return
			}
		}
		body, _ := json.Marshal(map[string]string{"error": DeniedHTTP})
		msg := "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
			strconv.Itoa(len(body)+1) + "\r\n\r\n" + string(body) + "\n"
		if _, err := c.Write([]byte(msg)); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}
	reply := []byte("-" + DeniedRESP + "\r\n")
	f := newFramer(maxDenyRead)
	for read < maxDenyRead {
		n, err := c.Read(buf)
		read += n
		if l.proto == ProtocolRESP {
			for i := range n {
				_, ended, ferr := f.feed(buf[i : i+1])
				if ferr != nil {
					return
				}
				if ended {
					if _, err := c.Write(reply); err != nil {
						return
					}
				}
			}
		}
		if err != nil {
			return
		}
	}
}

var _ net.Listener = (*protectedListener)(nil)
