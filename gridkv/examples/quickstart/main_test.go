package main

import (
	"strings"
	"testing"

	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// TestRun runs the example: it must end by itself, without error, print
// what it promises and leave no goroutine behind.
func TestRun(t *testing.T) {
	defer testcluster.VerifyNoLeaks(t)
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"greeting = hello, gridkv", "session expired", "greeting exists after delete: false"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
