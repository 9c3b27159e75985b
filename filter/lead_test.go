package filter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// correlatedPanel simulates n pairs judged in both orders by four weak
// judges of different names that share their mistakes (each copies a
// common weak verdict, 0.65 right, with probability 0.85, else judges on
// its own at 0.65) and two strong independent judges (0.9 right).
func correlatedPanel(seed uint64, n int, weak []string, copyP, weakAcc, strongAcc float64) ([]Evidence, map[string]Choice) {
	rng := rand.New(rand.NewPCG(seed, 11))
	verdict := func(right bool, class Choice) Choice {
		if right {
			return class
		}
		return other(class)
	}
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
		for _, name := range weak {
			v := shared
			if rng.Float64() >= copyP {
				v = verdict(rng.Float64() < weakAcc, class)
			}
			for _, first := range []Choice{ChoiceA, ChoiceB} {
				ev.Judgments = append(ev.Judgments, Judgment{Judge: name, First: first, Verdict: v})
			}
		}
		for _, name := range []string{"strong-1", "strong-2"} {
			v := verdict(rng.Float64() < strongAcc, class)
			for _, first := range []Choice{ChoiceA, ChoiceB} {
				ev.Judgments = append(ev.Judgments, Judgment{Judge: name, First: first, Verdict: v})
			}
		}
		evs = append(evs, ev)
	}
	return evs, truth
}

// spreadLabels returns the true labels of k pairs spread evenly over evs
// (every len(evs)/k-th pair from the first), as people's labels.
func spreadLabels(evs []Evidence, truth map[string]Choice, k int) map[string]Choice {
	labels := map[string]Choice{}
	step := len(evs) / k
	for i := 0; i < k; i++ {
		id := evs[i*step].ID
		labels[id] = truth[id]
	}
	return labels
}

// labeledSimPanel simulates 1,500 pairs judged by simJudges (independent
// judges, one strong) and labels 30 of them, spread evenly.
func labeledSimPanel(seed uint64) (pairs []Evidence, truth, labels map[string]Choice) {
	pairs, truth = simulate(seed, 1500, simJudges)
	return pairs, truth, spreadLabels(pairs, truth, 30)
}

// TestLeadsCorrelatedWeakJudges: four weak judges of different models
// that err together (no name to group them by) outvote two strong
// independent judges, and without labels their agreement looks like the
// truth. With 30 random labels and Leads, the fit led by a strong judge
// explains the labels far better and is kept: the AI's winners are about
// as right as the strong judges', and the predicted accuracy is honest.
// Without Leads the same labels only temper the weak panel's confidence.
func TestLeadsCorrelatedWeakJudges(t *testing.T) {
	evs, truth := correlatedPanel(3, 1500, []string{"weak-a", "weak-b", "weak-c", "weak-d"}, 0.85, 0.65, 0.9)
	labels := spreadLabels(evs, truth, 30)
	fit := func(leads bool) (cal *Calibration, right, predicted float64) {
		cal, err := Calibrator{Bootstrap: -1, Leads: leads}.Fit(evs, labels)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range cal.Pairs {
			if p.Winner == truth[p.ID] {
				right++
			}
			predicted += p.P
		}
		n := float64(len(cal.Pairs))
		return cal, right / n, predicted / n
	}
	_, flatRight, flatPred := fit(false)
	cal, leadRight, leadPred := fit(true)
	t.Logf("full panel: %.3f right, predicted %.3f; Leads (lead %q): %.3f right, predicted %.3f", flatRight, flatPred, cal.Lead, leadRight, leadPred)
	if cal.Lead != "strong-1" && cal.Lead != "strong-2" {
		t.Errorf("Lead = %q, want a strong judge", cal.Lead)
	}
	if leadRight < 0.88 || leadRight < flatRight+0.1 {
		t.Errorf("with Leads the AI's winners are %.3f right (full panel: %.3f); want >= 0.88 and 0.1 better", leadRight, flatRight)
	}
	if gap := math.Abs(leadPred - leadRight); gap > 0.02 {
		t.Errorf("with Leads the predicted accuracy %.3f is %.3f from the measured %.3f", leadPred, gap, leadRight)
	}
}

// TestLeadsKeepsIndependentPanel: on judges that err independently the
// full panel is better than any one leading, and the labels keep it.
func TestLeadsKeepsIndependentPanel(t *testing.T) {
	pairs, _, labels := labeledSimPanel(5)
	cal, err := Calibrator{Bootstrap: -1, Leads: true}.Fit(pairs, labels)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Lead != "" {
		t.Errorf("Lead = %q on independent judges, want the full panel", cal.Lead)
	}
}

// TestLeadsNeedLabels: with fewer than MinLabels labels Leads changes
// nothing, since a led fit can only be chosen by people's labels.
func TestLeadsNeedLabels(t *testing.T) {
	evs, truth := correlatedPanel(4, 400, []string{"weak-a", "weak-b", "weak-c", "weak-d"}, 0.85, 0.65, 0.9)
	labels := map[string]Choice{evs[0].ID: truth[evs[0].ID], evs[1].ID: truth[evs[1].ID]}
	plain, err := Calibrator{Bootstrap: -1}.Fit(evs, labels)
	if err != nil {
		t.Fatal(err)
	}
	led, err := Calibrator{Bootstrap: -1, Leads: true}.Fit(evs, labels)
	if err != nil {
		t.Fatal(err)
	}
	if led.Lead != "" {
		t.Errorf("Lead = %q with 2 labels, want the full panel", led.Lead)
	}
	for i := range plain.Pairs {
		if plain.Pairs[i] != led.Pairs[i] {
			t.Fatalf("pair %d: %+v without Leads, %+v with", i, plain.Pairs[i], led.Pairs[i])
		}
	}
}

// TestLedTemper: with every block weighted alike ledTemper is the panel's
// default temper; with one block raised above the others' sum it is lower
// (the lead's evidence counts several times), but not as low as the
// default over the mean raise (which made led fits under-confident).
func TestLedTemper(t *testing.T) {
	evs, _ := simulate(4, 400, simJudges)
	d, judges, _, err := buildDataset(evs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	blockOf, _ := judgeBlocks(Calibrator{}, judges)
	t0 := d.defaultTemper()
	if got := d.ledTemper(t0, blockOf); math.Abs(got-t0) > 0.01 {
		t.Errorf("equal weights: ledTemper %.3f, want the default %.3f", got, t0)
	}
	d.setWeights(leadWeights(d, d.baseWeights(), blockOf, "strong"))
	got := d.ledTemper(t0, blockOf)
	boost := float64(len(simJudges)) // 1 + the three others' weight
	t.Logf("default %.3f, led %.3f, default/boost %.3f", t0, got, t0/boost)
	if got >= t0 || got <= t0/boost {
		t.Errorf("led: ledTemper %.3f, want between %.3f and %.3f", got, t0/boost, t0)
	}
}
