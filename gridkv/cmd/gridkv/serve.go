package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/server"
	"github.com/gridkv/gridkv/store"
	"github.com/gridkv/gridkv/transport"
)

// nodeConfig is what one node of the command runs with.
type nodeConfig struct {
	opts      gridkv.Options
	redisAddr string // "" or "off": no Redis listener
	httpAddr  string // "" or "off": no HTTP listener
	srv       server.Config
	// protected puts the listeners in protected mode (server.Protect).
	protected bool
}

// nodeAddrs is where a running node listens.
type nodeAddrs struct {
	ID, Gossip, Redis, HTTP string
}

type flags struct {
	fs                         *flag.FlagSet
	id, bind, advertise        string
	transportAddr, seeds, zone string
	redis, httpAddr            string
	replicas, w, r, vnodes     int
	maxMemoryMB                int
	consistency                string
	password, token            string
	encryptionKey              string
	tlsCA, tlsCert, tlsKey     string
	logLevel                   string
	timeout                    time.Duration
	protectedMode, insecure    bool

	deadMemberTimeout, rebalanceDelay              time.Duration
	gossipInterval, failureTimeout, suspectTimeout time.Duration
	maxKeyBytes, maxValueBytes                     int
	maxConnections, maxRequestBytes                int
	idleTimeout, commandTimeout                    time.Duration
}

func newFlags(name string, stderr io.Writer) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs := f.fs
	fs.SetOutput(stderr)
	fs.StringVar(&f.id, "id", "", "node ID, unique and stable (default: host name and gossip port)")
	fs.StringVar(&f.bind, "bind", "127.0.0.1:7946", "gossip bind address (UDP and TCP); port 0 picks one. Other hosts can join only if it is not loopback")
	fs.StringVar(&f.advertise, "advertise", "", "gossip address other nodes use, if not the bind address")
	fs.StringVar(&f.transportAddr, "transport", "", "data transport (QUIC) bind address (default: bind host, any port)")
	fs.StringVar(&f.seeds, "seeds", "", "comma-separated gossip addresses of nodes to join")
	fs.StringVar(&f.zone, "zone", "", "zone or data centre of this node")
	fs.StringVar(&f.redis, "redis", "127.0.0.1:6380", `Redis protocol listen address ("off" to disable); ":6380" listens on every interface`)
	fs.StringVar(&f.httpAddr, "http", "127.0.0.1:8080", `HTTP listen address ("off" to disable); ":8080" listens on every interface`)
	fs.IntVar(&f.replicas, "replicas", gridkv.DefaultReplicaCount, "replicas per key (N)")
	fs.IntVar(&f.w, "write-quorum", gridkv.DefaultWriteQuorum, "replicas a write waits for (W)")
	fs.IntVar(&f.r, "read-quorum", gridkv.DefaultReadQuorum, "replicas a read waits for (R)")
	fs.IntVar(&f.vnodes, "virtual-nodes", gridkv.DefaultVirtualNodes, "ring points per node (same on every node)")
	fs.IntVar(&f.maxMemoryMB, "max-memory-mb", 0, "memory limit of the local store in MiB (0: none)")
	fs.StringVar(&f.consistency, "consistency", "quorum", "default consistency: one, quorum, all or linearizable")
	fs.StringVar(&f.password, "password", "", "password clients must send with AUTH")
	fs.StringVar(&f.token, "token", "", "bearer token HTTP clients must send (except /healthz, /readyz)")
	fs.StringVar(&f.encryptionKey, "encryption-key", "", "gossip encryption key, 16, 24 or 32 bytes in hex or base64")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "cluster CA certificate (PEM file) for node-to-node mTLS")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "this node's certificate (PEM file)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "this node's private key (PEM file)")
	fs.BoolVar(&f.protectedMode, "protected-mode", true, "serve only loopback clients on a Redis listener without -password\nand an HTTP listener without -token that listen on a non-loopback address\n(others get a DENIED error or a 403)")
	fs.BoolVar(&f.insecure, "insecure", false, "allow node-to-node traffic on non-loopback addresses without -tls-*\n(with a development certificate anyone can derive)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Second, "deadline of one replicated operation")
	fs.DurationVar(&f.deadMemberTimeout, "dead-member-timeout", gridkv.DefaultDeadMemberTimeout,
		"how long a failed member keeps its place on the ring (its writes are kept as hints);\nafter it, its ranges move to the others. Negative: never")
	fs.DurationVar(&f.rebalanceDelay, "rebalance-delay", 0, "wait after a membership change before pulling newly replicated ranges (0: 1s; negative: none)")
	fs.DurationVar(&f.gossipInterval, "gossip-interval", 0, "gossip interval of the failure detector (0: the LAN preset, 200ms probes)")
	fs.DurationVar(&f.failureTimeout, "failure-timeout", 0, "probe timeout of the failure detector (0: the LAN preset)")
	fs.DurationVar(&f.suspectTimeout, "suspect-timeout", 0, "least time a member stays suspect before it is declared failed (0: the LAN preset)")
	fs.IntVar(&f.maxKeyBytes, "max-key-bytes", store.DefaultMaxKeySize, "largest key (same on every node)")
	fs.IntVar(&f.maxValueBytes, "max-value-bytes", store.DefaultMaxValueSize, "largest value (same on every node)")
	fs.IntVar(&f.maxConnections, "max-connections", server.DefaultMaxConnections, "open Redis connections; beyond it new ones get an error and are closed")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", 0, "close Redis connections idle this long (0: never)")
	fs.IntVar(&f.maxRequestBytes, "max-request-bytes", 0,
		"bytes a Redis client may send for one command or pipeline before it is parsed, and largest HTTP body\n(0: twice -max-value-bytes plus 1 MiB)")
	fs.DurationVar(&f.commandTimeout, "command-timeout", server.DefaultCommandTimeout, "deadline of one Redis command")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gridkv %s [flags]\n\nEvery flag can also be set with GRIDKV_<NAME> (upper case, - as _), e.g. GRIDKV_SEEDS.\n\n", name)
		fs.PrintDefaults()
	}
	return f
}

