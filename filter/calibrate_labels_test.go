package filter

import (
	"math"
	"sort"
	"testing"
)

// TestFewDoubtfulLabelsKeepLabelFreeMap: a handful of labels on the pairs
// the AI is least sure of, all agreeing with the AI (what an audit drawn by
// doubt and the first routed pairs can return), say little about the top
// of the confidence map, yet a two-parameter fit on them moves every
// pair's confidence (here by 0.05, the ceiling then resting on its
// prior). With fewer than MinLabels of them the label-free map stands;
// from MinLabels on the map is fitted on them.
func TestFewDoubtfulLabelsKeepLabelFreeMap(t *testing.T) {
	evs, _ := simulate(11, 300, simJudges)
	free, err := Calibrator{Bootstrap: -1}.Fit(evs, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, len(evs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return free.Pairs[idx[x]].P < free.Pairs[idx[y]].P })
	meanP := func(cal *Calibration, skip map[string]Choice) float64 {
		var s, n float64
		for _, p := range cal.Pairs {
			if _, ok := skip[p.ID]; !ok {
				s += p.P
				n++
			}
		}
		return s / n
	}
	for _, k := range []int{3, 6, 9} {
		labels := map[string]Choice{}
		for _, i := range idx[:k] {
			labels[evs[i].ID] = free.Pairs[i].Winner
		}
		cal, err := Calibrator{Bootstrap: -1}.Fit(evs, labels)
		if err != nil {
			t.Fatal(err)
		}
		before, after := meanP(free, labels), meanP(cal, labels)
		t.Logf("%d doubtful labels, all the AI's: temper %.2f -> %.2f, mean P of the other pairs %.3f -> %.3f", k, free.Temper, cal.Temper, before, after)
		if cal.Temper != free.Temper || cal.Ceiling != free.Ceiling {
			t.Errorf("%d labels (MinLabels 10): the map moved from temper %.2f ceiling %.3f to %.2f %.3f", k, free.Temper, free.Ceiling, cal.Temper, cal.Ceiling)
		}
		if math.Abs(after-before) > 0.02 {
			t.Errorf("%d labels: the other pairs' mean P moved %.3f -> %.3f", k, before, after)
		}
	}
	// From MinLabels on, the labels fit the map.
	labels := map[string]Choice{}
	for _, i := range idx[:10] {
		labels[evs[i].ID] = free.Pairs[i].Winner
	}
	cal, err := Calibrator{Bootstrap: -1}.Fit(evs, labels)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Temper == free.Temper && cal.Ceiling == free.Ceiling {
		t.Errorf("10 labels: the map was not fitted (temper %.2f, ceiling %.3f)", cal.Temper, cal.Ceiling)
	}
}
