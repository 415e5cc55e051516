package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv/server"
	"github.com/redis/go-redis/v9"
)

// TestRESPHelloWithGoRedis: go-redis v9 with its default protocol sends
// HELLO 3, gets NOPROTO and falls back to RESP2, authenticating with AUTH
// and naming the connection with CLIENT SETNAME; with Protocol 2 it does
// both in HELLO 2. Either way commands then work, and a wrong password
// fails the connection.
func TestRESPHelloWithGoRedis(t *testing.T) {
	s := startRESP(t, server.Config{Password: "pw"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, proto := range []int{0, 2, 3} {
		for _, user := range []string{"", "default"} {
			c := redis.NewClient(&redis.Options{Addr: s.addr, Protocol: proto, Username: user, Password: "pw", ClientName: "app1", MaxRetries: -1})
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Errorf("protocol %d, user %q: SET: %v", proto, user, err)
			}
			if got, err := c.Do(ctx, "CLIENT", "GETNAME").Text(); err != nil || got != "app1" {
				t.Errorf("protocol %d, user %q: CLIENT GETNAME = %q, %v", proto, user, got, err)
			}
			c.Close()
		}
		c := redis.NewClient(&redis.Options{Addr: s.addr, Protocol: proto, Password: "wrong", MaxRetries: -1})
		if err := c.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Errorf("protocol %d, wrong password: PING: %v", proto, err)
		}
		c.Close()
	}
	raw := s.dial()
	raw.send("HELLO 3\r\n")
	if got := raw.line(); got != "-NOPROTO unsupported protocol version" {
		t.Errorf("HELLO 3 = %q", got)
	}
}