// parse parses args, then fills flags not given on the command line from
// GRIDKV_* variables.
func (f *flags) parse(args []string, getenv func(string) string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", f.fs.Args())
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var err error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if set[fl.Name] || err != nil {
			return
		}
		env := "GRIDKV_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v := getenv(env); v != "" {
			if e := f.fs.Set(fl.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, e)
			}
		}
	})
	return err
}

func (f *flags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", f.logLevel, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

func (f *flags) nodeConfig(log *slog.Logger) (nodeConfig, error) {
	c := nodeConfig{redisAddr: f.redis, httpAddr: f.httpAddr, protected: f.protectedMode}
	cons, err := gridkv.ParseConsistency(f.consistency)
	if err != nil {
		return c, err
	}
	c.opts = gridkv.Options{
		LocalNodeID:        f.id,
		LocalAddress:       f.bind,
		AdvertiseAddress:   f.advertise,
		TransportAddress:   f.transportAddr,
		ReplicaCount:       f.replicas,
		WriteQuorum:        f.w,
		ReadQuorum:         f.r,
		DefaultConsistency: cons,
		DataCenter:         f.zone,
		VirtualNodes:       f.vnodes,
		ReplicationTimeout: f.timeout,
		DeadMemberTimeout:  f.deadMemberTimeout,
		RebalanceDelay:     f.rebalanceDelay,
		GossipInterval:     f.gossipInterval,
		FailureTimeout:     f.failureTimeout,
		SuspectTimeout:     f.suspectTimeout,
		Storage: gridkv.StorageOptions{
			MaxMemoryMB:  f.maxMemoryMB,
			MaxKeySize:   f.maxKeyBytes,
			MaxValueSize: f.maxValueBytes,
		},
		Logger: log,
	}
	if f.deadMemberTimeout == 0 {
		return c, errors.New("-dead-member-timeout 0: give a duration, or a negative one for never")
	}
	if f.maxKeyBytes < 1 || f.maxValueBytes < 1 || f.maxConnections < 1 || f.maxRequestBytes < 0 || f.idleTimeout < 0 || f.commandTimeout <= 0 {
		return c, errors.New("-max-key-bytes, -max-value-bytes, -max-connections and -command-timeout must be positive; -max-request-bytes and -idle-timeout not negative")
	}
	if f.seeds != "" {
		for s := range strings.SplitSeq(f.seeds, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.opts.SeedAddrs = append(c.opts.SeedAddrs, s)
			}
		}
	}
	if f.encryptionKey != "" {
		if c.opts.EncryptionKey, err = decodeKey(f.encryptionKey); err != nil {
			return c, err
		}
	}
	if f.tlsCA != "" || f.tlsCert != "" || f.tlsKey != "" {
		if c.opts.TLS, err = loadTLS(f.tlsCA, f.tlsCert, f.tlsKey); err != nil {
			return c, err
		}
	}
	c.srv = server.Config{
		Password:        f.password,
		Token:           f.token,
		CommandTimeout:  f.commandTimeout,
		MaxRequestBytes: f.maxRequestBytes,
		MaxConnections:  f.maxConnections,
		IdleTimeout:     f.idleTimeout,
		Logger:          log,
	}
	if c.srv.MaxRequestBytes == 0 {
		c.srv.MaxRequestBytes = server.MaxRequestBytesFor(f.maxValueBytes)
	}
	return c, nil
}

