//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

type member struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	BootID uint64 `json:"bootId"`
}

type clusterView struct {
	Node struct {
		NodeID       string `json:"nodeId"`
		AliveMembers int    `json:"aliveMembers"`
		Keys         int64  `json:"keys"`
		HintsPending int    `json:"hintsPending"`
		// RangesReceiving counts the hash ranges the node still pulls
		// after a ring change (its answers for them do not count).
		RangesReceiving int `json:"rangesReceiving"`
	} `json:"node"`
	Members []member `json:"members"`
}

var httpc = &http.Client{Timeout: time.Second}

func view(ctx context.Context, n *node) (*clusterView, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.http+"/v1/cluster", nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: /v1/cluster: %s", n.id, resp.Status)
	}
	var v clusterView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

func (v *clusterView) member(id string) (member, bool) {
	for _, m := range v.Members {
		if m.ID == id {
			return m, true
		}
	}
	return member{}, false
}

// allAlive reports whether v shows every id alive.
func (v *clusterView) allAlive(ids []string) bool {
	for _, id := range ids {
		if m, ok := v.member(id); !ok || m.State != "alive" {
			return false
		}
	}
	return true
}

// waitUntil polls cond every 50 ms until it holds, ctx ends or limit
// passes; it returns the time it took.
func waitUntil(ctx context.Context, limit time.Duration, cond func(context.Context) bool) (time.Duration, bool) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if cond(ctx) {
			return time.Since(start), true
		}
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitAllAlive waits until every node of nodes shows all of them alive,
// and, if boots is set, with those boot ids for the ids it lists.
func waitAllAlive(ctx context.Context, limit time.Duration, nodes []*node, boots map[string]uint64) (time.Duration, bool) {
	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.id)
	}
	return waitUntil(ctx, limit, func(ctx context.Context) bool {
		for _, n := range nodes {
			v, err := view(ctx, n)
			if err != nil || !v.allAlive(ids) {
				return false
			}
			for id, b := range boots {
				if m, _ := v.member(id); m.BootID != b {
					return false
				}
			}
		}
		return true
	})
}

// allAliveNow reports whether every node shows all of them alive now.
func allAliveNow(ctx context.Context, nodes []*node) bool {
	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.id)
	}
	for _, n := range nodes {
		v, err := view(ctx, n)
		if err != nil || !v.allAlive(ids) {
			return false
		}
	}
	return true
}

// detection is when each observer first saw target in a state.
type detection struct {
	observer string
	suspect  time.Duration // -1: never
	failed   time.Duration // -1: never
}

// watchFailure polls each observer's view of target from start until every
// observer shows it failed (or left, or gone) or limit passes.
func watchFailure(ctx context.Context, start time.Time, limit time.Duration, observers []*node, target string) []detection {
	ds := make([]detection, len(observers))
	for i, o := range observers {
		ds[i] = detection{observer: o.id, suspect: -1, failed: -1}
	}
	waitUntil(ctx, limit, func(ctx context.Context) bool {
		done := true
		for i, o := range observers {
			if ds[i].failed >= 0 {
				continue
			}
			v, err := view(ctx, o)
			if err != nil {
				done = false
				continue
			}
			m, ok := v.member(target)
			now := time.Since(start)
			switch {
			case !ok || m.State == "failed" || m.State == "left":
				ds[i].failed = now
				if ds[i].suspect < 0 {
					ds[i].suspect = now
				}
			case m.State == "suspect":
				if ds[i].suspect < 0 {
					ds[i].suspect = now
				}
				done = false
			default:
				done = false
			}
		}
		return done
	})
	return ds
}

// keyCounts returns each node's local key count (-1 when it does not answer).
func keyCounts(ctx context.Context, nodes []*node) []int64 {
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		out[i] = -1
		if v, err := view(ctx, n); err == nil {
			out[i] = v.Node.Keys
		}
	}
	return out
}

// waitRefilled waits until target holds at least as many keys locally as
// the fewest any other node held just before (with N=3 on 3 nodes every
// node is a replica of every key).
func waitRefilled(ctx context.Context, limit time.Duration, nodes []*node, target *node) (time.Duration, bool) {
	return waitUntil(ctx, limit, func(ctx context.Context) bool {
		var others []*node
		for _, n := range nodes {
			if n != target {
				others = append(others, n)
			}
		}
		oc := keyCounts(ctx, others)
		low := int64(-1)
		for _, c := range oc {
			if c < 0 {
				return false
			}
			if low < 0 || c < low {
				low = c
			}
		}
		tc := keyCounts(ctx, []*node{target})[0]
		return tc >= 0 && tc >= low
	})
}
