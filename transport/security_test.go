package transport

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// otherCluster is a node of another cluster: a certificate from another CA.
func otherCluster(t *testing.T) *tls.Config {
	t.Helper()
	c, err := InsecureDevTLS()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertificateRejection(t *testing.T) {
	var served atomic.Int64
	counting := func(_ context.Context, _ Peer, req []byte) ([]byte, error) {
		served.Add(1)
		return req, nil
	}
	srv := newTestTransport(t, counting, nil)
	rogue, err := Listen("127.0.0.1:0", otherCluster(t), counting, &Config{DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Close()
	ctx := callCtx(t)

	_, err = rogue.Call(ctx, srv.Addr().String(), []byte("x"))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("rogue client: %v, want ErrUnreachable for its certificate", err)
	}
	cli := newTestTransport(t, nil, &Config{DialTimeout: time.Second})
	_, err = cli.Call(ctx, rogue.Addr().String(), []byte("x"))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("call to rogue server: %v, want ErrUnreachable for its certificate", err)
	}

	// A client that presents no certificate at all, but trusts the server.
	noCert := testTLS(t).Clone()
	noCert.Certificates = nil
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if qc, err := quic.DialAddr(dctx, srv.Addr().String(), noCert, nil); err == nil {
		// TLS 1.3: the client may finish first; the server then closes.
		s, err := qc.OpenStream()
		if err == nil {
			s.Write(appendFrame(nil, frameRequest, 1, []byte("x")))
			s.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = s.Read(make([]byte, 1))
		}
		if err == nil {
			t.Error("client without certificate got a reply")
		}
		qc.CloseWithError(0, "")
	}
	if n := served.Load(); n != 0 {
		t.Errorf("%d requests served to peers without a cluster certificate", n)
	}
	// The legitimate node still works.
	if _, err := cli.Call(ctx, srv.Addr().String(), []byte("x")); err != nil {
		t.Fatal(err)
	}
}

// rawStream opens an authenticated stream to tr, to send hand-made bytes.
func rawStream(t *testing.T, tr *Transport) (*quic.Conn, *quic.Stream) {
	t.Helper()
	_, cliTLS, err := mutualTLS(testTLS(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qc, err := quic.DialAddr(ctx, tr.Addr().String(), cliTLS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qc.CloseWithError(0, "") })
	s, err := qc.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	return qc, s
}

// TestBadInput sends what no correct peer sends; the node must close only
// that connection, allocate nothing large, and keep serving others.
func TestBadInput(t *testing.T) {
	srv := newTestTransport(t, echo, &Config{MaxMessageSize: 1 << 20})
	good := newTestTransport(t, nil, nil)
	ctx := callCtx(t)
	header := func(typ byte, id uint64, n uint32) []byte {
		b := []byte{typ}
		b = binary.BigEndian.AppendUint64(b, id)
		return binary.BigEndian.AppendUint32(b, n)
	}
	cases := []struct {
		name      string
		bytes     []byte
		fin       bool
		wantClose bool // connection closed with a protocol error
		wantReply bool // an error frame comes back, connection kept
	}{
		{"unknown type", header(9, 1, 0), false, true, false},
		{"reply on accepted stream", header(byte(frameReply), 1, 0), false, true, false},
		{"truncated header", header(byte(frameRequest), 1, 5)[:7], true, true, false},
		{"truncated payload", append(header(byte(frameRequest), 1, 100), "short"...), true, true, false},
		{"4 GiB length then end", header(byte(frameRequest), 1, 1<<32-1), true, true, false},
		{"over the maximum", append(header(byte(frameRequest), 7, 1<<20+1), make([]byte, 1<<20+1)...), false, false, true},
		{"empty error frame", header(byte(frameError), 1, 0), false, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			qc, s := rawStream(t, srv)
			if _, err := s.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if tc.fin {
				s.Close()
			}
			s.SetReadDeadline(time.Now().Add(10 * time.Second))
			reply, err := io.ReadAll(io.LimitReader(s, frameHeaderLen+1))
			switch {
			case tc.wantReply:
				if len(reply) != frameHeaderLen+1 || frameType(reply[0]) != frameError || RemoteCode(reply[13]) != CodeTooLarge {
					t.Fatalf("reply %x, %v: want a too-large error frame", reply, err)
				}
				if qc.Context().Err() != nil {
					t.Fatal("connection closed after an oversized request")
				}
			case tc.wantClose:
				var ae *quic.ApplicationError
				if !errors.As(err, &ae) || ae.ErrorCode != codeProtocol {
					t.Fatalf("read: %x, %v: want the connection closed with a protocol error", reply, err)
				}
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 64<<20 {
				t.Fatalf("allocated %d bytes for a bad frame", grew)
			}
			if _, err := good.Call(ctx, srv.Addr().String(), []byte("still there")); err != nil {
				t.Fatalf("good peer after bad input: %v", err)
			}
		})
	}
}

// TestGarbageDatagrams: random UDP datagrams at the node's port are ignored.
func TestGarbageDatagrams(t *testing.T) {
	srv := newTestTransport(t, echo, nil)
	good := newTestTransport(t, nil, nil)
	ctx := callCtx(t)
	if _, err := good.Call(ctx, srv.Addr().String(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	junk, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1500)
	for i := range 2000 {
		n := rng.IntN(len(buf))
		for j := range buf[:n] {
			buf[j] = byte(rng.Uint32())
		}
		if i%3 == 0 && n > 0 {
			buf[0] |= 0xc0 // looks like a long-header QUIC packet
		}
		junk.WriteTo(buf[:n], srv.Addr())
	}
	for range 10 {
		if _, err := good.Call(ctx, srv.Addr().String(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCAFromPEM(t *testing.T) {
	ca, err := NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := loaded.NodeCert("n1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NodeTLS(ca.CertPEM, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(certPEM, keyPEM); err == nil {
		t.Error("LoadCA accepted a node certificate")
	}
	if _, err := LoadCA([]byte("junk"), ca.KeyPEM); err == nil {
		t.Error("LoadCA accepted junk")
	}
	if _, err := NodeTLS([]byte("junk"), certPEM, keyPEM); err == nil {
		t.Error("NodeTLS accepted a junk CA")
	}
	if _, err := NodeTLS(ca.CertPEM, certPEM, ca.KeyPEM); err == nil {
		t.Error("NodeTLS accepted a key that does not match")
	}
}
