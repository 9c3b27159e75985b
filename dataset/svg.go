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
	if len(bars) == 0 {
		return emptyChart(id, labelW+barW+noteW, "no data")
	}
	h := legendH + rowH*float64(len(bars)) + 6
	var b strings.Builder
	fmt.Fprintf(&b, `<svg data-chart="%s" xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`,
		esc(id), labelW+barW+noteW, h, labelW+barW+noteW, h)
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

// emptyChart is a chart with no data: a note at readable size, in a box
// tall enough to hold it.
func emptyChart(id string, w float64, note string) string {
	return fmt.Sprintf(`<svg data-chart="%s" data-empty="true" xmlns="http://www.w3.org/2000/svg" width="%g" height="28" viewBox="0 0 %g 28" role="img"><text x="4" y="18" class="empty">%s</text></svg>`,
		esc(id), w, w, esc(note))
}

// integerBins reports whether bins are one per integer ([k-0.5, k+0.5)).
func integerBins(bins []Bin) bool {
	for _, b := range bins {
		c := (b.Lo + b.Hi) / 2
		if b.Hi-b.Lo != 1 || c != math.Trunc(c) {
			return false
		}
	}
	return len(bins) > 0
}

// niceStep is a round tick step (1, 2 or 5 times a power of ten) giving
// at most about n ticks up to max.
func niceStep(max float64, n int) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return math.Max(1, m*p)
		}
	}
	return math.Max(1, 10*p)
}

// histChart draws histograms over shared bins, the series side by side in
// each bin, with axis titles (xTitle under the bins, yTitle beside the
// counts), count ticks with grid lines and a tick per bin edge (per integer
// for integer bins, under the bar's middle).
func histChart(id, xTitle, yTitle string, series []histSeries) string {
	const w, h, padL, padR, padB, padT = 560.0, 230.0, 56.0, 12.0, 48.0, 26.0
	nb, maxN := 0, 0
	for _, s := range series {
		nb = max(nb, len(s.Bins))
		for _, bn := range s.Bins {
			maxN = max(maxN, bn.N)
		}
	}
	if nb == 0 || len(series) == 0 {
		return emptyChart(id, w, "no data")
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg data-chart="%s" xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`, esc(id), w, h, w, h)
	plotW, plotH := w-padL-padR, h-padB-padT
	binW := plotW / float64(nb)
	barW := (binW - 4) / float64(len(series))
	x := padL
	for i, s := range series {
		fmt.Fprintf(&b, `<rect class="legend" x="%g" y="6" width="12" height="12" fill="%s"/><text x="%g" y="16">%s</text>`, x, color(i), x+16, esc(s.Name))
		x += 24 + 7*float64(len([]rune(s.Name)))
	}
	// Count axis: ticks and grid lines at round steps.
	step := niceStep(float64(maxN), 4)
	top := math.Max(float64(maxN), step)
	for v := 0.0; v <= top+1e-9; v += step {
		y := padT + plotH - plotH*v/top
		fmt.Fprintf(&b, `<line class="grid" x1="%g" y1="%.2f" x2="%g" y2="%.2f" stroke="#e5e5e5"/><text class="tick" x="%g" y="%.2f" text-anchor="end">%s</text>`,
			padL, y, padL+plotW, y, padL-4, y+4, short(v))
	}
	fmt.Fprintf(&b, `<text class="axis-title" x="14" y="%g" text-anchor="middle" transform="rotate(-90 14 %g)">%s</text>`, padT+plotH/2, padT+plotH/2, esc(yTitle))
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#888"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	for si, s := range series {
		for bi, bn := range s.Bins {
			bh := plotH * float64(bn.N) / top
			bx := padL + float64(bi)*binW + 2 + float64(si)*barW
			fmt.Fprintf(&b, `<rect data-series="%s" data-lo="%s" data-hi="%s" data-value="%d" x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s %s: %d</title></rect>`,
				esc(s.Name), num(bn.Lo), num(bn.Hi), bn.N, bx, padT+plotH-bh, barW, bh, color(si), esc(s.Name), binText(bn), bn.N)
		}
	}
	// Value axis: a tick per integer (under the bar) or per bin edge,
	// thinned to at most 11 labels.
	var bins []Bin
	for _, s := range series {
		if len(s.Bins) == nb {
			bins = s.Bins
			break
		}
	}
	ints := integerBins(bins)
	edges := nb + 1
	if ints {
		edges = nb
	}
	every := (edges + 10) / 11
	for i := 0; i < edges; i++ {
		if i%every != 0 && i != edges-1 {
			continue
		}
		var tx float64
		var label string
		switch {
		case ints:
			tx, label = padL+(float64(i)+0.5)*binW, short((bins[i].Lo+bins[i].Hi)/2)
		case i < nb:
			tx, label = padL+float64(i)*binW, short(bins[i].Lo)
		default:
			tx, label = padL+plotW, short(bins[nb-1].Hi)
		}
		fmt.Fprintf(&b, `<line x1="%.2f" y1="%g" x2="%.2f" y2="%g" stroke="#888"/><text class="tick" x="%.2f" y="%g" text-anchor="middle">%s</text>`,
			tx, padT+plotH, tx, padT+plotH+4, tx, padT+plotH+17, esc(label))
	}
	fmt.Fprintf(&b, `<text class="axis-title" x="%g" y="%g" text-anchor="middle">%s</text>`, padL+plotW/2, h-8, esc(xTitle))
	b.WriteString(`</svg>`)
	return b.String()
}

// binText describes a bin for a tooltip: "3" for an integer bin, else
// "[lo, hi)".
func binText(bn Bin) string {
	if integerBins([]Bin{bn}) {
		return short((bn.Lo + bn.Hi) / 2)
	}
	return "[" + short(bn.Lo) + ", " + short(bn.Hi) + ")"
}
