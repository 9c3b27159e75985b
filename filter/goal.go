package filter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// GoalKind says what a [Goal] fixes.
type GoalKind int

// The goals.
const (
	// GoalTarget labels by AI the most confident pairs for as long as the
	// predicted accuracy of the AI-labeled set stays at or above Target.
	GoalTarget GoalKind = iota
	// GoalBudget sends the Budget pairs where a person adds the most
	// expected accuracy to people.
	GoalBudget
	// GoalThreshold labels by AI every pair whose P is at least Threshold.
	GoalThreshold
)

// Goal says how many pairs go to people, and how many AI-labeled pairs are
// audited.
type Goal struct {
	Kind      GoalKind
	Target    float64 // GoalTarget: accuracy the AI-labeled set keeps
	Budget    int     // GoalBudget: pairs sent to people
	Threshold float64 // GoalThreshold: P at or above which the AI labels
	// Audit is the fraction of the AI-labeled pairs also sent to people
	// (at least one pair when positive and there is an AI-labeled pair),
	// drawn at random with Seed; their agreement with the AI is the
	// measured accuracy ([Wilson]).
	Audit float64
	// AuditByDoubt draws the audit with a known inclusion probability
	// that grows with the AI's doubt, so that its labels also land where
	// they are likely to correct the AI: pair i is drawn with probability
	// pi_i in proportion to (1-AuditDoubt)/n + AuditDoubt*(1-P_i)/D (n
	// AI-labeled pairs, D their summed doubt), capped at 1 (the excess
	// spread over the rest) and scaled so that the pi_i sum to the audit's
	// size; the sample is drawn systematically (one random start, pairs in
	// order of P), so it has that size exactly, up to rounding. [Measured]
	// weights each audited pair back by 1/pi_i (Decision.AuditWeight), so
	// the measured accuracy estimates the whole AI-labeled set's.
	// [RoutePlanner.Plan] measures earlier runs' audits from the queue,
	// which keeps no weights, as a plain share of agreement: a pipeline
	// routed by a plan should audit uniformly (examples/quickstart does).
	AuditByDoubt bool
	// AuditDoubt is the share of AuditByDoubt's inclusion probability in
	// proportion to doubt, in (0, 1] (default 0.5; the uniform rest keeps
	// every pair's weight at most 1/(1-AuditDoubt) times n over the
	// audit's size).
	AuditDoubt float64
	// AuditMin is a floor on the audit sample, in pairs, when Audit > 0
	// (0: none): a 5% audit of 60 pairs is 3 labels, too few for a
	// measured accuracy or for the confidence map the next fit draws from
	// them; about 20 is enough for both. The sample is then
	// max(Audit * AI-labeled, AuditMin) pairs, at most all of them (for
	// AuditByDoubt, up to rounding).
	AuditMin int
	Seed     uint64
}

// TargetAccuracy is the goal of an AI-labeled set at least t accurate.
func TargetAccuracy(t float64) Goal { return Goal{Kind: GoalTarget, Target: t} }

// HumanBudget is the goal of n pairs to people.
func HumanBudget(n int) Goal { return Goal{Kind: GoalBudget, Budget: n} }

// FixedThreshold labels by AI the pairs whose P is at least t.
func FixedThreshold(t float64) Goal { return Goal{Kind: GoalThreshold, Threshold: t} }

// String describes the goal ("target 0.9, audit 5%").
func (g Goal) String() string {
	var s string
	switch g.Kind {
	case GoalTarget:
		s = fmt.Sprintf("target %g", g.Target)
	case GoalBudget:
		s = fmt.Sprintf("budget %d", g.Budget)
	case GoalThreshold:
		s = fmt.Sprintf("threshold %g", g.Threshold)
	default:
		s = fmt.Sprintf("goal(%d)", int(g.Kind))
	}
	if g.Audit > 0 {
		s += fmt.Sprintf(", audit %g%%", 100*g.Audit)
	}
	return s
}

