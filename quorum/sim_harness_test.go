package quorum_test

// Whole-cluster simulation harness: quorum Nodes on a simnet network in a
// testing/synctest bubble (virtual time), with per-node clock skew, a
// seeded nemesis and recorded histories. The sim_*_test.go files use it.
//
// Replaying a failure: every sim test runs its seeds as subtests named
// "seed=<n>", and logs the seed with every failure. Run one seed with
//
//	go test -run '^TestSimLinearizable$/^seed=17$' .
//
// or set GRIDKV_SIM_SEED=17 (every sim test then runs that seed only).
// GRIDKV_SIM_RUNS=<n> changes the number of seeds of the multi-seed tests.
// Goroutine scheduling is not deterministic, so a seed replays the same
// workload and fault schedule, and usually the same history.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/quorum/internal/check"
	"github.com/gridkv/gridkv/quorum/internal/simnet"
	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// simnet does not import quorum (no cycle); this keeps the method sets in
// step.
var _ quorum.AsyncNetwork = (*simnet.Endpoint)(nil)

// simSeeds runs f once per seed, as subtests "seed=<n>". runs is the number
// of seeds by default; GRIDKV_SIM_SEED and GRIDKV_SIM_RUNS override.
func simSeeds(t *testing.T, runs int, f func(t *testing.T, seed int64)) {
	t.Helper()
	seeds := make([]int64, 0, runs)
	if s := os.Getenv("GRIDKV_SIM_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("GRIDKV_SIM_SEED=%q: %v", s, err)
		}
		seeds = append(seeds, seed)
	} else {
		if s := os.Getenv("GRIDKV_SIM_RUNS"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				t.Fatalf("GRIDKV_SIM_RUNS=%q: want a positive number", s)
			}
			runs = n
		}
		for i := range runs {
			seeds = append(seeds, int64(i+1))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			f(t, seed)
			if t.Failed() {
				t.Logf("replay with: go test -run '%s' . (or GRIDKV_SIM_SEED=%d)", runPattern(t.Name()), seed)
			}
		})
	}
}

// runPattern turns a test name into a -run pattern that matches it only.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// simRuns scales a number of runs to the build: fewer under the race
// detector (about ten times slower) and with -short.
func simRuns(full int) int {
	n := full
	if raceEnabled {
		n = max(full/8, 6)
	}
	if testing.Short() {
		n = max(n/4, 5)
	}
	return n
}

// skewClock is a wall clock off by a fixed amount from time.Now (virtual
// time in a bubble).
type skewClock struct{ off time.Duration }

func (c skewClock) Now() time.Time { return time.Now().Add(c.off) }

type simConfig struct {
	nodes       int // initial members n1..nK
	n, w, r     int
	consistency quorum.Consistency
	timeout     time.Duration
	maxSkew     time.Duration // each node's clock is off by up to ±maxSkew
	net         simnet.Options
	// Node background intervals; zero means quorum's defaults.
	antiEntropy  time.Duration
	hintInterval time.Duration
	moveDelay    time.Duration
	hedgeDelay   time.Duration
	readRepair   quorum.ReadRepair
}

func (c simConfig) String() string {
	return fmt.Sprintf("%d nodes N=%d W=%d R=%d %v timeout=%v skew=±%v net=%+v", c.nodes, c.n, c.w, c.r, c.consistency, c.timeout, c.maxSkew, c.net)
}

type simNode struct {
	id   string
	num  int
	q    *quorum.Node
	st   *store.Store
	skew time.Duration
}

// simCluster is a cluster in one bubble. Its methods are safe for
// concurrent use except where noted.
type simCluster struct {
	t    testing.TB
	seed int64
	cfg  simConfig
	net  *simnet.Net

	mu      sync.Mutex
	rng     *rand.Rand // the nemesis's and the test's draws; clients have their own
	nodes   map[string]*simNode
	members []string // ring members, sorted
	ring    *ring.Ring
	retired []*simNode // nodes replaced by an empty restart, closed at the end
	nextNum int
}

var simRingConfig = ring.Config{Points: 16}

// newSimCluster starts cfg.nodes nodes named n1.. with a common ring. Call
// it inside a synctest bubble, and close the cluster before the bubble
// ends.
func newSimCluster(t testing.TB, seed int64, cfg simConfig) *simCluster {
	t.Helper()
	c := &simCluster{
		t:     t,
		seed:  seed,
		cfg:   cfg,
		net:   simnet.New(seed, &cfg.net),
		rng:   rand.New(rand.NewPCG(uint64(seed), 0xc1a5)),
		nodes: make(map[string]*simNode),
	}
	var ids []string
	for i := range cfg.nodes {
		id := fmt.Sprintf("n%d", i+1)
		c.startNode(id, nil, false)
		ids = append(ids, id)
	}
	c.setRing(ids)
	return c
}

