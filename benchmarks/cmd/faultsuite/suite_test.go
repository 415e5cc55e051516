//go:build unix

package main

import (
	"encoding/xml"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests cover the pure parts of the suite; nothing here starts a
// node (the suite is a command, run with go run ./cmd/faultsuite).

func TestValueEncodesKeyAndSequence(t *testing.T) {
	seen := map[string]bool{}
	for w := int32(0); w < 3; w++ {
		for seq := int64(0); seq < 3; seq++ {
			k, v := keyOf(w, seq), valueOf(w, seq, 64)
			if seen[k] {
				t.Fatalf("key %q twice", k)
			}
			seen[k] = true
			if len(v) != 64 || !strings.HasPrefix(v, k+"|seq=") {
				t.Fatalf("valueOf(%d, %d) = %q", w, seq, v)
			}
		}
	}
	if v := valueOf(1, 123456789, 4); !strings.HasPrefix(v, "fs:1:123456789|seq=123456789|") {
		t.Fatalf("short size must not cut the value: %q", v)
	}
}

func TestBinAndRates(t *testing.T) {
	recs := []rec{
		{end: 100 * time.Millisecond, node: 0},
		{end: 900 * time.Millisecond, node: 2},
		{end: 1500 * time.Millisecond, node: 1},
		{end: 1600 * time.Millisecond, node: 1, out: outErr},
		{end: 2100 * time.Millisecond, node: 0, out: outMissing},
	}
	p := bin(recs, 3)
	if len(p.ok) != 3 || !slices.Equal(p.ok[0], []int{1, 0, 1}) || !slices.Equal(p.ok[1], []int{0, 1, 0}) || p.errs[1] != 1 || p.errs[2] != 1 || p.total(0) != 2 {
		t.Fatalf("bin = %+v", p)
	}
	s := &suite{ld: &load{workers: []*workerState{{recs: recs}}}}
	if got := s.rates(0, 2*time.Second); len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Fatalf("rates = %v", got)
	}
	if m := meanOf([]float64{2, 4}); m != 3 {
		t.Fatalf("meanOf = %v", m)
	}
}

func TestVerifyResultMerge(t *testing.T) {
	var r verifyResult
	for range 3 {
		r.merge(verifyResult{missing: 1, wrong: 2, unread: 3, sample: []string{"a", "b"}})
	}
	if r.missing != 3 || r.wrong != 6 || r.unread != 9 || len(r.sample) != 5 {
		t.Fatalf("merge = %+v", r)
	}
}

func TestQuantileAndHolders(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	if q := quantile(ds, 0.5); q != 3 {
		t.Fatalf("p50 = %v", q)
	}
	if q := quantile(ds, 1); q != 5 {
		t.Fatalf("max = %v", q)
	}
	if q := quantile(nil, 0.99); q != 0 {
		t.Fatalf("empty = %v", q)
	}
	if got := fmtHolders(map[int]int{2: 4, 3: 1200}); got != "3:1200 2:4" {
		t.Fatalf("fmtHolders = %q", got)
	}
}

func TestWriteSVG(t *testing.T) {
	s := &suite{all: []*node{{id: "node1"}, {id: "node2"}},
		events: []event{{at: 1500 * time.Millisecond, name: "kill node2 & <restart>"}}}
	s.cfg.out = t.TempDir()
	recs := []rec{{start: 0, end: 100 * time.Millisecond, node: 0}, {start: 2 * time.Second, end: 2100 * time.Millisecond, node: 1}}
	if err := s.writeSVG(recs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.outPath("throughput.svg"))
	if err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "node2") {
		t.Fatalf("throughput.svg: %v, %.200s", err, b)
	}
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Fatalf("throughput.svg is not well-formed XML: %v", err)
	}
}
