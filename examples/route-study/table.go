package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"

	"github.com/prefdata/prefdata/filter"
)

// gold is the reference label of each pair for the benchmark: the strict
// plurality of all its labels; pairs whose plurality is "tie", or that
// have none, are left out.
func gold(all []filter.HumanLabel) map[string]filter.Choice {
	votes := map[string]map[string]int{}
	for _, h := range all {
		if votes[h.ID] == nil {
			votes[h.ID] = map[string]int{}
		}
		votes[h.ID][h.Winner]++
	}
	out := map[string]filter.Choice{}
	for id, v := range votes {
		a, b, t := v["a"], v["b"], v["tie"]
		switch {
		case a > b && a > t:
			out[id] = filter.ChoiceA
		case b > a && b > t:
			out[id] = filter.ChoiceB
		}
	}
	return out
}

// scoreLines measures D lines against gold.
func scoreLines(lines []outLine, g map[string]filter.Choice) (measured, final float64, aiGold int) {
	var aiRight, right, n int
	for _, l := range lines {
		gw, ok := g[l.ID]
		if !ok {
			continue
		}
		n++
		hit := l.Winner == gw.String()
		if hit {
			right++
		}
		if l.By == "ai" {
			aiGold++
			if hit {
				aiRight++
			}
		}
	}
	measured = 1
	if aiGold > 0 {
		measured = float64(aiRight) / float64(aiGold)
	}
	return measured, float64(right) / float64(max(n, 1)), aiGold
}

// baseline labels the pairs ranked first by AI with their AI winner and
// sends the last `human` of the ranking to people (revealed as the study
// reveals them), and scores the result.
func baseline(pairs []filter.JudgedPair, order []int, winner []filter.Choice, human int, pp *people, g map[string]filter.Choice) float64 {
	lines := make([]outLine, len(pairs))
	for rank, i := range order {
		l := outLine{ID: pairs[i].ID, Winner: winner[i].String(), By: "ai"}
		if rank >= len(order)-human {
			pp.ask(l.ID)
			l.By = "human"
			if m := pp.majority(l.ID); m != filter.ChoiceNone {
				l.Winner = m.String()
			}
		}
		lines[i] = l
	}
	_, final, _ := scoreLines(lines, g)
	return final
}

// coin breaks ties of the baselines.
func coin(rng *rand.Rand) filter.Choice {
	if rng.IntN(2) == 0 {
		return filter.ChoiceA
	}
	return filter.ChoiceB
}

// bestJudge is baseline (a): the single judge most accurate against gold
// (an oracle's pick, which favours the baseline); its AI labels go first
// where its two orders agree (or its only order is decisive), then where
// one order is decisive and the other a tie or unreadable, then the rest.
func bestJudge(pairs []filter.JudgedPair, g map[string]filter.Choice, pick string, rng *rand.Rand) (order []int, winner []filter.Choice, name string) {
	type tally struct{ right, n int }
	acc := map[string]*tally{}
	for _, p := range pairs {
		gw, ok := g[p.ID]
		for _, v := range p.Verdicts {
			if acc[v.Judge] == nil {
				acc[v.Judge] = &tally{}
			}
			if !ok {
				continue
			}
			acc[v.Judge].n++
			if v.Winner != nil && *v.Winner == gw.String() {
				acc[v.Judge].right++
			}
		}
	}
	best := -1.0
	for _, j := range sortedIDs(acc) {
		if a := float64(acc[j].right) / float64(max(acc[j].n, 1)); a > best {
			best, name = a, j
		}
	}
	if pick != "" {
		name = pick
	}
	tier := make([]int, len(pairs))
	winner = make([]filter.Choice, len(pairs))
	for i, p := range pairs {
		var dec []filter.Choice
		undecided := 0
		for _, v := range p.Verdicts {
			if v.Judge != name {
				continue
			}
			c := filter.ChoiceNone
			if v.Winner != nil {
				c, _ = filter.ParseChoice(*v.Winner)
			}
			if c == filter.ChoiceA || c == filter.ChoiceB {
				dec = append(dec, c)
			} else {
				undecided++
			}
		}
		switch {
		case len(dec) > 0 && undecided == 0 && allSame(dec):
			tier[i], winner[i] = 0, dec[0]
		case len(dec) > 0 && allSame(dec):
			tier[i], winner[i] = 1, dec[0]
		default:
			tier[i], winner[i] = 2, coin(rng)
		}
	}
	return rankBy(len(pairs), rng, func(i int) float64 { return -float64(tier[i]) }), winner, name
}

