package filter

import (
	"math"
	"sort"
	"strings"

	"github.com/prefdata/prefdata"
)

// Normalization rescales one scorer's values across the responses of a
// candidate before scores of different scorers are mixed.
type Normalization int

const (
	// NoNormalization uses the raw values (right when every scorer has the
	// same scale, e.g. the aspects of one rubric judge).
	NoNormalization Normalization = iota
	// ZScore subtracts the mean and divides by the standard deviation (a
	// scorer with equal values for all responses gives 0 to each).
	ZScore
	// MinMax maps the lowest value to 0 and the highest to 1 (0.5 for all
	// when they are equal).
	MinMax
)

// ComparisonsPrefix starts the name of the pseudo-scorer [Combine] derives
// from pairwise comparisons: "comparisons:" and the judge's scorer name. Its
// value for a response is the mean preference for it over all the
// comparisons it took part in, in [-1, 1].
const ComparisonsPrefix = "comparisons:"

// Combine makes one score per response from a candidate's scores: first the
// weighted mean of each scorer's aspects, then, after the chosen
// normalization, the weighted mean over scorers. The zero value averages
// every scorer's aspects and then every scorer, unnormalized; it uses the
// pairwise verdicts as scores only when the candidate has no pointwise score
// (a judge-only run).
type Combine struct {
	// Weights maps a scorer name ([prefdata.Score.Scorer], or
	// ComparisonsPrefix + judge name for pairwise verdicts) to its weight,
	// and "scorer/aspect" to the weight of one aspect within its scorer.
	// Nil gives every scorer and aspect weight 1. When not nil, scorers it
	// does not name are ignored (unless one of their aspects is named, which
	// gives the scorer weight 1), and so are unnamed aspects of a scorer
	// with named aspects.
	Weights   map[string]float64
	Normalize Normalization
}

// Scores returns the combined score of each response of c that has every
// required scorer, and for each response that lacks one, why it has no
// combined score. A response without a score is never given 0, and a NaN or
// infinite value counts as no score.
func (cb Combine) Scores(c prefdata.Candidate) (combined map[string]float64, missing map[string]string) {
	type key struct{ resp, scorer string }
	type acc struct{ sum, w float64 }
	aspectSums := map[key]*acc{}
	scorers := map[string]bool{}
	notNumber := map[key]bool{} // a NaN or infinite value: the scorer did not score the response
	for _, s := range c.Scores {
		w, ok := cb.aspectWeight(s.Scorer, s.Aspect)
		if !ok || w == 0 {
			continue
		}
		k := key{s.ResponseID, s.Scorer}
		scorers[s.Scorer] = true
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			notNumber[k] = true
			continue
		}
		a := aspectSums[k]
		if a == nil {
			a = &acc{}
			aspectSums[k] = a
		}
		a.sum += w * s.Value
		a.w += w
	}
	for judge, prefs := range comparisonScores(c) {
		name := ComparisonsPrefix + judge
		if cb.Weights == nil && len(c.Scores) > 0 {
			continue // pointwise scores exist: verdicts only route, unless weighted in
		}
		if w, ok := cb.aspectWeight(name, ""); !ok || w == 0 {
			continue
		}
		scorers[name] = true
		for id, v := range prefs {
			aspectSums[key{id, name}] = &acc{v, 1}
		}
	}
	required := make([]string, 0, len(scorers))
	for s := range scorers {
		if w := cb.scorerWeight(s); w != 0 {
			required = append(required, s)
		}
	}
	if cb.Weights != nil { // a named scorer that never scored is still required
		for name, w := range cb.Weights {
			if w != 0 && !strings.Contains(name, "/") && !scorers[name] {
				required = append(required, name)
			}
		}
	}
	sort.Strings(required)

	perScorer := make(map[string]map[string]float64, len(required)) // scorer → response → value
	for _, s := range required {
		vals := map[string]float64{}
		for _, r := range c.Responses {
			if a := aspectSums[key{r.ID, s}]; a != nil && a.w != 0 && !notNumber[key{r.ID, s}] {
				vals[r.ID] = a.sum / a.w
			}
		}
		normalize(vals, cb.Normalize)
		perScorer[s] = vals
	}
	combined, missing = map[string]float64{}, map[string]string{}
	for _, r := range c.Responses {
		var sum, wsum float64
		var lacks []string
		for _, s := range required {
			v, ok := perScorer[s][r.ID]
			if !ok {
				if notNumber[key{r.ID, s}] {
					s += " (not a number)"
				}
				lacks = append(lacks, s)
				continue
			}
			w := cb.scorerWeight(s)
			sum += w * v
			wsum += w
		}
		switch {
		case len(required) == 0:
			missing[r.ID] = "no scores"
		case len(lacks) > 0:
			missing[r.ID] = "no score from " + strings.Join(lacks, ", ")
		case wsum == 0:
			missing[r.ID] = "scorer weights sum to 0"
		default:
			combined[r.ID] = sum / wsum
		}
	}
	return combined, missing
}

