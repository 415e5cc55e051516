package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gridkv/gridkv/benchmarks/internal/benchfmt"
)

// table writes a Markdown table; columns after the first that hold only
// numbers (or "-" or nothing) are right-aligned.
func table(w io.Writer, header []string, rows [][]string) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	fmt.Fprintf(w, "| %s |\n|---|", strings.Join(mapSlice(header, esc), " | "))
	for c := 1; c < len(header); c++ {
		if numeric(rows, c) {
			fmt.Fprint(w, "---:|")
		} else {
			fmt.Fprint(w, "---|")
		}
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(mapSlice(r, esc), " | "))
	}
	fmt.Fprintln(w)
}

// numeric reports whether column c of rows holds only numbers.
func numeric(rows [][]string, c int) bool {
	for _, r := range rows {
		if c >= len(r) || r[c] == "" || r[c] == "-" {
			continue
		}
		if _, err := strconv.ParseFloat(r[c], 64); err != nil {
			return false
		}
	}
	return true
}

func mapSlice(s []string, f func(string) string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

// mediansTable lays out every benchmark of res (rows) by every metric
// (columns), as compare prints it.
func mediansTable(w io.Writer, res *benchfmt.Results) {
	header := append([]string{"benchmark (median)", "runs"}, res.Units...)
	var rows [][]string
	for _, name := range res.Names {
		row := []string{strings.TrimPrefix(name, "Benchmark"), fmt.Sprint(res.Runs(name))}
		for _, u := range res.Units {
			row = append(row, cell(res, name, u))
		}
		rows = append(rows, row)
	}
	table(w, header, rows)
}

// cell is the median of one metric, or "-".
func cell(res *benchfmt.Results, name, unit string) string {
	if v, ok := res.Median(name, unit); ok {
		return benchfmt.Format(v)
	}
	return "-"
}

// verdictsTable writes the ratios of targets with their verdicts.
func verdictsTable(w io.Writer, vs []benchfmt.Verdict) {
	var rows [][]string
	for _, v := range vs {
		rows = append(rows, []string{v.Desc, fmt.Sprintf("%.2f", v.Ratio), v.Goal(), v.String()})
	}
	table(w, []string{"ratio of medians", "value", "target", "verdict"}, rows)
}

// Pivot lays out one metric of a suite: rows are benchmarks without their
// system, columns the systems. A system is a path element of the
// benchmark's name; Alias maps other spellings of it to its column.
type Pivot struct {
	Metric  string
	Systems []string // columns in order; the first is GridKV's, the one ratios are of
	Alias   map[string]string
	Ratios  bool // add a column "first ÷ other" per other system
}

// split returns the row and system of a benchmark name.
func (p Pivot) split(name string) (row, system string, ok bool) {
	elems := strings.Split(strings.TrimPrefix(name, "Benchmark"), "/")
	for i, e := range elems {
		s := e
		if a, found := p.Alias[e]; found {
			s = a
		}
		if slices.Contains(p.Systems, s) {
			return strings.Join(slices.Delete(elems, i, i+1), "/"), s, true
		}
	}
	return "", "", false
}

// Grid returns the medians of p.Metric by row and system (NaN-free: a
// missing value is absent from the inner map), and the rows in order.
func (p Pivot) Grid(res *benchfmt.Results) (rows []string, vals map[string]map[string]float64) {
	vals = map[string]map[string]float64{}
	for _, name := range res.Names {
		row, sys, ok := p.split(name)
		if !ok {
			continue
		}
		v, ok := res.Median(name, p.Metric)
		if !ok {
			continue
		}
		if vals[row] == nil {
			vals[row] = map[string]float64{}
			rows = append(rows, row)
		}
		vals[row][sys] = v
	}
	return rows, vals
}

// Write writes the pivot table of res.
func (p Pivot) Write(w io.Writer, res *benchfmt.Results) {
	rows, vals := p.Grid(res)
	if len(rows) == 0 {
		fmt.Fprintf(w, "(no %s results)\n\n", p.Metric)
		return
	}
	// Leave out the systems this metric has no value for.
	p.Systems = slices.DeleteFunc(slices.Clone(p.Systems), func(s string) bool {
		for _, r := range rows {
			if _, ok := vals[r][s]; ok {
				return false
			}
		}
		return true
	})
	header := []string{"benchmark, " + p.Metric + " (median)"}
	header = append(header, p.Systems...)
	if p.Ratios {
		for _, s := range p.Systems[1:] {
			header = append(header, p.Systems[0]+" ÷ "+s)
		}
	}
	var out [][]string
	for _, r := range rows {
		row := []string{r}
		for _, s := range p.Systems {
			if v, ok := vals[r][s]; ok {
				row = append(row, benchfmt.Format(v))
			} else {
				row = append(row, "-")
			}
		}
		if p.Ratios {
			first, ok := vals[r][p.Systems[0]]
			for _, s := range p.Systems[1:] {
				if v, ok2 := vals[r][s]; ok && ok2 && v != 0 {
					row = append(row, fmt.Sprintf("%.2f", first/v))
				} else {
					row = append(row, "-")
				}
			}
		}
		out = append(out, row)
	}
	table(w, header, out)
}
