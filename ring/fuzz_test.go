package ring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// FuzzRing builds rings from random member sets and checks what New,
// Replicas and Diff promise. Its seeds run as an ordinary test;
// go test -fuzz FuzzRing explores further.
//
// data: points per member, MaxReplicas, then one (id, zone, weight) triple
// of bytes per member.
func FuzzRing(f *testing.F) {
	f.Add([]byte{1, 1, 1, 0, 0})
	f.Add([]byte{3, 3, 1, 0, 0, 2, 0, 0, 3, 1, 0})
	f.Add([]byte{16, 2, 1, 0, 1, 2, 1, 2, 3, 2, 3, 4, 0, 0, 5, 1, 0})
	f.Add([]byte{5, 5, 7, 7, 0, 7, 1, 0}) // duplicate ID
	f.Add([]byte{2, 4, 10, 0, 0, 11, 0, 0, 12, 0, 0, 13, 1, 0, 14, 1, 0, 15, 2, 3})
	f.Add([]byte{40, 3, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 0, 0, 5, 1, 1, 6, 2, 2, 7, 3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		cfg := Config{Points: 1 + int(data[0])%64, MaxReplicas: 1 + int(data[1])%6}
		var ms []Member
		dup := false
		seen := map[string]bool{}
		for b := data[2:]; len(b) >= 3 && len(ms) < 40; b = b[3:] {
			m := Member{ID: fmt.Sprintf("m%d", b[0]), Zone: fmt.Sprintf("z%d", b[1]%4), Weight: float64(b[2] % 4)}
			dup = dup || seen[m.ID]
			seen[m.ID] = true
			ms = append(ms, m)
		}
		r, err := New(ms, cfg)
		switch {
		case len(ms) == 0:
			if !errors.Is(err, ErrNoMembers) {
				t.Fatalf("no members: err = %v", err)
			}
			return
		case dup:
			if !errors.Is(err, ErrDuplicateID) {
				t.Fatalf("duplicate IDs: err = %v", err)
			}
			return
		case err != nil:
			t.Fatal(err)
		}

		// Placement does not depend on the order of the members.
		rev := slices.Clone(ms)
		slices.Reverse(rev)
		r2, err := New(rev, cfg)
		if err != nil || !slices.Equal(r.pts, r2.pts) || !slices.Equal(r.reps, r2.reps) {
			t.Fatalf("reversed members give another ring (%v)", err)
		}

		hashes := []uint64{0, 1 << 63, 1<<64 - 1}
		for b := data; len(b) >= 8; b = b[8:] {
			hashes = append(hashes, binary.LittleEndian.Uint64(b))
		}
		for _, p := range r.pts {
			hashes = append(hashes, p, p-1)
		}
		for _, h := range hashes {
			checkReplicaRules(t, r, h)
		}
		if len(Diff(r, r, cfg.MaxReplicas)) != 0 {
			t.Fatal("Diff of a ring with itself is not empty")
		}

		// Diff against the ring without the first member, checked at
		// every boundary.
		if len(ms) < 2 {
			return
		}
		less, err := New(ms[1:], cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := 1 + int(data[0])%3
		changes := Diff(r, less, n)
		for _, p := range append(slices.Clone(less.pts), r.pts...) {
			for _, h := range []uint64{p, p - 1} {
				from := idsOf(r, r.Replicas(h, n, nil))
				to := idsOf(less, less.Replicas(h, n, nil))
				in := slices.IndexFunc(changes, func(c Change) bool { return c.Range.Contains(h) })
				if !sameSet(from, to) != (in >= 0) {
					t.Fatalf("hash %#x: %v → %v, in a change: %v", h, from, to, in >= 0)
				}
				if in >= 0 && !slices.Contains(from, ms[0].ID) {
					t.Fatalf("hash %#x changes replicas %v → %v without losing %s", h, from, to, ms[0].ID)
				}
			}
		}
	})
}
