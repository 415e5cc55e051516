// Command ringbalance prints a Markdown table comparing the balance and
// movement of gridkv's ring, buraksezer/consistent and jump hash.
//
//	cd benchmarks && go run ./cmd/ringbalance [-keys 1000000]
package main

import (
	"flag"
	"fmt"

	"github.com/gridkv/gridkv/benchmarks/ringbench"
)

func main() {
	keys := flag.Int("keys", 1_000_000, "random keys to place")
	flag.Parse()
	fmt.Print(ringbench.Table(*keys))
}
