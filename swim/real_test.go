package swim

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRealSockets runs 5 members on 127.0.0.1 UDP/TCP with the default
// preset: join, crash one (shutdown without leave), detection, graceful
// leave. Timings on a shared 2-core machine are noisy, so the bounds are
// generous; the precise claims are made in simulated time.
func TestRealSockets(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const size = 5
	var nodes []*Node
	var recs []*recorder
	closeAll := func() {
		for i, n := range nodes {
			_ = n.Close()
			<-recs[i].done
		}
		// memberlist does not wait for its in-flight probe on
		// Shutdown; it ends within one probe interval.
		time.Sleep(300 * time.Millisecond)
	}
	defer func() { closeAll() }()
	for i := range size {
		cfg := &Config{
			NodeID:   nodeID(i),
			BindAddr: "127.0.0.1:0",
			Meta:     Meta{TransportAddr: "127.0.0.1:7000"},
		}
		if i > 0 {
			cfg.Seeds = []string{nodes[0].Addr()}
		}
		n, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		recs = append(recs, newRecorder(n.Events()))
	}
	sees := func(i, want int) bool { return len(nodes[i].Snapshot().Alive()) == want }
	all := func(want int, among []int) func() bool {
		return func() bool {
			for _, i := range among {
				if !sees(i, want) {
					return false
				}
			}
			return true
		}
	}
	if d, ok := waitFor(20*time.Second, all(size, []int{0, 1, 2, 3, 4})); !ok {
		t.Fatalf("5 members did not converge in %v", d)
	} else {
		t.Logf("converged in %v", d)
	}
	time.Sleep(time.Second)

	crashed := time.Now()
	if err := nodes[4].shutdown(false); err != nil {
		t.Fatal(err)
	}
	d, ok := waitFor(20*time.Second, func() bool {
		for i := range 4 {
			if _, ok := recs[i].first(EventFailed, nodeID(4), crashed); !ok {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("crash not detected by every survivor in %v", d)
	}
	t.Logf("real sockets: crash reported failed by every survivor after %v", d)

	left := time.Now()
	if err := nodes[3].Close(); err != nil {
		t.Fatal(err)
	}
	d, ok = waitFor(10*time.Second, func() bool {
		for i := range 3 {
			if _, ok := recs[i].first(EventLeave, nodeID(3), left); !ok {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("graceful leave not seen by everyone in %v", d)
	}
	t.Logf("real sockets: leave seen by every member after %v", d)
	for i := range 3 {
		if at, ok := recs[i].first(EventFailed, nodeID(3), left); ok {
			t.Errorf("%s saw the leaving member as failed at %v", nodeID(i), at)
		}
	}
}
