package filter

import (
	"math"
	"sort"
)

// judgeBlocks names the judges' blocks ([Calibrator.JudgeGroup], else each
// judge its own): blockOf[j] is judge j's block, names the blocks sorted.
func judgeBlocks(c Calibrator, judges []string) (blockOf, names []string) {
	group := c.JudgeGroup
	if group == nil {
		group = func(s string) string { return s }
	}
	blockOf = make([]string, len(judges))
	seen := map[string]bool{}
	for j, name := range judges {
		blockOf[j] = group(name)
		if !seen[blockOf[j]] {
			seen[blockOf[j]] = true
			names = append(names, blockOf[j])
		}
	}
	sort.Strings(names)
	return blockOf, names
}

// minConsistencyPairs is the number of pairs judged in both orders a block
// needs for its order consistency to count.
const minConsistencyPairs = 20

// consistentLead is the block whose order consistency (the share of its
// judges' pairs, judged in both orders, on which the two orders give the
// same verdict) is the highest by at least margin over every other's,
// and "" when there is none: fewer than two blocks, a block with fewer
// than minConsistencyPairs pairs judged in both orders, or no clear
// margin. It reads no labels and no posterior.
func (d *dataset) consistentLead(blockOf, blocks []string, margin float64) string {
	if len(blocks) < 2 {
		return ""
	}
	agree, n := map[string]float64{}, map[string]float64{}
	for _, os := range d.obs {
		for _, o := range os {
			if !o.agreeSet {
				continue
			}
			b := blockOf[o.j]
			n[b] += o.w
			if o.agree {
				agree[b] += o.w
			}
		}
	}
	lead := ""
	best, second := math.Inf(-1), math.Inf(-1)
	for _, b := range blocks {
		if n[b] < minConsistencyPairs {
			return ""
		}
		cons := agree[b] / n[b]
		switch {
		case cons > best:
			best, second, lead = cons, best, b
		case cons > second:
			second = cons
		}
	}
	if best-second < margin {
		return ""
	}
	return lead
}

// baseWeights are the dataset's current weights.
func (d *dataset) baseWeights() [][]float64 {
	base := make([][]float64, len(d.obs))
	for i, os := range d.obs {
		base[i] = make([]float64, len(os))
		for k, o := range os {
			base[i][k] = o.w
		}
	}
	return base
}

func (d *dataset) setWeights(w [][]float64) {
	for i := range d.obs {
		for k := range d.obs[i] {
			d.obs[i][k].w = w[i][k]
		}
	}
}

// fitLed fits the panel with block b leading (see leadWeights) and
// leaves the dataset's weights as the led ones; temper is the led fit's
// label-free temper (ledTemper).
func (d *dataset) fitLed(c Calibrator, prior [][9]float64, base [][]float64, blockOf []string, b string, temper0 float64) (m model, raw []float64, w [][]float64, temper float64, iters int) {
	w = leadWeights(d, base, blockOf, b)
	d.setWeights(w)
	m = d.initModel(prior)
	iters = d.em(&m, prior, c.PriorStrength, c.MaxIter, nil)
	return m, d.logits(&m), w, d.ledTemper(temper0, blockOf), iters
}

// ledTemper is the label-free temper of a fit under the dataset's current
// (led) weights, for the same correlation between blocks that the panel's
// default temper t0 assumes. If each block's log-likelihood ratio is
// calibrated on its own and any two blocks' are correlated by rho, a sum
// of them weighted by W_b is calibrated once multiplied by
// sum W / ((1-rho) sum W^2 + rho (sum W)^2); with B equal weights that is
// 1/(1 + rho (B-1)), which is t0 = 1/sqrt(B) for rho = t0/(1+t0). The
// sums run over every pair (a block's weight on a pair is its judges'
// summed weight; a scorer is a block of weight 1).
func (d *dataset) ledTemper(t0 float64, blockOf []string) float64 {
	rho := t0 / (1 + t0)
	index := map[string]int{}
	for _, b := range blockOf {
		if _, ok := index[b]; !ok {
			index[b] = len(index)
		}
	}
	wb := make([]float64, len(index))
	var s1, s2, sq1 float64
	for i, os := range d.obs {
		clear(wb)
		for _, o := range os {
			wb[index[blockOf[o.j]]] += o.w
		}
		var sum, sum2 float64
		for _, w := range wb {
			sum += w
			sum2 += w * w
		}
		k := float64(len(d.margins[i]))
		sum += k
		sum2 += k
		s1 += sum
		s2 += sum2
		sq1 += sum * sum
	}
	den := (1-rho)*s2 + rho*sq1
	if s1 == 0 || den == 0 {
		return t0
	}
	return math.Min(1, math.Max(0.05, s1/den))
}

