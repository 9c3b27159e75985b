package filter_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/prefdata/prefdata/filter"
)

// examplePairs simulates 400 pairs judged in both orders by a careful
// judge, one that picks the response shown first half the time, and a
// hasty one.
func examplePairs() []filter.Evidence {
	rng := rand.New(rand.NewPCG(1, 2))
	var pairs []filter.Evidence
	for i := 0; i < 400; i++ {
		truth := filter.ChoiceA
		if rng.IntN(2) == 0 {
			truth = filter.ChoiceB
		}
		other := map[filter.Choice]filter.Choice{filter.ChoiceA: filter.ChoiceB, filter.ChoiceB: filter.ChoiceA}
		ev := filter.Evidence{ID: fmt.Sprintf("p%03d", i)}
		for _, j := range []struct {
			name        string
			skill, bias float64
		}{{"careful", 0.9, 0}, {"first-lover", 0.8, 0.5}, {"hasty", 0.75, 0.1}} {
			for _, first := range []filter.Choice{filter.ChoiceA, filter.ChoiceB} {
				v := truth
				switch {
				case rng.Float64() < j.bias:
					v = first
				case rng.Float64() > j.skill:
					v = other[truth]
				}
				ev.Judgments = append(ev.Judgments, filter.Judgment{Judge: j.name, First: first, Verdict: v})
			}
		}
		pairs = append(pairs, ev)
	}
	return pairs
}

// The calibrator estimates each judge's accuracy and position bias from
// their verdicts alone, with no human label.
func ExampleCalibrator() {
	cal, err := filter.Calibrator{Bootstrap: -1}.Fit(examplePairs(), nil)
	if err != nil {
		panic(err)
	}
	for _, j := range cal.Judges {
		fmt.Printf("%s: accuracy %.2f, position bias %.2f\n", j.Judge, j.Accuracy.Est, j.PositionBias.Est)
	}
	p := cal.Pairs[0]
	fmt.Printf("%s: AI's winner %s, P %.2f\n", p.ID, p.Winner, p.P)
	// Output:
	// careful: accuracy 0.89, position bias -0.02
	// first-lover: accuracy 0.64, position bias 0.50
	// hasty: accuracy 0.74, position bias 0.11
	// p000: AI's winner b, P 0.92
}

// Routing by goal: the AI labels the most confident pairs for as long as
// their predicted accuracy stays at the target; the rest go to people,
// and a 5% audit of the AI-labeled pairs too.
func ExampleRoute() {
	cal, err := filter.Calibrator{Bootstrap: -1}.Fit(examplePairs(), nil)
	if err != nil {
		panic(err)
	}
	goal := filter.TargetAccuracy(0.95)
	goal.Audit, goal.Seed = 0.05, 1
	rt := filter.Route(cal, goal)
	fmt.Printf("%s: %d of %d pairs to people, %d audited; predicted accuracy %.3f\n",
		goal, rt.Human, len(rt.Decisions), rt.Audit, rt.Predicted.Est)

	budget := filter.Route(cal, filter.HumanBudget(50))
	var top []string
	for _, d := range budget.Decisions {
		if d.Human && len(top) < 3 {
			top = append(top, fmt.Sprintf("%s (value %.2f)", d.ID, d.Value))
		}
	}
	fmt.Printf("budget 50: predicted accuracy %.3f; to people: %s, ...\n", budget.Predicted.Est, strings.Join(top, ", "))
	// Output:
	// target 0.95, audit 5%: 79 of 400 pairs to people, 16 audited; predicted accuracy 0.950
	// budget 50: predicted accuracy 0.936; to people: p008 (value 0.26), p012 (value 0.47), p026 (value 0.47), ...
}

// People labeled three pairs the router sent them and one pair of a 5%
// audit of the AI-labeled ones: the audited label stands for 20 pairs the
// AI kept, the others for themselves. Scaled to their effective number,
// the four labels count as 1.3 (23^2 / 403).
func ExampleDesignWeights() {
	labeled := map[string]filter.Choice{"routed-1": filter.ChoiceA, "routed-2": filter.ChoiceB, "routed-3": filter.ChoiceA, "audited": filter.ChoiceA}
	w := filter.DesignWeights(labeled, map[string]float64{"audited": 20})
	for _, id := range []string{"routed-1", "routed-2", "routed-3", "audited"} {
		fmt.Printf("%s %.3f\n", id, w[id])
	}
	// Output:
	// routed-1 0.057
	// routed-2 0.057
	// routed-3 0.057
	// audited 1.141
}
