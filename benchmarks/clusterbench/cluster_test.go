package clusterbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/buraksezer/olric"
	"github.com/buraksezer/olric/config"
	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/transport"
	"github.com/hashicorp/memberlist"
)

const (
	numNodes  = 3
	numKeys   = 100_000
	valueLen  = 100
	startWait = 60 * time.Second
)

var systemsFlag = flag.String("clusterbench.systems", "gridkv,olric,floor",
	"comma-separated systems to run (gridkv, olric, floor); the others are skipped")

// enabled reports whether system name is selected by -clusterbench.systems.
func enabled(name string) bool {
	return slices.Contains(strings.Split(*systemsFlag, ","), name)
}

// keys returns the benchmark keys, 16 bytes each as in storebench.
var keys = sync.OnceValue(func() []string {
	k := make([]string, numKeys)
	for i := range k {
		k[i] = fmt.Sprintf("key-%012d", i)
	}
	return k
})

// kv is one node of a cluster as the benchmarks drive it.
type kv interface {
	set(ctx context.Context, key string, value []byte) error
	get(ctx context.Context, key string) ([]byte, error)
}

// cluster is a running cluster of one system: its nodes and how to stop
// them all.
type cluster struct {
	name  string
	nodes []kv
	close func() error
}

// starters are the systems of BenchmarkMixed, in the order they run.
var starters = []struct {
	name  string
	start func(testing.TB) *cluster
}{
	{"gridkv", func(tb testing.TB) *cluster { return gridkvCluster(tb, startGridKV(tb)) }},
	{"olric", startOlric},
	{"floor", startFloor},
}

// gridkvNode adapts a GridKV node with a consistency for every operation.
type gridkvNode struct {
	g   *gridkv.GridKV
	opt []gridkv.Option
}

func (n gridkvNode) set(ctx context.Context, key string, value []byte) error {
	return n.g.Set(ctx, key, value, n.opt...)
}

func (n gridkvNode) get(ctx context.Context, key string) ([]byte, error) {
	return n.g.Get(ctx, key, n.opt...)
}

