package filter

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/prefdata/prefdata"
)

// Routing reasons: the key (the text before the first colon) of every
// [Router] pair's Provenance.Reason, counted by [RouteReasons] and by the
// pipeline's [prefdata.Stats.Routes].
const (
	ReasonConfident         = "confident"          // above the threshold: labeled by AI
	ReasonJudgeInconsistent = "judge-inconsistent" // the judge changed its verdict when the order was swapped
	ReasonJudgeNoVerdict    = "judge-no-verdict"   // the judge's reply in one order had no readable verdict
	ReasonJudgeDisagrees    = "judge-disagrees"    // the judge prefers the response the scores rejected
	ReasonJudgeTie          = "judge-tie"          // the judge saw no difference
	ReasonSmallGap          = "small-gap"          // the score gap is small
	ReasonNoJudge           = "no-judge"           // RequireJudge set and no comparison of the pair
	ReasonScoresOnly        = "scores-only"        // a Stage2Pairs pair: ordered by scores alone, not routed
)

// Router is the Labeler of stage 3: it builds pairs with Pairs, gives each a
// confidence, labels the confident ones by AI (Provenance.Stage =
// StageFilter) and sends the rest to people (NeedsHuman), saving human work
// on the pairs machines can settle.
//
// The confidence is a weighted mean of up to three signals, each in [0, 1]:
// the judge's self-consistency across both orders (1 if its verdicts
// agreed, else 0), the judge's agreement with the scores (1 if it prefers
// the chosen response, 0.5 for a tie, 0 if it prefers the rejected one),
// and the score gap (Margin / GapScale, capped at 1). Pairs with no
// comparison by a judge use the gap alone. A judge that consistently
// prefers the rejected response caps the confidence at 0.25, whatever the
// gap.
//
// Router's confidence is a fixed heuristic, not a probability, and its
// threshold says nothing about the accuracy of the AI-labeled pairs. To
// route by a goal (a target accuracy, a human budget) with a calibrated
// probability, fit a [Calibrator] on all the pairs' [Evidence] and [Route]
// them ([RoutePlanner] and [PlannedRouter] do it inside a pipeline); Router
// stays for a fixed threshold without a fit.
type Router struct {
	Pairs Pairs
	// Threshold is the confidence at or above which a pair is labeled by AI
	// (default 0.7).
	Threshold float64
	// GapScale is the score gap that counts as fully sure (default 1, on
	// the combined score's scale).
	GapScale float64
	// Weights of the consistency, agreement and gap signals (all zero:
	// 1, 1, 1).
	ConsistencyWeight, AgreementWeight, GapWeight float64
	// RequireJudge sends pairs no judge compared to people.
	RequireJudge bool
	// LabelerName names the labeler in stats and provenance (default "router").
	LabelerName string
}

func (rt Router) withDefaults() Router {
	if rt.Threshold == 0 {
		rt.Threshold = 0.7
	}
	if rt.GapScale <= 0 {
		rt.GapScale = 1
	}
	if rt.ConsistencyWeight == 0 && rt.AgreementWeight == 0 && rt.GapWeight == 0 {
		rt.ConsistencyWeight, rt.AgreementWeight, rt.GapWeight = 1, 1, 1
	}
	if rt.LabelerName == "" {
		rt.LabelerName = "router"
	}
	return rt
}

var _ prefdata.Labeler = Router{}

// Name returns the labeler's name (default "router").
func (rt Router) Name() string { return rt.withDefaults().LabelerName }

// Fingerprint makes the pipeline cache the router's pairs in the run
// directory.
func (rt Router) Fingerprint() string {
	rt = rt.withDefaults()
	return prefdata.Hash("filter.Router/v2", // v2: judge-no-verdict reason
		rt.Pairs.fingerprint(), rt.Threshold, rt.GapScale,
		rt.ConsistencyWeight, rt.AgreementWeight, rt.GapWeight, rt.RequireJudge, rt.LabelerName)
}

