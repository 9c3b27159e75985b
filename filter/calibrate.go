package filter

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/prefdata/prefdata"
)

// Choice is a verdict or a label in a pair's own terms.
type Choice int8

// The choices.
const (
	ChoiceNone Choice = iota // no readable verdict, or unlabeled
	ChoiceA                  // response a is better
	ChoiceB                  // response b is better
	ChoiceTie                // no difference
)

// String returns "a", "b", "tie", or "" for ChoiceNone.
func (c Choice) String() string {
	switch c {
	case ChoiceA:
		return "a"
	case ChoiceB:
		return "b"
	case ChoiceTie:
		return "tie"
	}
	return ""
}

// ParseChoice reads "a", "b" or "tie"; "" is ChoiceNone.
func ParseChoice(s string) (Choice, error) {
	switch s {
	case "a":
		return ChoiceA, nil
	case "b":
		return ChoiceB, nil
	case "tie":
		return ChoiceTie, nil
	case "":
		return ChoiceNone, nil
	}
	return ChoiceNone, fmt.Errorf("choice %q is not a, b or tie", s)
}

// Judgment is one judge's verdict on a pair in one presentation order.
type Judgment struct {
	Judge   string // judge name; a judge's two orders share it
	First   Choice // the response shown first: ChoiceA or ChoiceB
	Verdict Choice // ChoiceA, ChoiceB, ChoiceTie or ChoiceNone (unreadable)
}

// Margin is a reward model's score of response a minus its score of b.
type Margin struct {
	Scorer string
	Value  float64
}

// Evidence is what machines said about one pair: the calibrator's input.
type Evidence struct {
	ID        string
	Judgments []Judgment
	Margins   []Margin
}

// EvidenceOf collects what c says about pair p: a is p.Chosen and b is
// p.Rejected. Each comparison of the two responses gives one Judgment per
// parsed order (Comparison.Orders[0] shows Comparison.A first, Orders[1]
// shows B first; a nil order is ChoiceNone); every scorer with an overall
// score (empty Aspect) of both responses gives a Margin.
func EvidenceOf(c prefdata.Candidate, p prefdata.Pair) Evidence {
	a, b := p.Chosen.ID, p.Rejected.ID
	ev := Evidence{ID: p.ID}
	for _, cmp := range c.Comparisons {
		var flip bool
		switch {
		case cmp.A == a && cmp.B == b:
		case cmp.A == b && cmp.B == a:
			flip = true
		default:
			continue
		}
		for k, o := range cmp.Orders {
			if k > 1 {
				break
			}
			// first is the response shown first, in cmp's terms.
			firstIsCmpA := k == 0
			first := ChoiceA
			if firstIsCmpA == flip {
				first = ChoiceB
			}
			v := ChoiceNone
			if o != nil {
				pref := *o // for cmp.A
				if flip {
					pref = -pref
				}
				switch {
				case pref > 0:
					v = ChoiceA
				case pref < 0:
					v = ChoiceB
				default:
					v = ChoiceTie
				}
			}
			ev.Judgments = append(ev.Judgments, Judgment{Judge: cmp.Scorer, First: first, Verdict: v})
		}
	}
	sa := map[string]float64{}
	for _, s := range c.ScoresOf(a) {
		if s.Aspect == "" {
			sa[s.Scorer] = s.Value
		}
	}
	seen := map[string]bool{}
	for _, s := range c.ScoresOf(b) {
		va, ok := sa[s.Scorer]
		if s.Aspect != "" || !ok || seen[s.Scorer] {
			continue
		}
		seen[s.Scorer] = true
		ev.Margins = append(ev.Margins, Margin{Scorer: s.Scorer, Value: va - s.Value})
	}
	return ev
}

