package gridkv

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/swim"
)

// TestRingMembers checks which members place keys: failed members keep
// their place (so quorums do not shrink when members are merely down) until
// DeadMemberTimeout; members that left, and members without usable
// metadata, do not. Members that left keep their transport address.
func TestRingMembers(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	mem := func(id string, st swim.State, failedFor time.Duration) swim.Member {
		return swim.Member{
			ID:    id,
			State: st,
			Since: now.Add(-failedFor),
			Meta:  swim.Meta{TransportAddr: "127.0.0.1:1" + id[1:], Zone: "z" + id[1:], Protocol: protocolVersion},
		}
	}
	badMeta := mem("n9", swim.StateAlive, 0)
	badMeta.MetaErr = errors.New("garbage")
	oldProto := mem("n8", swim.StateAlive, 0)
	oldProto.Meta.Protocol = protocolVersion + 1
	noAddr := mem("n7", swim.StateAlive, 0)
	noAddr.Meta.TransportAddr = ""

	all := []swim.Member{
		mem("n3", swim.StateFailed, time.Minute),    // down for a minute: stays
		mem("n1", swim.StateAlive, 0),               // alive
		mem("n2", swim.StateSuspect, 0),             // suspect: stays
		mem("n4", swim.StateLeft, 0),                // left gracefully: out
		mem("n5", swim.StateFailed, 10*time.Minute), // down past the timeout: out
		badMeta, oldProto, noAddr, // unusable metadata: out
	}
	for _, tc := range []struct {
		name      string
		deadAfter time.Duration
		want      []string
	}{
		{"default timeout", DefaultDeadMemberTimeout, []string{"n1", "n2", "n3"}},
		{"short timeout", 30 * time.Second, []string{"n1", "n2"}},
		{"never", -1, []string{"n1", "n2", "n3", "n5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members, addrs := ringMembers(all, now, tc.deadAfter)
			var ids []string
			for _, m := range members {
				ids = append(ids, m.ID)
				if m.Zone != "z"+m.ID[1:] {
					t.Errorf("member %s zone %q", m.ID, m.Zone)
				}
				if addrs[m.ID] != "127.0.0.1:1"+m.ID[1:] {
					t.Errorf("member %s address %q", m.ID, addrs[m.ID])
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("ring members = %v, want %v", ids, tc.want)
			}
			// The member that left keeps its address: it serves its data
			// to the new replicas until it has handed it off.
			if addrs["n4"] != "127.0.0.1:14" {
				t.Errorf("member n4 (left) address %q", addrs["n4"])
			}
			if len(addrs) != len(tc.want)+1 {
				t.Fatalf("addresses for %d members, want %d", len(addrs), len(tc.want)+1)
			}
			if _, err := ring.New(members, ring.Config{}); err != nil {
				t.Fatalf("ring.New: %v", err)
			}
		})
	}
}
