package swim

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gridkv/gridkv/swim/swimtest"
	"github.com/hashicorp/memberlist"
)

func TestConfigValidation(t *testing.T) {
	tr := swimtest.NewNetwork(1).NewTransport()
	for name, c := range map[string]Config{
		"no id":        {},
		"bad seed":     {NodeID: "a", Seeds: []string{"nohostport"}},
		"bad key":      {NodeID: "a", SecretKeys: [][]byte{[]byte("short")}},
		"big zone":     {NodeID: "a", Meta: Meta{Zone: string(make([]byte, MaxZoneLen+1))}},
		"neg queue":    {NodeID: "a", EventQueueSize: -1},
		"bad preset":   {NodeID: "a", Preset: Preset(99), Transport: tr},
		"bad bind":     {NodeID: "a", BindAddr: "127.0.0.1"},
		"neg duration": {NodeID: "a", LeaveTimeout: -time.Second},
	} {
		if n, err := Start(&c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
			if n != nil {
				n.Close()
			}
		}
	}
}

// TestSimRTTDistance: peers behind a 30 ms link are WAN, the others LAN.
func TestSimRTTDistance(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 21, 4, nil)
		defer c.closeAll()
		if _, ok := waitFor(time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		c.nw.SetLinkDelay(c.addrs[0], c.addrs[3], 15*time.Millisecond) // 30 ms RTT
		time.Sleep(30 * time.Second)
		for _, m := range c.nodes[0].Members() {
			want := DistanceLAN
			if m.ID == nodeID(3) {
				want = DistanceWAN
			}
			if m.Distance != want {
				t.Errorf("%s: distance %v (rtt %v), want %v", m.ID, m.Distance, m.RTT, want)
			}
		}
		rtt, ok := c.nodes[0].RTT(nodeID(3))
		if !ok || rtt < 25*time.Millisecond || rtt > 40*time.Millisecond {
			t.Errorf("RTT to n003 = %v, %v; want ~30ms", rtt, ok)
		}
		if _, ok := c.nodes[0].RTT("nobody"); ok {
			t.Error("RTT of unknown member")
		}
	})
}

// TestSimSuspect: a member that no longer answers shows as suspect in
// snapshots while memberlist has not declared it failed yet (a long
// suspicion timeout makes the window wide), and a member back from a
// partition with the same boot id is a join, not a restart.
func TestSimSuspect(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 22, 5, func(_ int, c *Config) {
			c.Tune = func(mc *memberlist.Config) { mc.SuspicionMult = 30 }
		})
		defer c.closeAll()
		if _, ok := waitFor(time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		for _, m := range c.nodes[0].Members() {
			if m.State != StateAlive {
				t.Fatalf("%s is %v before the fault", m.ID, m.State)
			}
		}
		isolated := time.Now()
		c.nw.Partition([]string{c.addrs[4]})
		d, ok := waitFor(10*time.Second, func() bool {
			m, _ := c.nodes[0].Member(nodeID(4))
			return m.State == StateSuspect
		})
		if !ok {
			t.Fatal("isolated member never suspect")
		}
		t.Logf("suspect after %v", d)
		if _, ok := waitFor(2*time.Minute, func() bool {
			m, _ := c.nodes[0].Member(nodeID(4))
			return m.State == StateFailed
		}); !ok {
			t.Fatal("isolated member never failed")
		}
		c.nw.Heal()
		if _, ok := waitFor(30*time.Second, c.converged); !ok {
			t.Fatal("isolated member did not come back after the partition healed")
		}
		if _, ok := c.recs[0].first(EventJoin, nodeID(4), isolated); !ok {
			t.Error("no join event when the member came back")
		}
		if _, ok := c.recs[0].first(EventRestart, nodeID(4), isolated); ok {
			t.Error("a member back with the same boot id was reported restarted")
		}
	})
}

