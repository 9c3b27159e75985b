package filter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// doubtPopulation is n AI-labeled pairs whose P is spread over [0.6, 1)
// and whose AI winner is right with probability P, so the errors sit with
// the doubt: people's winners (by ID) and the population's accuracy.
func doubtPopulation(n int, seed uint64) (*Calibration, map[string]Choice, float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	cal := &Calibration{}
	people := map[string]Choice{}
	right := 0
	for i := range n {
		p := 0.6 + 0.4*rng.Float64()
		id := fmt.Sprintf("p%04d", i)
		cal.Pairs = append(cal.Pairs, Posterior{ID: id, Winner: ChoiceA, P: p, PA: p})
		people[id] = ChoiceB
		if rng.Float64() < p {
			people[id] = ChoiceA
			right++
		}
	}
	return cal, people, float64(right) / float64(n)
}

// TestAuditByDoubtWeightedEstimateUnbiased draws an audit by doubt from a
// fixed population with doubt-correlated errors, 400 times: the measured
// accuracy weighted by the inverse inclusion probabilities averages to the
// population's accuracy, the unweighted share of agreement does not (the
// sample holds more of the doubtful pairs, where the AI errs), and the
// interval covers the population's accuracy about 95% of the time.
func TestAuditByDoubtWeightedEstimateUnbiased(t *testing.T) {
	cal, people, truth := doubtPopulation(2000, 1)
	for _, share := range []float64{0.5, 0.9, 1} {
		t.Run(fmt.Sprintf("doubt share %.1f", share), func(t *testing.T) {
			const draws = 400
			var ipw, plain float64
			covered := 0
			for s := range uint64(draws) {
				g := FixedThreshold(0)
				g.Audit, g.AuditByDoubt, g.AuditDoubt, g.Seed = 0.05, true, share, s
				rt := Route(cal, g)
				iv, n := Measured(rt.Decisions, people)
				if n != rt.Audit {
					t.Fatalf("seed %d: Measured used %d of %d audited pairs", s, n, rt.Audit)
				}
				ipw += iv.Est
				if iv.Lo <= truth && truth <= iv.Hi {
					covered++
				}
				agree := 0
				for _, d := range rt.Decisions {
					if d.Audit && people[d.ID] == d.Winner {
						agree++
					}
				}
				plain += float64(agree) / float64(rt.Audit)
			}
			ipw /= draws
			plain /= draws
			coverage := float64(covered) / draws
			t.Logf("population accuracy %.4f: weighted %.4f, unweighted %.4f, interval coverage %.3f", truth, ipw, plain, coverage)
			if math.Abs(ipw-truth) > 0.006 {
				t.Errorf("weighted estimate averages %.4f, population accuracy %.4f: biased", ipw, truth)
			}
			if truth-plain < 0.02 {
				t.Errorf("unweighted estimate averages %.4f, population accuracy %.4f: the draw does not favour the doubtful pairs", plain, truth)
			}
			if coverage < 0.9 {
				t.Errorf("the interval covers the population's accuracy in %.3f of the draws, want at least 0.9", coverage)
			}
		})
	}
}

// TestAuditByDoubtDrawsDoubtfulPairs checks the draw itself: its size is
// the audit's (5% of the AI-labeled pairs) on every seed, the most
// doubtful half of the pairs is drawn more often than the confident half,
// in the ratio the inclusion probabilities set, and each audited pair's
// weight is the inverse of its inclusion probability.
func TestAuditByDoubtDrawsDoubtfulPairs(t *testing.T) {
	cal, _, _ := doubtPopulation(2000, 2)
	const k = 100 // 5% of 2000
	doubtful, confident := 0, 0
	for s := range uint64(200) {
		g := FixedThreshold(0)
		g.Audit, g.AuditByDoubt, g.AuditDoubt, g.Seed = 0.05, true, 1, s
		rt := Route(cal, g)
		if rt.Audit != k {
			t.Fatalf("seed %d: %d pairs audited, want %d", s, rt.Audit, k)
		}
		var doubt float64
		for _, p := range cal.Pairs {
			doubt += 1 - p.P
		}
		for i, d := range rt.Decisions {
			if !d.Audit {
				continue
			}
			pi := k * (1 - cal.Pairs[i].P) / doubt
			if math.Abs(d.AuditWeight-1/pi) > 1e-9*d.AuditWeight {
				t.Fatalf("seed %d, pair %s: weight %g, want 1/pi = %g", s, d.ID, d.AuditWeight, 1/pi)
			}
			if cal.Pairs[i].P < 0.8 {
				doubtful++
			} else {
				confident++
			}
		}
	}
	// P uniform on [0.6, 1): the doubtful half holds 3/4 of the doubt.
	ratio := float64(doubtful) / float64(confident)
	t.Logf("audited: %d doubtful (P < 0.8), %d confident; ratio %.2f", doubtful, confident, ratio)
	if ratio < 2.6 || ratio > 3.4 {
		t.Errorf("doubtful:confident draws %.2f, want about 3", ratio)
	}
}

