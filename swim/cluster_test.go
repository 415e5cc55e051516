package swim

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridkv/gridkv/swim/swimtest"
)

// simCluster is a set of members on an in-memory network. Create it
// inside a synctest bubble.
type simCluster struct {
	t     testing.TB
	nw    *swimtest.Network
	cfg   func(i int, c *Config)
	nodes []*Node
	addrs []string
	recs  []*recorder
}

// recorder drains one member's events and keeps them with their times.
type recorder struct {
	mu     sync.Mutex
	events []timedEvent
	done   chan struct{}
}

type timedEvent struct {
	at time.Time
	e  Event
}

func newRecorder(ch <-chan Event) *recorder {
	r := &recorder{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range ch {
			r.mu.Lock()
			r.events = append(r.events, timedEvent{time.Now(), e})
			r.mu.Unlock()
		}
	}()
	return r
}

// first returns when the first event of type typ about id was recorded.
func (r *recorder) first(typ EventType, id string, after time.Time) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, te := range r.events {
		if te.e.Type == typ && te.e.Member.ID == id && !te.at.Before(after) {
			return te.at, true
		}
	}
	return time.Time{}, false
}

func (r *recorder) count(typ EventType) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, te := range r.events {
		if te.e.Type == typ {
			n++
		}
	}
	return n
}

func (r *recorder) all() []timedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]timedEvent(nil), r.events...)
}

func nodeID(i int) string { return fmt.Sprintf("n%03d", i) }

// newSimCluster starts n members (defer closeAll inside the bubble) that all use member 0 (and 1) as seeds.
func newSimCluster(t testing.TB, seed uint64, n int, cfg func(i int, c *Config)) *simCluster {
	t.Helper()
	c := &simCluster{t: t, nw: swimtest.NewNetwork(seed), cfg: cfg}
	for i := 0; i < n; i++ {
		c.addrs = append(c.addrs, fmt.Sprintf("127.0.0.1:%d", 30000+i))
		c.nodes = append(c.nodes, nil)
		c.recs = append(c.recs, nil)
	}
	for i := 0; i < n; i++ {
		c.start(i, 0)
	}
	return c
}

func (c *simCluster) seeds() []string {
	if len(c.addrs) == 1 {
		return nil
	}
	return []string{c.addrs[0], c.addrs[1]}
}

// start (re)starts member i at its address; bootID 0 means random.
func (c *simCluster) start(i int, bootID uint64) {
	c.t.Helper()
	tr, err := c.nw.Listen(c.addrs[i])
	if err != nil {
		c.t.Fatal(err)
	}
	cfg := Config{
		NodeID:    nodeID(i),
		Seeds:     c.seeds(),
		Transport: tr,
		Meta:      Meta{TransportAddr: "127.0.0.1:7000", Zone: "z1", BootID: bootID},
	}
	// Virtual time never stalls, so the stall detector is off unless a
	// test turns it on (withStallDetector): its ticker in every member
	// made a crash inside the race runtime's timer code in synctest
	// bubbles (tsan SlotLock; Go 1.26.8, like golang/go#78156) frequent.
	cfg.StallThreshold = -1
	if c.cfg != nil {
		c.cfg(i, &cfg)
	}
	n, err := Start(&cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[i] = n
	c.recs[i] = newRecorder(n.Events())
}

// crash stops member i without leaving.
func (c *simCluster) crash(i int) {
	_ = c.nodes[i].shutdown(false)
	<-c.recs[i].done
}

func (c *simCluster) live() []int {
	var out []int
	for i, n := range c.nodes {
		if !n.isClosedForTest() {
			out = append(out, i)
		}
	}
	return out
}

func (c *simCluster) closeAll() {
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		if n == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.Close()
			<-c.recs[i].done
		}()
	}
	wg.Wait()
	// memberlist does not wait for its in-flight probes and TCP fallback
	// pings on Shutdown; let them run out so the bubble ends clean. A
	// probe lasts up to ProbeInterval × AwarenessMaxMultiplier (40 s with
	// the WAN preset).
	time.Sleep(2 * time.Minute)
}

// aliveView returns how many members node i sees alive (or suspect).
func (c *simCluster) aliveView(i int) int {
	return len(c.nodes[i].Snapshot().Alive())
}

// converged reports whether every live member sees exactly the live
// members alive.
func (c *simCluster) converged() bool {
	live := c.live()
	for _, i := range live {
		if c.aliveView(i) != len(live) {
			return false
		}
	}
	return true
}

// waitFor polls cond every 10 ms of (simulated) time for up to max and
// returns how long it took.
func waitFor(max time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > max {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (n *Node) isClosedForTest() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// underRace returns race when the race detector is on, else full: the
// race detector slows simulations several-fold, so -race runs repeat
// less (the figures in doc.go come from full runs).
func underRace[T any](full, race T) T {
	if raceEnabled {
		return race
	}
	return full
}

// withStallDetector turns the stall detector on (its default threshold).
func withStallDetector(_ int, c *Config) { c.StallThreshold = 0 }

// simTest runs f in a synctest bubble, except under the race detector:
// there, simulated memberlist clusters crash now and then inside the race
// runtime's timer code (SIGSEGV in tsan, Go 1.26.8; like golang/go#78156),
// whatever the test does. .ci/run runs these simulations without -race.
func simTest(t *testing.T, f func(*testing.T)) {
	t.Helper()
	if raceEnabled {
		t.Skip("synctest simulations of memberlist crash the race runtime (Go 1.26.8); run without -race")
	}
	synctest.Test(t, f)
}
