package server

import "net"

// ProtectWith is Protect with the test "is this client on loopback"
// replaced by loopback, so tests on 127.0.0.1 can play remote clients.
func ProtectWith(ln net.Listener, proto Protocol, secret string, loopback func(net.Addr) bool) net.Listener {
	p := Protect(ln, proto, secret)
	if pl, ok := p.(*protectedListener); ok {
		pl.loopback = loopback
	}
	return p
}

// Protects and IsLoopbackAddr are the decisions of protected mode.
var (
	Protects       = protects
	IsLoopbackAddr = isLoopback
)
