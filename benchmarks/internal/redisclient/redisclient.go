// Package redisclient makes the go-redis clients the benchmark commands
// (loadgen, faultsuite) drive nodes with, so that both measure with the
// same client settings: RESP2 (no HELLO 3 round trip), no retries (a
// failed operation is counted, not hidden), no CLIENT SETINFO.
package redisclient

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// Options are what the commands choose; the rest is fixed.
type Options struct {
	Password string
	// PoolSize is the connections per node: the concurrent workers.
	PoolSize    int
	DialTimeout time.Duration
	// Timeout is the read and write deadline of one operation.
	Timeout time.Duration
	// ContextTimeout makes the client honour the operation's context
	// deadline as well (go-redis's ContextTimeoutEnabled).
	ContextTimeout bool
}

// New returns a client of the node at addr.
func New(addr string, o Options) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, Password: o.Password, Protocol: 2,
		PoolSize:    o.PoolSize,
		DialTimeout: o.DialTimeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
		ContextTimeoutEnabled: o.ContextTimeout,
		MaxRetries:            -1, DisableIdentity: true,
	})
}