// Calibrator turns judges' verdicts and reward-model margins into, for each
// pair, the probability that the AI's winner is the one people would choose.
//
// It fits a latent-class model in the spirit of Dawid and Skene: a pair's
// hidden class is the response people prefer. Each judge has, for the class
// shown first and for the class shown second, a distribution over its
// verdicts (the response shown first, the one shown second, a tie), taken
// jointly over its two orders, so a judge that always picks the first
// response is recognized as position-biased rather than as two judges that
// disagree. A reward model's margin is Gaussian around +mu or -mu with the
// class. Dirichlet and Beta priors (centred on PriorAccuracy) keep small
// sets from overfitting; unreadable verdicts are left out (missing at
// random). Human labels clamp their pair's class, so the fit sharpens as
// labels arrive; since routing decides from the machines' verdicts alone,
// labels of the routed pairs are missing at random too and do not bias it.
//
// Judges that make the same mistakes on the same pairs (one model under two
// prompts, models trained alike) break the model's assumption of
// independence given the class, and make it overconfident. Temper scales the
// judges' evidence to correct that; by default it is fitted on the
// human-labeled pairs (at least MinLabels of them).
//
// The zero value works; fields set the defaults named.
type Calibrator struct {
	// PriorStrength is the weight of each judge's prior, in pairs
	// (default 4).
	PriorStrength float64
	// PriorAccuracy is the prior's accuracy of a judge in one order
	// (default 0.7); its tie rate is 0.1.
	PriorAccuracy float64
	// Temper multiplies the judges' and scorers' log-likelihood ratio of
	// each pair (1: plain EM). 0 means automatic: fitted on the labeled
	// pairs when there are at least MinLabels, else 1.
	Temper float64
	// MinLabels is the number of labeled pairs from which Temper is fitted
	// (default 10).
	MinLabels int
	// MaxIter bounds the EM iterations (default 200).
	MaxIter int
	// Bootstrap is the number of bootstrap refits behind the intervals
	// (default 40; negative: none, intervals then come from the Bernoulli
	// variance and the judges' counts alone).
	Bootstrap int
	// Seed seeds the bootstrap.
	Seed uint64
}

func (c Calibrator) withDefaults() Calibrator {
	if c.PriorStrength <= 0 {
		c.PriorStrength = 4
	}
	if c.PriorAccuracy <= 0 || c.PriorAccuracy >= 1 {
		c.PriorAccuracy = 0.7
	}
	if c.MinLabels <= 0 {
		c.MinLabels = 10
	}
	if c.MaxIter <= 0 {
		c.MaxIter = 200
	}
	if c.Bootstrap == 0 {
		c.Bootstrap = 40
	}
	return c
}

// Interval is an estimate with an interval of about 95%.
type Interval struct{ Est, Lo, Hi float64 }

// String renders "0.912 [0.880, 0.941]".
func (iv Interval) String() string { return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Est, iv.Lo, iv.Hi) }

// Calibration is a fitted model and its result for each pair.
type Calibration struct {
	// Pairs holds one Posterior per pair, in the order given to Fit.
	Pairs []Posterior
	// Judges holds one entry per judge, sorted by name.
	Judges []JudgeStats
	// Scorers holds one entry per reward model, sorted by name.
	Scorers []ScorerStats
	// PriorA is the estimated share of pairs on which people prefer a.
	PriorA float64
	// Temper is the temper used (see Calibrator.Temper).
	Temper float64
	// Labeled counts the pairs a human label clamped.
	Labeled    int
	Iterations int

	// boot[r][i] is replicate r's P(people prefer a) for pair i.
	boot [][]float64
}

// Posterior is one pair's calibrated result.
type Posterior struct {
	ID string
	// PA is the probability that people prefer a, from the machines'
	// evidence alone (a label does not change it).
	PA float64
	// Winner is the AI's winner: ChoiceA when PA >= 0.5, else ChoiceB.
	Winner Choice
	// P is the probability that Winner is people's winner: max(PA, 1-PA).
	P float64
	// Labeled reports a human label (Label) that clamped the pair's class
	// in the fit.
	Labeled bool
	Label   Choice
}

// JudgeStats describes one judge as the fit sees it.
type JudgeStats struct {
	Judge string
	// Accuracy is P(verdict = people's winner | a readable verdict),
	// averaged over people's winner shown first and shown second.
	Accuracy Interval
	// PositionBias is P(picks the response shown first) minus P(picks the
	// one shown second), averaged over both positions of people's winner:
	// 0 for an unbiased judge, 1 for one that always picks the first.
	PositionBias Interval
	// Consistency is the share of pairs judged in both orders (with
	// readable verdicts) on which the two verdicts name the same response.
	Consistency float64
	// Verdicts counts readable verdicts.
	Verdicts int
}

