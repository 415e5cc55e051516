// Package faultnet injects network faults under QUIC for tests: a
// net.PacketConn wrapper that drops, delays, reorders (jitter) and
// blackholes datagrams per destination, and an in-memory datagram network
// with the same faults per link that runs inside testing/synctest (no
// sockets; all waiting is on channels and timers).
//
// Both are switchable at run time (set faults while traffic flows; a zero
// Faults heals) and draw their randomness from a seeded generator, so a
// failing run can be replayed with its seed (timing still varies).
//
// Usage:
//
//  1. Real sockets: pc, _ := net.ListenUDP("udp", addr); fc := faultnet.Wrap(pc, seed);
//     give fc to transport.New; fc.SetPeerFaults(peerAddr, faultnet.Faults{Blackhole: true})
//     cuts the link both ways; fc.SetPeerFaults(peerAddr, faultnet.Faults{}) heals it.
//  2. In memory: n := faultnet.NewNetwork(seed); pc, _ := n.Listen("127.0.0.1:0");
//     n.Partition(a, b) and n.Heal(a, b) cut and restore links; n.SetLinkFaults
//     sets loss, delay and jitter for one direction.
//  3. Inside synctest.Test, create the Network in the bubble; delays then run in
//     virtual time.
package faultnet
