package gridkv_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gridkv/gridkv/gridkv"
)

// quiet keeps the examples' output free of the development TLS warning.
var quiet = slog.New(slog.DiscardHandler)

func ExampleNew() {
	kv, err := gridkv.New(gridkv.Options{LocalAddress: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer kv.Close()
	ctx := context.Background()
	if err := kv.Set(ctx, "greeting", []byte("hello")); err != nil {
		log.Fatal(err)
	}
	v, err := kv.Get(ctx, "greeting")
	fmt.Println(string(v), err)
	_, err = kv.Get(ctx, "nothing")
	fmt.Println(errors.Is(err, gridkv.ErrNotFound))
	// Output:
	// hello <nil>
	// true
}

func ExampleGridKV_WaitReady() {
	first, err := gridkv.New(gridkv.Options{LocalNodeID: "a", LocalAddress: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer first.Close()
	second, err := gridkv.New(gridkv.Options{
		LocalNodeID:  "b",
		LocalAddress: "127.0.0.1:0",
		SeedAddrs:    []string{first.GossipAddr()},
		Logger:       quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer second.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := second.WaitReady(ctx, 2); err != nil {
		log.Fatal(err)
	}
	for _, m := range second.Members() {
		fmt.Println(m.ID, m.Local)
	}
	// Output:
	// a false
	// b true
}

func ExampleWithTTL() {
	kv, err := gridkv.New(gridkv.Options{LocalAddress: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer kv.Close()
	ctx := context.Background()
	kv.Set(ctx, "session", []byte("token"), gridkv.WithTTL(time.Hour))
	it, _ := kv.GetItem(ctx, "session")
	fmt.Println(string(it.Value), it.TTL() > 59*time.Minute)
	// Output: token true
}

func ExampleWithConsistency() {
	kv, err := gridkv.New(gridkv.Options{LocalAddress: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer kv.Close()
	ctx := context.Background()
	kv.Set(ctx, "config", []byte("v1"), gridkv.WithConsistency(gridkv.All))
	// A node that holds a replica answers One reads from its own memory.
	v, _ := kv.Get(ctx, "config", gridkv.WithConsistency(gridkv.One))
	fmt.Println(string(v))
	// Output: v1
}

func ExampleGridKV_Namespace() {
	kv, err := gridkv.New(gridkv.Options{LocalAddress: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer kv.Close()
	ctx := context.Background()
	user := kv.Namespace("user42")
	user.Set(ctx, "theme", []byte("dark"))
	v, _ := kv.Get(ctx, "user42:theme") // the key under its full name
	fmt.Println(string(v))
	keys, _, _ := user.Scan(ctx, 0, "*", 10)
	fmt.Println(keys)
	// Output:
	// dark
	// [theme]
}

func ExampleGridKV_Scan() {
	kv, err := gridkv.New(gridkv.Options{LocalAddress: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer kv.Close()
	ctx := context.Background()
	kv.MSet(ctx, []gridkv.KV{{Key: "a:1", Value: []byte("x")}, {Key: "a:2", Value: []byte("y")}, {Key: "b:1", Value: []byte("z")}})
	var all []string
	for cursor := uint64(0); ; {
		keys, next, err := kv.Scan(ctx, cursor, "a:*", 1)
		if err != nil {
			log.Fatal(err)
		}
		all = append(all, keys...)
		if next == 0 {
			break
		}
		cursor = next
	}
	slices.Sort(all) // pages come in hash order
	fmt.Println(all)
	// Output: [a:1 a:2]
}

func ExampleGridKV_WritePrometheus() {
	kv, err := gridkv.New(gridkv.Options{LocalAddress: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer kv.Close()
	kv.Set(context.Background(), "k", []byte("v"))
	var sb strings.Builder
	kv.WritePrometheus(&sb)
	for line := range strings.Lines(sb.String()) {
		if strings.HasPrefix(line, `gridkv_operations_total{op="set"}`) {
			fmt.Print(line)
		}
	}
	// Output: gridkv_operations_total{op="set"} 1
}
