//go:build !race

// The real-data study runs about 15 s of CPU without the race detector
// and ten times that with it, so it is left out of -race runs.

package main

import (
	"math"
	"strings"
	"testing"
)

// TestRealSetsPredictedMatchesMeasured runs the study at each target on
// each shared judged set over seeds 1-10, and compares the predicted
// accuracy of the AI-labeled pairs with the measured one (against the gold
// label; PandaLM against the majority of its three annotators, pairs whose
// majority is a tie left out), and the final accuracy with the baselines'
// at the same human work.
//
// Asserted: within 0.03 on llmbar-natural and pandalm. Not met, and only
// logged: llmbar-faireval's calibration at 0.85 (its judges agree on wrong
// answers, beyond what grouping a model's strategies removes, and its 5%
// audit is 1-3 pairs: 0.864 vs 0.830 with the consistency-bounded
// ceiling; at 0.9 every pair now goes to people), and the router's final
// accuracy is not at least both baselines' everywhere (llmbar-natural
// 0.948 vs 0.977 for GPT-4 alone; see BENCHMARKS.md). When both hold on
// every row, assert them here.
func TestRealSetsPredictedMatchesMeasured(t *testing.T) {
	dir := sharedSets(t)
	if testing.Short() {
		t.Skip("-short: the real-data study takes a while")
	}
	var b strings.Builder
	rows, err := table(&b, dir, 10, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	for _, r := range rows {
		gap := math.Abs(r.predicted - r.measured)
		calibrated := gap <= 0.03
		beats := r.final >= r.ba-1e-9 && r.final >= r.bb-1e-9
		t.Logf("%s target %.2f: human %.3f, predicted %.3f, measured %.3f (gap %.3f, within 0.03: %v); final %.3f vs (a) %.3f, (a') %.3f, (b) %.3f: at least both: %v",
			r.set, r.target, r.humanFrac, r.predicted, r.measured, gap, calibrated, r.final, r.ba, r.ba2, r.bb, beats)
		if r.set != "llmbar-faireval" && !calibrated {
			t.Errorf("%s target %.2f: predicted %.3f, measured %.3f: more than 0.03 apart", r.set, r.target, r.predicted, r.measured)
		}
		if r.humanFrac < 1 && r.predicted < r.target-1e-9 {
			t.Errorf("%s target %.2f: the AI-labeled pairs' predicted accuracy %.3f is below the target", r.set, r.target, r.predicted)
		}
	}
}
