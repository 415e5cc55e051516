package swim

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// Preset selects the failure detector timings. Detection times are the
// median time, measured in simulated time on a 5-member cluster with no
// loss, from a crash until every survivor reports EventFailed
// (TestDetectionTimes, see doc.go for the figures).
type Preset int

const (
	// PresetFast is the default: tuned for fast detection on a LAN.
	PresetFast Preset = iota
	// PresetLAN is memberlist.DefaultLANConfig.
	PresetLAN
	// PresetWAN is memberlist.DefaultWANConfig.
	PresetWAN
	// PresetLocal is memberlist.DefaultLocalConfig (loopback).
	PresetLocal
)

func (p Preset) String() string {
	switch p {
	case PresetFast:
		return "fast"
	case PresetLAN:
		return "lan"
	case PresetWAN:
		return "wan"
	case PresetLocal:
		return "local"
	}
	return "preset(" + strconv.Itoa(int(p)) + ")"
}

// memberlistConfig returns the memberlist configuration of a preset.
func (p Preset) memberlistConfig() (*memberlist.Config, error) {
	switch p {
	case PresetFast:
		c := memberlist.DefaultLANConfig()
		// Probe a peer every 100 ms; it is suspected when neither the
		// direct ping (50 ms), 3 indirect pings nor the TCP fallback
		// answer within the interval. A suspect has 6 × 100 ms ×
		// max(1, log10 n) to refute; Lifeguard stretches that up to 6×
		// until independent confirmations arrive, so one slow or
		// confused prober cannot kill a healthy member. Gossip every
		// 20 ms to 4 peers spreads suspicion, refutation and death
		// quickly; it costs nothing when there is nothing to gossip.
		c.ProbeInterval = 100 * time.Millisecond
		c.ProbeTimeout = 50 * time.Millisecond
		c.IndirectChecks = 3
		c.SuspicionMult = 6
		c.SuspicionMaxTimeoutMult = 6
		c.AwarenessMaxMultiplier = 8
		c.GossipInterval = 20 * time.Millisecond
		c.GossipNodes = 4
		c.RetransmitMult = 4
		c.PushPullInterval = 15 * time.Second
		c.GossipToTheDeadTime = 15 * time.Second
		c.TCPTimeout = time.Second
		// A member restarted on a new address (a rescheduled pod) may
		// take over its name one second after the old one was declared
		// dead.
		c.DeadNodeReclaimTime = time.Second
		return c, nil
	case PresetLAN:
		return memberlist.DefaultLANConfig(), nil
	case PresetWAN:
		return memberlist.DefaultWANConfig(), nil
	case PresetLocal:
		return memberlist.DefaultLocalConfig(), nil
	}
	return nil, fmt.Errorf("%w: unknown preset %d", ErrConfig, int(p))
}

