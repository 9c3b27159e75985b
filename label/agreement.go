package label

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Missing marks a missing rating in [Ratings].
const Missing = math.MinInt

// Ratings is a reliability data matrix: Ratings[u][r] is rater r's value for
// unit (item) u, or Missing. Values are category codes: any distinct ints for
// nominal data; for ordinal data their numeric order is the order of the
// categories (the distances between them do not matter).
type Ratings [][]int

// Level is the level of measurement of [KrippendorffAlpha].
type Level int

// The levels.
const (
	Nominal Level = iota
	Ordinal
)

// ErrNoData is matched by errors.Is when a statistic has no data to work on
// (no unit with two ratings, or no variation at all).
var ErrNoData = errors.New("label: not enough data for an agreement statistic")

// PercentAgreement returns the share of agreeing pairs of ratings: for each
// unit with at least two ratings, the fraction of pairs of raters that gave
// the same value, averaged over those units. With two raters it is the
// share of units they agree on.
func PercentAgreement(r Ratings) (float64, error) {
	sum, units := 0.0, 0
	for _, row := range r {
		vals := present(row)
		m := len(vals)
		if m < 2 {
			continue
		}
		counts := map[int]int{}
		for _, v := range vals {
			counts[v]++
		}
		agree := 0
		for _, c := range counts {
			agree += c * (c - 1)
		}
		sum += float64(agree) / float64(m*(m-1))
		units++
	}
	if units == 0 {
		return 0, ErrNoData
	}
	return sum / float64(units), nil
}

// CohenKappa returns Cohen's kappa for two raters who rated the same units:
// a[i] and b[i] are their values for unit i. Units where either is Missing
// are skipped.
func CohenKappa(a, b []int) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("label: CohenKappa: %d ratings from the first rater, %d from the second", len(a), len(b))
	}
	n := 0
	agree := 0
	ma, mb := map[int]int{}, map[int]int{}
	for i := range a {
		if a[i] == Missing || b[i] == Missing {
			continue
		}
		n++
		if a[i] == b[i] {
			agree++
		}
		ma[a[i]]++
		mb[b[i]]++
	}
	if n == 0 {
		return 0, ErrNoData
	}
	po := float64(agree) / float64(n)
	pe := 0.0
	for c, x := range ma {
		pe += float64(x) / float64(n) * float64(mb[c]) / float64(n)
	}
	if pe == 1 {
		return 0, fmt.Errorf("%w: both raters used one category only", ErrNoData)
	}
	return (po - pe) / (1 - pe), nil
}

// FleissKappa returns Fleiss' kappa from a count matrix: counts[i][j] is the
// number of raters who put subject i in category j. Every subject must have
// the same number of ratings, at least two.
func FleissKappa(counts [][]int) (float64, error) {
	if len(counts) == 0 {
		return 0, ErrNoData
	}
	k := len(counts[0])
	raters := -1
	var pj = make([]float64, k)
	pbar := 0.0
	for i, row := range counts {
		if len(row) != k {
			return 0, fmt.Errorf("label: FleissKappa: subject %d has %d categories, subject 0 has %d", i, len(row), k)
		}
		n := 0
		sq := 0
		for j, c := range row {
			if c < 0 {
				return 0, fmt.Errorf("label: FleissKappa: subject %d category %d: negative count %d", i, j, c)
			}
			n += c
			sq += c * c
			pj[j] += float64(c)
		}
		if raters == -1 {
			raters = n
		}
		if n != raters {
			return 0, fmt.Errorf("label: FleissKappa: subject %d has %d ratings, subject 0 has %d (Fleiss' kappa needs a fixed number; use KrippendorffAlpha)", i, n, raters)
		}
		if n >= 2 {
			pbar += float64(sq-n) / float64(n*(n-1))
		}
	}
	if raters < 2 {
		return 0, fmt.Errorf("%w: fewer than two ratings per subject", ErrNoData)
	}
	total := float64(raters * len(counts))
	pe := 0.0
	for j := range pj {
		pj[j] /= total
		pe += pj[j] * pj[j]
	}
	pbar /= float64(len(counts))
	if pe == 1 {
		return 0, fmt.Errorf("%w: every rating is in one category", ErrNoData)
	}
	return (pbar - pe) / (1 - pe), nil
}

// Counts turns ratings into the count matrix of [FleissKappa]: one row per
// unit, one column per category (the categories returned, sorted).
func Counts(r Ratings) (counts [][]int, categories []int) {
	seen := map[int]bool{}
	for _, row := range r {
		for _, v := range row {
			if v != Missing && !seen[v] {
				seen[v] = true
				categories = append(categories, v)
			}
		}
	}
	sort.Ints(categories)
	col := map[int]int{}
	for i, c := range categories {
		col[c] = i
	}
	counts = make([][]int, len(r))
	for i, row := range r {
		counts[i] = make([]int, len(categories))
		for _, v := range row {
			if v != Missing {
				counts[i][col[v]]++
			}
		}
	}
	return counts, categories
}

// KrippendorffAlpha returns Krippendorff's alpha for any number of raters
// with missing ratings allowed, at the nominal or ordinal level. Units with
// fewer than two ratings are not pairable and do not count.
func KrippendorffAlpha(r Ratings, level Level) (float64, error) {
	// Values that occur in pairable units, sorted.
	var cats []int
	seen := map[int]bool{}
	var units [][]int
	for _, row := range r {
		vals := present(row)
		if len(vals) < 2 {
			continue
		}
		units = append(units, vals)
		for _, v := range vals {
			if !seen[v] {
				seen[v] = true
				cats = append(cats, v)
			}
		}
	}
	if len(units) == 0 {
		return 0, ErrNoData
	}
	sort.Ints(cats)
	idx := map[int]int{}
	for i, c := range cats {
		idx[c] = i
	}
	k := len(cats)
	// Coincidence matrix: each ordered pair of values within a unit of m
	// values adds 1/(m-1).
	o := make([][]float64, k)
	for i := range o {
		o[i] = make([]float64, k)
	}
	for _, vals := range units {
		w := 1 / float64(len(vals)-1)
		for i, a := range vals {
			for j, b := range vals {
				if i != j {
					o[idx[a]][idx[b]] += w
				}
			}
		}
	}
	nc := make([]float64, k)
	n := 0.0
	for c := range o {
		for _, x := range o[c] {
			nc[c] += x
		}
		n += nc[c]
	}
	delta := func(c, kk int) float64 {
		if c == kk {
			return 0
		}
		if level == Nominal {
			return 1
		}
		lo, hi := min(c, kk), max(c, kk)
		s := 0.0
		for g := lo; g <= hi; g++ {
			s += nc[g]
		}
		s -= (nc[lo] + nc[hi]) / 2
		return s * s
	}
	do, de := 0.0, 0.0
	for c := 0; c < k; c++ {
		for kk := 0; kk < k; kk++ {
			d := delta(c, kk)
			do += o[c][kk] * d
			de += nc[c] * nc[kk] * d
		}
	}
	if de == 0 {
		return 0, fmt.Errorf("%w: every pairable rating has the same value", ErrNoData)
	}
	return 1 - (n-1)*do/de, nil
}

func present(row []int) []int {
	out := make([]int, 0, len(row))
	for _, v := range row {
		if v != Missing {
			out = append(out, v)
		}
	}
	return out
}
