package filter

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

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
	// each pair (1: plain EM), and Ceiling caps the probability that the
	// AI's winner is right (1: no cap; it stands for the errors all judges
	// share). Temper 0 means both are fitted on the labeled pairs (a
	// posterior over a grid, so its uncertainty is in the intervals) when
	// there are at least MinLabels, else Temper is 1/sqrt(judges per
	// pair, a JudgeGroup block counting as one), which treats a panel's
	// verdicts as strongly correlated, and Ceiling 1.
	Temper, Ceiling float64
	// Difficulty adds a latent difficulty to each pair (easy or hard),
	// each judge with its own verdict distributions on each: judges that
	// err together on hard pairs then count for less there.
	Difficulty bool
	// MinLabels is the number of labeled pairs from which Temper and
	// Ceiling are fitted (default 10). With fewer, the label-free map
	// stands: a few labels, drawn where the AI is in doubt, say little
	// about the map's top and can move a two-parameter fit far (see
	// BENCHMARKS.md).
	MinLabels int
	// MaxIter bounds the EM iterations (default 200).
	MaxIter int
	// Bootstrap is the number of bootstrap refits behind the intervals
	// (default 40; negative: none, intervals then come from the Bernoulli
	// variance and the judges' counts alone).
	Bootstrap int
	// Seed seeds the bootstrap.
	Seed uint64
	// JudgeGroup, if set, names the correlated block a judge belongs to
	// (for example [JudgeModel]: one model under several prompts). The
	// judges of one block count in a pair's likelihood as one judge: their
	// log-likelihoods are averaged, not summed, so a model asked under
	// four prompts does not outvote a better model asked once. Each judge
	// keeps its own parameters. Nil: every judge is its own block.
	JudgeGroup func(judge string) string
	// Leads lets a block lead when people's labels say so. A panel's
	// weak judges can share their mistakes so much that, without labels,
	// their agreement looks like the truth (a dependence measured under
	// the fit's own posterior cannot tell a cluster of judges that err
	// together from one that is right). With at least MinLabels labels
	// and Leads set, Fit
	// also fits the panel once per block (a JudgeGroup block, else a
	// judge) with that block leading: its judges' weight on each pair is
	// raised above the rest's combined, so its unanimous verdict decides
	// and the others settle where it is split. Of the full panel and the
	// led fits it keeps the one under which the labels are most likely
	// (each fit's confidence map integrated out), with prior odds of
	// 1:1 between the full panel and all the led fits together, so a few
	// labels do not move it. [Calibration.Lead] names the block kept.
	Leads bool
	// ConsistencyLead, with Leads, also lets a block lead before any
	// label on its order consistency: the share of its pairs judged in
	// both orders on which the two orders agree, a label-free sign of a
	// judge's quality that reads neither labels nor the fit's posterior.
	// When one block's consistency exceeds every other's by LeadMargin, it
	// leads with fewer than MinLabels labels; with more, its led fit has
	// prior weight 1/2 (the full panel 1/4, the other led fits 1/4
	// together) and the labels may override it. Blocks never asked in both
	// orders (or on fewer than 20 pairs) give no consistency, and then
	// nothing changes. Off by default: on llmbar-faireval the label-free
	// lead is over-confident (its consistent verdicts are wrong on one
	// pair in six, which no label-free sign shows), so too few pairs go to
	// people for the labels to correct it (see BENCHMARKS.md). With
	// LeadMisfit it leads there no longer (examples/route-study sets both).
	ConsistencyLead bool
	// LeadMargin is ConsistencyLead's margin (default 0.1).
	LeadMargin float64
	// LeadMisfit, with ConsistencyLead, lets the most consistent block
	// lead only where the full panel's label-free fit misjudges it. Under
	// the fit's accuracy and position bias, each of the block's judges
	// would have its two orders agree on a predicted share of the pairs if
	// they erred independently. The block leads only if its observed
	// agreement exceeds that by more than a one-sided 5% test allows,
	// Bonferroni-corrected for the number of blocks (z above
	// Φ⁻¹(1 - 0.05/blocks)). A fit that rates a consistent judge low
	// explains its consistency by errors made in both orders at once: on
	// llmbar-natural the weak models' shared errors make that claim for
	// GPT-4 (fitted 0.90 per order, which predicts 0.83 agreement against
	// 0.965 observed, z 5.0), on llmbar-faireval the fit's claim is about
	// right (z 1.6). The test is against orders that err independently,
	// and a judge's errors of content do fall in both orders: on a large
	// enough set a judge the fit describes well passes it too, and then
	// leads (see BENCHMARKS.md).
	LeadMisfit bool
	// ConsistencyCeiling bounds the fitted Ceiling, when it is fitted on
	// labels, by what the order consistency c of the most consistent
	// judge allows: a judge whose two orders are each right with
	// probability a, independently (a^2 + (1-a)^2 = c), is right where its
	// orders agree with probability a^2/c, and orders that err together
	// only lower that. The labels of routed pairs are doubtful ones, so
	// the top of the confidence map rests on the ceiling's prior; on
	// llmbar-faireval, where the best judge's orders agree on 0.70 of
	// the pairs (bound 0.950), that prior was over-confident. Judges
	// never asked in both orders (or on fewer than 20 pairs) give no
	// bound.
	ConsistencyCeiling bool
	// MapWeights, if set, weighs each labeled pair (by ID) in the fit of
	// the confidence map (default weight 1; the class clamp does not
	// change). Labels drawn with unequal probabilities fit the map as the
	// whole set would when each is weighted by the pairs it stands for,
	// its inverse inclusion probability: 1/pi_i for a pair of an audit by
	// doubt ([Goal].AuditByDoubt, [Decision].AuditWeight), 1 for a pair
	// routed to people, since routing sends every pair of its doubtful
	// region. Scaled so that they sum to their effective number, (sum
	// w)^2 / sum w^2 (Kish), they count for no more labels than they are
	// worth. Without it the labels of the routed pairs, many and all
	// doubtful, outweigh the few audited ones, the only labels among the
	// AI-labeled pairs ([DesignWeights] computes these weights, and
	// [RoutePlanner.Plan] uses them when MapWeights is nil; see
	// BENCHMARKS.md).
	MapWeights map[string]float64
}