// TestAuditInclusionCapped: a pair whose share of the doubt would give it
// an inclusion probability above 1 is taken for certain, and the rest is
// spread over the others, so the probabilities still sum to the audit's
// size and the sample has that size.
func TestAuditInclusionCapped(t *testing.T) {
	doubt := []float64{0.4, 0.3, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01}
	pis := inclusion(doubt, 1, 3)
	var sum float64
	for _, p := range pis {
		if p < 0 || p > 1 {
			t.Fatalf("inclusion probability %g out of [0, 1]: %v", p, pis)
		}
		sum += p
	}
	if math.Abs(sum-3) > 1e-9 {
		t.Errorf("inclusion probabilities sum to %g, want 3: %v", sum, pis)
	}
	if pis[0] != 1 || pis[1] != 1 {
		t.Errorf("the two most doubtful pairs: %g, %g, want 1 (taken for certain)", pis[0], pis[1])
	}
	if math.Abs(pis[2]-1.0/8) > 1e-9 {
		t.Errorf("the others: %g, want 1/8 each (the one draw left over 8 equal pairs)", pis[2])
	}

	cal := &Calibration{}
	for i, d := range doubt {
		cal.Pairs = append(cal.Pairs, Posterior{ID: fmt.Sprint(i), Winner: ChoiceA, P: 1 - d, PA: 1 - d})
	}
	for s := range uint64(50) {
		g := FixedThreshold(0)
		g.Audit, g.AuditByDoubt, g.AuditDoubt, g.Seed = 0.3, true, 1, s
		rt := Route(cal, g)
		if rt.Audit != 3 || !rt.Decisions[0].Audit || !rt.Decisions[1].Audit {
			t.Fatalf("seed %d: %d audited (pairs 0, 1: %v, %v), want 3 with both", s, rt.Audit, rt.Decisions[0].Audit, rt.Decisions[1].Audit)
		}
	}
}

// TestMapWeightsCountLabels: in the fit of the confidence map a label of
// weight 2 counts as two labels at the same strength, and a label of
// weight 0 as none.
func TestMapWeightsCountLabels(t *testing.T) {
	raw := []float64{0.4, -1.2, 2.5, 0.8, -0.3, 3.1, 1.7, -2.2, 0.1, 1.0, -0.6, 2.0}
	labels := []int8{1, -1, 1, -1, 1, 1, -1, -1, -1, 1, -1, 1}
	weight := make([]float64, len(raw))
	for i := range weight {
		weight[i] = 1
	}
	weight[3], weight[6] = 2, 0 // two labels the AI had wrong

	weighted, evW := fitConfidence(raw, labels, weight, 0.5, 1)
	dupRaw := append(append([]float64(nil), raw...), raw[3])
	dupLabels := append(append([]int8(nil), labels...), labels[3])
	dupLabels[6] = 0
	dup, evD := fitConfidence(dupRaw, dupLabels, nil, 0.5, 1)
	if math.Abs(evW-evD) > 1e-9 || len(weighted) != len(dup) {
		t.Fatalf("weighted fit: evidence %g, %d points; duplicated: %g, %d points", evW, len(weighted), evD, len(dup))
	}
	for k := range dup {
		if weighted[k].temper != dup[k].temper || weighted[k].ceil != dup[k].ceil || math.Abs(weighted[k].w-dup[k].w) > 1e-9 {
			t.Fatalf("grid point %d: weighted %+v, duplicated %+v", k, weighted[k], dup[k])
		}
	}
	plain, _ := fitConfidence(raw, labels, nil, 0.5, 1)
	if len(plain) == len(weighted) {
		same := true
		for k := range plain {
			same = same && math.Abs(plain[k].w-weighted[k].w) < 1e-9
		}
		if same {
			t.Error("the weights did not change the fit")
		}
	}
}

// TestCalibratorMapWeights: Fit passes MapWeights to the map's fit by
// pair ID; a label weighted 0 still clamps its pair.
func TestCalibratorMapWeights(t *testing.T) {
	pairs, truth := simulate(3, 300, simJudges)
	labels := map[string]Choice{}
	for _, ev := range pairs[:40] {
		labels[ev.ID] = truth[ev.ID]
	}
	c := Calibrator{Bootstrap: -1}
	full, err := c.Fit(pairs, labels)
	if err != nil {
		t.Fatal(err)
	}
	c.MapWeights = map[string]float64{}
	for _, ev := range pairs[:20] {
		c.MapWeights[ev.ID] = 0
	}
	half, err := c.Fit(pairs, labels)
	if err != nil {
		t.Fatal(err)
	}
	if half.Labeled != 40 {
		t.Errorf("weighted fit: %d labeled pairs, want 40 (a weight does not unclamp)", half.Labeled)
	}
	if math.Abs(half.Temper-full.Temper) < 1e-6 && math.Abs(half.Ceiling-full.Ceiling) < 1e-6 {
		t.Errorf("MapWeights had no effect: temper %.4f, ceiling %.4f either way", half.Temper, half.Ceiling)
	}
}
