package label

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f (±%g)", name, got, want, tol)
	}
}

// Cohen's kappa, worked example of Wikipedia's "Cohen's kappa" article
// (section "Simple example"): 50 grant proposals read by two readers A and B;
// both say Yes to 20, both No to 15, A Yes/B No 5, A No/B Yes 10.
//
// By hand: p_o = (20+15)/50 = 0.70. A says Yes 25 times (0.5), B 30 times
// (0.6): p_e = 0.5*0.6 + 0.5*0.4 = 0.50. kappa = (0.70-0.50)/(1-0.50) = 0.40.
func TestCohenKappaWikipedia(t *testing.T) {
	const yes, no = 1, 0
	var a, b []int
	add := func(n, x, y int) {
		for range n {
			a, b = append(a, x), append(b, y)
		}
	}
	add(20, yes, yes)
	add(5, yes, no)
	add(10, no, yes)
	add(15, no, no)
	k, err := CohenKappa(a, b)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "kappa", k, 0.40, 1e-12)
	pa, err := PercentAgreement(pairs(a, b))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "percent agreement", pa, 0.70, 1e-12)
}

func pairs(a, b []int) Ratings {
	r := make(Ratings, len(a))
	for i := range a {
		r[i] = []int{a[i], b[i]}
	}
	return r
}

func TestCohenKappaErrors(t *testing.T) {
	if _, err := CohenKappa([]int{1, 2}, []int{1}); err == nil {
		t.Error("different lengths: no error")
	}
	if _, err := CohenKappa([]int{1, 1}, []int{1, 1}); !errors.Is(err, ErrNoData) {
		t.Errorf("one category: err = %v, want ErrNoData", err)
	}
	// Missing ratings are skipped: only units 0 and 3 count, where the raters
	// disagree once and agree once.
	k, err := CohenKappa([]int{1, Missing, 2, 2}, []int{2, 1, Missing, 2})
	if err != nil {
		t.Fatal(err)
	}
	// p_o = 1/2; A: 1 once, 2 once; B: 2 twice; p_e = 0.5*0 + 0.5*1 = 0.5;
	// kappa = 0.
	near(t, "kappa with missing", k, 0, 1e-12)
}

// Fleiss' kappa, the worked example of Wikipedia's "Fleiss' kappa" article
// (the article's own illustration, not Fleiss's data): 14 raters put 10
// subjects into 5 categories; the article gives P̄ = 0.378, P̄e = 0.213 and
// kappa = 0.210, and statsmodels' test_inter_rater.py (test_fleiss_kappa)
// checks its fleiss_kappa against the same 0.210.
//
// By hand: column totals are 20, 28, 39, 21, 32 of 140 ratings, so p_j =
// 0.143, 0.200, 0.279, 0.150, 0.229 and P̄e = Σ p_j² = 0.2128. Row P_i =
// (Σ n_ij² - 14)/(14*13): row 1 (0,0,0,0,14) gives (196-14)/182 = 1.000,
// row 2 (0,2,6,4,2) gives (60-14)/182 = 0.253, ...; their mean is P̄ =
// 0.3780. kappa = (0.3780-0.2128)/(1-0.2128) = 0.2099.
func TestFleissKappaWikipedia(t *testing.T) {
	counts := [][]int{
		{0, 0, 0, 0, 14},
		{0, 2, 6, 4, 2},
		{0, 0, 3, 5, 6},
		{0, 3, 9, 2, 0},
		{2, 2, 8, 1, 1},
		{7, 7, 0, 0, 0},
		{3, 2, 6, 3, 0},
		{2, 5, 3, 2, 2},
		{6, 5, 2, 1, 0},
		{0, 2, 2, 3, 7},
	}
	k, err := FleissKappa(counts)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "kappa", k, 0.210, 0.0005)

	// The same data as ratings gives the same counts back.
	var r Ratings
	for _, row := range counts {
		var units []int
		for cat, n := range row {
			for range n {
				units = append(units, cat+1)
			}
		}
		r = append(r, units)
	}
	c2, cats := Counts(r)
	if len(cats) != 5 {
		t.Fatalf("categories = %v", cats)
	}
	k2, err := FleissKappa(c2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "kappa from ratings", k2, k, 1e-12)
}

