// Package server exposes a GridKV node to programs in any language: the
// Redis protocol (RESP2, served with redcon) and HTTP (metrics, health,
// cluster status, a REST key API and the MemQuorum-compatible memory API).
//
// Command handling is plain code over the KV interface, which
// *gridkv.GridKV implements, so tests and fuzz targets drive it without
// sockets.
//
// Usage:
//
//  1. Start a node: g, err := gridkv.New(gridkv.Options{...}).
//  2. Serve Redis: r := server.NewRESP(g, cfg); go r.Serve(ln) for a
//     listener ln; r.Close() stops it and waits for its connections.
//  3. Serve HTTP: http.Serve(ln2, server.NewHTTP(g, cfg)).
//  4. Unless cfg has a Password (RESP) or Token (HTTP), or ln and ln2
//     listen on loopback only, wrap them first with Protect (protected
//     mode: only loopback clients are served; the gridkv command does
//     this unless -protected-mode=false).
package server

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/store"
)

// KV is what the servers need from a node. *gridkv.GridKV implements it.
// Implementations must be safe for concurrent use, and must not use the
// context of a call once it returned: the RESP server re-arms it for the
// connection's next command.
type KV interface {
	Set(ctx context.Context, key string, value []byte, opts ...gridkv.Option) error
	GetItem(ctx context.Context, key string, opts ...gridkv.Option) (gridkv.Item, error)
	Delete(ctx context.Context, key string, opts ...gridkv.Option) error
	Exists(ctx context.Context, key string, opts ...gridkv.Option) (bool, error)
	MGet(ctx context.Context, keys []string, opts ...gridkv.Option) ([][]byte, error)
	MSet(ctx context.Context, kvs []gridkv.KV, opts ...gridkv.Option) error
	Scan(ctx context.Context, cursor uint64, match string, count int) ([]string, uint64, error)
	Count(ctx context.Context) (int64, error)
	Members() []gridkv.Member
	Stats() gridkv.Stats
	Ready() bool
	WritePrometheus(w io.Writer)
}

// Defaults of Config.
const (
	DefaultCommandTimeout = 5 * time.Second
	// DefaultMaxRequestBytes is MaxRequestBytesFor the store's default
	// value limit (1 MiB): 3 MiB. Raise it with Storage.MaxValueSize.
	DefaultMaxRequestBytes = 2*store.DefaultMaxValueSize + 1<<20
	// DefaultMaxConnections bounds the RESP connections of one server.
	DefaultMaxConnections = 10000
)

// MaxRequestBytesFor is the MaxRequestBytes that fits a node whose values
// are at most maxValueBytes long: twice that plus 1 MiB, room for a SET
// or a two-pair MSET of the largest values.
func MaxRequestBytesFor(maxValueBytes int) int { return 2*maxValueBytes + 1<<20 }

// Config configures the servers. The zero value works.
type Config struct {
	// Password, if set, must be given with AUTH (or HELLO ... AUTH) before
	// any other RESP command.
	Password string
	// Token, if set, must be sent as "Authorization: Bearer <Token>" on
	// every HTTP request except /healthz and /readyz.
	Token string
	// CommandTimeout bounds one RESP command, all the operations it
	// makes included: its context has this deadline (default 5 s).
	CommandTimeout time.Duration
	// MaxRequestBytes bounds what a RESP connection may send for one
	// command or pipeline before the server has parsed it; beyond it the
	// connection is closed (default DefaultMaxRequestBytes, 3 MiB). A
	// request announcing a bulk string longer than it, or more than
	// MaxRequestBytes/4 (at most 1<<20) arguments, is refused with
	// "-ERR Protocol error: ..." and its connection closed, as is an
	// inline command longer than 64 KiB. Per-connection memory is about
	// twice this. HTTP bodies are bounded by it too.
	MaxRequestBytes int
	// MaxConnections bounds the open RESP connections (default
	// DefaultMaxConnections); beyond it a new connection receives
	// "-ERR max number of clients reached" and is closed.
	MaxConnections int
	// IdleTimeout, if positive, closes a RESP connection on which the
	// client sent nothing for that long, whether between commands or
	// within one (a slow sender). Zero, the default, never closes idle
	// connections, as Redis's "timeout 0"; pooled clients keep
	// connections idle for long, so set it in minutes, not seconds.
	IdleTimeout time.Duration
	// Logger receives connection-level logs. Nil means silent.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
