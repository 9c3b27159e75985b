package filter

import (
	"math"
	"sort"
)

// chooseLead fits the panel once per block with that block leading (see
// [Calibrator.Leads]) and returns the fit, among the full panel's (m,
// raw, grid, evidence) and the led ones, under which the labels are most
// likely, with prior odds 1:1 between the full panel and the led fits
// together; lead names the block kept ("" for the full panel). The
// dataset's weights are left as the kept fit's.
func (d *dataset) chooseLead(c Calibrator, prior [][9]float64, judges []string, m model, raw []float64, grid []confPoint, evidence, temper0 float64) (model, []float64, []confPoint, string, int) {
	group := c.JudgeGroup
	if group == nil {
		group = func(s string) string { return s }
	}
	blockOf := make([]string, len(judges))
	seen := map[string]bool{}
	var blocks []string
	for j, name := range judges {
		blockOf[j] = group(name)
		if !seen[blockOf[j]] {
			seen[blockOf[j]] = true
			blocks = append(blocks, blockOf[j])
		}
	}
	sort.Strings(blocks)
	if len(blocks) < 2 {
		return m, raw, grid, "", 0
	}
	base := make([][]float64, len(d.obs))
	for i, os := range d.obs {
		base[i] = make([]float64, len(os))
		for k, o := range os {
			base[i][k] = o.w
		}
	}
	bestScore := evidence + math.Log(0.5)
	bestW := base
	lead, iters := "", 0
	logPrior := math.Log(0.5 / float64(len(blocks)))
	for _, b := range blocks {
		w, boost := leadWeights(d, base, blockOf, b)
		for i := range d.obs {
			for k := range d.obs[i] {
				d.obs[i][k].w = w[i][k]
			}
		}
		lm := d.initModel(prior)
		iters += d.em(&lm, prior, c.PriorStrength, c.MaxIter, nil)
		lraw := d.logits(&lm)
		// The lead's evidence counts boost times: the temper's prior is
		// centred that much lower.
		lgrid, ev := fitConfidence(lraw, d.label, math.Max(0.05, temper0/boost))
		if score := ev + logPrior; score > bestScore {
			bestScore, bestW = score, w
			m, raw, grid, lead = lm, lraw, lgrid, b
		}
	}
	for i := range d.obs {
		for k := range d.obs[i] {
			d.obs[i][k].w = bestW[i][k]
		}
	}
	return m, raw, grid, lead, iters
}

// leadWeights are the weights base with block lead's judges raised, on
// each pair, by 1 + the others' summed weight over the lead's own, so
// that its judges together outweigh all the others; boost is the mean
// factor over the pairs the lead judged.
func leadWeights(d *dataset, base [][]float64, blockOf []string, lead string) (w [][]float64, boost float64) {
	w = make([][]float64, len(base))
	var n float64
	for i, os := range d.obs {
		w[i] = append([]float64(nil), base[i]...)
		var mine, other float64
		for k, o := range os {
			if blockOf[o.j] == lead {
				mine += base[i][k]
			} else {
				other += base[i][k]
			}
		}
		if mine == 0 {
			continue
		}
		f := 1 + other/mine
		for k, o := range os {
			if blockOf[o.j] == lead {
				w[i][k] *= f
			}
		}
		boost += f
		n++
	}
	if n == 0 {
		return w, 1
	}
	return w, boost / n
}