func allSame(cs []filter.Choice) bool {
	for _, c := range cs {
		if c != cs[0] {
			return false
		}
	}
	return true
}

// majorityVote is baseline (b): every verdict of every judge is a vote;
// the pairs with the largest vote margin go first.
func majorityVote(pairs []filter.JudgedPair, rng *rand.Rand) (order []int, winner []filter.Choice) {
	margin := make([]float64, len(pairs))
	winner = make([]filter.Choice, len(pairs))
	for i, p := range pairs {
		var a, b int
		for _, v := range p.Verdicts {
			if v.Winner == nil {
				continue
			}
			switch *v.Winner {
			case "a":
				a++
			case "b":
				b++
			}
		}
		switch {
		case a > b:
			winner[i] = filter.ChoiceA
		case b > a:
			winner[i] = filter.ChoiceB
		default:
			winner[i] = coin(rng)
		}
		margin[i] = float64(max(a-b, b-a))
	}
	return rankBy(len(pairs), rng, func(i int) float64 { return margin[i] }), winner
}

// rankBy orders 0..n-1 by key descending, ties in a random order.
func rankBy(n int, rng *rand.Rand, key func(int) float64) []int {
	order := rng.Perm(n)
	sort.SliceStable(order, func(x, y int) bool { return key(order[x]) > key(order[y]) })
	return order
}

// setResult is one row of the table: means over the seeds.
type setResult struct {
	set                                                string
	target                                             float64
	humanFrac, predicted, measured, final, ba, ba2, bb float64
	seeds                                              int
	bestJudge                                          string
	// vsA, vsA2 and vsB are the router's final accuracy minus baseline
	// (a)'s, (a')'s and (b)'s, paired by seed (each seed gives the
	// baselines the router's human work and its revealed labels): the
	// mean over the seeds and its standard error.
	vsA, vsA2, vsB pairedDiff
}

// pairedDiff is a mean of per-seed differences with its standard error
// (0 with fewer than two seeds).
type pairedDiff struct{ mean, se float64 }

func pairedOf(d []float64) pairedDiff {
	var p pairedDiff
	if len(d) == 0 {
		return p
	}
	for _, x := range d {
		p.mean += x
	}
	p.mean /= float64(len(d))
	if len(d) < 2 {
		return p
	}
	var v float64
	for _, x := range d {
		v += (x - p.mean) * (x - p.mean)
	}
	p.se = math.Sqrt(v / float64(len(d)-1) / float64(len(d)))
	return p
}

// String renders "+0.005 ± 0.002".
func (p pairedDiff) String() string { return fmt.Sprintf("%+.3f ± %.3f", p.mean, p.se) }

