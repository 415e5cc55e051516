//go:build unix

package main

import (
	"bufio"
	"fmt"
	"image/color"
	"math"
	"os"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
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

// writeSVG draws throughput.svg with gonum/plot, as cmd/report does its
// plots: total and per-node successful operations per second, failures in
// red, and the fault events as dashed vertical lines.
func (s *suite) writeSVG(recs []rec) error {
	p := bin(recs, len(s.all))
	pl := plot.New()
	pl.X.Label.Text = "seconds"
	pl.Y.Label.Text = "operations/s"
	pl.Legend.Top = true
	maxY := 1
	for i := range p.ok {
		maxY = max(maxY, p.total(i), p.errs[i])
	}
	series := func(name string, c color.Color, v func(i int) int) error {
		xys := make(plotter.XYs, len(p.ok))
		for i := range p.ok {
			xys[i] = plotter.XY{X: float64(i), Y: float64(v(i))}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color = c
		pl.Add(l)
		pl.Legend.Add(name, l)
		return nil
	}
	if err := series("total ok/s", color.Black, p.total); err != nil {
		return err
	}
	for j, n := range s.all {
		if err := series(n.id, plotutil.Color(j), func(i int) int { return p.ok[i][j] }); err != nil {
			return err
		}
	}
	if err := series("failed/s", color.RGBA{R: 255, A: 255}, func(i int) int { return p.errs[i] }); err != nil {
		return err
	}
	gray := color.Gray{Y: 128}
	var marks plotter.XYLabels
	for _, e := range s.events {
		x := e.at.Seconds()
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: float64(maxY)}})
		if err != nil {
			return err
		}
		l.Color = gray
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		pl.Add(l)
		marks.XYs = append(marks.XYs, plotter.XY{X: x, Y: 0})
		marks.Labels = append(marks.Labels, e.name)
	}
	if len(marks.Labels) > 0 {
		lb, err := plotter.NewLabels(marks)
		if err != nil {
			return err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Color = gray
			lb.TextStyle[i].Rotation = math.Pi / 2
		}
		pl.Add(lb)
	}
	return pl.Save(960, 360, s.outPath("throughput.svg"))
}
