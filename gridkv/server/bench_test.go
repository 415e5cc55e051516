package server_test

import (
	"io"
	"testing"

	"github.com/gridkv/gridkv/gridkv/server"
	"github.com/tidwall/redcon"
)

// BenchmarkExecGet measures one command through Exec without a network
// or cluster: the cost of the server itself.
func BenchmarkExecGet(b *testing.B) {
	kv := newFakeKV()
	r := server.NewRESP(kv, server.Config{})
	defer r.Close()
	sess := r.NewSession()
	w := redcon.NewWriter(io.Discard)
	args := [][]byte{[]byte("GET"), []byte("k")}
	b.ReportAllocs()
	for b.Loop() {
		r.Exec(sess, w, args)
		w.Flush()
	}
}
