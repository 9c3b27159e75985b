package filter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// biasedSharedPanel simulates n pairs judged in both orders by one strong
// judge (skill 0.9, position bias 0.05) and four weak judges of different
// names that share their mistakes and prefer the first position: on each
// pair and order a weak judge says "first" with probability bias, else it
// copies a common content verdict (weakAcc right) with probability copyP,
// else judges on its own at weakAcc.
func biasedSharedPanel(seed uint64, n int, copyP, weakAcc, bias float64) ([]Evidence, map[string]Choice) {
	rng := rand.New(rand.NewPCG(seed, 23))
	verdict := func(right bool, class Choice) Choice {
		if right {
			return class
		}
		return other(class)
	}
	strong := simJudge{"strong", 0.9, 0.05}
	var evs []Evidence
	truth := map[string]Choice{}
	for i := 0; i < n; i++ {
		class := ChoiceA
		if rng.IntN(2) == 0 {
			class = ChoiceB
		}
		ev := Evidence{ID: fmt.Sprint(i)}
		truth[ev.ID] = class
		shared := verdict(rng.Float64() < weakAcc, class)
		for _, name := range []string{"weak-a", "weak-b", "weak-c", "weak-d"} {
			for _, first := range []Choice{ChoiceA, ChoiceB} {
				v := shared
				switch {
				case rng.Float64() < bias:
					v = first
				case rng.Float64() >= copyP:
					v = verdict(rng.Float64() < weakAcc, class)
				}
				ev.Judgments = append(ev.Judgments, Judgment{Judge: name, First: first, Verdict: v})
			}
		}
		for _, first := range []Choice{ChoiceA, ChoiceB} {
			ev.Judgments = append(ev.Judgments, Judgment{Judge: strong.Name, First: first, Verdict: strong.verdict(rng, first, class)})
		}
		evs = append(evs, ev)
	}
	return evs, truth
}

// rightAndPredicted is the share of the fit's winners that are right and
// its mean predicted probability.
func rightAndPredicted(cal *Calibration, truth map[string]Choice) (right, predicted float64) {
	for _, p := range cal.Pairs {
		if p.Winner == truth[p.ID] {
			right++
		}
		predicted += p.P
	}
	n := float64(len(cal.Pairs))
	return right / n, predicted / n
}

// TestLeadsConsistentJudgeWithoutLabels: four weak judges that share their
// mistakes and favour the first position outvote a strong judge that
// seldom contradicts itself across orders. With no labels at all, Leads
// lets the strong judge lead on its order consistency alone (a label-free
// sign, read from neither labels nor the fit's posterior): the AI's
// winners come close to the strong judge's accuracy, and the predicted
// accuracy stays honest.
func TestLeadsConsistentJudgeWithoutLabels(t *testing.T) {
	evs, truth := biasedSharedPanel(5, 1500, 0.85, 0.65, 0.3)
	plain, err := Calibrator{Bootstrap: -1}.Fit(evs, nil)
	if err != nil {
		t.Fatal(err)
	}
	led, err := Calibrator{Bootstrap: -1, Leads: true, ConsistencyLead: true}.Fit(evs, nil)
	if err != nil {
		t.Fatal(err)
	}
	flatRight, flatPred := rightAndPredicted(plain, truth)
	leadRight, leadPred := rightAndPredicted(led, truth)
	t.Logf("full panel: %.3f right, predicted %.3f; Leads (lead %q): %.3f right, predicted %.3f", flatRight, flatPred, led.Lead, leadRight, leadPred)
	if led.Lead != "strong" {
		t.Fatalf("Lead = %q with no labels, want the consistent judge", led.Lead)
	}
	if plain.Lead != "" {
		t.Errorf("without Leads, Lead = %q", plain.Lead)
	}
	if leadRight < 0.85 || leadRight < flatRight+0.1 {
		t.Errorf("with Leads the AI's winners are %.3f right (full panel: %.3f); want >= 0.85 and 0.1 better", leadRight, flatRight)
	}
	if gap := math.Abs(leadPred - leadRight); gap > 0.02 {
		t.Errorf("with Leads the predicted accuracy %.3f is %.3f from the measured %.3f", leadPred, gap, leadRight)
	}
}