// startNode starts (or restarts empty) node id with a new store. Its clock
// skew is drawn once per node name and kept across restarts. join is
// quorum.Config.Join: set for a node that joins, or comes back empty to, a
// cluster that holds data (its answers do not count until it pulled its
// ranges), as the engine's documentation asks.
func (c *simCluster) startNode(id string, old *simNode, join bool) *simNode {
	c.t.Helper()
	var skew time.Duration
	c.mu.Lock()
	if old != nil {
		skew = old.skew
	} else if c.cfg.maxSkew > 0 {
		skew = time.Duration(c.rng.Int64N(int64(2*c.cfg.maxSkew)+1)) - c.cfg.maxSkew
	}
	c.nextNum++
	num := c.nextNum
	c.mu.Unlock()
	wall := skewClock{skew}
	// Coarse digests (256 buckets): anti-entropy rounds cost little, which
	// matters under the race detector; a handful of keys per bucket still
	// exercises the digest comparison.
	st, err := store.New(&store.Config{SweepInterval: -1, DigestBits: 8, Now: func() int64 { return wall.Now().UnixMilli() }})
	if err != nil {
		c.t.Fatal(err)
	}
	clk, err := hlc.NewClock(&hlc.Config{WallClock: wall})
	if err != nil {
		c.t.Fatal(err)
	}
	q, err := quorum.New(quorum.Config{
		ID:                  id,
		NodeID:              store.NodeID(num),
		Store:               st,
		Network:             c.net.Endpoint(id),
		Clock:               clk,
		N:                   c.cfg.n,
		W:                   c.cfg.w,
		R:                   c.cfg.r,
		Consistency:         c.cfg.consistency,
		ReadRepair:          c.cfg.readRepair,
		Timeout:             c.cfg.timeout,
		HedgeDelay:          c.cfg.hedgeDelay,
		AntiEntropyInterval: c.cfg.antiEntropy,
		HintInterval:        c.cfg.hintInterval,
		MoveDelay:           c.cfg.moveDelay,
		Join:                join,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	nd := &simNode{id: id, num: num, q: q, st: st, skew: skew}
	c.mu.Lock()
	if c.ring != nil {
		q.SetRing(c.ring)
	}
	c.nodes[id] = nd
	if old != nil {
		c.retired = append(c.retired, old)
	}
	c.mu.Unlock()
	c.net.Register(id, q.Handle)
	return nd
}

// newRing returns the ring of members ids, in that order.
func (c *simCluster) newRing(ids []string) *ring.Ring {
	c.t.Helper()
	ms := make([]ring.Member, len(ids))
	for i, id := range ids {
		ms[i] = ring.Member{ID: id}
	}
	r, err := ring.New(ms, simRingConfig)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// setRing makes ids the members and gives every node the new ring.
func (c *simCluster) setRing(ids []string) {
	c.t.Helper()
	ids = slices.Clone(ids)
	slices.Sort(ids)
	r := c.newRing(ids)
	c.mu.Lock()
	c.members, c.ring = ids, r
	nodes := c.nodeList()
	c.mu.Unlock()
	for _, nd := range nodes {
		nd.q.SetRing(r)
	}
}

// join starts node id and makes it a member. With oldRingFirst the new
// node first gets the ring without itself (it learns the cluster, then
// the cluster learns it); otherwise its first ring already includes it.
func (c *simCluster) join(id string, oldRingFirst bool) {
	c.t.Helper()
	ids := append(c.Members(), id)
	if !oldRingFirst {
		r := c.newRing(ids)
		c.mu.Lock()
		c.ring = r
		c.mu.Unlock()
	}
	c.startNode(id, nil, true)
	c.setRing(ids)
}

// joinThenLeave, in a goroutine, waits pause, makes join join (see
// join), waits pause again and makes leave leave, noting both in nem's
// log; the returned channel is closed when it is done.
func (c *simCluster) joinThenLeave(nem *nemesis, pause time.Duration, join string, oldRingFirst bool, leave string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(pause)
		c.join(join, oldRingFirst)
		nem.note("join %s (old ring first: %v)", join, oldRingFirst)
		time.Sleep(pause)
		c.leave(leave)
		nem.note("leave %s", leave)
	}()
	return done
}

// leave removes node id from the ring. The node keeps running (a graceful
// leave: the new replicas can still pull from it) but no longer counts in
// the census.
func (c *simCluster) leave(id string) {
	c.setRing(slices.DeleteFunc(c.Members(), func(m string) bool { return m == id }))
}

// nodeList returns the nodes sorted by ID; c.mu is held.
func (c *simCluster) nodeList() []*simNode {
	out := make([]*simNode, 0, len(c.nodes))
	for _, nd := range c.nodes {
		out = append(out, nd)
	}
	slices.SortFunc(out, func(a, b *simNode) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return out
}

func (c *simCluster) node(id string) *simNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// Members returns the ring members.
func (c *simCluster) Members() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.members)
}

// replicas returns key's replica IDs in the current ring.
func (c *simCluster) replicas(key string) []string {
	c.mu.Lock()
	r := c.ring
	c.mu.Unlock()
	var ids []string
	for _, i := range r.Replicas(ring.KeyHash(key), c.cfg.n, nil) {
		ids = append(ids, r.Member(i).ID)
	}
	return ids
}

// tellAlive gives every other node the failure detector's verdict on id.
func (c *simCluster) tellAlive(id string, alive bool) {
	c.mu.Lock()
	nodes := c.nodeList()
	c.mu.Unlock()
	for _, nd := range nodes {
		if nd.id != id {
			nd.q.SetAlive(id, alive)
		}
	}
}

// crash stops node id on the network (its memory is kept: a paused or
// cut-off process) and tells the others.
func (c *simCluster) crash(id string) {
	c.net.Crash(id)
	c.tellAlive(id, false)
}

// recover brings back a crashed node with its data.
func (c *simCluster) recover(id string) {
	c.net.Restart(id, nil)
	c.tellAlive(id, true)
}

// restartEmpty replaces node id with a new node and an empty store (a
// process restarted, memory lost) and tells the others it restarted. join
// sets the new node's Config.Join (how the engine asks to start a node
// that comes back empty).
func (c *simCluster) restartEmpty(id string, join bool) *simNode {
	old := c.node(id)
	c.net.Crash(id)
	old.q.Close()
	nd := c.startNode(id, old, join)
	c.net.Restart(id, nd.q.Handle)
	c.mu.Lock()
	nodes := c.nodeList()
	c.mu.Unlock()
	for _, o := range nodes {
		if o.id != id {
			o.q.Restarted(id)
		}
	}
	return nd
}

// restartWithSkew restarts node id empty with its wall clock off by skew.
func (c *simCluster) restartWithSkew(id string, skew time.Duration) {
	old := *c.node(id)
	old.skew = skew
	c.net.Crash(id)
	c.node(id).q.Close()
	nd := c.startNode(id, &old, true)
	c.net.Restart(id, nd.q.Handle)
}

// healAll lifts every network fault, brings crashed nodes back with their
// data and tells every node that every other is alive.
func (c *simCluster) healAll() {
	c.net.HealAll()
	c.mu.Lock()
	nodes := c.nodeList()
	c.mu.Unlock()
	for _, nd := range nodes {
		for _, o := range nodes {
			if o != nd {
				nd.q.SetAlive(o.id, true)
			}
		}
	}
}

// census checks convergence of keys over the stores of the ring's members
// (nodes that left the ring are gone and their stores do not count).
func (c *simCluster) census(keys []string, strayTombstones bool) []check.Problem {
	c.mu.Lock()
	r := c.ring
	stores := make(map[string]*store.Store, len(c.members))
	for _, id := range c.members {
		if nd := c.nodes[id]; nd != nil {
			stores[id] = nd.st
		}
	}
	c.mu.Unlock()
	return check.Census(r, stores, check.CensusOptions{N: c.cfg.n, Keys: keys, StrayTombstones: strayTombstones})
}

// versionWatch records, from the write requests on the network, the
// contents written under every (key, version). Two different contents
// under one version break last-write-wins: replicas keep whichever arrived
// first, for ever, and reads flip between them.
type versionWatch struct {
	mu         sync.Mutex
	seen       map[versionKey]string
	byValue    map[check.KeyValue]store.Version // first version of each written value
	writes     int
	collisions []string
}

type versionKey struct {
	key string
	v   store.Version
}

// watchVersions taps c's network. It decodes the quorum wire format's
// write request (version byte, type 1, then a store entry): writes counts
// what it decoded, so a test can tell if the format changed under it.
func (c *simCluster) watchVersions() *versionWatch {
	w := &versionWatch{seen: make(map[versionKey]string), byValue: make(map[check.KeyValue]store.Version)}
	c.net.SetTap(func(from, to string, req []byte) {
		if len(req) < 3 || req[1] != 1 {
			return
		}
		e, n, err := store.DecodeEntry(req[2:])
		if err != nil || n != len(req)-2 {
			return
		}
		content := fmt.Sprintf("%q", e.Value)
		if e.Tombstone {
			content = "tombstone"
		}
		k := versionKey{e.Key, e.Version}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.writes++
		if kv := (check.KeyValue{Key: e.Key, Value: string(e.Value)}); !e.Tombstone {
			if _, ok := w.byValue[kv]; !ok {
				w.byValue[kv] = e.Version
			}
		}
		if old, ok := w.seen[k]; !ok {
			w.seen[k] = content
		} else if old != content {
			w.collisions = append(w.collisions, fmt.Sprintf("%s: key %q version %v/%d written as %s and as %s (this one %s→%s)",
				time.Now().Format("15:04:05.000000"), e.Key, e.Version.Time, e.Version.Node, old, content, from, to))
		}
	})
	return w
}

// versions returns the version each value was first written with.
func (w *versionWatch) versions() map[check.KeyValue]store.Version {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[check.KeyValue]store.Version, len(w.byValue))
	for k, v := range w.byValue {
		m[k] = v
	}
	return m
}

