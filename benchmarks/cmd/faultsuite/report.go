//go:build unix

package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"
)

// perSecond bins the records by the second they completed in: successful
// operations per node, and failed operations (any node).
type perSecond struct {
	ok   [][]int // [second][node]
	errs []int
}

func (p perSecond) total(i int) int {
	t := 0
	for _, v := range p.ok[i] {
		t += v
	}
	return t
}

func bin(recs []rec, nodes int) perSecond {
	var last time.Duration
	for _, r := range recs {
		last = max(last, r.end)
	}
	n := int(last/time.Second) + 1
	p := perSecond{ok: make([][]int, n), errs: make([]int, n)}
	for i := range p.ok {
		p.ok[i] = make([]int, nodes)
	}
	for _, r := range recs {
		i := int(r.end / time.Second)
		if r.out == outOK {
			p.ok[i][r.node]++
		} else {
			p.errs[i]++
		}
	}
	return p
}

func (s *suite) eventsIn(sec int) string {
	var names []string
	for _, e := range s.events {
		if int(e.at/time.Second) == sec {
			names = append(names, e.name)
		}
	}
	return strings.Join(names, "; ")
}

// writeCSV writes throughput.csv: one line per second of the run.
func (s *suite) writeCSV(recs []rec) error {
	f, err := os.Create(s.outPath("throughput.csv"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	p := bin(recs, len(s.all))
	suspects, failures, load := s.mon.results()
	count := func(fs []flap, sec int) int {
		n := 0
		for _, f := range fs {
			if int(f.at/time.Second) == sec {
				n++
			}
		}
		return n
	}
	stalls := map[int]time.Duration{}
	for _, x := range s.mon.stallList() {
		stalls[int(x.at/time.Second)] += x.gap
	}
	fmt.Fprint(w, "second,")
	for _, n := range s.all {
		fmt.Fprintf(w, "ok_%s,", n.id)
	}
	fmt.Fprintln(w, "ok_total,failed,false_suspect,false_failed,loadavg1,suite_stall_s,event")
	for i, ok := range p.ok {
		la := ""
		if v, found := load[i]; found {
			la = fmt.Sprintf("%.2f", v)
		}
		fmt.Fprintf(w, "%d,", i)
		for _, v := range ok {
			fmt.Fprintf(w, "%d,", v)
		}
		fmt.Fprintf(w, "%d,%d,%d,%d,%s,%.2f,%q\n", p.total(i), p.errs[i],
			count(suspects, i), count(failures, i), la, stalls[i].Seconds(), s.eventsIn(i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeSVG draws throughput.svg: total and per-node successful operations
// per second, failures in red, and the fault events as vertical lines.
func (s *suite) writeSVG(recs []rec) error {
	p := bin(recs, len(s.all))
	const W, H, left, right, top, bottom = 960.0, 360.0, 60.0, 20.0, 20.0, 40.0
	maxY := 1
	for i := range p.ok {
		maxY = max(maxY, p.total(i), p.errs[i])
	}
	n := max(len(p.ok), 2)
	x := func(sec float64) float64 { return left + (W-left-right)*sec/float64(n-1) }
	y := func(v int) float64 { return top + (H-top-bottom)*(1-float64(v)/float64(maxY)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", left, y(0), W-right, y(0))
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", left, top, left, y(0))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%d</text>`+"\n", left-4, top+4, maxY)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">0</text>`+"\n", left-4, y(0)+4)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds (%d)</text>`+"\n", (W+left)/2, H-8, len(p.ok)-1)
	type serie struct {
		name, color string
		v           func(i int) int
	}
	series := []serie{{"total ok/s", "black", p.total}}
	colors := []string{"#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}
	for j, n := range s.all {
		series = append(series, serie{n.id, colors[j%len(colors)], func(i int) int { return p.ok[i][j] }})
	}
	series = append(series, serie{"failed/s", "red", func(i int) int { return p.errs[i] }})
	for k, sr := range series {
		var pts []string
		for i := range p.ok {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(i)), y(sr.v(i))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", sr.color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", left+10+float64(k)*110, top+12, sr.color, sr.name)
	}
	for _, e := range s.events {
		ex := x(e.at.Seconds())
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="gray" stroke-dasharray="4,3"/>`+"\n", ex, top+16, ex, y(0))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="gray" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
			ex-3, y(0)-4, ex-3, y(0)-4, escape(e.name))
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(s.outPath("throughput.svg"), []byte(b.String()), 0o644)
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