// TestSimEncryption: members with a shared key form a cluster, a member
// with another key cannot join, and keys rotate without a split.
func TestSimEncryption(t *testing.T) {
	k1 := bytes.Repeat([]byte{1}, 16)
	k2 := bytes.Repeat([]byte{2}, 32)
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 23, 4, func(i int, c *Config) {
			c.SecretKeys = [][]byte{k1}
			if i == 3 {
				c.SecretKeys = [][]byte{k2}
			}
		})
		defer c.closeAll()
		time.Sleep(10 * time.Second)
		for i := range 3 {
			if got := c.aliveView(i); got != 3 {
				t.Fatalf("%s sees %d alive, want 3 (the member with the wrong key excluded)", nodeID(i), got)
			}
		}
		if got := c.aliveView(3); got != 1 {
			t.Fatalf("member with the wrong key sees %d alive", got)
		}
		// Rotate k1 -> k2 on the three, in the three documented steps.
		for i := range 3 {
			if err := c.nodes[i].InstallKey(k2); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if err := c.nodes[i].UseKey(k2); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if err := c.nodes[i].RemoveKey(k1); err != nil {
				t.Fatal(err)
			}
			if ks := c.nodes[i].Keys(); len(ks) != 1 || !bytes.Equal(ks[0], k2) {
				t.Fatalf("keys after rotation: %x", ks)
			}
		}
		// Now all four share k2 and the re-join loop merges them.
		if d, ok := waitFor(30*time.Second, c.converged); !ok {
			t.Fatalf("not one cluster %v after rotation", d)
		}
		if n := c.failedTotal(); n != 0 {
			t.Errorf("%d failures during rotation", n)
		}
	})
	n, err := Start(&Config{NodeID: "plain", Transport: swimtest.NewNetwork(1).NewTransport()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.InstallKey(k1); !errors.Is(err, ErrNoKeyring) {
		t.Errorf("InstallKey without keyring: %v", err)
	}
}

// TestSimResync: a consumer that does not read gets one EventResync and a
// snapshot that covers everything it missed.
func TestSimResync(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 24, 6, func(i int, c *Config) {
			if i == 0 {
				c.EventQueueSize = 2
			}
		})
		defer c.closeAll()
		// Replace member 0's recorder: stop reading by not having one.
		// The recorder started by newSimCluster reads immediately, so
		// use a fresh member instead.
		tr, err := c.nw.Listen("127.0.0.1:31000")
		if err != nil {
			t.Fatal(err)
		}
		n, err := Start(&Config{NodeID: "lazy", Seeds: c.seeds(), Transport: tr, EventQueueSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		if _, ok := waitFor(time.Minute, func() bool { return len(n.Snapshot().Alive()) == 7 }); !ok {
			t.Fatal("lazy member did not join")
		}
		// The dispatcher holds at most one event (the first) outside
		// the queue; the resync comes right after it.
		e := <-n.Events()
		if e.Type != EventResync {
			e = <-n.Events()
		}
		if e.Type != EventResync {
			t.Fatalf("second event %v, want resync", e.Type)
		}
		s := n.Snapshot()
		if s.Seq < e.Seq || len(s.Alive()) != 7 {
			t.Fatalf("snapshot seq %d (resync %d), %d alive", s.Seq, e.Seq, len(s.Alive()))
		}
		c.crash(5)
		e = <-n.Events()
		if e.Type != EventFailed || e.Member.ID != nodeID(5) || e.Seq != s.Seq+1 {
			t.Fatalf("after resync got %+v, want failed n005 with seq %d", e, s.Seq+1)
		}
	})
}

