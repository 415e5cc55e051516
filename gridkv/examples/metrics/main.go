// Metrics: a node's counters and latency histograms in the Prometheus text
// format, from its own metrics.Set (serve them on /metrics in a real
// program, or use the gridkv server, which does).
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gridkv/gridkv/gridkv"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(out io.Writer) error {
	set := metrics.NewSet()
	kv, err := gridkv.New(gridkv.Options{LocalAddress: "127.0.0.1:0", Metrics: set})
	if err != nil {
		return err
	}
	defer kv.Close()
	ctx := context.Background()
	for i := range 100 {
		key := fmt.Sprintf("k%d", i)
		if err := kv.Set(ctx, key, []byte("v")); err != nil {
			return err
		}
		if _, err := kv.Get(ctx, key); err != nil {
			return err
		}
	}
	kv.Get(ctx, "missing") // not found is not an error

	var buf bytes.Buffer
	kv.WritePrometheus(&buf) // the same as set.WritePrometheus(&buf)
	for line := range strings.Lines(buf.String()) {
		if strings.HasPrefix(line, "gridkv_operations_total") ||
			strings.HasPrefix(line, "gridkv_store_keys") ||
			strings.HasPrefix(line, "gridkv_members{state=\"alive\"}") ||
			strings.HasPrefix(line, "gridkv_operation_duration_seconds_count") {
			fmt.Fprint(out, line)
		}
	}
	return nil
}
