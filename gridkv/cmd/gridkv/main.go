// Command gridkv runs GridKV nodes that speak the Redis protocol and HTTP.
//
//	gridkv                 one node with the defaults (same as "gridkv serve")
//	gridkv serve [flags]   one node; every flag has a GRIDKV_* environment variable
//	gridkv local -n 3      a 3-node cluster in this process, on loopback
//
// Run "gridkv serve -h" for the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "gridkv:", err)
		os.Exit(1)
	}
}

// run runs the command line args until ctx ends. ready, if set, receives
// the addresses of the nodes once they serve (for tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func([]nodeAddrs)) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr, ready)
	case "local":
		return local(ctx, args, stdout, stderr, ready)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage:
  gridkv                 one node with the defaults (same as "gridkv serve")
  gridkv serve [flags]   one node; see "gridkv serve -h" (flags also read GRIDKV_* variables)
  gridkv local [-n 3]    a cluster of n nodes in this process, on loopback
`