func (w *versionWatch) result() (writes int, collisions []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, slices.Clone(w.collisions)
}

// problemList formats census problems one per line.
func problemList(ps []check.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.Text)
	}
	return b.String()
}

// close stops every node, then the network.
func (c *simCluster) close() {
	c.mu.Lock()
	nodes := append(c.nodeList(), c.retired...)
	c.mu.Unlock()
	for _, nd := range nodes {
		nd.q.Close()
	}
	c.net.Close()
	for _, nd := range nodes {
		nd.st.Close()
	}
}

// do runs one operation through node via and records it.
func (c *simCluster) do(rec *check.Recorder, client int, via string, kind check.Kind, key, value string, opts ...quorum.Option) check.Op {
	q := c.node(via).q
	call := rec.Begin(client, kind, key, value).On(via)
	ctx := context.Background()
	switch kind {
	case check.Get:
		v, err := q.Get(ctx, key, opts...)
		if errors.Is(err, quorum.ErrNotFound) {
			return call.End(nil, false, nil)
		}
		return call.End(v, err == nil, err)
	case check.Put:
		return call.End(nil, false, q.Set(ctx, key, []byte(value), opts...))
	default:
		return call.End(nil, false, q.Delete(ctx, key, opts...))
	}
}

// read reads key through node via, for the checkers after a run.
func (c *simCluster) read(via string, opts ...quorum.Option) check.ReadFunc {
	return func(key string) ([]byte, bool, error) {
		v, err := c.node(via).q.Get(context.Background(), key, opts...)
		if errors.Is(err, quorum.ErrNotFound) {
			return nil, false, nil
		}
		return v, err == nil, err
	}
}

