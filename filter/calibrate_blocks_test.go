package filter

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestJudgeModel(t *testing.T) {
	for in, want := range map[string]string{
		"GPT-4/Vanilla_NoRules":        "GPT-4",
		"meta-llama/Llama-3-8B/rubric": "meta-llama/Llama-3-8B",
		"gpt-3.5-turbo":                "gpt-3.5-turbo",
		"/x":                           "/x",
	} {
		if got := JudgeModel(in); got != want {
			t.Errorf("JudgeModel(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJudgeGroupCorrelatedStrategies: one weak model asked under four
// prompts that give the same verdict (0.65 right) and two strong models
// (0.9 right, independent). Counted as six independent judges, the four
// copies outvote the strong pair where they disagree; as one block each
// model counts once and the AI's winners are right about as often as
// the strong judges.
func TestJudgeGroupCorrelatedStrategies(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var evs []Evidence
	truth := map[string]Choice{}
	verdict := func(right bool, class Choice) Choice {
		if right {
			return class
		}
		return 3 - class // ChoiceA <-> ChoiceB
	}
	for i := 0; i < 1000; i++ {
		class := ChoiceA
		if rng.IntN(2) == 0 {
			class = ChoiceB
		}
		ev := Evidence{ID: fmt.Sprint(i)}
		truth[ev.ID] = class
		weak := verdict(rng.Float64() < 0.65, class)
		for _, s := range []string{"p1", "p2", "p3", "p4"} {
			for _, first := range []Choice{ChoiceA, ChoiceB} {
				ev.Judgments = append(ev.Judgments, Judgment{Judge: "weak/" + s, First: first, Verdict: weak})
			}
		}
		for _, name := range []string{"strong1/p", "strong2/p"} {
			v := verdict(rng.Float64() < 0.9, class)
			for _, first := range []Choice{ChoiceA, ChoiceB} {
				ev.Judgments = append(ev.Judgments, Judgment{Judge: name, First: first, Verdict: v})
			}
		}
		evs = append(evs, ev)
	}
	acc := func(group func(string) string) float64 {
		cal, err := Calibrator{Bootstrap: -1, JudgeGroup: group}.Fit(evs, nil)
		if err != nil {
			t.Fatal(err)
		}
		right := 0
		for _, p := range cal.Pairs {
			if p.Winner == truth[p.ID] {
				right++
			}
		}
		return float64(right) / float64(len(cal.Pairs))
	}
	flat, blocks := acc(nil), acc(JudgeModel)
	t.Logf("accuracy of the AI's winners: judges independent %.3f, one block per model %.3f", flat, blocks)
	if blocks < 0.88 || blocks < flat+0.05 {
		t.Errorf("with one block per model the AI's winners are %.3f right (independent judges: %.3f); want >= 0.88 and 0.05 better", blocks, flat)
	}
}

// TestRouteAuditMin: a 5% audit of 60 AI-labeled pairs is 3 pairs; with
// AuditMin 20 it is 20.
func TestRouteAuditMin(t *testing.T) {
	cal := &Calibration{}
	for i := 0; i < 60; i++ {
		cal.Pairs = append(cal.Pairs, Posterior{ID: fmt.Sprint(i), Winner: ChoiceA, PA: 0.99, P: 0.99})
	}
	for _, c := range []struct{ min, want int }{{0, 3}, {20, 20}, {100, 60}} {
		g := FixedThreshold(0.5)
		g.Audit, g.AuditMin = 0.05, c.min
		if rt := Route(cal, g); rt.Audit != c.want {
			t.Errorf("AuditMin %d: %d pairs audited, want %d", c.min, rt.Audit, c.want)
		}
	}
}