// ScorerStats describes one reward model: its margin is normal with mean
// +Mu when people prefer a, -Mu when they prefer b, and deviation Sigma.
type ScorerStats struct {
	Scorer    string
	Mu, Sigma float64
	// Accuracy is P(the sign of the margin names people's winner).
	Accuracy float64
	N        int
}

// verdict cells relative to people's winner, per order.
const (
	cellC    = 0 // picks people's winner
	cellW    = 1 // picks the other
	cellT    = 2 // tie
	cellMiss = 3 // not asked, or unreadable
)

// obs is one judge's view of one pair under each class: u is the cell of
// the order showing the class first, w of the order showing it second.
type obs struct {
	j        int
	uA, wA   int8 // if people prefer a
	uB, wB   int8 // if people prefer b
	agreeOK  bool // both orders readable and decisive
	agreeSet bool // both orders readable and decisive or tie
	agree    bool
}

type margObs struct {
	s int
	v float64
}

type model struct {
	theta [][9]float64 // per judge: joint over (u, w) cells C/W/T
	mu    []float64
	sigma []float64
	pi    float64
}

type dataset struct {
	obs     [][]obs
	margins [][]margObs
	label   []int8 // 1 a, -1 b, 0 none
	nJudge  int
	nScorer int
}

// Fit estimates the model from the pairs and the human labels (pair ID to
// people's winner; ties and ChoiceNone are ignored, IDs not among the pairs
// too). It fails only on unusable input: an empty or duplicate pair ID, or
// a Judgment whose First is not ChoiceA or ChoiceB.
func (c Calibrator) Fit(pairs []Evidence, labels map[string]Choice) (*Calibration, error) {
	c = c.withDefaults()
	d, judges, scorers, err := buildDataset(pairs, labels)
	if err != nil {
		return nil, err
	}
	prior := c.prior()
	m := d.initModel(prior)
	it := d.em(&m, prior, c.PriorStrength, c.MaxIter, nil)

	temper := c.Temper
	labeled := 0
	for _, l := range d.label {
		if l != 0 {
			labeled++
		}
	}
	if temper <= 0 {
		temper = 1
		if labeled >= c.MinLabels {
			temper = d.fitTemper(&m)
		}
	}
	cal := &Calibration{Temper: temper, Labeled: labeled, Iterations: it, PriorA: m.pi}
	pa := d.posteriors(&m, temper, false)
	cal.Pairs = make([]Posterior, len(pairs))
	for i, ev := range pairs {
		post := Posterior{ID: ev.ID, PA: pa[i], Winner: ChoiceA, P: pa[i]}
		if pa[i] < 0.5 {
			post.Winner, post.P = ChoiceB, 1-pa[i]
		}
		switch d.label[i] {
		case 1:
			post.Labeled, post.Label = true, ChoiceA
		case -1:
			post.Labeled, post.Label = true, ChoiceB
		}
		cal.Pairs[i] = post
	}

	// Bootstrap: refit on pairs drawn with replacement, warm-started.
	var bootModels []model
	if c.Bootstrap > 0 && len(pairs) > 1 {
		rng := rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))
		for r := 0; r < c.Bootstrap; r++ {
			idx := make([]int, len(pairs))
			for k := range idx {
				idx[k] = rng.IntN(len(pairs))
			}
			bm := m.clone()
			d.em(&bm, prior, c.PriorStrength, 50, idx)
			bootModels = append(bootModels, bm)
			cal.boot = append(cal.boot, d.posteriors(&bm, temper, false))
		}
	}
	cal.Judges = d.judgeStats(&m, bootModels, judges)
	for s, name := range scorers {
		st := ScorerStats{Scorer: name, Mu: m.mu[s], Sigma: m.sigma[s]}
		st.Accuracy = normCDF(m.mu[s] / m.sigma[s])
		for _, ms := range d.margins {
			for _, o := range ms {
				if o.s == s {
					st.N++
				}
			}
		}
		cal.Scorers = append(cal.Scorers, st)
	}
	return cal, nil
}

