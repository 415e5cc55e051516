//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gridkv/gridkv/gridkv"
)

// localEntry is one entry of POST /v1/local/versions.
type localEntry = gridkv.LocalEntry

// censusBatch is the number of keys per request (the server takes up to
// 10,000).
const censusBatch = 5000

var censusClient = &http.Client{Timeout: 10 * time.Second}

// localVersions asks node n what its own store holds for keys (no quorum).
func localVersions(ctx context.Context, n *node, keys []string) ([]localEntry, error) {
	out := make([]localEntry, 0, len(keys))
	for lo := 0; lo < len(keys); lo += censusBatch {
		part := keys[lo:min(lo+censusBatch, len(keys))]
		body, err := json.Marshal(map[string][]string{"keys": part})
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.http+"/v1/local/versions", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := censusClient.Do(req)
		if err != nil {
			return nil, err
		}
		var r struct {
			Entries []localEntry `json:"entries"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: /v1/local/versions: %s", n.id, resp.Status)
		}
		if err != nil {
			return nil, err
		}
		if len(r.Entries) != len(part) {
			return nil, fmt.Errorf("%s: /v1/local/versions: %d entries for %d keys", n.id, len(r.Entries), len(part))
		}
		out = append(out, r.Entries...)
	}
	return out, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// censusResult is what one census found.
type censusResult struct {
	keys    int         // keys examined
	bad     []int       // indexes (into the keys examined) not on exactly N nodes with one version
	wrong   int         // keys some node holds with a value that is not the exact value written
	holders map[int]int // number of holders -> keys
	sample  []string
	err     error
}

// census asks every node of nodes what it holds for each write of ws and
// checks each key: held (as a live value, not a tombstone) by exactly
// want nodes, all with the same version, and with the length and CRC-32C
// of the exact value written.
func (s *suite) census(ctx context.Context, nodes []*node, ws []write, want int) censusResult {
	keys := make([]string, len(ws))
	for i, w := range ws {
		keys[i] = keyOf(w.worker, w.seq)
	}
	per := make([][]localEntry, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { per[i], errs[i] = localVersions(ctx, n, keys) })
	}
	wg.Wait()
	r := censusResult{keys: len(ws), holders: map[int]int{}}
	for _, err := range errs {
		if err != nil {
			r.err = err
			r.bad = make([]int, len(ws))
			for i := range r.bad {
				r.bad[i] = i
			}
			return r
		}
	}
	for i, w := range ws {
		v := valueOf(w.worker, w.seq, s.cfg.valueSize)
		crc := crc32.Checksum([]byte(v), castagnoli)
		holders := 0
		var first *localEntry
		same, exact := true, true
		var who []string
		for j := range nodes {
			e := &per[j][i]
			if !e.Found {
				continue
			}
			if e.Tombstone {
				same = false // nothing deletes these keys
			} else {
				holders++
			}
			who = append(who, fmt.Sprintf("%s(%d.%d)", nodes[j].id, e.HLC, e.Node))
			if first == nil {
				first = e
			} else if e.HLC != first.HLC || e.Node != first.Node || e.Len != first.Len || e.CRC32C != first.CRC32C {
				same = false
			}
			if !e.Tombstone && (e.Len != len(v) || e.CRC32C != crc) {
				exact = false
			}
		}
		r.holders[holders]++
		if !exact {
			r.wrong++
		}
		if holders != want || !same || !exact {
			r.bad = append(r.bad, i)
			if len(r.sample) < 5 {
				r.sample = append(r.sample, fmt.Sprintf("%s on %d nodes %v same=%v exact=%v", keys[i], holders, who, same, exact))
			}
		}
	}
	return r
}

// fmtHolders shows how many keys are on how many nodes: "3:1200 2:4".
func fmtHolders(m map[int]int) string {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ks)))
	var b strings.Builder
	for i, k := range ks {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%d", k, m[k])
	}
	return b.String()
}

// waitConverged polls, until limit after since (the heal, the restart),
// until every acknowledged write of ws is on exactly want nodes with one
// version (the exact value): the first round asks about every key, the
// next ones only about the keys not converged yet (a key is written once,
// so a converged key stays so while the membership does not change). It
// adds a row and returns the time from since to convergence and whether
// it converged within limit.
func (s *suite) waitConverged(ctx context.Context, phase string, since time.Time, limit time.Duration, ws []write, want int) (time.Duration, bool) {
	var acked []write
	for _, w := range ws {
		if w.acked {
			acked = append(acked, w)
		}
	}
	pending := acked
	var first, last censusResult
	rounds := 0
	// The limit counts from since (the heal, the restart), like the time
	// reported.
	_, ok := waitUntil(ctx, max(limit-time.Since(since), time.Millisecond), func(ctx context.Context) bool {
		r := s.census(ctx, s.runningNodes(), pending, want)
		rounds++
		if rounds == 1 {
			first = r
		}
		last = r
		if r.err != nil {
			return false
		}
		next := make([]write, 0, len(r.bad))
		for _, i := range r.bad {
			next = append(next, pending[i])
		}
		pending = next
		return len(pending) == 0
	})
	d := time.Since(since)
	val := fmt.Sprintf("%s, %d keys", secs(d), len(acked))
	if !ok {
		val = fmt.Sprintf("not in %s: %d of %d keys not", secs(limit), len(pending), len(acked))
		if last.err != nil {
			val += fmt.Sprintf(" (%v)", last.err)
		}
	}
	s.add(fmt.Sprintf("%s: every acked key on exactly %d nodes, one version (time to converge)", phase, want), val, verdict(ok))
	s.add(phase+": census, first round: keys by number of holders", fmtHolders(first.holders), "info")
	if first.wrong > 0 || last.wrong > 0 {
		s.add(phase+": census: replicas holding a value not written", fmt.Sprint(max(first.wrong, last.wrong)), "FAIL")
	}
	if !ok {
		for _, x := range last.sample {
			fmt.Println("      ", x)
		}
	}
	return d, ok
}

// runningNodes are the nodes whose process runs.
func (s *suite) runningNodes() []*node {
	var out []*node
	for _, n := range s.nodes {
		if n.running() {
			out = append(out, n)
		}
	}
	return out
}