// TestLeadsConsistentJudgeLabelsOverride: with the same panel, many
// labels that favour another fit override the consistency prior. Here
// the labels are made to agree with the weak judges' shared verdict, so
// the strong judge's fit explains them worst and must not be kept.
func TestLeadsConsistentJudgeLabelsOverride(t *testing.T) {
	evs, truth := biasedSharedPanel(6, 1500, 0.85, 0.65, 0.3)
	labels := map[string]Choice{}
	for i := 0; i < 60; i++ {
		ev := evs[i*25]
		// the weak judges' majority verdict as the "label"
		var a, b int
		for _, jg := range ev.Judgments {
			if jg.Judge == "strong" {
				continue
			}
			switch jg.Verdict {
			case ChoiceA:
				a++
			case ChoiceB:
				b++
			}
		}
		switch {
		case a > b:
			labels[ev.ID] = ChoiceA
		case b > a:
			labels[ev.ID] = ChoiceB
		default:
			labels[ev.ID] = truth[ev.ID]
		}
	}
	cal, err := Calibrator{Bootstrap: -1, Leads: true, ConsistencyLead: true}.Fit(evs, labels)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Lead == "strong" {
		t.Errorf("Lead = %q, though 60 labels follow the weak judges", cal.Lead)
	}
}

// TestLeadsEqualJudgesKeepPanel: independent judges of equal skill and
// bias have about equal order consistency, so no block leads without
// labels and Leads changes nothing.
func TestLeadsEqualJudgesKeepPanel(t *testing.T) {
	judges := []simJudge{{"j1", 0.8, 0.2}, {"j2", 0.8, 0.2}, {"j3", 0.8, 0.2}, {"j4", 0.8, 0.2}}
	pairs, _ := simulate(8, 1500, judges)
	plain, err := Calibrator{Bootstrap: -1}.Fit(pairs, nil)
	if err != nil {
		t.Fatal(err)
	}
	led, err := Calibrator{Bootstrap: -1, Leads: true, ConsistencyLead: true}.Fit(pairs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if led.Lead != "" {
		t.Fatalf("Lead = %q on equal independent judges, want the full panel", led.Lead)
	}
	for i := range plain.Pairs {
		if plain.Pairs[i] != led.Pairs[i] {
			t.Fatalf("pair %d: %+v without Leads, %+v with", i, plain.Pairs[i], led.Pairs[i])
		}
	}
}

// TestLeadsSingleOrderNoConsistency: judges that each see one order only
// (as in PandaLM) give no order consistency, so nothing leads before
// labels, even when one is far stronger.
func TestLeadsSingleOrderNoConsistency(t *testing.T) {
	evs, _ := biasedSharedPanel(9, 600, 0.85, 0.65, 0.3)
	for i := range evs {
		var kept []Judgment
		for _, jg := range evs[i].Judgments {
			if (jg.First == ChoiceA) == (i%2 == 0) {
				kept = append(kept, jg)
			}
		}
		evs[i].Judgments = kept
	}
	led, err := Calibrator{Bootstrap: -1, Leads: true, ConsistencyLead: true}.Fit(evs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if led.Lead != "" {
		t.Errorf("Lead = %q with single-order judges, want the full panel", led.Lead)
	}
}

// inconsistentPanel simulates n pairs judged in both orders by three
// judges that share content mistakes: each pair is "hard" with
// probability hard, and there every judge prefers the wrong response in
// both orders with probability 0.5 (the errors they share); elsewhere
// each order is right with probability acc, independently. Hard pairs
// look as sure to the panel as easy ones, so only labels at the top (or
// a bound) can tell.
func inconsistentPanel(seed uint64, n int, hard, acc float64) ([]Evidence, map[string]Choice) {
	rng := rand.New(rand.NewPCG(seed, 31))
	var evs []Evidence
	truth := map[string]Choice{}
	for i := 0; i < n; i++ {
		class := ChoiceA
		if rng.IntN(2) == 0 {
			class = ChoiceB
		}
		ev := Evidence{ID: fmt.Sprint(i)}
		truth[ev.ID] = class
		isHard := rng.Float64() < hard
		shared := class
		if isHard && rng.IntN(2) == 0 {
			shared = other(class)
		}
		for _, name := range []string{"j1", "j2", "j3"} {
			for _, first := range []Choice{ChoiceA, ChoiceB} {
				v := shared
				if !isHard && rng.Float64() >= acc {
					v = other(class)
				}
				ev.Judgments = append(ev.Judgments, Judgment{Judge: name, First: first, Verdict: v})
			}
		}
		evs = append(evs, ev)
	}
	return evs, truth
}

// TestConsistencyCeilingBoundsConfidence: with ConsistencyCeiling no
// pair's confidence exceeds a^2/c, c the most consistent judge's order
// consistency and a^2 + (1-a)^2 = c, once the ceiling is fitted on
// labels; without it, labels drawn only from doubtful pairs leave the
// top of the map to the ceiling's prior. On a panel whose shared errors
// look as sure as its right verdicts, the bound brings the predicted
// accuracy closer to the measured one. Without labels, and for judges
// asked in one order only, nothing changes.
func TestConsistencyCeilingBoundsConfidence(t *testing.T) {
	evs, truth := inconsistentPanel(12, 1500, 0.2, 0.75)
	plain0, err := Calibrator{Bootstrap: -1}.Fit(evs, nil)
	if err != nil {
		t.Fatal(err)
	}
	// labels from the 30 least confident pairs, as routing gives them
	labels := map[string]Choice{}
	for _, k := range leastConfident(plain0, 30) {
		labels[evs[k].ID] = truth[evs[k].ID]
	}
	fit := func(on bool, labels map[string]Choice) *Calibration {
		cal, err := Calibrator{Bootstrap: -1, ConsistencyCeiling: on}.Fit(evs, labels)
		if err != nil {
			t.Fatal(err)
		}
		return cal
	}
	plain, bounded := fit(false, labels), fit(true, labels)
	// the bound from the judges' consistency
	var agree, n float64
	best := 0.0
	for _, name := range []string{"j1", "j2", "j3"} {
		agree, n = 0, 0
		for _, ev := range evs {
			var va, vb Choice
			for _, jg := range ev.Judgments {
				if jg.Judge == name {
					if jg.First == ChoiceA {
						va = jg.Verdict
					} else {
						vb = jg.Verdict
					}
				}
			}
			n++
			if va == vb {
				agree++
			}
		}
		best = math.Max(best, agree/n)
	}
	a := (1 + math.Sqrt(2*best-1)) / 2
	bound := a * a / best
	var maxP float64
	for _, p := range bounded.Pairs {
		maxP = math.Max(maxP, p.P)
	}
	plainRight, plainPred := rightAndPredicted(plain, truth)
	boundRight, boundPred := rightAndPredicted(bounded, truth)
	t.Logf("consistency %.3f, bound %.3f; max P %.3f; no bound: %.3f right, predicted %.3f; bound: %.3f right, predicted %.3f", best, bound, maxP, plainRight, plainPred, boundRight, boundPred)
	if maxP > bound+1e-9 {
		t.Errorf("max P %.4f above the bound %.4f", maxP, bound)
	}
	if math.Abs(boundPred-boundRight) >= math.Abs(plainPred-plainRight) {
		t.Errorf("predicted %.3f vs %.3f right with the bound, %.3f vs %.3f without: no closer", boundPred, boundRight, plainPred, plainRight)
	}
	// no labels: unchanged
	if b0 := fit(true, nil); !samePairs(b0, plain0) {
		t.Errorf("without labels ConsistencyCeiling changed the fit")
	}
}

func leastConfident(cal *Calibration, k int) []int {
	idx := make([]int, len(cal.Pairs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(x, y int) bool { return cal.Pairs[idx[x]].P < cal.Pairs[idx[y]].P })
	return idx[:k]
}

func samePairs(x, y *Calibration) bool {
	for i := range x.Pairs {
		if x.Pairs[i] != y.Pairs[i] {
			return false
		}
	}
	return true
}
