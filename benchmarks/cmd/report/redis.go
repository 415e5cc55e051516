package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gridkv/gridkv/benchmarks/internal/benchfmt"
)

// redisRow is one redis-benchmark test of one round, as
// scripts/bench-redis.sh prints it.
type redisRow struct {
	system, test  string
	pipeline      int
	rps, p50, p99 float64 // p50 and p99 in ms
}

// redisKey groups the rounds of one measurement.
type redisKey struct {
	system, test string
	pipeline     int
}

// parseRedisCSV reads the script's CSV: a header line naming at least
// system, test, pipeline, rps, p50_ms and p99_ms, then one line per test
// and round.
func parseRedisCSV(r io.Reader) ([]redisRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("no CSV header")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.TrimSpace(h)] = i
	}
	for _, h := range []string{"system", "test", "pipeline", "rps", "p50_ms", "p99_ms"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("CSV header lacks %q", h)
		}
	}
	var rows []redisRow
	for _, rec := range recs[1:] {
		if len(rec) < len(recs[0]) {
			continue
		}
		num := func(h string) float64 {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rec[col[h]]), 64)
			return v
		}
		rows = append(rows, redisRow{
			system:   rec[col["system"]],
			test:     strings.ToUpper(rec[col["test"]]),
			pipeline: int(num("pipeline")),
			rps:      num("rps"),
			p50:      num("p50_ms"),
			p99:      num("p99_ms"),
		})
	}
	return rows, nil
}

// redisMedians is the median rps, p50 and p99 of every measurement, with
// the measurements in order of first appearance.
type redisMedians struct {
	keys          []redisKey
	rps, p50, p99 map[redisKey]float64
	rounds        map[redisKey]int
}

func medianRedis(rows []redisRow) redisMedians {
	m := redisMedians{rps: map[redisKey]float64{}, p50: map[redisKey]float64{}, p99: map[redisKey]float64{}, rounds: map[redisKey]int{}}
	samples := map[redisKey][3][]float64{}
	for _, r := range rows {
		k := redisKey{r.system, r.test, r.pipeline}
		s, ok := samples[k]
		if !ok {
			m.keys = append(m.keys, k)
		}
		s[0], s[1], s[2] = append(s[0], r.rps), append(s[1], r.p50), append(s[2], r.p99)
		samples[k] = s
	}
	for k, s := range samples {
		m.rps[k], _ = benchfmt.Median(s[0])
		m.p50[k], _ = benchfmt.Median(s[1])
		m.p99[k], _ = benchfmt.Median(s[2])
		m.rounds[k] = len(s[0])
	}
	return m
}

// tests returns the (test, pipeline) pairs measured, in order.
func (m redisMedians) tests() []redisKey {
	var ts []redisKey
	for _, k := range m.keys {
		t := redisKey{test: k.test, pipeline: k.pipeline}
		if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// systems returns the systems measured, in order.
func (m redisMedians) systems() []string {
	var ss []string
	for _, k := range m.keys {
		if !slices.Contains(ss, k.system) {
			ss = append(ss, k.system)
		}
	}
	return ss
}

// writeRedisTable writes requests/s and latency of every system per test,
// and gridkv's rps ÷ redis's.
func writeRedisTable(w io.Writer, m redisMedians) {
	systems := m.systems()
	header := []string{"test"}
	hasPair := slices.Contains(systems, "gridkv") && slices.Contains(systems, "redis")
	if hasPair {
		header = append(header, "gridkv ÷ redis")
	}
	for _, s := range systems {
		header = append(header, s+" req/s")
	}
	for _, s := range systems {
		header = append(header, s+" p50 ms", s+" p99 ms")
	}
	header = append(header, "rounds")
	var rows [][]string
	for _, t := range m.tests() {
		row := []string{fmt.Sprintf("%s -P %d", t.test, t.pipeline)}
		rounds := 0
		val := func(mp map[redisKey]float64, s string) string {
			if v, ok := mp[redisKey{s, t.test, t.pipeline}]; ok {
				return benchfmt.Format(v)
			}
			return "-"
		}
		if hasPair {
			g, ok1 := m.rps[redisKey{"gridkv", t.test, t.pipeline}]
			r, ok2 := m.rps[redisKey{"redis", t.test, t.pipeline}]
			if ok1 && ok2 && r != 0 {
				row = append(row, fmt.Sprintf("%.2f", g/r))
			} else {
				row = append(row, "-")
			}
		}
		for _, s := range systems {
			row = append(row, val(m.rps, s))
			rounds = max(rounds, m.rounds[redisKey{s, t.test, t.pipeline}])
		}
		for _, s := range systems {
			row = append(row, val(m.p50, s), val(m.p99, s))
		}
		rows = append(rows, append(row, fmt.Sprint(rounds)))
	}
	table(w, header, rows)
}