// prior is the Dirichlet mean over the nine (u, w) cells: two independent
// orders of accuracy PriorAccuracy and tie rate 0.1.
func (c Calibrator) prior() [9]float64 {
	const tie = 0.1
	one := [3]float64{c.PriorAccuracy * (1 - tie), (1 - c.PriorAccuracy) * (1 - tie), tie}
	var p [9]float64
	for u := 0; u < 3; u++ {
		for w := 0; w < 3; w++ {
			p[u*3+w] = one[u] * one[w]
		}
	}
	return p
}

func buildDataset(pairs []Evidence, labels map[string]Choice) (*dataset, []string, []string, error) {
	d := &dataset{obs: make([][]obs, len(pairs)), margins: make([][]margObs, len(pairs)), label: make([]int8, len(pairs))}
	jIdx, sIdx := map[string]int{}, map[string]int{}
	var judges, scorers []string
	// Judges and scorers are numbered in name order, so the result does
	// not depend on the order of the input.
	for _, ev := range pairs {
		for _, jg := range ev.Judgments {
			if _, ok := jIdx[jg.Judge]; !ok {
				jIdx[jg.Judge] = 0
				judges = append(judges, jg.Judge)
			}
		}
		for _, mg := range ev.Margins {
			if _, ok := sIdx[mg.Scorer]; !ok {
				sIdx[mg.Scorer] = 0
				scorers = append(scorers, mg.Scorer)
			}
		}
	}
	sort.Strings(judges)
	sort.Strings(scorers)
	for k, n := range judges {
		jIdx[n] = k
	}
	for k, n := range scorers {
		sIdx[n] = k
	}
	d.nJudge, d.nScorer = len(judges), len(scorers)
	seen := make(map[string]bool, len(pairs))
	var errs []error
	for i, ev := range pairs {
		if ev.ID == "" {
			errs = append(errs, fmt.Errorf("pair %d: empty ID", i))
			continue
		}
		if seen[ev.ID] {
			errs = append(errs, fmt.Errorf("pair %s: duplicate ID", ev.ID))
			continue
		}
		seen[ev.ID] = true
		switch labels[ev.ID] {
		case ChoiceA:
			d.label[i] = 1
		case ChoiceB:
			d.label[i] = -1
		}
		// verdict per judge per order shown first (a or b); the first
		// Judgment of a judge and order counts.
		type two struct {
			va, vb     Choice // verdict with a shown first, b shown first
			hasA, hasB bool
		}
		per := map[int]*two{}
		var order []int
		for _, jg := range ev.Judgments {
			j := jIdx[jg.Judge]
			t := per[j]
			if t == nil {
				t = &two{}
				per[j] = t
				order = append(order, j)
			}
			switch jg.First {
			case ChoiceA:
				if !t.hasA {
					t.va, t.hasA = jg.Verdict, true
				}
			case ChoiceB:
				if !t.hasB {
					t.vb, t.hasB = jg.Verdict, true
				}
			default:
				errs = append(errs, fmt.Errorf("pair %s: judge %s: First is %q, not a or b", ev.ID, jg.Judge, jg.First))
			}
		}
		sort.Ints(order)
		for _, j := range order {
			t := per[j]
			// cell of a verdict v for an order showing `first` first, if
			// people prefer `class`.
			cell := func(v Choice, has bool, class Choice) int8 {
				switch {
				case !has || v == ChoiceNone:
					return cellMiss
				case v == ChoiceTie:
					return cellT
				case v == class:
					return cellC
				}
				return cellW
			}
			o := obs{j: j,
				uA: cell(t.va, t.hasA, ChoiceA), wA: cell(t.vb, t.hasB, ChoiceA),
				uB: cell(t.vb, t.hasB, ChoiceB), wB: cell(t.va, t.hasA, ChoiceB)}
			if o.uA == cellMiss && o.wA == cellMiss {
				continue
			}
			if o.uA != cellMiss && o.wA != cellMiss {
				o.agreeSet = true
				o.agree = t.va == t.vb
			}
			d.obs[i] = append(d.obs[i], o)
		}
		for _, mg := range ev.Margins {
			if math.IsNaN(mg.Value) || math.IsInf(mg.Value, 0) {
				continue
			}
			d.margins[i] = append(d.margins[i], margObs{s: sIdx[mg.Scorer], v: mg.Value})
		}
	}
	if len(errs) > 0 {
		return nil, nil, nil, errors.Join(errs...)
	}
	return d, judges, scorers, nil
}