// Routing is the result of [Route].
type Routing struct {
	// Decisions holds one entry per pair, in the calibration's order.
	Decisions []Decision
	// Human counts the pairs routed to people, including those that
	// already had a human label (Labeled); audits are not counted.
	Human int
	// Labeled counts the pairs that already had a human label.
	Labeled int
	// Audit counts the AI-labeled pairs also sent to people.
	Audit int
	// Predicted is the predicted accuracy of the AI-labeled pairs (audited
	// ones included).
	Predicted Interval
}

// Decision is where one pair goes.
type Decision struct {
	ID     string
	Winner Choice  // the AI's winner
	P      float64 // P(the AI's winner is people's winner)
	// Human routes the pair to people (or it already has their label).
	Human bool
	// Audit marks an AI-labeled pair also sent to people to measure the
	// AI's accuracy.
	Audit bool
	// AuditWeight is the inverse of the pair's probability of being
	// audited, for [Measured] (0 when not audited).
	AuditWeight float64
	// Value is the expected gain in this pair's accuracy from one human
	// label, 1 - P (the label counts as right); 0 for a pair already
	// labeled. Offer the highest Value first.
	Value float64
}

// Route decides, for each pair of cal, whether the AI's winner stands or
// the pair goes to people, by the goal; pairs that already have a human
// label stay with people and cost nothing. Then it draws the audit sample
// among the AI-labeled pairs.
func Route(cal *Calibration, g Goal) Routing {
	n := len(cal.Pairs)
	rt := Routing{Decisions: make([]Decision, n)}
	var open []int // unlabeled, most confident first
	for i, p := range cal.Pairs {
		rt.Decisions[i] = Decision{ID: p.ID, Winner: p.Winner, P: p.P, Value: 1 - p.P}
		if p.Labeled {
			rt.Decisions[i].Human, rt.Decisions[i].Value = true, 0
			rt.Labeled++
			continue
		}
		open = append(open, i)
	}
	sort.SliceStable(open, func(x, y int) bool { return cal.Pairs[open[x]].P > cal.Pairs[open[y]].P })
	keep := 0 // the first keep of open are AI-labeled
	switch g.Kind {
	case GoalTarget:
		var sum float64
		for k, i := range open {
			sum += cal.Pairs[i].P
			// 1e-12: sums of equal Ps must not fall short by rounding.
			if sum/float64(k+1) >= g.Target-1e-12 {
				keep = k + 1
			}
		}
	case GoalBudget:
		keep = max(0, len(open)-max(0, g.Budget))
	case GoalThreshold:
		for keep < len(open) && cal.Pairs[open[keep]].P >= g.Threshold {
			keep++
		}
	}
	ai := open[:keep]
	for _, i := range open[keep:] {
		rt.Decisions[i].Human = true
	}
	rt.Human = rt.Labeled + len(open) - keep
	rt.Predicted = cal.Accuracy(ai)
	if g.Audit > 0 && len(ai) > 0 {
		k := int(math.Round(g.Audit * float64(len(ai))))
		k = min(max(k, 1, g.AuditMin), len(ai))
		rng := rand.New(rand.NewPCG(g.Seed, 0xa0d17))
		pick := append([]int(nil), ai...)
		sort.Ints(pick)
		if !g.AuditByDoubt {
			rng.Shuffle(len(pick), func(x, y int) { pick[x], pick[y] = pick[y], pick[x] })
			for _, i := range pick[:k] {
				rt.Decisions[i].Audit = true
				// Each AI-labeled pair was drawn with probability
				// k/len(ai): the label stands for len(ai)/k of them.
				rt.Decisions[i].AuditWeight = float64(len(ai)) / float64(k)
			}
			rt.Audit = k
		} else {
			share := g.AuditDoubt
			if share <= 0 || share > 1 {
				share = 0.5
			}
			doubt := make([]float64, len(pick))
			for x, i := range pick {
				doubt[x] = 1 - cal.Pairs[i].P
			}
			pis := inclusion(doubt, share, k)
			// Systematic sampling along P (most confident first): one
			// uniform start, then every unit of cumulative probability.
			order := make([]int, len(pick))
			for x := range order {
				order[x] = x
			}
			sort.SliceStable(order, func(x, y int) bool { return doubt[order[x]] < doubt[order[y]] })
			u := rng.Float64()
			var cum float64
			for _, x := range order {
				lo := cum
				cum += pis[x]
				// drawn when one of u, u+1, ... falls in (lo, cum]
				if pis[x] > 0 && math.Floor(cum-u) > math.Floor(lo-u) {
					i := pick[x]
					rt.Decisions[i].Audit = true
					rt.Decisions[i].AuditWeight = 1 / pis[x]
					rt.Audit++
				}
			}
		}
	}
	return rt
}