// Label builds c's pairs and routes each.
func (rt Router) Label(_ context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
	rt = rt.withDefaults()
	pairs := rt.Pairs.Build(c)
	for i := range pairs {
		rt.route(c, &pairs[i])
	}
	return pairs, nil
}

// route sets the pair's provenance and NeedsHuman.
func (rt Router) route(c prefdata.Candidate, p *prefdata.Pair) {
	gap := math.Min(1, math.Max(0, p.Margin/rt.GapScale))
	cmp, pref, found := comparisonOf(c, p.Chosen.ID, p.Rejected.ID)
	var conf float64
	var why string
	judge := ""
	if found {
		judge = cmp.Scorer
		consistency := 0.0
		if cmp.Consistent {
			consistency = 1
		}
		agreement := 0.5
		switch {
		case pref > 0:
			agreement = 1
		case pref < 0:
			agreement = 0
		}
		wsum := rt.ConsistencyWeight + rt.AgreementWeight + rt.GapWeight
		conf = (rt.ConsistencyWeight*consistency + rt.AgreementWeight*agreement + rt.GapWeight*gap) / wsum
		if cmp.Consistent && pref < 0 {
			conf = math.Min(conf, 0.25)
		}
		detail := consistentWord(cmp.Consistent)
		switch {
		case undecided(cmp):
			why, detail = ReasonJudgeNoVerdict, "gave no verdict in one order"
		case !cmp.Consistent:
			why = ReasonJudgeInconsistent
		case pref < 0:
			why = ReasonJudgeDisagrees
		case pref == 0:
			why = ReasonJudgeTie
		default:
			why = ReasonSmallGap
		}
		why += fmt.Sprintf(": judge %s %s, preference %+.2f, gap %.3g", cmp.Scorer, detail, pref, p.Margin)
	} else {
		conf = gap
		why = ReasonSmallGap + fmt.Sprintf(": no judge, gap %.3g of %.3g", p.Margin, rt.GapScale)
		if rt.RequireJudge {
			conf = 0
			why = ReasonNoJudge + ": no judge compared the pair"
		}
	}
	conf = math.Round(conf*1000) / 1000
	p.NeedsHuman = conf < rt.Threshold
	if !p.NeedsHuman {
		why = ReasonConfident + why[strings.Index(why, ":"):]
	}
	p.Provenance = prefdata.Provenance{Stage: prefdata.StageFilter, Labeler: rt.LabelerName, Judge: judge, Confidence: conf, Reason: why}
}

// undecided reports whether one order of cmp has no parsed verdict (a
// [PairwiseJudge] records such a comparison as not consistent).
func undecided(cmp prefdata.Comparison) bool {
	for _, o := range cmp.Orders {
		if o == nil {
			return true
		}
	}
	return false
}

func consistentWord(ok bool) string {
	if ok {
		return "consistent"
	}
	return "inconsistent"
}

// comparisonOf finds a comparison of a and b and returns the preference for
// a, in [-1, 1].
func comparisonOf(c prefdata.Candidate, a, b string) (prefdata.Comparison, float64, bool) {
	for _, cmp := range c.Comparisons {
		switch {
		case cmp.A == a && cmp.B == b:
			return cmp, cmp.Preference, true
		case cmp.A == b && cmp.B == a:
			return cmp, -cmp.Preference, true
		}
	}
	return prefdata.Comparison{}, 0, false
}

// RouteReasons counts pairs by the key of their Provenance.Reason (the text
// before its first colon, trimmed: the Reason constants of [Router];
// "unspecified" when empty), split by where they went: "ai/" or "human/"
// and the key, e.g. "human/judge-inconsistent". It counts as the pipeline's
// [prefdata.Stats.Routes] does; use it on the pairs and queue of a rerun,
// whose Stats count only the new pairs.
func RouteReasons(pairs []prefdata.Pair) map[string]int {
	out := map[string]int{}
	for _, p := range pairs {
		out[prefdata.RouteKey(p)]++
	}
	return out
}

// FormatCounts renders counts as "k=v" pairs sorted by key, for logs.
func FormatCounts(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, counts[k])
	}
	return strings.Join(parts, " ")
}
