// Package transport is GridKV's node-to-node RPC over QUIC: opaque byte
// requests and replies between nodes of a cluster, authenticated by mutual
// TLS, over one long-lived connection per peer.
//
// Work in progress: see the commit log.
package transport
