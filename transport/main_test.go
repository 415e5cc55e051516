package transport

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: every
// Transport is closed by its test, and Close must stop everything it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