// warnUnprotected logs a warning at start for each protection the node
// runs without: gossip encryption, a Redis password, an HTTP token. (The
// node itself warns when it has no TLS configuration: gridkv.New.)
func warnUnprotected(log *slog.Logger, c nodeConfig) {
	if len(c.opts.EncryptionKey) == 0 {
		log.Warn("gridkv: gossip is not encrypted: set -encryption-key (GRIDKV_ENCRYPTION_KEY), the same on every node")
	}
	if c.srv.Password == "" && !off(c.redisAddr) {
		log.Warn("gridkv: Redis clients are not authenticated: set -password (GRIDKV_PASSWORD)")
	}
	if c.srv.Token == "" && !off(c.httpAddr) {
		log.Warn("gridkv: HTTP clients are not authenticated: set -token (GRIDKV_TOKEN)")
	}
}

// checkNodeTLS refuses node-to-node traffic that other hosts can reach
// with the development certificate: it is derived from -encryption-key,
// or from nothing, so anyone who can reach the gossip or transport port
// (and knows the key, if any) can join the cluster and read and write
// every key, whatever -password and -token say.
func checkNodeTLS(o gridkv.Options, insecure bool) error {
	if o.TLS != nil || insecure {
		return nil
	}
	addrs := append([]string{o.LocalAddress, o.TransportAddress, o.AdvertiseAddress}, o.SeedAddrs...)
	for _, a := range addrs {
		if a != "" && !server.IsLoopback(a) {
			return fmt.Errorf("node-to-node address %s is not loopback, and no -tls-ca, -tls-cert, -tls-key are given: "+
				"the development certificate used without them can be derived by anyone (from -encryption-key, or from nothing), "+
				"who could then join the cluster and read every key; give the TLS files (see transport.NewCA), "+
				"or -insecure (GRIDKV_INSECURE=true) on a network you trust", a)
		}
	}
	return nil
}

func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && validKeyLen(len(b)) {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && validKeyLen(len(b)) {
		return b, nil
	}
	return nil, errors.New("encryption key: want 16, 24 or 32 bytes in hex or base64")
}

func validKeyLen(n int) bool { return n == 16 || n == 24 || n == 32 }

func loadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" || certFile == "" || keyFile == "" {
		return nil, errors.New("-tls-ca, -tls-cert and -tls-key go together")
	}
	var pems [3][]byte
	for i, f := range []string{caFile, certFile, keyFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		pems[i] = b
	}
	return transport.NodeTLS(pems[0], pems[1], pems[2])
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready func([]nodeAddrs)) error {
	f := newFlags("serve", stderr)
	if err := f.parse(args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log, err := f.logger(stderr)
	if err != nil {
		return err
	}
	c, err := f.nodeConfig(log)
	if err != nil {
		return err
	}
	if err := checkNodeTLS(c.opts, f.insecure); err != nil {
		return err
	}
	warnUnprotected(log, c)
	n, err := startNode(c)
	if err != nil {
		return err
	}
	a := n.addrs()
	fmt.Fprintf(stdout, "gridkv: node %s is up\n", a.ID)
	fmt.Fprintf(stdout, "  gossip  %s   (more nodes: gridkv serve -bind 127.0.0.1:7947 -redis 127.0.0.1:6381 -http 127.0.0.1:8081 -seeds %s)\n", a.Gossip, display(a.Gossip))
	if a.Redis != "" {
		fmt.Fprintf(stdout, "  redis   %s   (redis-cli -p %s)\n", display(a.Redis), port(a.Redis))
	}
	if a.HTTP != "" {
		fmt.Fprintf(stdout, "  http    http://%s   (/metrics /healthz /readyz /v1/cluster /v1/keys/{key})\n", display(a.HTTP))
	}
	if n.protected {
		fmt.Fprintln(stdout, "  protected mode: only loopback clients are served on listeners without -password / -token (-protected-mode=false to turn it off)")
	}
	if ready != nil {
		ready([]nodeAddrs{a})
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "gridkv: shutting down: leaving the cluster")
	return n.stop()
}

// display shows a listen address as one to connect to: an unspecified
// host (all interfaces) becomes 127.0.0.1.
func display(addr string) string {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort("127.0.0.1", p)
	}
	return addr
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// runningNode is a node with its listeners.
type runningNode struct {
	g      *gridkv.GridKV
	resp   *server.RESP
	http   *http.Server
	redis  net.Listener
	httpLn net.Listener
	served chan error
	// protected is set if a listener refuses remote clients.
	protected bool
}

func off(addr string) bool { return addr == "" || addr == "off" }

func startNode(c nodeConfig) (*runningNode, error) {
	n := &runningNode{served: make(chan error, 2)}
	var err error
	if !off(c.redisAddr) {
		if n.redis, err = net.Listen("tcp", c.redisAddr); err != nil {
			return nil, fmt.Errorf("redis listener: %w", err)
		}
	}
	if !off(c.httpAddr) {
		if n.httpLn, err = net.Listen("tcp", c.httpAddr); err != nil {
			if n.redis != nil {
				n.redis.Close()
			}
			return nil, fmt.Errorf("http listener: %w", err)
		}
	}
	if n.g, err = gridkv.New(c.opts); err != nil {
		if n.redis != nil {
			n.redis.Close()
		}
		if n.httpLn != nil {
			n.httpLn.Close()
		}
		return nil, err
	}
	protect := func(ln net.Listener, p server.Protocol, secret string) net.Listener {
		if !c.protected {
			return ln
		}
		pl := server.Protect(ln, p, secret)
		n.protected = n.protected || pl != ln
		return pl
	}
	if n.redis != nil {
		n.resp = server.NewRESP(n.g, c.srv)
		ln := protect(n.redis, server.ProtocolRESP, c.srv.Password)
		go func() { n.served <- n.resp.Serve(ln) }()
	}
	if n.httpLn != nil {
		n.http = &http.Server{Handler: server.NewHTTP(n.g, c.srv), ReadHeaderTimeout: 10 * time.Second}
		ln := protect(n.httpLn, server.ProtocolHTTP, c.srv.Token)
		go func() { n.served <- n.http.Serve(ln) }()
	}
	return n, nil
}

func (n *runningNode) addrs() nodeAddrs {
	a := nodeAddrs{ID: n.g.ID(), Gossip: n.g.GossipAddr()}
	if n.redis != nil {
		a.Redis = n.redis.Addr().String()
	}
	if n.httpLn != nil {
		a.HTTP = n.httpLn.Addr().String()
	}
	return a
}

// stop closes the listeners and client connections (finishing the
// requests in flight), then leaves the cluster and stops the node.
func (n *runningNode) stop() error {
	var errs []error
	if n.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, n.http.Shutdown(ctx))
		cancel()
		<-n.served
	}
	if n.resp != nil {
		errs = append(errs, n.resp.Close())
		<-n.served
	}
	errs = append(errs, n.g.Close())
	return errors.Join(errs...)
}