func (m model) clone() model {
	return model{
		theta: append([][9]float64(nil), m.theta...),
		mu:    append([]float64(nil), m.mu...),
		sigma: append([]float64(nil), m.sigma...),
		pi:    m.pi,
	}
}

func (d *dataset) initModel(prior [9]float64) model {
	m := model{theta: make([][9]float64, d.nJudge), mu: make([]float64, d.nScorer), sigma: make([]float64, d.nScorer), pi: 0.5}
	for j := range m.theta {
		m.theta[j] = prior
	}
	// Scorers start from the spread of their margins, oriented by the
	// judges' majority where there are judges, else by their sign.
	for s := range m.mu {
		var sum, sq, n float64
		for _, ms := range d.margins {
			for _, o := range ms {
				if o.s == s {
					sum += math.Abs(o.v)
					sq += o.v * o.v
					n++
				}
			}
		}
		if n == 0 {
			m.mu[s], m.sigma[s] = 0, 1
			continue
		}
		m.mu[s] = 0.5 * sum / n
		m.sigma[s] = math.Max(math.Sqrt(sq/n), 1e-6)
	}
	return m
}

// cellProb is the probability of the observed cells under theta, summing
// out a missing order.
func cellProb(th *[9]float64, u, w int8) float64 {
	switch {
	case u != cellMiss && w != cellMiss:
		return th[int(u)*3+int(w)]
	case u != cellMiss:
		return th[int(u)*3] + th[int(u)*3+1] + th[int(u)*3+2]
	case w != cellMiss:
		return th[int(w)] + th[3+int(w)] + th[6+int(w)]
	}
	return 1
}

// llr is pair i's log-likelihood ratio of "people prefer a" over "b" from
// the judges and scorers.
func (d *dataset) llr(m *model, i int) float64 {
	var l float64
	for _, o := range d.obs[i] {
		th := &m.theta[o.j]
		l += math.Log(cellProb(th, o.uA, o.wA)) - math.Log(cellProb(th, o.uB, o.wB))
	}
	for _, o := range d.margins[i] {
		// N(v; mu, s) / N(v; -mu, s) = exp(2 mu v / s^2)
		s := m.sigma[o.s]
		l += 2 * m.mu[o.s] * o.v / (s * s)
	}
	return l
}

// posteriors returns P(people prefer a) per pair; clamp uses the labels.
func (d *dataset) posteriors(m *model, temper float64, clamp bool) []float64 {
	out := make([]float64, len(d.obs))
	lp := math.Log(m.pi) - math.Log(1-m.pi)
	for i := range d.obs {
		if clamp && d.label[i] != 0 {
			out[i] = float64(d.label[i]+1) / 2
			continue
		}
		out[i] = logistic(lp + temper*d.llr(m, i))
	}
	return out
}

