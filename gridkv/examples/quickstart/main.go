// Quickstart: one GridKV node in this process, with no seeds and no
// configuration beyond a loopback address: set, get, expire, delete.
package main

import (
	"context"
	"errors"
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
	kv, err := gridkv.New(gridkv.Options{LocalAddress: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer kv.Close()
	ctx := context.Background()

	if err := kv.Set(ctx, "greeting", []byte("hello, gridkv")); err != nil {
		return err
	}
	v, err := kv.Get(ctx, "greeting")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "greeting = %s\n", v)

	if err := kv.Set(ctx, "session", []byte("token"), gridkv.WithTTL(200*time.Millisecond)); err != nil {
		return err
	}
	it, _ := kv.GetItem(ctx, "session")
	fmt.Fprintf(out, "session expires within %v\n", it.TTL().Round(100*time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	if _, err := kv.Get(ctx, "session"); errors.Is(err, gridkv.ErrNotFound) {
		fmt.Fprintln(out, "session expired")
	}

	if err := kv.Delete(ctx, "greeting"); err != nil {
		return err
	}
	ok, _ := kv.Exists(ctx, "greeting")
	fmt.Fprintf(out, "greeting exists after delete: %v\n", ok)
	return nil
}
