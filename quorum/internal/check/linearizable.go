package check

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// kvInput is a porcupine operation input.
type kvInput struct {
	kind  Kind
	key   string
	value string
}

// kvOutput is a porcupine operation output. unknown marks an ambiguous
// write, whose output the model accepts either way (writes have no output).
type kvOutput struct {
	value   string
	found   bool
	unknown bool
}

// kvState is the state of one key.
type kvState struct {
	value  string
	exists bool
}

// KVModel is the porcupine model of a key-value map partitioned by key:
// Get returns the last Put's value or not found after a Delete (or
// initially), Put and Delete always succeed.
func KVModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := make(map[string][]porcupine.Operation)
			var keys []string
			for _, op := range history {
				k := op.Input.(kvInput).key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			sort.Strings(keys)
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() any { return kvState{} },
		Step: func(state, input, output any) (bool, any) {
			st, in, out := state.(kvState), input.(kvInput), output.(kvOutput)
			switch in.kind {
			case Get:
				if out.unknown {
					return true, st
				}
				return out.found == st.exists && (!out.found || out.value == st.value), st
			case Put:
				return true, kvState{value: in.value, exists: true}
			case Delete:
				return true, kvState{}
			}
			return false, st
		},
		Equal: func(a, b any) bool { return a.(kvState) == b.(kvState) },
		Hash: func(state any) uint64 {
			st := state.(kvState)
			h := fnv.New64a()
			h.Write([]byte(st.value))
			if st.exists {
				h.Write([]byte{1})
			}
			return h.Sum64()
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(kvInput), output.(kvOutput)
			switch in.kind {
			case Get:
				switch {
				case out.unknown:
					return fmt.Sprintf("get(%s) -> unknown", in.key)
				case out.found:
					return fmt.Sprintf("get(%s) -> %q", in.key, out.value)
				default:
					return fmt.Sprintf("get(%s) -> not found", in.key)
				}
			case Put:
				if out.unknown {
					return fmt.Sprintf("put(%s, %q) -> unknown", in.key, in.value)
				}
				return fmt.Sprintf("put(%s, %q)", in.key, in.value)
			default:
				if out.unknown {
					return fmt.Sprintf("delete(%s) -> unknown", in.key)
				}
				return fmt.Sprintf("delete(%s)", in.key)
			}
		},
		DescribeState: func(state any) string {
			st := state.(kvState)
			if !st.exists {
				return "(none)"
			}
			return fmt.Sprintf("%q", st.value)
		},
	}
}

// LinResult is the outcome of a linearizability check.
type LinResult struct {
	// Result is porcupine's verdict. Unknown (the timeout expired) is
	// inconclusive: neither a pass nor a failure.
	Result porcupine.CheckResult
	// Ops is the number of operations checked; Ambiguous how many of them
	// were failed writes (checked as possibly applied at any time after
	// their call); Dropped the failed reads left out (they have no effect).
	Ops, Ambiguous, Dropped int
	// BadKeys are the keys whose own history is not linearizable (set for
	// an Illegal result).
	BadKeys []string
	// VizPath is the HTML visualization written for an Illegal result.
	VizPath string
	// VizErr is set when the visualization could not be written.
	VizErr  error
	Elapsed time.Duration
}

func (r LinResult) String() string {
	s := fmt.Sprintf("%s: %d ops (%d ambiguous writes, %d failed reads dropped) in %v", r.Result, r.Ops, r.Ambiguous, r.Dropped, r.Elapsed.Round(time.Millisecond))
	if len(r.BadKeys) > 0 {
		s += fmt.Sprintf(", keys %q", r.BadKeys)
	}
	if r.VizPath != "" {
		s += ", visualization: " + r.VizPath
	}
	if r.VizErr != nil {
		s += fmt.Sprintf(", visualization failed: %v", r.VizErr)
	}
	return s
}

// Operations converts a history to porcupine operations: failed reads are
// left out, failed writes return at the end of time with an unknown output.
func Operations(ops []Op) (out []porcupine.Operation, ambiguous, dropped int) {
	for _, o := range ops {
		in := kvInput{kind: o.Kind, key: o.Key, value: o.Value}
		res := kvOutput{value: o.Out, found: o.Found}
		ret := int64(o.Return)
		switch {
		case o.Kind == Get && o.Err != nil:
			dropped++
			continue
		case o.Ambiguous():
			ambiguous++
			res = kvOutput{unknown: true}
			ret = math.MaxInt64
		}
		out = append(out, porcupine.Operation{ClientId: o.Client, Input: in, Output: res, Call: int64(o.Call), Return: ret})
	}
	return out, ambiguous, dropped
}

// Linearizable checks ops against KVModel with porcupine, giving up after
// timeout (in real time: call it outside synctest bubbles). On an Illegal
// result it writes porcupine's visualization to a temporary file, named in
// VizPath, prefixed by name; an empty name writes none (for tests that
// expect violations).
func Linearizable(name string, ops []Op, timeout time.Duration) LinResult {
	pops, amb, dropped := Operations(ops)
	res := LinResult{Ops: len(pops), Ambiguous: amb, Dropped: dropped}
	start := time.Now()
	model := KVModel()
	res.Result = porcupine.CheckOperationsTimeout(model, pops, timeout)
	res.Elapsed = time.Since(start)
	if res.Result != porcupine.Illegal {
		return res
	}
	for _, part := range model.Partition(pops) {
		if porcupine.CheckOperationsTimeout(model, part, timeout) == porcupine.Illegal {
			res.BadKeys = append(res.BadKeys, part[0].Input.(kvInput).key)
		}
	}
	if name == "" {
		return res
	}
	verdict, info := porcupine.CheckOperationsVerbose(model, pops, 2*timeout+time.Second)
	if verdict != porcupine.Illegal {
		// Cannot happen for a deterministic checker, but say so.
		res.VizErr = fmt.Errorf("verbose re-check said %s", verdict)
		return res
	}
	f, err := os.CreateTemp("", "gridkv-"+sanitize(name)+"-*.html")
	if err != nil {
		res.VizErr = err
		return res
	}
	res.VizPath = f.Name()
	if err := porcupine.Visualize(model, info, f); err != nil {
		res.VizErr = err
	}
	if err := f.Close(); err != nil && res.VizErr == nil {
		res.VizErr = err
	}
	return res
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
