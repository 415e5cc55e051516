package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// node, RESP server and client is closed by then.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
