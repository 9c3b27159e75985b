package filter

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/prefdata/prefdata"
)

// Strategy is how [Pairs] picks pairs from scored responses (binarization).
type Strategy int

const (
	// BestVsRandomLower pairs the best response with one drawn at random
	// among those with a strictly lower score (UltraFeedback as binarized
	// by Argilla and Tulu 3). The default.
	BestVsRandomLower Strategy = iota
	// BestVsWorst pairs the best response with the worst (Magpie DPO).
	BestVsWorst
	// AllAboveMargin makes every pair whose score gap is above MinGap
	// (InstructGPT's C(K,2) pairs from a ranking of K).
	AllAboveMargin
)

func (s Strategy) String() string {
	switch s {
	case BestVsRandomLower:
		return "best-vs-random-lower"
	case BestVsWorst:
		return "best-vs-worst"
	case AllAboveMargin:
		return "all-above-margin"
	}
	return fmt.Sprintf("strategy(%d)", int(s))
}

// Pairs builds preference pairs from a candidate's combined scores. Equal
// scores are never paired: a pair needs a gap strictly above MinGap (which
// defaults to 0). The zero value is best vs a random strictly lower
// response, with every scorer averaged.
type Pairs struct {
	Strategy Strategy
	// MinGap is the score gap a pair must exceed; below 0 it counts as 0.
	MinGap float64
	// Seed seeds the random draw of BestVsRandomLower. The draw for a
	// candidate depends only on the seed and the prompt ID, so a run is
	// reproducible whatever the order candidates are labeled in.
	Seed    uint64
	Combine Combine
}

// Build returns the candidate's pairs, ordered chosen-first, with Margin the
// score gap, the combined scores of both sides, and the scores behind them.
// Responses without a combined score (a scorer missing) take no part. The
// pairs' Provenance is left for the caller to fill.
func (b Pairs) Build(c prefdata.Candidate) []prefdata.Pair {
	combined, _ := b.Combine.Scores(c)
	type scored struct {
		r prefdata.Response
		v float64
	}
	var rs []scored
	for _, r := range c.Responses {
		if v, ok := combined[r.ID]; ok {
			rs = append(rs, scored{r, v})
		}
	}
	if len(rs) < 2 {
		return nil
	}
	// Best first; equal scores keep the candidate's order.
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].v > rs[j].v })
	mk := func(ch, rej scored) prefdata.Pair {
		return prefdata.Pair{
			ID:            prefdata.PairID(c.Prompt.ID, ch.r.ID, rej.r.ID),
			Prompt:        c.Prompt,
			Chosen:        ch.r,
			Rejected:      rej.r,
			Margin:        ch.v - rej.v,
			ScoreChosen:   ch.v,
			ScoreRejected: rej.v,
			Scores:        scoresOf(c, ch.r.ID, rej.r.ID),
		}
	}
	minGap := max(b.MinGap, 0) // a tie is never a pair, whatever MinGap says
	best := rs[0]
	switch b.Strategy {
	case BestVsWorst:
		worst := rs[len(rs)-1]
		if best.v-worst.v > minGap {
			return []prefdata.Pair{mk(best, worst)}
		}
	case AllAboveMargin:
		var out []prefdata.Pair
		for i := range rs {
			for j := i + 1; j < len(rs); j++ {
				if rs[i].v-rs[j].v > minGap {
					out = append(out, mk(rs[i], rs[j]))
				}
			}
		}
		return out
	default:
		var lower []scored
		for _, s := range rs[1:] {
			if best.v-s.v > minGap {
				lower = append(lower, s)
			}
		}
		if len(lower) > 0 {
			return []prefdata.Pair{mk(best, lower[b.rng(c.Prompt.ID).IntN(len(lower))])}
		}
	}
	return nil
}

func (b Pairs) rng(promptID string) *rand.Rand {
	h, _ := hex.DecodeString(prefdata.Hash("filter.Pairs", b.Seed, promptID)[:32])
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:])))
}

func (b Pairs) fingerprint() string {
	return prefdata.Hash("filter.Pairs", b.Strategy, b.MinGap, b.Seed, b.Combine.Weights, b.Combine.Normalize)
}

// Stage2Pairs returns a Labeler for the pair set after stage 2: best vs
// worst by combined score alone (say, a reward model's), with
// Provenance.Stage = StageGenerate and no routing. It lets a run emit the
// stage-2 dataset next to the stage-3 one, to compare reward models trained
// on each, as the framework's evaluation does. b's Strategy is ignored.
func Stage2Pairs(b Pairs) prefdata.Labeler {
	b.Strategy = BestVsWorst
	return stage2{b}
}

type stage2 struct{ b Pairs }

func (stage2) Name() string { return "stage2-best-vs-worst" }

func (s stage2) Fingerprint() string { return "stage2/v2:" + s.b.fingerprint() } // v2: reason key scores-only

func (s stage2) Label(_ context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
	pairs := s.b.Build(c)
	for i := range pairs {
		pairs[i].Provenance = prefdata.Provenance{Stage: prefdata.StageGenerate, Labeler: s.Name(), Confidence: 1, Reason: ReasonScoresOnly + ": stage 2, best vs worst by score"}
	}
	return pairs, nil
}

// RIPConfig configures [RIP]. Each check is off when its field is zero
// (MinRejected nil). The thresholds are settings with no default from the
// paper: tune them on the distribution of your own rewards.
type RIPConfig struct {
	Combine Combine
	// MinRejected is the floor on the rejected (lowest-scored) response's
	// score.
	MinRejected *float64
	// MinRejectedWords is the floor on the rejected response's length in
	// words.
	MinRejectedWords int
	// MaxGap is the ceiling on the gap between the best and the worst
	// score.
	MaxGap float64
}

// RIP is the Rejecting Instruction Preferences prompt filter (arXiv
// 2501.18578) on final scores: it rejects the whole candidate when its
// lowest-scored response scores below a floor, is too short, or when the gap
// between its best and worst responses is too wide; such prompts tend to
// give uniformly poor or erratic answers. A candidate with fewer than two
// scored responses is left alone. Its name is "rip".
func RIP(cfg RIPConfig) prefdata.Filter {
	return prefdata.Named("rip", prefdata.FilterFunc(func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		combined, _ := cfg.Combine.Scores(c)
		if len(combined) < 2 {
			return c, nil
		}
		var best, worst *prefdata.Response
		for i := range c.Responses {
			r := &c.Responses[i]
			v, ok := combined[r.ID]
			if !ok {
				continue
			}
			if best == nil || v > combined[best.ID] {
				best = r
			}
			if worst == nil || v < combined[worst.ID] {
				worst = r
			}
		}
		lo, hi := combined[worst.ID], combined[best.ID]
		switch {
		case cfg.MinRejected != nil && lo < *cfg.MinRejected:
			return c, prefdata.Reject(fmt.Sprintf("rip: rejected response %s scores %.3g, below %.3g", worst.ID, lo, *cfg.MinRejected))
		case cfg.MinRejectedWords > 0 && len(strings.Fields(worst.Text)) < cfg.MinRejectedWords:
			return c, prefdata.Reject(fmt.Sprintf("rip: rejected response %s has %d words, fewer than %d", worst.ID, len(strings.Fields(worst.Text)), cfg.MinRejectedWords))
		case cfg.MaxGap > 0 && hi-lo > cfg.MaxGap:
			return c, prefdata.Reject(fmt.Sprintf("rip: score gap %.3g between %s and %s is above %.3g", hi-lo, best.ID, worst.ID, cfg.MaxGap))
		}
		return c, nil
	}))
}
