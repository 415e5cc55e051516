package quorum

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// TestCloseDeliversHints: writes a replica missed while it was down are
// hints on their coordinator; the replica comes back, and before the
// periodic retry (an hour away) or the membership notices, the
// coordinator closes: Close delivers the hints before it returns.
func TestCloseDeliversHints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{HintInterval: time.Hour, AntiEntropyInterval: -1, ReadRepair: RepairOff})
		ctx := context.Background()
		nd := c.nodes["n1"]
		c.net.set(c.net.down, "n3", true)
		for i := range 20 {
			if err := nd.Set(ctx, fmt.Sprint("k", i), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if s := nd.Stats(); s.Hints != 20 {
			t.Fatalf("Stats.Hints = %d, want 20", s.Hints)
		}
		c.net.set(c.net.down, "n3", false)
		synctest.Wait()
		if got := c.stores["n3"].Stats().Keys; got != 0 {
			t.Fatalf("n3 holds %d keys before n1 closes: the test would not see Close deliver", got)
		}
		if err := nd.Close(); err != nil {
			t.Fatal(err)
		}
		if got := c.stores["n3"].Stats().Keys; got != 20 {
			t.Errorf("n3 holds %d keys after n1 closed, want the 20 hinted writes", got)
		}
		if s := nd.Stats(); s.Hints != 0 || s.HintsDelivered != 20 {
			t.Errorf("Stats after Close: Hints=%d Delivered=%d, want 0, 20", s.Hints, s.HintsDelivered)
		}
	})
}

// TestCloseGivesUpOnHints: a peer that does not answer holds Close for
// Timeout at most; the hints for it stay undelivered.
func TestCloseGivesUpOnHints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, Config{HintInterval: time.Hour, AntiEntropyInterval: -1, ReadRepair: RepairOff, Timeout: 3 * time.Second})
		nd := c.nodes["n1"]
		c.net.set(c.net.down, "n3", true)
		if err := nd.Set(context.Background(), "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the call to n3 may still run after Set returned
		c.net.set(c.net.down, "n3", false)
		c.net.set(c.net.frozen, "n3", true)
		start := time.Now()
		if err := nd.Close(); err != nil {
			t.Fatal(err)
		}
		// Fake time (synctest): exact, not a timing assertion.
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("Close took %v with a frozen peer, want Timeout (3s)", d)
		}
		if s := nd.Stats(); s.Hints != 1 || s.HintsDelivered != 0 {
			t.Errorf("Stats after Close: Hints=%d Delivered=%d, want 1, 0", s.Hints, s.HintsDelivered)
		}
	})
}
