package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