// TestSimUpdateMeta: a metadata change reaches the others as an update.
func TestSimUpdateMeta(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 25, 3, nil)
		defer c.closeAll()
		if _, ok := waitFor(time.Minute, c.converged); !ok {
			t.Fatal("no convergence")
		}
		boot := c.nodes[2].Meta().BootID
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := c.nodes[2].UpdateMeta(ctx, Meta{TransportAddr: "127.0.0.1:7001", Zone: "z2", App: []byte("v2")}); err != nil {
			t.Fatal(err)
		}
		_, ok := waitFor(5*time.Second, func() bool {
			m, _ := c.nodes[0].Member(nodeID(2))
			return m.Meta.Zone == "z2"
		})
		if !ok {
			t.Fatal("update not seen")
		}
		m, _ := c.nodes[0].Member(nodeID(2))
		if m.Meta.BootID != boot || m.Meta.TransportAddr != "127.0.0.1:7001" || string(m.Meta.App) != "v2" {
			t.Errorf("member after update: %+v", m.Meta)
		}
		if _, ok := c.recs[0].first(EventUpdate, nodeID(2), time.Time{}.Add(1)); !ok {
			t.Error("no update event")
		}
	})
}

// TestSimConcurrentSafe reads everything while members churn (run with
// -race).
func TestSimConcurrentSafe(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 26, 5, nil)
		defer c.closeAll()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for r := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					case <-time.After(7 * time.Millisecond):
					}
					n := c.nodes[r]
					_ = n.Snapshot()
					_, _ = n.RTT(nodeID(4))
					_, _ = n.Member(nodeID(3))
					_ = n.Meta()
				}
			}()
		}
		time.Sleep(3 * time.Second)
		c.crash(4)
		time.Sleep(3 * time.Second)
		c.start(4, 0)
		time.Sleep(3 * time.Second)
		close(stop)
		wg.Wait()
	})
}

// TestSimClose: Close is idempotent, closes Events, and later calls fail
// with ErrClosed. The synctest bubble itself fails the test if a goroutine
// of this package is left behind.
func TestSimClose(t *testing.T) {
	simTest(t, func(t *testing.T) {
		nw := swimtest.NewNetwork(1)
		n, err := Start(&Config{NodeID: "a", Transport: nw.NewTransport()})
		if err != nil {
			t.Fatal(err)
		}
		<-n.Joined()
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		for range n.Events() {
		}
		if err := n.UpdateMeta(context.Background(), Meta{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("UpdateMeta after Close: %v", err)
		}
		time.Sleep(time.Minute) // memberlist's in-flight probe, if any
	})
}

// fakeResolver resolves one name, failing until ready is closed, like a
// headless service with no ready pods yet.
type fakeResolver struct {
	name  string
	ips   []string
	ready chan struct{}
	calls int
	mu    sync.Mutex
}

func (r *fakeResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	select {
	case <-r.ready:
	default:
		return nil, errors.New("no such host")
	}
	if host != r.name {
		return nil, errors.New("no such host")
	}
	return r.ips, nil
}

// TestSimSeedsAnyOrder: members start before their seed exists and before
// its DNS name resolves; they keep retrying and form one cluster once the
// seed is up.
func TestSimSeedsAnyOrder(t *testing.T) {
	simTest(t, func(t *testing.T) {
		res := &fakeResolver{name: "gridkv-headless.test", ips: []string{"127.0.0.1"}, ready: make(chan struct{})}
		c := newSimCluster(t, 31, 4, func(i int, c *Config) {
			c.Seeds = []string{"gridkv-headless.test:30000"}
			c.Resolver = res
		})
		defer c.closeAll()
		// Member 0 is the seed's address: it resolves only itself, so
		// it must wait for DNS like the others.
		time.Sleep(5 * time.Second)
		for i := range 4 {
			select {
			case <-c.nodes[i].Joined():
				t.Fatalf("%s joined before DNS answered", nodeID(i))
			default:
			}
		}
		close(res.ready)
		d, ok := waitFor(30*time.Second, c.converged)
		if !ok {
			t.Fatalf("no single cluster %v after DNS answered", d)
		}
		t.Logf("one cluster %v after DNS answered", d)
		for i := range 4 {
			<-c.nodes[i].Joined()
		}
	})
}
