package testcluster

import (
	"strconv"
	"strings"
	"testing"
)

// ParseMetrics parses Prometheus text into name{labels} → value, failing
// t on a line that is not a comment, a blank or a sample, and on a series
// given twice.
func ParseMetrics(t testing.TB, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad metrics line %q: %v", line, err)
		}
		if _, dup := out[line[:i]]; dup {
			t.Fatalf("series %s twice", line[:i])
		}
		out[line[:i]] = v
	}
	return out
}
