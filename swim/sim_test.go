package swim

import (
	"testing"
	"time"
)

func TestSimJoin(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newSimCluster(t, 1, 5, nil)
		defer c.closeAll()
		d, ok := waitFor(30*time.Second, c.converged)
		if !ok {
			t.Fatalf("not converged after %v", d)
		}
		t.Logf("5 members converged in %v", d)
	})
}
