package testcluster

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakWait is how long goroutines may take to end after Close. memberlist
// does not wait for a probe in flight when it shuts down; the probe ends by
// itself within a probe interval (1 s with the settings of Start).
const leakWait = 10 * time.Second

// findLeaks polls goleak.Find until it reports nothing or leakWait passes.
func findLeaks(opts ...goleak.Option) error {
	deadline := time.Now().Add(leakWait)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// VerifyNoLeaks fails t if goroutines other than those matched by opts
// are still running leakWait after the call.
func VerifyNoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	if err := findLeaks(opts...); err != nil {
		t.Error(err)
	}
}

// Main runs the tests, then fails the package if any goroutine outlives
// them. Use it as TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := findLeaks(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
