package main

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// barChart draws grouped bars: one group per entry of groups, one bar per
// series in each (values[series][group]; NaN or missing leaves a gap), and
// saves it to path (the extension picks the format: .svg or .png).
func barChart(path, title, ylabel string, groups, series []string, values [][]float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	width := vg.Length(160+110*len(groups)) * vg.Points(1)
	// The bars of a group take 70% of the room of a group.
	w := 0.7 * (width - 100) / vg.Length(len(groups)*max(len(series), 1))
	top := 0.0
	for i, s := range series {
		vs := make(plotter.Values, len(groups))
		for g := range groups {
			if g < len(values[i]) && !math.IsNaN(values[i][g]) {
				vs[g] = values[i][g]
				top = max(top, vs[g])
			}
		}
		bars, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(2*i-len(series)+1) / 2
		p.Add(bars)
		p.Legend.Add(s, bars)
	}
	p.NominalX(groups...)
	p.Add(plotter.NewGrid())
	// Room for the outer bars and, above the highest, for the legend.
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	p.Y.Min, p.Y.Max = 0, top*(1.1+0.07*float64(len(series)))
	return p.Save(width, 320, path)
}

// latencyChart draws one line per series over the percentiles (x), on a
// logarithmic y axis: latencies of one system span orders of magnitude
// from p50 to p999. values[series][percentile] in the unit of ylabel;
// values that are not positive are left out.
func latencyChart(path, title, ylabel string, percentiles, series []string, values [][]float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	// Latencies grow from p50 to p999: the bottom right corner is free.
	p.Legend.Top, p.Legend.Left = false, false
	for i, s := range series {
		var xys plotter.XYs
		for j := range percentiles {
			if j < len(values[i]) && values[i][j] > 0 {
				xys = append(xys, plotter.XY{X: float64(j), Y: values[i][j]})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		c := plotutil.Color(i)
		l.Color, pts.Color = c, c
		l.Dashes = plotutil.Dashes(i)
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(s, l, pts)
	}
	p.NominalX(percentiles...)
	p.Add(plotter.NewGrid())
	return p.Save(480, 360, path)
}