// JudgeModel is the model part of a judge name of the form
// "model/strategy": the part before the last "/" ("GPT-4/Vanilla" ->
// "GPT-4"); a name without "/" is its own model. Use it as
// [Calibrator.JudgeGroup] when a panel asks one model under several
// prompting strategies.
func JudgeModel(judge string) string {
	if k := strings.LastIndexByte(judge, '/'); k > 0 {
		return judge[:k]
	}
	return judge
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
	if c.LeadMargin <= 0 {
		c.LeadMargin = 0.1
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
	// Temper and Ceiling are the confidence map's (posterior means): a
	// pair's probability that the AI's winner is right is
	// 0.5 + (Ceiling-0.5)*(2*logistic(Temper*s)-1), s the absolute
	// log-odds of the untempered fit.
	Temper, Ceiling float64
	// Labeled counts the pairs a human label clamped.
	Labeled int
	// Lead is the block that leads the fit ([Calibrator.Leads]); "" for
	// the full panel.
	Lead       string
	Iterations int

	// boot[r][i] is replicate r's probability that pair i's AI winner is
	// right.
	boot [][]float64
	// strength[i] is pair i's absolute untempered log-odds.
	strength []float64
	// grid is the posterior over the confidence map's parameters.
	grid []confPoint
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
// +Mu when people prefer a, -Mu when they prefer b, and deviation Sigma
// (the margins' root mean square, so that a scorer with few distinct
// margins cannot become the truth).
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
	w        float64 // weight in the pair's likelihood: 1 / judges of its block on the pair
	uA, wA   int8    // if people prefer a
	uB, wB   int8    // if people prefer b
	agreeSet bool    // both orders readable and decisive or tie
	agree    bool
}

type margObs struct {
	s int
	v float64
}

type model struct {
	// theta[d][j] is judge j's joint distribution over the (u, w) cells
	// C/W/T on pairs of difficulty d.
	theta [][][9]float64
	eta   []float64 // share of pairs of each difficulty
	mu    []float64
	sigma []float64
	pi    float64
}

type dataset struct {
	obs     [][]obs
	margins [][]margObs
	label   []int8    // 1 a, -1 b, 0 none
	mapW    []float64 // weight of each label in the confidence map's fit
	nJudge  int
	nScorer int
}

// Fit estimates the model from the pairs and the human labels (pair ID to
// people's winner; ties and ChoiceNone are ignored, IDs not among the pairs
// too). It fails only on unusable input: an empty or duplicate pair ID, or
// a Judgment whose First is not ChoiceA or ChoiceB.
func (c Calibrator) Fit(pairs []Evidence, labels map[string]Choice) (*Calibration, error) {
	c = c.withDefaults()
	d, judges, scorers, err := buildDataset(pairs, labels, c.JudgeGroup)
	if err != nil {
		return nil, err
	}
	if c.MapWeights != nil {
		d.mapW = make([]float64, len(pairs))
		for i, ev := range pairs {
			d.mapW[i] = 1
			if w, ok := c.MapWeights[ev.ID]; ok && w >= 0 {
				d.mapW[i] = w
			}
		}
	}
	prior := c.priors()
	m := d.initModel(prior)
	it := d.em(&m, prior, c.PriorStrength, c.MaxIter, nil)
	temper0 := d.defaultTemper()

	labeled := 0
	for _, l := range d.label {
		if l != 0 {
			labeled++
		}
	}
	raw := d.logits(&m)
	var grid []confPoint
	lead := ""
	switch {
	case c.Temper > 0:
		ceil := c.Ceiling
		if ceil <= 0.5 || ceil > 1 {
			ceil = 1
		}
		grid = []confPoint{{c.Temper, ceil, 1}}
	case labeled >= c.MinLabels:
		var evidence float64
		maxCeil := 1.0
		if c.ConsistencyCeiling {
			maxCeil = d.consistencyCeiling(judges)
		}
		grid, evidence = fitConfidence(raw, d.label, d.mapW, temper0, maxCeil)
		if c.Leads {
			blockOf, blocks := judgeBlocks(c, judges)
			consLead := ""
			if c.ConsistencyLead {
				consLead = d.consistencyLead(c, prior, &m, labeled, blockOf, blocks)
			}
			var n int
			m, raw, grid, lead, n = d.chooseLead(c, prior, blockOf, blocks, consLead, m, raw, grid, evidence, temper0, maxCeil)
			it += n
		}
	default:
		grid = []confPoint{{temper0, 1, 1}}
		if c.Leads && c.ConsistencyLead {
			blockOf, blocks := judgeBlocks(c, judges)
			if consLead := d.consistencyLead(c, prior, &m, labeled, blockOf, blocks); consLead != "" {
				lm, lraw, _, lt, n := d.fitLed(c, prior, d.baseWeights(), blockOf, consLead, temper0)
				m, raw, lead = lm, lraw, consLead
				grid = []confPoint{{lt, 1, 1}}
				it += n
			}
		}
	}
	cal := &Calibration{Labeled: labeled, Iterations: it, PriorA: m.pi, strength: make([]float64, len(pairs)), grid: grid, Lead: lead}
	winners := make([]Choice, len(pairs))
	for i, r := range raw {
		cal.strength[i] = math.Abs(r)
		winners[i] = ChoiceA
		if r < 0 {
			winners[i] = ChoiceB
		}
	}
	for _, g := range cal.grid {
		cal.Temper += g.w * g.temper
		cal.Ceiling += g.w * g.ceil
	}
	cal.Pairs = make([]Posterior, len(pairs))
	for i, ev := range pairs {
		p := cal.confidence(cal.strength[i])
		post := Posterior{ID: ev.ID, Winner: winners[i], P: p, PA: p}
		if winners[i] == ChoiceB {
			post.PA = 1 - p
		}
		switch d.label[i] {
		case 1:
			post.Labeled, post.Label = true, ChoiceA
		case -1:
			post.Labeled, post.Label = true, ChoiceB
		}
		cal.Pairs[i] = post
	}

	// Bootstrap: refit on pairs drawn with replacement, warm-started; each
	// replicate's probability that the AI's winner (of the full fit) is
	// right, through the fitted confidence map.
	// The draws are made in turn, the refits at once (one per CPU): the
	// result is the same as one refit after another.
	var bootModels []model
	if c.Bootstrap > 0 && len(pairs) > 1 {
		rng := rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))
		mapT, mapC := cal.mapPoint()
		draws := make([][]int, c.Bootstrap)
		for r := range draws {
			idx := make([]int, len(pairs))
			for k := range idx {
				idx[k] = rng.IntN(len(pairs))
			}
			draws[r] = idx
		}
		bootModels = make([]model, c.Bootstrap)
		reps := make([][]float64, c.Bootstrap)
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for r, idx := range draws {
			g.Go(func() error {
				bm := m.clone()
				d.em(&bm, prior, c.PriorStrength, 50, idx)
				rep := make([]float64, len(pairs))
				for i, l := range d.logits(&bm) {
					p := confMap(math.Abs(l), mapT, mapC)
					if (l < 0) != (winners[i] == ChoiceB) {
						p = 1 - p
					}
					rep[i] = p
				}
				bootModels[r], reps[r] = bm, rep
				return nil
			})
		}
		g.Wait()
		cal.boot = append(cal.boot, reps...)
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

// priors are the Dirichlet means over the nine (u, w) cells, one per
// difficulty: two independent orders of the difficulty's accuracy, tie
// rate 0.1. With Difficulty, easy pairs centre on PriorAccuracy + 0.15
// (at most 0.95) and hard ones on 0.55.
func (c Calibrator) priors() [][9]float64 {
	one := func(acc float64) [9]float64 {
		const tie = 0.1
		o := [3]float64{acc * (1 - tie), (1 - acc) * (1 - tie), tie}
		var p [9]float64
		for u := 0; u < 3; u++ {
			for w := 0; w < 3; w++ {
				p[u*3+w] = o[u] * o[w]
			}
		}
		return p
	}
	if !c.Difficulty {
		return [][9]float64{one(c.PriorAccuracy)}
	}
	return [][9]float64{one(math.Min(0.95, c.PriorAccuracy+0.15)), one(0.55)}
}

func buildDataset(pairs []Evidence, labels map[string]Choice, group func(string) string) (*dataset, []string, []string, error) {
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
	// A scorer whose margins (almost) all have one sign most likely
	// ordered the pairs itself (a = its chosen response): without labels
	// its accuracy cannot be told apart from the share of pairs people
	// prefer a on, and the fit would make it the truth. It is left out.
	sign := map[string][2]int{}
	for _, ev := range pairs {
		for _, mg := range ev.Margins {
			c := sign[mg.Scorer]
			switch {
			case mg.Value > 0:
				c[0]++
			case mg.Value < 0:
				c[1]++
			}
			sign[mg.Scorer] = c
		}
	}
	kept := scorers[:0]
	for _, n := range scorers {
		c := sign[n]
		if lo := min(c[0], c[1]); float64(lo) >= 0.05*float64(c[0]+c[1]) && lo > 0 {
			kept = append(kept, n)
		} else {
			delete(sIdx, n)
		}
	}
	scorers = kept
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
		// Weights: 1 over the number of judges of the same block on
		// this pair.
		if group != nil {
			size := map[string]int{}
			for _, o := range d.obs[i] {
				size[group(judges[o.j])]++
			}
			for k := range d.obs[i] {
				d.obs[i][k].w = 1 / float64(size[group(judges[d.obs[i][k].j])])
			}
		} else {
			for k := range d.obs[i] {
				d.obs[i][k].w = 1
			}
		}
		for _, mg := range ev.Margins {
			if _, ok := sIdx[mg.Scorer]; !ok || math.IsNaN(mg.Value) || math.IsInf(mg.Value, 0) {
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
	th := make([][][9]float64, len(m.theta))
	for d := range th {
		th[d] = append([][9]float64(nil), m.theta[d]...)
	}
	return model{
		theta: th,
		eta:   append([]float64(nil), m.eta...),
		mu:    append([]float64(nil), m.mu...),
		sigma: append([]float64(nil), m.sigma...),
		pi:    m.pi,
	}
}

func (d *dataset) initModel(prior [][9]float64) model {
	m := model{theta: make([][][9]float64, len(prior)), eta: make([]float64, len(prior)),
		mu: make([]float64, d.nScorer), sigma: make([]float64, d.nScorer), pi: 0.5}
	for k := range prior {
		m.theta[k] = make([][9]float64, d.nJudge)
		for j := range m.theta[k] {
			m.theta[k][j] = prior[k]
		}
		m.eta[k] = 1 / float64(len(prior))
	}
	// Scorers start from the spread of their margins.
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

// logTables are a model's logarithms that every pair's likelihood uses:
// of each judge's cell probabilities (cellProb, for every pair of cells a
// pair can show, missing orders included), of the class prior and of the
// difficulty shares. classLL reads them instead of taking a logarithm per
// observation: the same values, computed once per model.
type logTables struct {
	cell   [][][16]float64 // [difficulty][judge][u*4+w]
	pa, pb float64         // log pi, log(1-pi)
	eta    []float64
}

// tables fills t with m's logarithms, reusing t's memory.
func (d *dataset) tables(m *model, t *logTables) {
	nd := len(m.eta)
	if len(t.cell) != nd {
		t.cell = make([][][16]float64, nd)
		t.eta = make([]float64, nd)
	}
	for k := 0; k < nd; k++ {
		if len(t.cell[k]) != d.nJudge {
			t.cell[k] = make([][16]float64, d.nJudge)
		}
		for j := range t.cell[k] {
			th := &m.theta[k][j]
			for u := int8(0); u < 4; u++ {
				for w := int8(0); w < 4; w++ {
					t.cell[k][j][u*4+w] = math.Log(cellProb(th, u, w))
				}
			}
		}
		t.eta[k] = math.Log(m.eta[k])
	}
	t.pa, t.pb = math.Log(m.pi), math.Log(1-m.pi)
}

// classLL is pair i's log-likelihood under each class: people prefer a
// (z = 0) or b (z = 1), on a pair of difficulty k, at index z*nD+k; the
// class prior and the difficulty shares included. t holds m's logarithms
// (dataset.tables).
func (d *dataset) classLL(m *model, t *logTables, i int, out []float64) {
	nd := len(m.eta)
	var marg float64
	for _, o := range d.margins[i] {
		// N(v; mu, s) / N(v; -mu, s) = exp(2 mu v / s^2)
		s := m.sigma[o.s]
		marg += 2 * m.mu[o.s] * o.v / (s * s)
	}
	for k := 0; k < nd; k++ {
		la := t.pa + t.eta[k] + marg/2
		lb := t.pb + t.eta[k] - marg/2
		cells := t.cell[k]
		for _, o := range d.obs[i] {
			lc := &cells[o.j]
			la += o.w * lc[int(o.uA)*4+int(o.wA)]
			lb += o.w * lc[int(o.uB)*4+int(o.wB)]
		}
		out[k], out[nd+k] = la, lb
	}
}

// resp is pair i's class responsibilities (clamped by its label) into
// out, and its log-likelihood.
func (d *dataset) resp(m *model, t *logTables, i int, out []float64) float64 {
	d.classLL(m, t, i, out)
	nd := len(m.eta)
	switch d.label[i] {
	case 1:
		for k := 0; k < nd; k++ {
			out[nd+k] = math.Inf(-1)
		}
	case -1:
		for k := 0; k < nd; k++ {
			out[k] = math.Inf(-1)
		}
	}
	mx := math.Inf(-1)
	for _, l := range out {
		mx = math.Max(mx, l)
	}
	var sum float64
	for k, l := range out {
		out[k] = math.Exp(l - mx)
		sum += out[k]
	}
	for k := range out {
		out[k] /= sum
	}
	return mx + math.Log(sum)
}

// em runs EM from m (in place) on the pairs idx (nil: all, once each) and
// returns the iterations done.
func (d *dataset) em(m *model, prior [][9]float64, strength float64, maxIter int, idx []int) int {
	if idx == nil {
		idx = make([]int, len(d.obs))
		for i := range idx {
			idx[i] = i
		}
	}
	nd := len(m.eta)
	counts := make([][][9]float64, nd)
	for k := range counts {
		counts[k] = make([][9]float64, d.nJudge)
	}
	r := make([]float64, 2*nd)
	rs := make([][]float64, len(d.obs))
	var tabs logTables
	it := 0
	prev := math.Inf(-1)
	for it = 1; it <= maxIter; it++ {
		var ll float64
		for _, i := range idx {
			if rs[i] == nil {
				rs[i] = make([]float64, 2*nd)
			}
		}
		for i := range rs {
			if rs[i] != nil {
				ll += 0 // computed below per occurrence
			}
		}
		for k := range counts {
			for j := range counts[k] {
				counts[k][j] = [9]float64{}
			}
		}
		var sumA float64
		etaSum := make([]float64, nd)
		mnum := make([]float64, d.nScorer)
		mn := make([]float64, d.nScorer)
		rA := make([]float64, len(d.obs))
		d.tables(m, &tabs)
		for _, i := range idx {
			ll += d.resp(m, &tabs, i, r)
			var ri float64
			for k := 0; k < nd; k++ {
				ri += r[k]
				etaSum[k] += r[k] + r[nd+k]
				for _, o := range d.obs[i] {
					addCounts(&counts[k][o.j], &m.theta[k][o.j], o.uA, o.wA, r[k])
					addCounts(&counts[k][o.j], &m.theta[k][o.j], o.uB, o.wB, r[nd+k])
				}
			}
			rA[i] = ri
			sumA += ri
			for _, o := range d.margins[i] {
				mnum[o.s] += (2*ri - 1) * o.v
				mn[o.s]++
			}
		}
		if it > 1 && ll-prev < 1e-7*math.Max(1, math.Abs(ll)) {
			break
		}
		prev = ll
		for k := range m.theta {
			for j := range m.theta[k] {
				var tot float64
				for c := range counts[k][j] {
					tot += counts[k][j][c]
				}
				for c := range counts[k][j] {
					m.theta[k][j][c] = (counts[k][j][c] + strength*prior[k][c]) / (tot + strength)
				}
			}
			m.eta[k] = (etaSum[k] + 2) / (float64(len(idx)) + 2*float64(nd))
		}
		for s := range m.mu {
			if mn[s] == 0 {
				continue
			}
			m.mu[s] = mnum[s] / mn[s]
			// The deviation is the margins' root mean square about zero,
			// not about +-mu: a class-conditional deviation collapses to
			// zero when the margins take few values (the fit then makes
			// the scorer the truth). This bounds a margin's log-likelihood
			// ratio by 2|v|/rms.
			var ss float64
			for _, i := range idx {
				for _, o := range d.margins[i] {
					if o.s == s {
						ss += o.v * o.v
					}
				}
			}
			m.sigma[s] = math.Sqrt((ss + 1e-9) / mn[s])
		}
		m.pi = (sumA + 2) / (float64(len(idx)) + 4)
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

// defaultTemper is the temper without labels: a pair's evidence counts as
// much as the square root of its number of judges (and scorers) would if
// they erred independently, 1/sqrt(mean count), in [0.05, 1]. (A judge's
// two orders are one joint observation already.) Judges of a panel share
// much of their errors (a JudgeGroup block counts once, its judges'
// weights summing to 1): on the real judged sets the temper fitted on all
// people's labels was 0.25-0.35 with 8 judges and 0.5-0.6 with 2 (see
// BENCHMARKS.md).
func (d *dataset) defaultTemper() float64 {
	var n, pairs float64
	for i := range d.obs {
		k := float64(len(d.margins[i]))
		for _, o := range d.obs[i] {
			k += o.w
		}
		if k > 0 {
			n += k
			pairs++
		}
	}
	if pairs == 0 {
		return 1
	}
	return math.Round(100*math.Min(1, math.Max(0.05, 1/math.Sqrt(n/pairs)))) / 100
}

// confPoint is one (temper, ceiling) of the confidence map with its
// posterior weight.
type confPoint struct{ temper, ceil, w float64 }

// confMap is the probability that the AI's winner is right given the
// strength s (the absolute log-odds of the untempered fit): the evidence
// is tempered, and a ceiling below 1 stands for the errors all judges
// share, which no agreement among them removes.
func confMap(s, temper, ceil float64) float64 {
	return 0.5 + (ceil-0.5)*(2*logistic(temper*s)-1)
}

// ceilingPriorPower is the power k of the ceiling's prior density,
// proportional to ((c-0.5)/0.5)^k on [0.6, maxCeil] (mean about 0.9 on
// [0.6, 1]). The labels of routed pairs are doubtful ones, so the top of
// the map rests mostly on this prior: 5 kept llmbar-faireval's AI-labeled
// pairs 0.034 over-confident, 3 keeps every shared set within 0.03 (see
// BENCHMARKS.md).
const ceilingPriorPower = 3

// fitConfidence is the posterior over a grid of tempers and ceilings given
// the labeled pairs (raw logits, labels 1 for a, -1 for b): a log-normal
// prior on the temper around centre (sd 0.5 in log) and one proportional
// to ((c-0.5)/0.5)^ceilingPriorPower on the ceiling in [0.6, maxCeil].
// Points of negligible weight are left out.
func fitConfidence(raw []float64, labels []int8, weight []float64, centre, maxCeil float64) (pts []confPoint, evidence float64) {
	type lab struct {
		s, w  float64
		right bool
	}
	var labs []lab
	for i, l := range labels {
		if l != 0 {
			w := 1.0
			if weight != nil {
				w = weight[i]
			}
			labs = append(labs, lab{math.Abs(raw[i]), w, (raw[i] >= 0) == (l > 0)})
		}
	}
	// The ceilings: 0.6, 0.605, ... up to maxCeil, and maxCeil itself.
	var ceils []float64
	for c := 0.6; c <= 1.0001 && c <= maxCeil+0.0001; c += 0.005 {
		ceils = append(ceils, c)
	}
	if len(ceils) == 0 || ceils[len(ceils)-1] < maxCeil-0.0001 {
		ceils = append(ceils, maxCeil)
	}
	best, norm := math.Inf(-1), math.Inf(-1)
	for t := 0.05; t <= 2.0001; t += 0.05 {
		for _, c := range ceils {
			lp := -sq(math.Log(t/centre))/(2*0.25) + ceilingPriorPower*math.Log(math.Max((c-0.5)/0.5, 1e-9))
			ll := lp
			for _, x := range labs {
				p := math.Min(math.Max(confMap(x.s, t, c), 1e-9), 1-1e-9)
				if x.right {
					ll += x.w * math.Log(p)
				} else {
					ll += x.w * math.Log(1-p)
				}
			}
			pts = append(pts, confPoint{t, math.Min(c, 1), ll})
			best = math.Max(best, ll)
			norm = logSumExpAcc(norm, lp)
		}
	}
	// evidence: log of the labels' likelihood averaged over the prior.
	var sum float64
	for _, p := range pts {
		sum += math.Exp(p.w - best)
	}
	evidence = best + math.Log(sum) - norm
	kept := pts[:0]
	sum = 0
	for _, p := range pts {
		if p.w-best < -12 {
			continue
		}
		p.w = math.Exp(p.w - best)
		sum += p.w
		kept = append(kept, p)
	}
	for k := range kept {
		kept[k].w /= sum
	}
	return kept, evidence
}

// logSumExpAcc is logSumExp that accepts -Inf as the empty sum.
func logSumExpAcc(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	return logSumExp(a, b)
}

// confidence is the posterior mean of the confidence map at strength s.
func (c *Calibration) confidence(s float64) float64 {
	var p float64
	for _, g := range c.grid {
		p += g.w * confMap(s, g.temper, g.ceil)
	}
	return p
}

// mapPoint is the grid point of largest weight.
func (c *Calibration) mapPoint() (temper, ceil float64) {
	best := -1.0
	for _, g := range c.grid {
		if g.w > best {
			best, temper, ceil = g.w, g.temper, g.ceil
		}
	}
	return temper, ceil
}

// logits are the untempered log-odds that people prefer a, per pair, from
// the machines alone.
func (d *dataset) logits(m *model) []float64 {
	out := make([]float64, len(d.obs))
	nd := len(m.eta)
	ll := make([]float64, 2*nd)
	var tabs logTables
	d.tables(m, &tabs)
	for i := range d.obs {
		d.classLL(m, &tabs, i, ll)
		la, lb := ll[0], ll[nd]
		for k := 1; k < nd; k++ {
			la, lb = logSumExp(la, ll[k]), logSumExp(lb, ll[nd+k])
		}
		out[i] = la - lb
	}
	return out
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
		acc, bias := stat(m.marginal(j))
		st := JudgeStats{Judge: name, Accuracy: Interval{acc, acc, acc}, PositionBias: Interval{bias, bias, bias}}
		if len(boots) > 1 {
			accs, biases := make([]float64, len(boots)), make([]float64, len(boots))
			for r := range boots {
				accs[r], biases[r] = stat(boots[r].marginal(j))
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

// marginal is judge j's cell distribution over all difficulties.
func (m *model) marginal(j int) *[9]float64 {
	var out [9]float64
	for k := range m.theta {
		for c := range out {
			out[c] += m.eta[k] * m.theta[k][j][c]
		}
	}
	return &out
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
				s += pa[i]
			}
			reps[r] = s / n
		}
		variance += varianceOf(reps)
	}
	if len(c.grid) > 1 {
		// the confidence map's own uncertainty
		var m1, m2 float64
		for _, g := range c.grid {
			var s float64
			for _, i := range idx {
				s += confMap(c.strength[i], g.temper, g.ceil)
			}
			s /= n
			m1 += g.w * s
			m2 += g.w * s * s
		}
		variance += math.Max(0, m2-m1*m1)
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
	return wilsonP(float64(agree)/float64(n), float64(n))
}

// wilsonP is the Wilson interval of proportion p on nn trials.
func wilsonP(p, nn float64) Interval {
	const z = 1.959963984540054
	den := 1 + z*z/nn
	centre := (p + z*z/(2*nn)) / den
	half := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn)) / den
	// min and max: rounding must not leave p outside its own interval.
	return Interval{p, math.Max(0, math.Min(p, centre-half)), math.Min(1, math.Max(p, centre+half))}
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