// em runs EM from m (in place) on the pairs idx (nil: all, once each) and
// returns the iterations done.
func (d *dataset) em(m *model, prior [9]float64, strength float64, maxIter int, idx []int) int {
	if idx == nil {
		idx = make([]int, len(d.obs))
		for i := range idx {
			idx[i] = i
		}
	}
	counts := make([][9]float64, d.nJudge)
	it := 0
	prev := math.Inf(-1)
	for it = 1; it <= maxIter; it++ {
		r := d.posteriors(m, 1, true)
		for j := range counts {
			counts[j] = [9]float64{}
		}
		var sumR float64
		mnum := make([]float64, d.nScorer)
		mn := make([]float64, d.nScorer)
		for _, i := range idx {
			ri := r[i]
			sumR += ri
			for _, o := range d.obs[i] {
				addCounts(&counts[o.j], &m.theta[o.j], o.uA, o.wA, ri)
				addCounts(&counts[o.j], &m.theta[o.j], o.uB, o.wB, 1-ri)
			}
			for _, o := range d.margins[i] {
				mnum[o.s] += (2*ri - 1) * o.v
				mn[o.s]++
			}
		}
		for j := range m.theta {
			var tot float64
			for k := range counts[j] {
				tot += counts[j][k]
			}
			for k := range counts[j] {
				m.theta[j][k] = (counts[j][k] + strength*prior[k]) / (tot + strength)
			}
		}
		for s := range m.mu {
			if mn[s] == 0 {
				continue
			}
			m.mu[s] = mnum[s] / mn[s]
			var ss float64
			for _, i := range idx {
				for _, o := range d.margins[i] {
					if o.s == s {
						ss += r[i]*sq(o.v-m.mu[s]) + (1-r[i])*sq(o.v+m.mu[s])
					}
				}
			}
			// a weak prior on the variance keeps a scorer with a few
			// margins from a zero deviation.
			m.sigma[s] = math.Sqrt((ss + 1e-6) / mn[s])
		}
		m.pi = (sumR + 2) / (float64(len(idx)) + 4)
		ll := d.logLik(m, idx)
		if ll-prev < 1e-7*math.Max(1, math.Abs(ll)) {
			break
		}
		prev = ll
	}
	return min(it, maxIter)
}

// addCounts adds weight w of the observed cells (u, w) to counts,
// distributing a missing order by theta.
func addCounts(counts, th *[9]float64, u, w int8, weight float64) {
	switch {
	case u != cellMiss && w != cellMiss:
		counts[int(u)*3+int(w)] += weight
	case u != cellMiss:
		row := th[int(u)*3] + th[int(u)*3+1] + th[int(u)*3+2]
		for k := 0; k < 3; k++ {
			counts[int(u)*3+k] += weight * th[int(u)*3+k] / row
		}
	case w != cellMiss:
		col := th[int(w)] + th[3+int(w)] + th[6+int(w)]
		for k := 0; k < 3; k++ {
			counts[k*3+int(w)] += weight * th[k*3+int(w)] / col
		}
	}
}

// logLik is the observed-data log-likelihood (labels clamped).
func (d *dataset) logLik(m *model, idx []int) float64 {
	var ll float64
	for _, i := range idx {
		la, lb := math.Log(m.pi), math.Log(1-m.pi)
		for _, o := range d.obs[i] {
			th := &m.theta[o.j]
			la += math.Log(cellProb(th, o.uA, o.wA))
			lb += math.Log(cellProb(th, o.uB, o.wB))
		}
		for _, o := range d.margins[i] {
			s := m.sigma[o.s]
			la += -sq(o.v-m.mu[o.s]) / (2 * s * s)
			lb += -sq(o.v+m.mu[o.s]) / (2 * s * s)
		}
		switch d.label[i] {
		case 1:
			ll += la
		case -1:
			ll += lb
		default:
			ll += logSumExp(la, lb)
		}
	}
	return ll
}

// fitTemper picks the temper that maximizes the likelihood of the human
// labels under the machines-only posterior, on a grid, with a weak pull to
// 1 so that a handful of labels cannot push it far.
func (d *dataset) fitTemper(m *model) float64 {
	lp := math.Log(m.pi) - math.Log(1-m.pi)
	type lab struct{ llr, y float64 }
	var labs []lab
	for i, l := range d.label {
		if l != 0 {
			labs = append(labs, lab{d.llr(m, i), float64(l+1) / 2})
		}
	}
	best, bestLL := 1.0, math.Inf(-1)
	for t := 0.05; t <= 2.0001; t += 0.05 {
		var ll float64
		for _, x := range labs {
			p := logistic(lp + t*x.llr)
			p = math.Min(math.Max(p, 1e-9), 1-1e-9)
			ll += x.y*math.Log(p) + (1-x.y)*math.Log(1-p)
		}
		ll -= sq(math.Log(t)) // log-normal prior around 1
		if ll > bestLL {
			best, bestLL = t, ll
		}
	}
	return math.Round(best*100) / 100
}

