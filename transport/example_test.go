package transport_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/gridkv/gridkv/transport"
	"github.com/gridkv/gridkv/transport/faultnet"
)

// Two nodes in one process: one serves, the other calls it.
func Example() {
	tlsConf, err := transport.InsecureDevTLS() // tests and demos only
	if err != nil {
		log.Fatal(err)
	}
	upper := func(_ context.Context, from transport.Peer, req []byte) ([]byte, error) {
		return []byte(strings.ToUpper(string(req))), nil
	}
	server, err := transport.Listen("127.0.0.1:0", tlsConf, upper, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	client, err := transport.Listen("127.0.0.1:0", tlsConf, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := client.Call(ctx, server.Addr().String(), []byte("hello"))
	fmt.Println(string(reply), err)
	// Output: HELLO <nil>
}

// A cluster CA and node certificates as PEM, which a server would write to
// and read from files.
func ExampleNewCA() {
	ca, err := transport.NewCA("my cluster", 10*365*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	// Keep ca.CertPEM and ca.KeyPEM; reload them to issue more certificates.
	ca, err = transport.LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		log.Fatal(err)
	}
	certPEM, keyPEM, err := ca.NodeCert("node-1", 365*24*time.Hour, "127.0.0.1")
	if err != nil {
		log.Fatal(err)
	}
	// On node-1: the CA certificate (not its key), and its own pair.
	tlsConf, err := transport.NodeTLS(ca.CertPEM, certPEM, keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	node, err := transport.Listen("127.0.0.1:0", tlsConf, func(_ context.Context, from transport.Peer, _ []byte) ([]byte, error) {
		return []byte("hello " + from.Name), nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	reply, err := node.Call(context.Background(), node.Addr().String(), nil) // a node may call itself
	fmt.Println(string(reply), err)
	// Output: hello node-1 <nil>
}

// A handler error reaches the caller as a *RemoteError.
func ExampleRemoteError() {
	tlsConf, _ := transport.InsecureDevTLS()
	fail := func(context.Context, transport.Peer, []byte) ([]byte, error) {
		return nil, fmt.Errorf("no such key")
	}
	server, _ := transport.Listen("127.0.0.1:0", tlsConf, fail, nil)
	defer server.Close()
	client, _ := transport.Listen("127.0.0.1:0", tlsConf, nil, nil)
	defer client.Close()

	_, err := client.Call(context.Background(), server.Addr().String(), []byte("k"))
	var re *transport.RemoteError
	if errors.As(err, &re) {
		fmt.Println(re.Code == transport.CodeHandler, re.Message)
	}
	// Output: true no such key
}

// New runs a Transport on any net.PacketConn, here an in-memory network
// that can partition nodes.
func ExampleNew() {
	tlsConf, _ := transport.InsecureDevTLS()
	network := faultnet.NewNetwork(1)
	start := func(h transport.Handler) *transport.Transport {
		pc, err := network.Listen("127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		tr, err := transport.New(pc, tlsConf, h, &transport.Config{DialTimeout: 200 * time.Millisecond})
		if err != nil {
			log.Fatal(err)
		}
		return tr
	}
	echo := func(_ context.Context, _ transport.Peer, req []byte) ([]byte, error) { return req, nil }
	a, b := start(echo), start(nil)
	defer a.Close()
	defer b.Close()

	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := b.Call(ctx, a.Addr().String(), []byte("ping"))
		return err
	}
	fmt.Println("connected:", call() == nil)
	network.Partition(a.Addr().String(), b.Addr().String())
	fmt.Println("partitioned:", call() == nil)
	network.Heal(a.Addr().String(), b.Addr().String())
	for i := 0; call() != nil && i < 100; i++ { // the next calls reconnect by themselves
	}
	fmt.Println("healed:", call() == nil)
	// Output:
	// connected: true
	// partitioned: false
	// healed: true
}