// benchSet runs the study and the baselines on one set over seeds 1..n.
func benchSet(dir, set string, target float64, seeds int, bootstrap int) (setResult, error) {
	pairs, err := filter.ReadJudgedFile(filepath.Join(dir, set+".pairs.jsonl"))
	if err != nil {
		return setResult{}, err
	}
	labels, err := filter.ReadHumanLabelsFile(filepath.Join(dir, set+".human.jsonl"))
	if err != nil {
		return setResult{}, err
	}
	g := gold(labels)
	res := setResult{set: set, target: target, seeds: seeds}
	var vsA, vsA2, vsB []float64
	for s := 1; s <= seeds; s++ {
		seed := uint64(s)
		pp := newPeople(labels, 1, seed)
		out, err := study(pairs, pp, studyConfig{goal: filter.TargetAccuracy(target), audit: benchAudit,
			calib: benchCalib, rounds: 5, seed: seed, bootstrap: bootstrap, byDoubt: benchByDoubt, doubtShare: benchDoubtShare, mapWeights: benchMapWeights, auditOnly: benchAuditOnly, blocks: benchBlocks, lead: benchLead, consLead: benchConsLead, consCeil: benchConsCeil, auditMin: benchAuditMin, difficulty: benchDifficulty, misfit: benchMisfit})
		if err != nil {
			return res, err
		}
		measured, final, _ := scoreLines(out.lines, g)
		res.humanFrac += float64(out.human) / float64(len(pairs))
		res.predicted += out.predicted.Est
		res.measured += measured
		res.final += final
		rng := rand.New(rand.NewPCG(seed, 0xba5e))
		order, winner, name := bestJudge(pairs, g, "", rng)
		res.bestJudge = name
		ba := baseline(pairs, order, winner, out.human, newPeople(labels, 1, seed), g)
		res.ba += ba
		// (a'): the judge the calibrator estimates best, no gold needed.
		pick, bestAcc := "", -1.0
		for _, j := range out.cal.Judges {
			if j.Accuracy.Est > bestAcc {
				pick, bestAcc = j.Judge, j.Accuracy.Est
			}
		}
		order, winner, _ = bestJudge(pairs, g, pick, rng)
		ba2 := baseline(pairs, order, winner, out.human, newPeople(labels, 1, seed), g)
		res.ba2 += ba2
		order, winner = majorityVote(pairs, rng)
		bb := baseline(pairs, order, winner, out.human, newPeople(labels, 1, seed), g)
		res.bb += bb
		vsA, vsA2, vsB = append(vsA, final-ba), append(vsA2, final-ba2), append(vsB, final-bb)
	}
	res.vsA, res.vsA2, res.vsB = pairedOf(vsA), pairedOf(vsA2), pairedOf(vsB)
	k := float64(seeds)
	res.humanFrac /= k
	res.predicted /= k
	res.measured /= k
	res.final /= k
	res.ba /= k
	res.ba2 /= k
	res.bb /= k
	return res, nil
}

var benchCalib = 0
var benchAudit = 0.05
var benchByDoubt = true
var benchDoubtShare = 0.9
var benchMapWeights = true
var benchAuditOnly = false
var benchBlocks = true
var benchLead = true
var benchConsLead = true
var benchConsCeil = true
var benchDifficulty = false
var benchAuditMin = 0
var benchMisfit = true

var benchSets = []string{"llmbar-natural", "llmbar-faireval", "pandalm"}
var benchTargets = []float64{0.85, 0.9, 0.95}

// table prints the BENCHMARKS.md table for the shared sets in dir, then
// the router's final accuracy minus each baseline's, paired by seed, with
// the standard error of that mean: a difference within about two standard
// errors of 0 is the seeds' noise, not the router's doing.
func table(w io.Writer, dir string, seeds, bootstrap int) ([]setResult, error) {
	fmt.Fprintln(w, "| set | target | human fraction | predicted | measured | final (router) | final (a) best judge by gold | final (a') judge the calibrator rates best | final (b) majority vote |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	var all []setResult
	for _, set := range benchSets {
		for _, t := range benchTargets {
			r, err := benchSet(dir, set, t, seeds, bootstrap)
			if err != nil {
				return all, err
			}
			all = append(all, r)
			fmt.Fprintf(w, "| %s | %.2f | %.3f | %.3f | %.3f | %.3f | %.3f (%s) | %.3f | %.3f |\n",
				set, t, r.humanFrac, r.predicted, r.measured, r.final, r.ba, r.bestJudge, r.ba2, r.bb)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| set | target | router - (a), mean ± s.e. over the seeds | router - (a') | router - (b) |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range all {
		fmt.Fprintf(w, "| %s | %.2f | %v | %v | %v |\n", r.set, r.target, r.vsA, r.vsA2, r.vsB)
	}
	return all, nil
}
