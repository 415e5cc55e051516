package check

import (
	"fmt"
	"sort"
	"strings"
)

// Value returns a value that names its key: "key=<key>;v=<n>". Workloads
// write only such values so that ForeignReads can tell a read that returned
// another key's value.
func Value(key string, n int) string { return fmt.Sprintf("key=%s;v=%d", key, n) }

// KeyOf returns the key a Value names.
func KeyOf(value string) (string, bool) {
	rest, ok := strings.CutPrefix(value, "key=")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, ";v=")
	if i < 0 {
		return "", false
	}
	return rest[:i], true
}

// ForeignReads returns the successful reads whose value is not a Value of
// the key read: another key's value, or garbage.
func ForeignReads(ops []Op) []Op {
	var bad []Op
	for _, o := range ops {
		if o.Kind != Get || o.Err != nil || !o.Found {
			continue
		}
		if k, ok := KeyOf(o.Out); !ok || k != o.Key {
			bad = append(bad, o)
		}
	}
	return bad
}

// UnwrittenReads returns the successful reads of values that no Put of the
// history wrote to that key (acknowledged or not): values from nowhere.
func UnwrittenReads(ops []Op) []Op {
	written := make(map[[2]string]bool)
	for _, o := range ops {
		if o.Kind == Put {
			written[[2]string{o.Key, o.Value}] = true
		}
	}
	var bad []Op
	for _, o := range ops {
		if o.Kind == Get && o.Err == nil && o.Found && !written[[2]string{o.Key, o.Out}] {
			bad = append(bad, o)
		}
	}
	return bad
}

// AckedWrites returns, for a history where every key is written at most
// once (a set workload), the value of each acknowledged Put. It is an
// error if a key was written twice: the workload is not a set workload.
func AckedWrites(ops []Op) (map[string]string, error) {
	acked := make(map[string]string)
	seen := make(map[string]bool)
	for _, o := range ops {
		if o.Kind == Delete {
			return nil, fmt.Errorf("check: set workload with a delete of %q", o.Key)
		}
		if o.Kind != Put {
			continue
		}
		if seen[o.Key] {
			return nil, fmt.Errorf("check: set workload writes %q twice", o.Key)
		}
		seen[o.Key] = true
		if o.Err == nil {
			acked[o.Key] = o.Value
		}
	}
	return acked, nil
}

// ReadFunc reads a key from the cluster after the run: its value, whether
// one was found, or an error.
type ReadFunc func(key string) (value []byte, found bool, err error)

// LostWrites reads every acknowledged write back and describes each one
// that does not return its exact value, in key order.
func LostWrites(acked map[string]string, read ReadFunc) []string {
	keys := make([]string, 0, len(acked))
	for k := range acked {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lost []string
	for _, k := range keys {
		v, found, err := read(k)
		switch {
		case err != nil:
			lost = append(lost, fmt.Sprintf("%s: acknowledged %q, read failed: %v", k, acked[k], err))
		case !found:
			lost = append(lost, fmt.Sprintf("%s: acknowledged %q, read not found", k, acked[k]))
		case string(v) != acked[k]:
			lost = append(lost, fmt.Sprintf("%s: acknowledged %q, read %q", k, acked[k], v))
		}
	}
	return lost
}