// nemesis injects a random fault every period until stop is closed, then
// returns. It keeps at least a majority of the members up and connected
// unless wild is set. It logs what it does into log.
type nemesis struct {
	c      *simCluster
	period time.Duration
	// what it may do
	partitions, crashes, freezes, loss, emptyRestarts bool
	maxEmptyRestarts                                  int
	mu                                                sync.Mutex // guards log, which the test may also write
	log                                               []string
	emptied                                           []string
}

// note adds an event to the log with the virtual time.
func (n *nemesis) note(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.log = append(n.log, time.Now().Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
}

// events returns a copy of the log.
func (n *nemesis) events() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.log)
}

func (n *nemesis) run(stop <-chan struct{}) {
	c := n.c
	t := time.NewTicker(n.period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		c.mu.Lock()
		draw := c.rng.IntN(10)
		members := slices.Clone(c.members)
		pick := members[c.rng.IntN(len(members))]
		perm := c.rng.Perm(len(members))
		lossP := c.rng.Float64() * 0.1
		c.mu.Unlock()
		switch {
		case draw < 3:
			// Heal everything: long enough healthy stretches let the
			// workload make progress.
			c.healAll()
			n.note("heal")
		case draw < 5 && n.partitions:
			// A minority cut off, or one node in a one-way block.
			k := 1 + (len(members)-1)/2
			if len(members) > 2 && k > 0 {
				var minority []string
				for _, i := range perm[:len(members)-k] {
					minority = append(minority, members[i])
				}
				c.net.Partition(minority)
				n.note("partition %v", minority)
			}
		case draw < 6 && n.partitions:
			other := members[perm[0]]
			if other == pick {
				other = members[perm[len(perm)-1]]
			}
			c.net.Block(pick, other)
			n.note("block %s→%s", pick, other)
		case draw < 7 && n.crashes:
			if n.emptyRestarts && len(n.emptied) < n.maxEmptyRestarts && !c.net.Crashed(pick) {
				c.restartEmpty(pick, true)
				n.emptied = append(n.emptied, pick)
				n.note("restart %s empty", pick)
			} else if !c.net.Crashed(pick) {
				c.crash(pick)
				n.note("crash %s", pick)
			}
		case draw < 8 && n.freezes:
			c.net.Freeze(pick)
			n.note("freeze %s", pick)
		case draw < 9 && n.loss:
			c.net.SetDrop(lossP, lossP)
			n.note("loss %.2f", lossP)
		default:
			for _, id := range members {
				if c.net.Crashed(id) {
					c.recover(id)
					n.note("recover %s", id)
				}
			}
		}
	}
}
