package filter

import (
	"math"
	"testing"
)

// TestLeadMisfitUnderratedJudgeLeads: four weak judges that share their
// mistakes and favour the first position outvote a strong judge, and the
// full panel's fit rates the strong judge far below what its order
// consistency shows (its orders agree much more often than the fitted
// accuracy allows if they erred independently). With LeadMisfit the
// consistency lead still happens, with no labels, and the AI's winners
// come close to the strong judge's accuracy.
func TestLeadMisfitUnderratedJudgeLeads(t *testing.T) {
	evs, truth := biasedSharedPanel(5, 1500, 0.85, 0.65, 0.3)
	d, judges, _, err := buildDataset(evs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Calibrator{}.withDefaults()
	prior := c.priors()
	m := d.initModel(prior)
	d.em(&m, prior, c.PriorStrength, c.MaxIter, nil)
	blockOf, blocks := judgeBlocks(c, judges)
	crit := math.Sqrt2 * math.Erfinv(1-2*0.05/float64(len(blocks)))
	for _, b := range blocks {
		z := d.misfitZ(&m, blockOf, b)
		t.Logf("%s: misfit z %.2f (critical %.2f)", b, z, crit)
		if (z > crit) != (b == "strong") {
			t.Errorf("%s: misfit z %.2f against critical %.2f; want only the strong judge above", b, z, crit)
		}
	}
	plain, err := Calibrator{Bootstrap: -1}.Fit(evs, nil)
	if err != nil {
		t.Fatal(err)
	}
	led, err := Calibrator{Bootstrap: -1, Leads: true, ConsistencyLead: true, LeadMisfit: true}.Fit(evs, nil)
	if err != nil {
		t.Fatal(err)
	}
	flatRight, _ := rightAndPredicted(plain, truth)
	leadRight, leadPred := rightAndPredicted(led, truth)
	t.Logf("full panel %.3f right; LeadMisfit (lead %q) %.3f right, predicted %.3f", flatRight, led.Lead, leadRight, leadPred)
	if led.Lead != "strong" {
		t.Fatalf("Lead = %q, want the misjudged consistent judge", led.Lead)
	}
	if leadRight < flatRight+0.1 {
		t.Errorf("with the lead the AI's winners are %.3f right, full panel %.3f; want 0.1 better", leadRight, flatRight)
	}
	if gap := math.Abs(leadPred - leadRight); gap > 0.02 {
		t.Errorf("predicted %.3f is %.3f from the measured %.3f", leadPred, gap, leadRight)
	}
}

// TestLeadMisfitWellFitJudgeKeepsPanel: on judges that err independently
// the strong judge is the most consistent by a clear margin, so
// ConsistencyLead alone lets it lead, but the full panel's fit describes
// it (its orders agree about as often as its fitted accuracy predicts):
// with LeadMisfit nothing leads and the fit is the full panel's, pair
// for pair, with labels or without.
func TestLeadMisfitWellFitJudgeKeepsPanel(t *testing.T) {
	pairs, _, labels := labeledSimPanel(8)
	alone, err := Calibrator{Bootstrap: -1, Leads: true, ConsistencyLead: true}.Fit(pairs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if alone.Lead != "strong" {
		t.Fatalf("ConsistencyLead alone: Lead = %q, want the consistent judge (else this panel tests nothing)", alone.Lead)
	}
	for _, lab := range []map[string]Choice{nil, labels} {
		plain, err := Calibrator{Bootstrap: -1, Leads: true}.Fit(pairs, lab)
		if err != nil {
			t.Fatal(err)
		}
		gated, err := Calibrator{Bootstrap: -1, Leads: true, ConsistencyLead: true, LeadMisfit: true}.Fit(pairs, lab)
		if err != nil {
			t.Fatal(err)
		}
		if gated.Lead != "" {
			t.Fatalf("%d labels: LeadMisfit: Lead = %q on a panel the fit describes, want the full panel", len(lab), gated.Lead)
		}
		for i := range plain.Pairs {
			if plain.Pairs[i] != gated.Pairs[i] {
				t.Fatalf("%d labels: pair %d: %+v without the consistency lead, %+v with LeadMisfit", len(lab), i, plain.Pairs[i], gated.Pairs[i])
			}
		}
	}
}