// Fleiss' kappa on Fleiss's own data (Fleiss 1971, "Measuring nominal scale
// agreement among many raters", Psychological Bulletin 76(5)): 30 patients,
// 6 psychiatrists, 5 diagnoses, as the R package irr ships it (data set
// "diagnoses", one column per rater). irr's kappam.fleiss(diagnoses) gives
// Kappa = 0.4302445, the value statsmodels' test_inter_rater.py
// (test_fleiss_kappa_irr) checks its fleiss_kappa against to 7 decimals.
func TestFleissKappaDiagnoses(t *testing.T) {
	diagnoses := Ratings{
		{4, 4, 4, 4, 4, 4}, {2, 2, 2, 5, 5, 5}, {2, 3, 3, 3, 3, 5}, {5, 5, 5, 5, 5, 5},
		{2, 2, 2, 4, 4, 4}, {1, 1, 3, 3, 3, 3}, {3, 3, 3, 3, 5, 5}, {1, 1, 3, 3, 3, 4},
		{1, 1, 4, 4, 4, 4}, {5, 5, 5, 5, 5, 5}, {1, 4, 4, 4, 4, 4}, {1, 2, 4, 4, 4, 4},
		{2, 2, 2, 3, 3, 3}, {1, 4, 4, 4, 4, 4}, {2, 2, 4, 4, 4, 5}, {3, 3, 3, 3, 3, 5},
		{1, 1, 1, 4, 5, 5}, {1, 1, 1, 1, 1, 2}, {2, 2, 4, 4, 4, 4}, {1, 3, 3, 5, 5, 5},
		{5, 5, 5, 5, 5, 5}, {2, 4, 4, 4, 4, 4}, {2, 2, 4, 5, 5, 5}, {1, 1, 4, 4, 4, 4},
		{1, 4, 4, 4, 4, 5}, {2, 2, 2, 2, 2, 4}, {1, 1, 1, 1, 5, 5}, {2, 2, 4, 4, 4, 4},
		{1, 3, 3, 3, 3, 3}, {5, 5, 5, 5, 5, 5},
	}
	counts, cats := Counts(diagnoses)
	// The column totals statsmodels checks (test_aggregate_raters): the
	// data was typed in right.
	totals := make([]int, len(cats))
	for _, row := range counts {
		for j, c := range row {
			totals[j] += c
		}
	}
	if want := []int{26, 26, 30, 55, 43}; fmt.Sprint(totals) != fmt.Sprint(want) {
		t.Fatalf("category totals %v, want %v", totals, want)
	}
	k, err := FleissKappa(counts)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "kappa", k, 0.4302445, 5e-8)
}

// Cohen's kappa on the 3x3 table statsmodels checks against SAS's PROC FREQ
// printout (test_inter_rater.py, UnweightedCohens: table10 =
// [[0,4,1],[0,8,0],[0,1,5]], rows rater 1, columns rater 2): kappa =
// 0.4842.
func TestCohenKappaSAS(t *testing.T) {
	table := [3][3]int{{0, 4, 1}, {0, 8, 0}, {0, 1, 5}}
	var a, b []int
	for i, row := range table {
		for j, n := range row {
			for range n {
				a, b = append(a, i), append(b, j)
			}
		}
	}
	k, err := CohenKappa(a, b)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "kappa", k, 0.4842, 0.00005)
}

func TestFleissKappaNeedsFixedRaters(t *testing.T) {
	_, err := FleissKappa([][]int{{2, 1}, {1, 1}})
	if err == nil {
		t.Fatal("unequal raters per subject: no error")
	}
	t.Log(err)
}

