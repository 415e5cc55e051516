package server_test

import (
	"testing"

	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// TestMain fails the package if any goroutine outlives the tests: every
// node, RESP server and client is closed by then.
func TestMain(m *testing.M) { testcluster.Main(m) }
