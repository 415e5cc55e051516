package gridkv

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Defaults used for zero fields of Options.
const (
	DefaultLocalAddress       = "127.0.0.1:7946"
	DefaultReplicaCount       = 3
	DefaultWriteQuorum        = 2
	DefaultReadQuorum         = 2
	DefaultVirtualNodes       = 2048
	DefaultReplicationTimeout = 2 * time.Second
)

// Options configures a node. The zero value works: a single node on
// DefaultLocalAddress with N=3, W=2, R=2, which a cluster of one serves with
// what it has (see Consistency).
type Options struct {
	// LocalNodeID names the node; unique in the cluster and stable across
	// restarts (placement depends on it). Default: the host name and the
	// gossip port; with gossip port 0 the default is not stable across
	// restarts (the host name and random hex), so set it explicitly.
	LocalNodeID string
	// LocalAddress is the gossip bind address, host:port (UDP and TCP).
	// Port 0 picks a free port. Default DefaultLocalAddress, which is on
	// loopback: a cluster across hosts sets it (and Options.TLS) explicitly.
	LocalAddress string
	// AdvertiseAddress is the gossip address others use, if it differs
	// from LocalAddress (NAT, containers, a 0.0.0.0 bind).
	AdvertiseAddress string
	// TransportAddress is the bind address of the data transport (QUIC,
	// UDP). Default: the host of LocalAddress, port 0 (any free port); it
	// is published to the other members in the gossip metadata.
	TransportAddress string
	// SeedAddrs are gossip addresses of members to join. None: start a
	// new cluster. With seeds, operations wait until the node has joined.
	SeedAddrs []string

	// ReplicaCount is N, the number of replicas of each key (default 3).
	ReplicaCount int
	// WriteQuorum is W, the replicas that must apply a write (default 2).
	WriteQuorum int
	// ReadQuorum is R, the replicas that must answer a read (default 2).
	ReadQuorum int
	// DefaultConsistency applies to operations that do not choose one
	// (default Quorum: W and R above).
	DefaultConsistency Consistency
	// DataCenter is the node's zone: replica sets spread over zones first,
	// and reads ask the replicas of the node's own zone before the others
	// (each group by measured RTT; see quorum's doc).
	DataCenter string
	// VirtualNodes is the number of points the node gets on the hash ring
	// (default 2048). Every node must use the same value.
	VirtualNodes int

	// GossipInterval, FailureTimeout and SuspectTimeout tune the failure
	// detector; zero keeps swim's fast LAN preset (probe every 200 ms).
	// GossipInterval is memberlist's gossip interval, FailureTimeout the
	// probe timeout, SuspectTimeout the minimum time a member stays
	// suspect before it is declared failed.
	GossipInterval time.Duration
	FailureTimeout time.Duration
	SuspectTimeout time.Duration
	// ReplicationTimeout bounds one operation when its context has no
	// earlier deadline (default 2 s).
	ReplicationTimeout time.Duration
	// DeadMemberTimeout is how long a failed member keeps its place on the
	// ring. Until then its replicas still count in N (writes it misses are
	// kept as hints, and an operation fails with ErrQuorumNotMet rather
	// than succeed on fewer than W or R replicas); after it, its ranges
	// move to the other members. A member that leaves gracefully (Close)
	// leaves the ring at once. Zero means 5 minutes; negative means never.
	// Hazard: a partition longer than this lets each side drop the other
	// and accept writes on its own; last-write-wins reconciles after it
	// heals.
	DeadMemberTimeout time.Duration
	// RebalanceDelay is how long a node waits after a membership change
	// before it pulls the ranges it newly replicates, so that every node
	// has the new ring by then (default 1 s; negative: no delay).
	RebalanceDelay time.Duration

	// Storage configures the local store.
	Storage StorageOptions

	// TLS is the mutual-TLS configuration of the data transport (see
	// transport.NodeTLS). Nil means an insecure development setup: a
	// certificate derived from EncryptionKey (or from nothing), so every
	// node with the same key trusts the others, and anyone who knows the
	// key can join. New then logs a warning, to slog.Default() if Logger
	// is nil.
	TLS *tls.Config
	// EncryptionKey, if set (16, 24 or 32 bytes), encrypts gossip.
	EncryptionKey []byte

	// Logger receives the node's logs. Nil means silent.
	Logger *slog.Logger
	// Metrics receives the node's metrics. Nil means a new set, see
	// GridKV.WritePrometheus.
	Metrics *metrics.Set
}

