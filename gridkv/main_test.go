package gridkv_test

import (
	"testing"

	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// TestMain fails the package if any goroutine outlives the tests.
func TestMain(m *testing.M) { testcluster.Main(m) }