// inclusion returns each pair's probability of being audited, for a
// sample of k out of len(doubt): in proportion to (1-share)/n +
// share*doubt/sum(doubt) (uniform when every doubt is 0), with
// probabilities above 1 set to 1 and the rest scaled up to keep the sum k.
func inclusion(doubt []float64, share float64, k int) []float64 {
	n := len(doubt)
	var total float64
	for _, d := range doubt {
		total += d
	}
	q := make([]float64, n)
	for x, d := range doubt {
		q[x] = 1 / float64(n)
		if total > 0 {
			q[x] = (1-share)/float64(n) + share*d/total
		}
	}
	pis := make([]float64, n)
	capped := make([]bool, n)
	for {
		left, mass := float64(min(k, n)), 0.0
		for x := range q {
			if capped[x] {
				left--
			} else {
				mass += q[x]
			}
		}
		more := false
		for x := range q {
			if capped[x] {
				continue
			}
			pis[x] = 0
			if mass > 0 && left > 0 {
				pis[x] = left * q[x] / mass
			}
			if pis[x] >= 1 {
				pis[x], capped[x], more = 1, true, true
			}
		}
		if !more {
			break
		}
	}
	return pis
}

// CurvePoint is one point of [Calibration.Curve].
type CurvePoint struct {
	Human     int     // pairs with people
	Fraction  float64 // Human over all pairs
	Predicted float64 // predicted accuracy of the AI-labeled rest (1 if none)
}

// Curve is the human share against the predicted accuracy of the
// AI-labeled rest, one point per number of pairs sent to people, from none
// to all, the least confident first; labels are not looked at, so the
// curve is the one a run without any would follow.
func (c *Calibration) Curve() []CurvePoint {
	open := make([]float64, 0, len(c.Pairs))
	for _, p := range c.Pairs {
		open = append(open, p.P)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(open)))
	prefix := make([]float64, len(open)+1)
	for k, p := range open {
		prefix[k+1] = prefix[k] + p
	}
	n := len(open)
	out := make([]CurvePoint, 0, n+1)
	for h := 0; h <= n; h++ {
		keep := n - h
		pred := 1.0
		if keep > 0 {
			pred = prefix[keep] / float64(keep)
		}
		out = append(out, CurvePoint{Human: h, Fraction: float64(h) / float64(max(n, 1)), Predicted: pred})
	}
	return out
}

// Measured is the audit's measured accuracy: the share of audited pairs on
// which people's winner (people, by pair ID; pairs without a winner a or b
// are left out) is the AI's, each weighted by its AuditWeight, with a
// Wilson interval on the effective sample size; n counts the pairs used.
// With none, the estimate is 0 and the interval [0, 1].
func Measured(decisions []Decision, people map[string]Choice) (iv Interval, n int) {
	var w, wRight, w2 float64
	for _, d := range decisions {
		c, ok := people[d.ID]
		if !d.Audit || !ok || (c != ChoiceA && c != ChoiceB) {
			continue
		}
		wt := d.AuditWeight
		if wt <= 0 {
			wt = 1
		}
		n++
		w += wt
		w2 += wt * wt
		if c == d.Winner {
			wRight += wt
		}
	}
	if n == 0 {
		return Interval{0, 0, 1}, 0
	}
	return wilsonP(wRight/w, w*w/w2), n
}