// Krippendorff's alpha, the reliability data with missing values of
// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability"
// (Annenberg School for Communication, departmental paper 43), section C:
// 4 observers, 12 units, values 1..5, 7 ratings missing. The paper gives
// alpha = 0.743 (nominal). The ordinal value 0.815 is not in the paper: it
// is the one the Python package krippendorff (pln-fing-udelar/
// fast-krippendorff, tests/test_krippendorff.py, test_ordinal_metric)
// checks on the same data.
//
// By hand (nominal): unit 12 has one value and is not pairable, leaving
// n = 40 pairable values. Each ordered pair of values inside a unit of m
// values adds 1/(m-1) to the coincidence matrix. Units 1, 3, 4, 5, 7, 9, 10
// and 11 agree completely; unit 2 (2,3,2,2: m = 4) puts 1/3 on (2,3) and
// (3,2) three times each, unit 6 (1,2,3,4) 1/3 on each of its 12 ordered
// pairs, unit 8 (1,1,2,1) 1/3 on (1,2) and (2,1) three times each. The
// diagonal sums to 32, the off-diagonal to 8. Value totals: n1 = 9, n2 = 13,
// n3 = 10, n4 = 5, n5 = 3, Σ n_c² = 384. alpha = 1 - (n-1) * 8 / (n² - Σ
// n_c²) = 1 - 39*8/(1600-384) = 1 - 312/1216 = 0.7434.
func TestKrippendorffAlphaPaper(t *testing.T) {
	const M = Missing
	obs := [][]int{
		{1, 2, 3, 3, 2, 1, 4, 1, 2, M, M, M},
		{1, 2, 3, 3, 2, 2, 4, 1, 2, 5, M, 3},
		{M, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, M},
		{1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, M},
	}
	r := make(Ratings, 12)
	for u := range r {
		for _, o := range obs {
			r[u] = append(r[u], o[u])
		}
	}
	nom, err := KrippendorffAlpha(r, Nominal)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "nominal alpha", nom, 0.743, 0.0005)
	ord, err := KrippendorffAlpha(r, Ordinal)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ordinal alpha", ord, 0.815, 0.0005)
}

// Krippendorff's alpha, the computational example of Wikipedia's
// "Krippendorff's alpha" article: 3 coders, 15 units, values 1..4, most
// ratings missing (unit 14 has none, units 2 and 9 one). The article gives
// alpha = 0.691; the Python package krippendorff checks 0.691358
// (test_nominal_metric_reliability_data).
func TestKrippendorffAlphaWikipedia(t *testing.T) {
	const M = Missing
	coders := [][]int{
		{M, M, M, M, M, 3, 4, 1, 2, 1, 1, 3, 3, M, 3},
		{1, M, 2, 1, 3, 3, 4, 3, M, M, M, M, M, M, M},
		{M, M, 2, 1, 3, 4, 4, M, 2, 1, 1, 3, 3, M, 4},
	}
	r := make(Ratings, 15)
	for u := range r {
		for _, c := range coders {
			r[u] = append(r[u], c[u])
		}
	}
	a, err := KrippendorffAlpha(r, Nominal)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "nominal alpha", a, 0.691358, 5e-7)
}

func TestKrippendorffAlphaEdges(t *testing.T) {
	// Perfect agreement with variation: alpha = 1.
	a, err := KrippendorffAlpha(Ratings{{1, 1, Missing}, {2, 2, 2}, {3, Missing, 3}}, Nominal)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "perfect", a, 1, 1e-12)
	// No pairable unit.
	if _, err := KrippendorffAlpha(Ratings{{1, Missing}, {Missing, 2}}, Nominal); !errors.Is(err, ErrNoData) {
		t.Errorf("no pairable unit: err = %v", err)
	}
	// No variation.
	if _, err := KrippendorffAlpha(Ratings{{1, 1}, {1, 1}}, Nominal); !errors.Is(err, ErrNoData) {
		t.Errorf("no variation: err = %v", err)
	}
	// Two raters, nominal, no missing: alpha is close to Scott's pi, which
	// for the Cohen example above is (0.70 - pe)/(1-pe) with pooled
	// marginals Yes 55/100, No 45/100: pe = 0.505, pi = 0.3939; alpha
	// corrects by (n-1)/n... alpha = 1 - (n-1) D_o/D_e with n = 100: D_o =
	// 30/100, expected disagreement 2*55*45/(100*99) = 0.5, so alpha = 1 -
	// 0.30/0.50 = 0.40.
	var x, y []int
	for i := 0; i < 50; i++ {
		switch {
		case i < 20:
			x, y = append(x, 1), append(y, 1)
		case i < 25:
			x, y = append(x, 1), append(y, 0)
		case i < 35:
			x, y = append(x, 0), append(y, 1)
		default:
			x, y = append(x, 0), append(y, 0)
		}
	}
	a, err = KrippendorffAlpha(pairs(x, y), Nominal)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "two raters", a, 0.40, 1e-12)
}