func (d *dataset) judgeStats(m *model, boots []model, names []string) []JudgeStats {
	out := make([]JudgeStats, len(names))
	stat := func(th *[9]float64) (acc, bias float64) {
		// first-shown class: u's marginal; second-shown: w's marginal.
		var uC, uW, wC, wW float64
		for k := 0; k < 3; k++ {
			uC += th[cellC*3+k]
			uW += th[cellW*3+k]
			wC += th[k*3+cellC]
			wW += th[k*3+cellW]
		}
		acc = (uC + wC) / 2
		// picks first: uC (winner first) or wW (winner second).
		bias = ((uC - uW) + (wW - wC)) / 2
		return acc, bias
	}
	for j, name := range names {
		acc, bias := stat(&m.theta[j])
		st := JudgeStats{Judge: name, Accuracy: Interval{acc, acc, acc}, PositionBias: Interval{bias, bias, bias}}
		if len(boots) > 1 {
			accs, biases := make([]float64, len(boots)), make([]float64, len(boots))
			for r := range boots {
				accs[r], biases[r] = stat(&boots[r].theta[j])
			}
			st.Accuracy.Lo, st.Accuracy.Hi = percentileInterval(accs)
			st.PositionBias.Lo, st.PositionBias.Hi = percentileInterval(biases)
		}
		var both, agree int
		for _, os := range d.obs {
			for _, o := range os {
				if o.j != j {
					continue
				}
				for _, c := range []int8{o.uA, o.wA} {
					if c != cellMiss {
						st.Verdicts++
					}
				}
				if o.agreeSet {
					both++
					if o.agree {
						agree++
					}
				}
			}
		}
		if both > 0 {
			st.Consistency = float64(agree) / float64(both)
		}
		out[j] = st
	}
	return out
}

// percentileInterval returns the 2.5% and 97.5% quantiles of xs.
func percentileInterval(xs []float64) (lo, hi float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	q := func(p float64) float64 {
		x := p * float64(len(s)-1)
		k := int(x)
		if k+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[k] + (x-float64(k))*(s[k+1]-s[k])
	}
	return q(0.025), q(0.975)
}

// Accuracy predicts the accuracy of the AI's winners on the pairs at the
// given indexes of c.Pairs: the mean of their P, with an interval that adds
// the bootstrap's spread of that mean (parameter uncertainty) to the
// Bernoulli variance of the pairs themselves. No pairs: {1, 1, 1}.
func (c *Calibration) Accuracy(idx []int) Interval {
	if len(idx) == 0 {
		return Interval{1, 1, 1}
	}
	n := float64(len(idx))
	var est, bern float64
	for _, i := range idx {
		p := c.Pairs[i].P
		est += p
		bern += p * (1 - p)
	}
	est /= n
	variance := bern / (n * n)
	if len(c.boot) > 1 {
		reps := make([]float64, len(c.boot))
		for r, pa := range c.boot {
			var s float64
			for _, i := range idx {
				if c.Pairs[i].Winner == ChoiceA {
					s += pa[i]
				} else {
					s += 1 - pa[i]
				}
			}
			reps[r] = s / n
		}
		variance += varianceOf(reps)
	}
	sd := math.Sqrt(variance)
	return Interval{est, math.Max(0, est-1.96*sd), math.Min(1, est+1.96*sd)}
}

// Wilson is the proportion agree/n with its 95% Wilson score interval: the
// measured accuracy of an audit sample. n = 0 gives {0, 0, 1}.
func Wilson(agree, n int) Interval {
	if n <= 0 {
		return Interval{0, 0, 1}
	}
	const z = 1.959963984540054
	p := float64(agree) / float64(n)
	nn := float64(n)
	den := 1 + z*z/nn
	centre := (p + z*z/(2*nn)) / den
	half := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn)) / den
	return Interval{p, math.Max(0, centre-half), math.Min(1, centre+half)}
}

func varianceOf(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	var v float64
	for _, x := range xs {
		v += sq(x - m)
	}
	return v / float64(len(xs)-1)
}

func sq(x float64) float64 { return x * x }

func logSumExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