// StorageOptions configures a node's local store.
type StorageOptions struct {
	// ShardCount is accepted for compatibility; the store always uses 256
	// shards (lock-free reads, a mutex per shard for writes).
	ShardCount int
	// MaxMemoryMB is the memory limit of the local store; beyond it entries
	// are evicted. Zero means no limit.
	MaxMemoryMB int
	// MaxKeySize and MaxValueSize bound keys and values (defaults 4 KiB
	// and 1 MiB); larger writes fail with ErrKeyTooLarge or
	// ErrValueTooLarge.
	MaxKeySize   int
	MaxValueSize int
}

// DefaultDeadMemberTimeout is the DeadMemberTimeout of Options that leave
// it zero.
const DefaultDeadMemberTimeout = 5 * time.Minute

// withDefaults fills zero fields and validates the result.
func (o Options) withDefaults() (Options, error) {
	if o.LocalAddress == "" {
		o.LocalAddress = DefaultLocalAddress
	}
	if o.DeadMemberTimeout == 0 {
		o.DeadMemberTimeout = DefaultDeadMemberTimeout
	}
	host, port, err := splitHostPort(o.LocalAddress)
	if err != nil {
		return o, fmt.Errorf("gridkv: LocalAddress %q: %w", o.LocalAddress, err)
	}
	if o.AdvertiseAddress != "" {
		if _, _, err := splitHostPort(o.AdvertiseAddress); err != nil {
			return o, fmt.Errorf("gridkv: AdvertiseAddress %q: %w", o.AdvertiseAddress, err)
		}
	}
	if o.TransportAddress == "" {
		o.TransportAddress = net.JoinHostPort(host, "0")
	} else if _, _, err := splitHostPort(o.TransportAddress); err != nil {
		return o, fmt.Errorf("gridkv: TransportAddress %q: %w", o.TransportAddress, err)
	}
	for _, s := range o.SeedAddrs {
		if _, _, err := splitHostPort(s); err != nil {
			return o, fmt.Errorf("gridkv: seed address %q: %w", s, err)
		}
	}
	if o.LocalNodeID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "gridkv"
		}
		if port == 0 {
			// The real port is known only once bound; New fixes the ID up.
			o.LocalNodeID = ""
		} else {
			o.LocalNodeID = h + ":" + strconv.Itoa(port)
		}
	}
	if o.ReplicaCount == 0 {
		o.ReplicaCount = DefaultReplicaCount
	}
	if o.WriteQuorum == 0 {
		o.WriteQuorum = min(DefaultWriteQuorum, o.ReplicaCount)
	}
	if o.ReadQuorum == 0 {
		o.ReadQuorum = min(DefaultReadQuorum, o.ReplicaCount)
	}
	switch {
	case o.ReplicaCount < 1:
		return o, fmt.Errorf("gridkv: ReplicaCount %d < 1", o.ReplicaCount)
	case o.WriteQuorum < 1 || o.WriteQuorum > o.ReplicaCount:
		return o, fmt.Errorf("gridkv: WriteQuorum %d not in [1, ReplicaCount=%d]", o.WriteQuorum, o.ReplicaCount)
	case o.ReadQuorum < 1 || o.ReadQuorum > o.ReplicaCount:
		return o, fmt.Errorf("gridkv: ReadQuorum %d not in [1, ReplicaCount=%d]", o.ReadQuorum, o.ReplicaCount)
	}
	if o.DefaultConsistency == 0 {
		o.DefaultConsistency = Quorum
	}
	if o.DefaultConsistency < One || o.DefaultConsistency > Linearizable {
		return o, fmt.Errorf("gridkv: DefaultConsistency %d unknown", o.DefaultConsistency)
	}
	if o.VirtualNodes == 0 {
		o.VirtualNodes = DefaultVirtualNodes
	}
	if o.VirtualNodes < 1 {
		return o, fmt.Errorf("gridkv: VirtualNodes %d < 1", o.VirtualNodes)
	}
	if o.GossipInterval < 0 || o.FailureTimeout < 0 || o.SuspectTimeout < 0 || o.ReplicationTimeout < 0 {
		return o, fmt.Errorf("gridkv: negative timeout")
	}
	if o.ReplicationTimeout == 0 {
		o.ReplicationTimeout = DefaultReplicationTimeout
	}
	if o.Storage.MaxMemoryMB < 0 || o.Storage.ShardCount < 0 || o.Storage.MaxKeySize < 0 || o.Storage.MaxValueSize < 0 {
		return o, fmt.Errorf("gridkv: negative Storage option")
	}
	if n := len(o.EncryptionKey); n != 0 && n != 16 && n != 24 && n != 32 {
		return o, fmt.Errorf("gridkv: EncryptionKey of %d bytes, want 16, 24 or 32", n)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	return o, nil
}

func splitHostPort(s string) (string, int, error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", ps)
	}
	return host, port, nil
}
