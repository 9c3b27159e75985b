package dataset

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Small SVG helpers for the report. Every drawn mark is a <rect> carrying
// its data as attributes (data-label, data-series, data-value), and every
// chart is an <svg data-chart="..."> element, so programs and tests can read
// the numbers back from the HTML.

// palette colours the series of a chart, in order.
var palette = [...]string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

func color(i int) string { return palette[i%len(palette)] }

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// short formats v for a label: integers plainly, others with 3 significant
// digits.
func short(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func esc(s string) string { return html.EscapeString(s) }

// segment is one part of a horizontal bar.
type segment struct {
	Series string
	Value  float64
}

// hbar is one row of a horizontal bar chart: its segments are stacked.
type hbar struct {
	Label    string
	Segments []segment
	// Note is written after the bar ("12% failed").
	Note string
}

// hbarChart draws labeled horizontal bars, stacked by series, with a
// legend when there is more than one series.
func hbarChart(id string, bars []hbar) string {
	const labelW, barW, rowH, noteW = 220.0, 380.0, 22.0, 240.0
	var series []string
	seen := map[string]int{}
	maxTotal := 0.0
	for _, b := range bars {
		t := 0.0
		for _, s := range b.Segments {
			if _, ok := seen[s.Series]; !ok {
				seen[s.Series] = len(series)
				series = append(series, s.Series)
			}
			t += s.Value
		}
		maxTotal = math.Max(maxTotal, t)
	}
	legendH := 0.0
	if len(series) > 1 {
		legendH = rowH
	}
	h := legendH + rowH*float64(len(bars)) + 6
	var b strings.Builder
	fmt.Fprintf(&b, `<svg data-chart="%s" xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`,
		esc(id), labelW+barW+noteW, h, labelW+barW+noteW, h)
	if len(bars) == 0 {
		b.WriteString(`<text x="4" y="16" class="empty">no data</text></svg>`)
		return b.String()
	}
	if len(series) > 1 {
		x := labelW
		for i, s := range series {
			fmt.Fprintf(&b, `<rect class="legend" x="%g" y="4" width="12" height="12" fill="%s"/><text x="%g" y="14">%s</text>`, x, color(i), x+16, esc(s))
			x += 24 + 7*float64(len([]rune(s)))
		}
	}
	for i, bar := range bars {
		y := legendH + float64(i)*rowH + 3
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%s</text>`, labelW-6, y+13, esc(bar.Label))
		x, total := labelW, 0.0
		for _, s := range bar.Segments {
			w := 0.0
			if maxTotal > 0 {
				w = barW * s.Value / maxTotal
			}
			fmt.Fprintf(&b, `<rect data-label="%s" data-series="%s" data-value="%s" x="%.2f" y="%g" width="%.2f" height="%g" fill="%s"><title>%s %s: %s</title></rect>`,
				esc(bar.Label), esc(s.Series), num(s.Value), x, y, w, rowH-6, color(seen[s.Series]), esc(bar.Label), esc(s.Series), short(s.Value))
			x += w
			total += s.Value
		}
		note := short(total)
		if bar.Note != "" {
			note += " " + bar.Note
		}
		fmt.Fprintf(&b, `<text x="%.2f" y="%g">%s</text>`, x+4, y+13, esc(note))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// single makes one-series bars from counts.
func single(series string, cs []Count) []hbar {
	out := make([]hbar, 0, len(cs))
	for _, c := range cs {
		out = append(out, hbar{Label: c.Name, Segments: []segment{{series, float64(c.N)}}})
	}
	return out
}

// histSeries is one series of a histogram: counts per shared bin.
type histSeries struct {
	Name string
	Bins []Bin
}

// histChart draws histograms over shared bins, the series side by side in
// each bin.
func histChart(id string, series []histSeries) string {
	const w, h, padL, padB, padT = 560.0, 200.0, 36.0, 34.0, 24.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg data-chart="%s" xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`, esc(id), w, h, w, h)
	nb, maxN := 0, 0
	for _, s := range series {
		nb = max(nb, len(s.Bins))
		for _, bn := range s.Bins {
			maxN = max(maxN, bn.N)
		}
	}
	if nb == 0 || len(series) == 0 {
		b.WriteString(`<text x="4" y="16" class="empty">no data</text></svg>`)
		return b.String()
	}
	plotW, plotH := w-padL-8, h-padB-padT
	binW := plotW / float64(nb)
	barW := (binW - 4) / float64(len(series))
	x := padL
	for i, s := range series {
		fmt.Fprintf(&b, `<rect class="legend" x="%g" y="4" width="12" height="12" fill="%s"/><text x="%g" y="14">%s</text>`, x, color(i), x+16, esc(s.Name))
		x += 24 + 7*float64(len([]rune(s.Name)))
	}
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#888"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%d</text>`, padL-4, padT+8, maxN)
	for si, s := range series {
		for bi, bn := range s.Bins {
			bh := 0.0
			if maxN > 0 {
				bh = plotH * float64(bn.N) / float64(maxN)
			}
			bx := padL + float64(bi)*binW + 2 + float64(si)*barW
			fmt.Fprintf(&b, `<rect data-series="%s" data-lo="%s" data-hi="%s" data-value="%d" x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s [%s, %s]: %d</title></rect>`,
				esc(s.Name), num(bn.Lo), num(bn.Hi), bn.N, bx, padT+plotH-bh, barW, bh, color(si), esc(s.Name), short(bn.Lo), short(bn.Hi), bn.N)
		}
	}
	// Axis labels at the first and last bin edges.
	for _, s := range series {
		if len(s.Bins) > 0 {
			fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text>`, padL, h-padB+16, short(s.Bins[0].Lo))
			fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%s</text>`, padL+plotW, h-padB+16, short(s.Bins[len(s.Bins)-1].Hi))
			break
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}