// chooseLead fits the panel once per block with that block leading (see
// [Calibrator.Leads]) and returns the fit, among the full panel's (m,
// raw, grid, evidence) and the led ones, under which the labels are most
// likely, weighed by the prior: 1:1 between the full panel and the led
// fits together, or, when a block's order consistency leads by a clear
// margin (consistentLead), 1/2 for that block's fit, 1/4 for the full
// panel and 1/4 shared by the other led fits. lead names the block kept
// ("" for the full panel). The dataset's weights are left as the kept
// fit's.
func (d *dataset) chooseLead(c Calibrator, prior [][9]float64, blockOf, blocks []string, consLead string, m model, raw []float64, grid []confPoint, evidence, temper0, maxCeil float64) (model, []float64, []confPoint, string, int) {
	if len(blocks) < 2 {
		return m, raw, grid, "", 0
	}
	base := d.baseWeights()
	logFull, logLed, logCons := math.Log(0.5), math.Log(0.5/float64(len(blocks))), 0.0
	if consLead != "" {
		logFull, logLed, logCons = math.Log(0.25), math.Log(0.25/float64(len(blocks)-1)), math.Log(0.5)
	}
	bestScore := evidence + logFull
	bestW := base
	lead, iters := "", 0
	for _, b := range blocks {
		lm, lraw, w, lt, n := d.fitLed(c, prior, base, blockOf, b, temper0)
		iters += n
		// The lead's evidence counts several times: the temper's prior is
		// centred lower (ledTemper).
		lgrid, ev := fitConfidence(lraw, d.label, d.mapW, lt, maxCeil)
		lp := logLed
		if b == consLead {
			lp = logCons
		}
		if score := ev + lp; score > bestScore {
			bestScore, bestW = score, w
			m, raw, grid, lead = lm, lraw, lgrid, b
		}
	}
	d.setWeights(bestW)
	return m, raw, grid, lead, iters
}

// leadWeights are the weights base with block lead's judges raised, on
// each pair, by 1 + the others' summed weight over the lead's own, so
// that its judges together outweigh all the others.
func leadWeights(d *dataset, base [][]float64, blockOf []string, lead string) [][]float64 {
	w := make([][]float64, len(base))
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
	}
	return w
}

// consistencyCeiling bounds the confidence of any pair by the order
// consistency c of the most consistent judge: a judge whose two orders
// are each right with probability a, independently, has a^2 + (1-a)^2 =
// c and is right, where its orders agree, with probability a^2 / c;
// orders that err together (more often wrong in both than by chance)
// only lower that. 1 when no judge was asked in both orders on
// minConsistencyPairs pairs.
func (d *dataset) consistencyCeiling(judges []string) float64 {
	agree, n := make([]float64, len(judges)), make([]float64, len(judges))
	for _, os := range d.obs {
		for _, o := range os {
			if !o.agreeSet {
				continue
			}
			n[o.j]++
			if o.agree {
				agree[o.j]++
			}
		}
	}
	best := -1.0
	for j := range judges {
		if n[j] >= minConsistencyPairs {
			best = math.Max(best, agree[j]/n[j])
		}
	}
	if best <= 0.5 {
		return 1
	}
	a := (1 + math.Sqrt(2*best-1)) / 2
	return a * a / best
}

// consistencyLead is the block that leads on its order consistency
// ([Calibrator.ConsistencyLead]): consistentLead's, and with
// [Calibrator.LeadMisfit] only if the full panel's label-free fit (m when
// no pair is labeled, else refitted without the labels) misjudges it
// (misfitZ above the Bonferroni-corrected one-sided 5% point).
func (d *dataset) consistencyLead(c Calibrator, prior [][9]float64, m *model, labeled int, blockOf, blocks []string) string {
	lead := d.consistentLead(blockOf, blocks, c.LeadMargin)
	if lead == "" || !c.LeadMisfit {
		return lead
	}
	if labeled > 0 {
		saved := d.label
		d.label = make([]int8, len(saved))
		free := d.initModel(prior)
		d.em(&free, prior, c.PriorStrength, c.MaxIter, nil)
		d.label = saved
		m = &free
	}
	alpha := 0.05 / float64(len(blocks))
	crit := math.Sqrt2 * math.Erfinv(1-2*alpha)
	if d.misfitZ(m, blockOf, lead) <= crit {
		return ""
	}
	return lead
}

// misfitZ is the standardized excess of block b's order agreement over
// what model m predicts if each judge's two orders erred independently
// with m's accuracies: over the pairs on which a judge of b gave both
// orders a readable verdict, (observed agreements - sum of predicted
// probabilities) / sqrt(sum of p(1-p)). A judge's predicted agreement is
// the chance that the order showing people's winner first and the order
// showing it second name the same response (both it, both the other, or
// both a tie), from m's marginals over the two positions.
func (d *dataset) misfitZ(m *model, blockOf []string, b string) float64 {
	pred := make([]float64, d.nJudge)
	for j := range pred {
		if blockOf[j] != b {
			continue
		}
		th := m.marginal(j)
		var u, w [3]float64
		for x := 0; x < 3; x++ {
			for y := 0; y < 3; y++ {
				u[x] += th[x*3+y]
				w[y] += th[x*3+y]
			}
		}
		pred[j] = u[cellC]*w[cellC] + u[cellW]*w[cellW] + u[cellT]*w[cellT]
	}
	var obsSum, predSum, v float64
	for _, os := range d.obs {
		for _, o := range os {
			if !o.agreeSet || blockOf[o.j] != b {
				continue
			}
			p := pred[o.j]
			predSum += p
			v += p * (1 - p)
			if o.agree {
				obsSum++
			}
		}
	}
	if v == 0 {
		return 0
	}
	return (obsSum - predSum) / math.Sqrt(v)
}