// Resolver resolves seed host names. *net.Resolver implements it.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Config configures a member. The zero value of every field except NodeID
// means its default.
type Config struct {
	// NodeID names the member; unique in the cluster and stable across
	// restarts of the same node (restarts are told apart by Meta.BootID).
	NodeID string

	// BindAddr is the host:port for gossip (UDP and TCP). Default
	// "0.0.0.0:7946". Port 0 picks a free port. Ignored with Transport.
	BindAddr string
	// AdvertiseAddr is the host:port others use to reach this member, if
	// it differs from BindAddr (NAT, containers). Default: derived.
	AdvertiseAddr string
	// Seeds are host:port addresses to join through. Host names are
	// resolved on every attempt (a Kubernetes headless service works).
	// The member's own address is skipped. No seeds: start a new cluster.
	Seeds []string

	// Meta is published to every other member. BootID zero means a fresh
	// random one; set it only in tests.
	Meta Meta

	// Preset selects the failure detector timings (default PresetFast).
	Preset Preset

	// EventQueueSize bounds the queue of undelivered events (default
	// 1024). On overflow the queue is replaced by one EventResync.
	EventQueueSize int

	// LANThreshold is the smoothed RTT under which a peer counts as near
	// (default 20 ms).
	LANThreshold time.Duration

	// JoinRetryInterval is the pause between join attempts until the
	// member has joined (default 1 s, jittered).
	JoinRetryInterval time.Duration
	// RejoinInterval is the pause between re-join rounds once joined,
	// which heal partitions longer than GossipToTheDeadTime (default 5 s,
	// jittered). Negative disables re-joining.
	RejoinInterval time.Duration
	// RejoinFanout is the number of addresses tried per re-join round
	// (default 3).
	RejoinFanout int
	// MaxRemembered bounds the addresses of past members kept for
	// re-joining (default 1024).
	MaxRemembered int
	// ForgetFailedAfter is how long a failed member's address stays a
	// re-join target (default 24 h). Members that left are not targets.
	ForgetFailedAfter time.Duration

	// FailureHold is the longest time EventFailed is held back for a
	// member that memberlist declared dead but that is still sending
	// (slow, not gone), waiting for it to refute (default 5 s; negative
	// disables). See "Slow members" in the package doc.
	FailureHold time.Duration

	// StallThreshold is how late the local member's stall detector may
	// wake up before the delay counts as a local stall: a time during
	// which this process (or its host) did not run and so heard nobody.
	// Silence during a stall is not held against other members: a failure
	// that memberlist reports within three probe intervals after a stall
	// is held like that of a member still sending (see FailureHold and
	// "Local stalls" in the package doc). Default: three probe intervals
	// (300 ms with PresetFast); negative disables the detector. It is
	// also off when FailureHold is disabled. Too small a threshold makes
	// ordinary scheduling delays count as stalls, and failures reported
	// right after them wait for lifeWindow more.
	StallThreshold time.Duration

	// LeaveTimeout bounds the graceful leave in Close (default 2 s).
	LeaveTimeout time.Duration

	// SecretKeys enable gossip encryption (AES, 16, 24 or 32 bytes each).
	// The first key encrypts; all of them decrypt. See InstallKey.
	SecretKeys [][]byte

	// Logger receives memberlist's and this package's logs. Default:
	// silent.
	Logger *slog.Logger

	// Transport replaces the UDP/TCP transport, for tests (see package
	// swimtest) or custom networks. BindAddr is then ignored.
	Transport memberlist.NodeAwareTransport

	// Resolver resolves seed host names (default net.DefaultResolver).
	Resolver Resolver

	// Tune, if set, may change the memberlist configuration last, after
	// everything above was applied. Changing Name, Transport, Delegate,
	// Events, Ping or Conflict breaks this package.
	Tune func(*memberlist.Config)
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.NodeID == "" {
		return out, fmt.Errorf("%w: NodeID is required", ErrConfig)
	}
	if out.BindAddr == "" {
		out.BindAddr = "0.0.0.0:7946"
	}
	if out.EventQueueSize == 0 {
		out.EventQueueSize = 1024
	}
	if out.LANThreshold == 0 {
		out.LANThreshold = 20 * time.Millisecond
	}
	if out.JoinRetryInterval == 0 {
		out.JoinRetryInterval = time.Second
	}
	if out.RejoinInterval == 0 {
		out.RejoinInterval = 5 * time.Second
	}
	if out.RejoinFanout == 0 {
		out.RejoinFanout = 3
	}
	if out.MaxRemembered == 0 {
		out.MaxRemembered = 1024
	}
	if out.ForgetFailedAfter == 0 {
		out.ForgetFailedAfter = 24 * time.Hour
	}
	if out.FailureHold == 0 {
		out.FailureHold = 5 * time.Second
	}
	if out.LeaveTimeout == 0 {
		out.LeaveTimeout = 2 * time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.Resolver == nil {
		out.Resolver = net.DefaultResolver
	}
	switch {
	case out.EventQueueSize < 1:
		return out, fmt.Errorf("%w: EventQueueSize %d < 1", ErrConfig, out.EventQueueSize)
	case out.LANThreshold < 0, out.JoinRetryInterval < 0, out.ForgetFailedAfter < 0, out.LeaveTimeout < 0:
		return out, fmt.Errorf("%w: negative duration", ErrConfig)
	case out.RejoinFanout < 1, out.MaxRemembered < 1:
		return out, fmt.Errorf("%w: RejoinFanout and MaxRemembered must be positive", ErrConfig)
	}
	if err := out.Meta.validate(); err != nil {
		return out, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	for _, k := range out.SecretKeys {
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return out, fmt.Errorf("%w: secret key of %d bytes, want 16, 24 or 32", ErrConfig, n)
		}
	}
	for _, s := range out.Seeds {
		if _, _, err := splitHostPort(s); err != nil {
			return out, fmt.Errorf("%w: seed %q: %w", ErrConfig, s, err)
		}
	}
	return out, nil
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
