package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// local runs a cluster of n nodes in this process on loopback.
func local(ctx context.Context, args []string, stdout, stderr io.Writer, ready func([]nodeAddrs)) error {
	f := newFlags("local", stderr)
	n := f.fs.Int("n", 3, "number of nodes")
	redisBase := f.fs.Int("redis-port", 6380, "Redis port of the first node; node i listens on redis-port+i (0: any free ports)")
	httpBase := f.fs.Int("http-port", 8080, "HTTP port of the first node; node i listens on http-port+i (0: any free ports, -1: none)")
	if err := f.parse(args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *n < 1 || *n > 64 {
		return fmt.Errorf("-n %d: want 1 to 64 nodes", *n)
	}
	log, err := f.logger(stderr)
	if err != nil {
		return err
	}
	portAt := func(base, i int) string {
		if base == 0 {
			return "127.0.0.1:0"
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(base+i))
	}
	var nodes []*runningNode
	stopAll := func() error {
		var errs []error
		for i := len(nodes) - 1; i >= 0; i-- {
			errs = append(errs, nodes[i].stop())
		}
		return errors.Join(errs...)
	}
	var addrs []nodeAddrs
	for i := range *n {
		c, err := f.nodeConfig(log.With("node", i))
		if err != nil {
			return err
		}
		c.opts.LocalNodeID = "local-" + strconv.Itoa(i)
		c.opts.LocalAddress = "127.0.0.1:0"
		c.opts.TransportAddress = "127.0.0.1:0"
		c.redisAddr = portAt(*redisBase, i)
		c.httpAddr = "off"
		if *httpBase >= 0 {
			c.httpAddr = portAt(*httpBase, i)
		}
		if i > 0 {
			c.opts.SeedAddrs = []string{addrs[0].Gossip}
		}
		rn, err := startNode(c)
		if err != nil {
			return errors.Join(fmt.Errorf("node %d: %w", i, err), stopAll())
		}
		nodes = append(nodes, rn)
		addrs = append(addrs, rn.addrs())
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	for i, rn := range nodes {
		if err := rn.g.WaitReady(wctx, *n); err != nil {
			cancel()
			return errors.Join(fmt.Errorf("node %d: %w", i, err), stopAll())
		}
	}
	cancel()
	fmt.Fprintf(stdout, "gridkv: local cluster of %d nodes is up (N=%d W=%d R=%d)\n", *n, f.replicas, f.w, f.r)
	for _, a := range addrs {
		line := fmt.Sprintf("  %-8s redis %s", a.ID, a.Redis)
		if a.HTTP != "" {
			line += "   http://" + a.HTTP
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "connect with: redis-cli -p %s   (any node; try SET k v, then GET k on -p %s)\n",
		port(addrs[0].Redis), port(addrs[len(addrs)-1].Redis))
	fmt.Fprintln(stdout, "stop with Ctrl-C")
	if ready != nil {
		ready(addrs)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "gridkv: shutting down the local cluster")
	return stopAll()
}
