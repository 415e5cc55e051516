// Multizone: four nodes in two zones (DataCenter). Each key's replicas
// are placed in different zones first, so losing a zone keeps a copy.
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
	zones := []string{"eu-west", "us-east", "eu-west", "us-east"}
	var nodes []*gridkv.GridKV
	for i, zone := range zones {
		o := gridkv.Options{
			LocalNodeID:  fmt.Sprintf("%s-%d", zone, i),
			LocalAddress: "127.0.0.1:0",
			DataCenter:   zone,
			ReplicaCount: 2, // one copy per zone
			WriteQuorum:  2,
			ReadQuorum:   1,
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
		if err := g.WaitReady(ctx, len(zones)); err != nil {
			return err
		}
	}
	for _, m := range nodes[0].Members() {
		fmt.Fprintf(out, "member %-10s zone %-8s %s\n", m.ID, m.Zone, m.State)
	}
	for _, key := range []string{"cart:1", "cart:2", "cart:3"} {
		if err := nodes[1].Set(ctx, key, []byte("items")); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s is stored on %v\n", key, nodes[0].Replicas(key))
	}
	return nil
}
