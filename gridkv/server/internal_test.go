package server

import "testing"

func TestNumCommands(t *testing.T) {
	if len(commands) != numCommands {
		t.Fatalf("numCommands = %d, the table has %d", numCommands, len(commands))
	}
}
