// Cluster: three nodes in one process on loopback, joined by gossip. A
// write through one node is read through the others, and the data
// survives a node leaving (N=3 replicas, W=2, R=2).
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/gridkv/gridkv/gridkv"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(out io.Writer) error {
	var nodes []*gridkv.GridKV
	for i := range 3 {
		o := gridkv.Options{
			LocalNodeID:  fmt.Sprintf("node-%d", i),
			LocalAddress: "127.0.0.1:0",
		}
		if i > 0 {
			o.SeedAddrs = []string{nodes[0].GossipAddr()}
		}
		g, err := gridkv.New(o)
		if err != nil {
			return err
		}
		defer g.Close()
		nodes = append(nodes, g)
	}
	// Generous: joining includes pulling the ranges each node replicates,
	// which takes seconds on a busy machine (or under the race detector).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, g := range nodes {
		if err := g.WaitReady(ctx, 3); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "3 nodes joined")

	for i := range 10 {
		key := fmt.Sprintf("user:%d", i)
		if err := nodes[i%3].Set(ctx, key, []byte("profile of "+key)); err != nil {
			return err
		}
	}
	v, err := nodes[2].Get(ctx, "user:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "node-2 reads user:0 = %s\n", v)

	nodes[0].Close() // leaves gracefully
	fmt.Fprintln(out, "node-0 left")
	for i := range 10 {
		if _, err := nodes[1].Get(ctx, fmt.Sprintf("user:%d", i)); err != nil {
			return err
		}
	}
	n, err := nodes[1].Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "node-1 still reads all %d keys\n", n)
	return nil
}
