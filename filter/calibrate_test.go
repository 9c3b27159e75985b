package filter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// simJudge picks the response shown first with probability Bias, and
// otherwise people's winner with probability Skill.
type simJudge struct {
	Name        string
	Skill, Bias float64
}

// accuracy and bias are what the calibrator reports for the judge.
func (j simJudge) accuracy() float64 { return j.Bias/2 + (1-j.Bias)*j.Skill }

func (j simJudge) verdict(rng *rand.Rand, first, truth Choice) Choice {
	if rng.Float64() < j.Bias {
		return first
	}
	if rng.Float64() < j.Skill {
		return truth
	}
	return other(truth)
}

func other(c Choice) Choice {
	if c == ChoiceA {
		return ChoiceB
	}
	return ChoiceA
}

// simulate returns n pairs judged by judges in both orders, and the truth.
func simulate(seed uint64, n int, judges []simJudge) ([]Evidence, map[string]Choice) {
	rng := rand.New(rand.NewPCG(seed, 1))
	pairs := make([]Evidence, n)
	truth := map[string]Choice{}
	for i := range pairs {
		id := fmt.Sprintf("p%d", i)
		t := ChoiceA
		if rng.Float64() < 0.45 {
			t = ChoiceB
		}
		truth[id] = t
		ev := Evidence{ID: id}
		for _, j := range judges {
			for _, first := range []Choice{ChoiceA, ChoiceB} {
				ev.Judgments = append(ev.Judgments, Judgment{Judge: j.Name, First: first, Verdict: j.verdict(rng, first, t)})
			}
		}
		pairs[i] = ev
	}
	return pairs, truth
}

var simJudges = []simJudge{
	{"strong", 0.9, 0.05},
	{"biased", 0.85, 0.4},
	{"weak", 0.7, 0.1},
	{"first-lover", 0.75, 0.6},
}

func TestCalibratorRecoversSimulatedJudges(t *testing.T) {
	pairs, truth := simulate(7, 2000, simJudges)
	cal, err := Calibrator{Bootstrap: 20}.Fit(pairs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, j := range simJudges {
		var st JudgeStats
		for _, s := range cal.Judges {
			if s.Judge == j.Name {
				st = s
			}
		}
		t.Logf("%s: accuracy %v (true %.3f), bias %v (true %.2f)", j.Name, st.Accuracy, j.accuracy(), st.PositionBias, j.Bias)
		if d := math.Abs(st.Accuracy.Est - j.accuracy()); d > 0.05 {
			t.Errorf("judge %d %s: accuracy %.3f, true %.3f", k, j.Name, st.Accuracy.Est, j.accuracy())
		}
		if d := math.Abs(st.PositionBias.Est - j.Bias); d > 0.05 {
			t.Errorf("judge %d %s: position bias %.3f, true %.3f", k, j.Name, st.PositionBias.Est, j.Bias)
		}
		if st.Accuracy.Lo > st.Accuracy.Est || st.Accuracy.Hi < st.Accuracy.Est || st.Accuracy.Hi-st.Accuracy.Lo <= 0 {
			t.Errorf("judge %s: accuracy interval %v does not hold its estimate", j.Name, st.Accuracy)
		}
	}
	// Without labels the temper is conservative (1/sqrt(judges)): the
	// target is met, with people doing more than they need to. A hundred
	// random labels fit the confidence map: the target is still met, with
	// far fewer pairs to people.
	labels := map[string]Choice{}
	for i := 0; i < 100; i++ {
		id := pairs[i*20].ID
		labels[id] = truth[id]
	}
	withLabels, err := Calibrator{Bootstrap: 20}.Fit(pairs, labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []float64{0.9, 0.95} {
		humans := map[bool]int{}
		for _, labeled := range []bool{false, true} {
			c := cal
			if labeled {
				c = withLabels
			}
			rt := Route(c, TargetAccuracy(target))
			var n, right int
			for _, d := range rt.Decisions {
				if !d.Human {
					n++
					if d.Winner == truth[d.ID] {
						right++
					}
				}
			}
			humans[labeled] = rt.Human
			t.Logf("labels %v, target %.2f: %d to people, predicted %v, measured %d of %d", labeled, target, rt.Human, rt.Predicted, right, n)
			if n > 0 && rt.Predicted.Est < target {
				t.Errorf("target %.2f: predicted %.3f below it", target, rt.Predicted.Est)
			}
			if w := Wilson(right, n); n > 0 && w.Hi < target {
				t.Errorf("labels %v, target %.2f: measured accuracy %v misses it", labeled, target, w)
			}
		}
		if humans[true] >= humans[false] && humans[false] > 100 {
			t.Errorf("target %.2f: %d to people with labels, %d without: labels should save work", target, humans[true], humans[false])
		}
	}
}

// BenchmarkCalibratorFit fits the calibrator without labels on 300 pairs
// judged by four simulated judges in both orders, as the quickstart's plan
// does once per run, with the bootstrap behind its intervals.
func BenchmarkCalibratorFit(b *testing.B) {
	pairs, _ := simulate(7, 300, simJudges)
	b.ReportAllocs()
	for range b.N {
		if _, err := (Calibrator{Seed: 1}).Fit(pairs, nil); err != nil {
			b.Fatal(err)
		}
	}
}