// aspectWeight returns the weight of one aspect within its scorer, and false
// if the scorer is not used at all.
func (cb Combine) aspectWeight(scorer, aspect string) (float64, bool) {
	if cb.Weights == nil {
		return 1, true
	}
	if w, ok := cb.Weights[scorer+"/"+aspect]; ok && aspect != "" {
		return w, true
	}
	named := cb.hasNamedAspects(scorer)
	if _, ok := cb.Weights[scorer]; !ok && !named {
		return 0, false
	}
	if named {
		return 0, true // an unnamed aspect of a scorer with named aspects
	}
	return 1, true
}

func (cb Combine) hasNamedAspects(scorer string) bool {
	for k := range cb.Weights {
		if strings.HasPrefix(k, scorer+"/") {
			return true
		}
	}
	return false
}

func (cb Combine) scorerWeight(scorer string) float64 {
	if cb.Weights == nil {
		return 1
	}
	if w, ok := cb.Weights[scorer]; ok {
		return w
	}
	return 1 // used only through named aspects
}

func normalize(vals map[string]float64, n Normalization) {
	if n == NoNormalization || len(vals) == 0 {
		return
	}
	lo, hi, mean := math.Inf(1), math.Inf(-1), 0.0
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		mean += v
	}
	mean /= float64(len(vals))
	switch n {
	case ZScore:
		var ss float64
		for _, v := range vals {
			ss += (v - mean) * (v - mean)
		}
		sd := math.Sqrt(ss / float64(len(vals)))
		for k, v := range vals {
			if sd == 0 {
				vals[k] = 0
			} else {
				vals[k] = (v - mean) / sd
			}
		}
	case MinMax:
		for k, v := range vals {
			if hi == lo {
				vals[k] = 0.5
			} else {
				vals[k] = (v - lo) / (hi - lo)
			}
		}
	}
}

// comparisonScores returns, per judge, each response's mean preference over
// the comparisons it took part in.
func comparisonScores(c prefdata.Candidate) map[string]map[string]float64 {
	type acc struct {
		sum float64
		n   int
	}
	by := map[string]map[string]*acc{}
	add := func(judge, id string, v float64) {
		m := by[judge]
		if m == nil {
			m = map[string]*acc{}
			by[judge] = m
		}
		a := m[id]
		if a == nil {
			a = &acc{}
			m[id] = a
		}
		a.sum += v
		a.n++
	}
	for _, cmp := range c.Comparisons {
		add(cmp.Scorer, cmp.A, cmp.Preference)
		add(cmp.Scorer, cmp.B, -cmp.Preference)
	}
	out := make(map[string]map[string]float64, len(by))
	for judge, m := range by {
		out[judge] = make(map[string]float64, len(m))
		for id, a := range m {
			out[judge][id] = a.sum / float64(a.n)
		}
	}
	return out
}

// scoresOf returns the scores of the two responses, for Pair.Scores.
func scoresOf(c prefdata.Candidate, a, b string) []prefdata.Score {
	var out []prefdata.Score
	for _, s := range c.Scores {
		if s.ResponseID == a || s.ResponseID == b {
			out = append(out, s)
		}
	}
	return out
}