// startGridKV starts 3 GridKV nodes (N=3 W=2 R=2, the defaults) on
// 127.0.0.1, joined through the first, and waits until each sees all 3.
// The caller closes them (closeAll); tb's cleanup does too, in case the
// benchmark fails first.
func startGridKV(tb testing.TB) []*gridkv.GridKV {
	tb.Helper()
	nodes := make([]*gridkv.GridKV, 0, numNodes)
	tb.Cleanup(func() { closeGridKV(nodes) })
	for i := range numNodes {
		o := gridkv.Options{
			LocalNodeID:  fmt.Sprintf("node-%d", i),
			LocalAddress: "127.0.0.1:0",
			ReplicaCount: 3,
			WriteQuorum:  2,
			ReadQuorum:   2,
			Logger:       slog.New(slog.DiscardHandler),
			// The slower failure detector of gridkv's own tests: 32 busy
			// callers on 2 cores must not make a node look failed.
			FailureTimeout: 500 * time.Millisecond,
			SuspectTimeout: 3 * time.Second,
		}
		if i > 0 {
			o.SeedAddrs = []string{nodes[0].GossipAddr()}
		}
		g, err := gridkv.New(o)
		if err != nil {
			tb.Fatalf("gridkv node %d: %v", i, err)
		}
		nodes = append(nodes, g)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	for i, g := range nodes {
		if err := g.WaitReady(ctx, numNodes); err != nil {
			tb.Fatalf("gridkv node %d: %v", i, err)
		}
	}
	return nodes
}

func closeGridKV(nodes []*gridkv.GridKV) error {
	var errs []error
	for _, g := range nodes {
		errs = append(errs, g.Close())
	}
	return errors.Join(errs...)
}

// gridkvCluster wraps nodes with the default (quorum) consistency.
func gridkvCluster(tb testing.TB, nodes []*gridkv.GridKV) *cluster {
	c := &cluster{name: "gridkv", close: func() error { return closeGridKV(nodes) }}
	for _, g := range nodes {
		c.nodes = append(c.nodes, gridkvNode{g: g})
	}
	return c
}

// olricNode adapts an Olric embedded member's DMap.
type olricNode struct{ dm olric.DMap }

func (n olricNode) set(ctx context.Context, key string, value []byte) error {
	return n.dm.Put(ctx, key, value)
}

func (n olricNode) get(ctx context.Context, key string) ([]byte, error) {
	r, err := n.dm.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return r.Byte()
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago;
// Olric cannot bind port 0.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// olricConfig is the configuration of one Olric member: silent, on
// 127.0.0.1, N=3 W=2 R=2 with sync replication, memberlist's local
// (loopback) preset, peers the memberlist addresses of the members before.
func olricConfig(port, gossipPort int, peers []string) *config.Config {
	c := config.New("local")
	c.BindAddr = "127.0.0.1"
	c.BindPort = port
	c.ReplicaCount = 3
	c.WriteQuorum = 2
	c.ReadQuorum = 2
	c.ReplicationMode = config.SyncReplicationMode
	c.ReadRepair = false // the default; see the package doc
	c.Peers = peers
	c.LeaveTimeout = time.Second
	// Silence: Sanitize points Logger at LogOutput, and memberlist logs
	// through the same Logger.
	c.LogOutput = io.Discard
	c.Logger = log.New(io.Discard, "", 0)
	c.LogLevel = config.LogLevelError
	c.LogVerbosity = 1
	mc := memberlist.DefaultLocalConfig()
	mc.BindAddr = "127.0.0.1"
	mc.BindPort = gossipPort
	mc.AdvertisePort = gossipPort
	c.MemberlistConfig = mc
	return c
}

// startOlric starts 3 embedded Olric members and waits until each has a
// routing table that gives every partition 1 primary and 2 replica owners.
func startOlric(tb testing.TB) *cluster {
	tb.Helper()
	var (
		dbs   []*olric.Olric
		errcs []chan error
		once  sync.Once
		cerr  error
	)
	closeAll := func() error {
		once.Do(func() {
			var errs []error
			for i := len(dbs) - 1; i >= 0; i-- {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				errs = append(errs, dbs[i].Shutdown(ctx), shutdownOlricClient(ctx, dbs[i]))
				cancel()
				// Start returns once its server stopped.
				select {
				case <-errcs[i]:
				case <-time.After(10 * time.Second):
					errs = append(errs, fmt.Errorf("olric member %d: Start did not return", i))
				}
			}
			cerr = errors.Join(errs...)
		})
		return cerr
	}
	tb.Cleanup(func() { closeAll() })
	var peers []string
	for i := range numNodes {
		gossipPort := freePort(tb)
		c := olricConfig(freePort(tb), gossipPort, slices.Clone(peers))
		started := make(chan struct{})
		c.Started = func() { close(started) }
		db, err := olric.New(c)
		if err != nil {
			tb.Fatalf("olric member %d: %v", i, err)
		}
		errc := make(chan error, 1)
		go func() { errc <- db.Start() }()
		dbs = append(dbs, db)
		errcs = append(errcs, errc)
		select {
		case <-started:
		case err := <-errc:
			errc <- err
			tb.Fatalf("olric member %d: Start: %v", i, err)
		case <-time.After(startWait):
			tb.Fatalf("olric member %d did not start", i)
		}
		peers = append(peers, fmt.Sprintf("127.0.0.1:%d", gossipPort))
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	c := &cluster{name: "olric", close: closeAll}
	for i, db := range dbs {
		e := db.NewEmbeddedClient()
		if err := waitOlric(ctx, e); err != nil {
			tb.Fatalf("olric member %d: %v", i, err)
		}
		dm, err := e.NewDMap("bench")
		if err != nil {
			tb.Fatalf("olric member %d: NewDMap: %v", i, err)
		}
		c.nodes = append(c.nodes, olricNode{dm: dm})
	}
	return c
}

// shutdownOlricClient closes the connection pools that an Olric member
// keeps to its peers. Olric v0.5.7's Shutdown never does (its internal
// server.Client has a Shutdown method nobody calls), which leaves a go-redis
// reaper goroutine and idle sockets behind per pool, across -count runs.
// The field is unexported and its type internal, hence reflect and unsafe;
// if a later version renames it, this does nothing.
func shutdownOlricClient(ctx context.Context, db *olric.Olric) error {
	f := reflect.ValueOf(db).Elem().FieldByName("client")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return nil
	}
	m := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().MethodByName("Shutdown")
	if !m.IsValid() {
		return nil
	}
	out := m.Call([]reflect.Value{reflect.ValueOf(ctx)})
	if len(out) == 1 && !out[0].IsNil() {
		if err, ok := out[0].Interface().(error); ok {
			return fmt.Errorf("olric client shutdown: %w", err)
		}
	}
	return nil
}

// waitOlric waits until e's member sees 3 members and a routing table
// with 1 primary and 2 replica owners for every partition.
func waitOlric(ctx context.Context, e *olric.EmbeddedClient) error {
	var last error
	for {
		last = func() error {
			ms, err := e.Members(ctx)
			if err != nil {
				return err
			}
			if len(ms) != numNodes {
				return fmt.Errorf("%d members", len(ms))
			}
			rt, err := e.RoutingTable(ctx)
			if err != nil {
				return err
			}
			for id, r := range rt {
				if len(r.PrimaryOwners) == 0 || len(r.ReplicaOwners) != numNodes-1 {
					return fmt.Errorf("partition %d: owners %v, replicas %v", id, r.PrimaryOwners, r.ReplicaOwners)
				}
			}
			return nil
		}()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (%w)", last, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// preload writes every key once, from 64 goroutines over all nodes.
func preload(tb testing.TB, c *cluster) {
	tb.Helper()
	ks := keys()
	val := make([]byte, valueLen)
	const workers = 64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			n := c.nodes[w%len(c.nodes)]
			ctx := context.Background()
			for i := w; i < len(ks); i += workers {
				if err := n.set(ctx, ks[i], val); err != nil {
					errc <- fmt.Errorf("%s: preload %s: %w", c.name, ks[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
}

// transportPair returns a client and the address of an echo server, the
// setup of transport's BenchmarkCallSequential, warmed up.
func transportPair(tb testing.TB) (cli *transport.Transport, addr string, closeAll func() error) {
	tb.Helper()
	tlsConf, err := transport.InsecureDevTLS()
	if err != nil {
		tb.Fatal(err)
	}
	echo := func(_ context.Context, _ transport.Peer, req []byte) ([]byte, error) { return req, nil }
	srv, err := transport.Listen("127.0.0.1:0", tlsConf, echo, nil)
	if err != nil {
		tb.Fatal(err)
	}
	cli, err = transport.Listen("127.0.0.1:0", tlsConf, nil, nil)
	if err != nil {
		srv.Close()
		tb.Fatal(err)
	}
	closeAll = func() error { return errors.Join(cli.Close(), srv.Close()) }
	tb.Cleanup(func() { closeAll() })
	addr = srv.Addr().String()
	if _, err := cli.Call(context.Background(), addr, []byte("warm up")); err != nil {
		tb.Fatal(err)
	}
	return cli, addr, closeAll
}

// newRand returns the key chooser of caller g.
func newRand(g int) *rand.Rand { return rand.New(rand.NewPCG(uint64(g), 0x9e3779b97f4a7c15)) }
