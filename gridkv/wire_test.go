package gridkv

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestMergeScan(t *testing.T) {
	k := func(h uint64, key string) scanKey { return scanKey{hash: h, key: key} }
	keysOf := func(ks ...scanKey) []string {
		out := []string{}
		for _, x := range ks {
			out = append(out, x.key)
		}
		return out
	}
	fail := errors.New("down")
	for _, tc := range []struct {
		name     string
		replies  []scanReply
		errs     []error
		count, n int
		want     []string
		next     uint64
		wantErr  bool
	}{
		{
			name:    "all done, duplicates merged",
			replies: []scanReply{{done: true, keys: []scanKey{k(1, "a"), k(5, "b")}}, {done: true, keys: []scanKey{k(1, "a"), k(9, "c")}}},
			count:   10, n: 2, want: keysOf(k(1, "a"), k(5, "b"), k(9, "c")), next: 0,
		},
		{
			name:    "the slowest member bounds the page",
			replies: []scanReply{{next: 6, keys: []scanKey{k(1, "a"), k(5, "b")}}, {done: true, keys: []scanKey{k(9, "c")}}},
			count:   10, n: 2, want: keysOf(k(1, "a"), k(5, "b")), next: 6,
		},
		{
			name:    "count cuts between hashes",
			replies: []scanReply{{done: true, keys: []scanKey{k(1, "a"), k(3, "x"), k(3, "y"), k(7, "z")}}},
			count:   2, n: 1, want: keysOf(k(1, "a"), k(3, "x"), k(3, "y")), next: 4,
		},
		{
			name:    "one member down of N=2",
			replies: []scanReply{{done: true, keys: []scanKey{k(2, "a")}}, {}},
			errs:    []error{nil, fail},
			count:   10, n: 2, want: keysOf(k(2, "a")), next: 0,
		},
		{
			name:    "N members down",
			replies: []scanReply{{done: true}, {}, {}},
			errs:    []error{nil, fail, fail},
			count:   10, n: 2, wantErr: true,
		},
		{
			name:    "last hash",
			replies: []scanReply{{done: true, keys: []scanKey{k(math.MaxUint64, "m"), k(math.MaxUint64, "n")}}},
			count:   1, n: 1, want: keysOf(k(math.MaxUint64, "m"), k(math.MaxUint64, "n")), next: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.errs
			if errs == nil {
				errs = make([]error, len(tc.replies))
			}
			got, next, err := mergeScan(tc.replies, errs, tc.count, tc.n)
			if tc.wantErr {
				if !errors.Is(err, ErrQuorumNotMet) {
					t.Fatalf("err = %v, want ErrQuorumNotMet", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) || next != tc.next {
				t.Fatalf("mergeScan = %q, %d, %v; want %q, %d", got, next, err, tc.want, tc.next)
			}
		})
	}
}

func TestScanWireRoundTrip(t *testing.T) {
	req := encodeScanRequest(42, 7, "user:*")
	s, l, p, err := decodeScanRequest(req)
	if err != nil || s != 42 || l != 7 || p != "user:*" {
		t.Fatalf("request round trip = %d %d %q %v", s, l, p, err)
	}
	r := scanReply{next: 99, keys: []scanKey{{1, "a"}, {2, ""}, {3, "ccc"}}}
	got, err := decodeScanReply(encodeScanReply(r))
	if err != nil || got.next != 99 || got.done || !slices.Equal(got.keys, r.keys) {
		t.Fatalf("reply round trip = %+v, %v", got, err)
	}
	env := appendEnvelope(nil, chanScan, "node-1")
	env = append(env, "payload"...)
	ch, from, payload, err := splitEnvelope(env)
	if err != nil || ch != chanScan || string(from) != "node-1" || string(payload) != "payload" {
		t.Fatalf("envelope = %q %q %q %v", ch, from, payload, err)
	}
}

// FuzzWire feeds arbitrary bytes to every decoder of gridkv's own
// messages: no panic, and what decodes re-encodes to the same bytes.
func FuzzWire(f *testing.F) {
	f.Add(encodeScanRequest(1, 10, "*"))
	f.Add(encodeScanReply(scanReply{next: 5, keys: []scanKey{{1, "k"}}}))
	f.Add(encodeScanReply(scanReply{done: true}))
	f.Add(append(appendEnvelope(nil, chanQuorum, "n"), 1, 2, 3))
	f.Add([]byte{1})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, l, p, err := decodeScanRequest(b); err == nil {
			if again := encodeScanRequest(s, l, p); !bytes.Equal(again, b) {
				t.Fatalf("scan request %x re-encodes to %x", b, again)
			}
		}
		if r, err := decodeScanReply(b); err == nil {
			if again := encodeScanReply(r); (b[8] <= 1) && !bytes.Equal(again, b) {
				t.Fatalf("scan reply %x re-encodes to %x", b, again)
			}
		}
		if ch, from, payload, err := splitEnvelope(b); err == nil {
			again := append(appendEnvelope(nil, ch, string(from)), payload...)
			if !bytes.Equal(again, b) {
				t.Fatalf("envelope %x re-encodes to %x", b, again)
			}
		}
	})
}

// TestMemberID: the sender's ID of a request is the interned ID of a
// known member (no allocation per request), or a copy for others.
func TestMemberID(t *testing.T) {
	var n network
	if got := n.memberID([]byte("node-1")); got != "node-1" {
		t.Fatalf("memberID before any members = %q", got)
	}
	n.setAddrs(map[string]string{"node-1": "127.0.0.1:1", "node-2": "127.0.0.1:2"})
	for _, id := range []string{"node-1", "node-2", "stranger", ""} {
		if got := n.memberID([]byte(id)); got != id {
			t.Errorf("memberID(%q) = %q", id, got)
		}
	}
	b := []byte("node-2")
	if allocs := testing.AllocsPerRun(100, func() { _ = n.memberID(b) }); allocs != 0 {
		t.Errorf("memberID of a member allocates %v times", allocs)
	}
}
