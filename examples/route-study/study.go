package main

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/prefdata/prefdata/filter"
)

// people plays the annotators from a human-labels file: a pair's labels
// are revealed only when asked for, k at a time, in an order drawn by the
// seed, and each revealed label counts as human work.
type people struct {
	labels   map[string][]filter.HumanLabel // in the order they will be revealed
	overlap  int
	revealed map[string][]filter.HumanLabel
	work     int // labels revealed
}

func newPeople(all []filter.HumanLabel, overlap int, seed uint64) *people {
	p := &people{labels: map[string][]filter.HumanLabel{}, overlap: max(overlap, 1), revealed: map[string][]filter.HumanLabel{}}
	for _, h := range all {
		p.labels[h.ID] = append(p.labels[h.ID], h)
	}
	for id, ls := range p.labels {
		h := fnv.New64a()
		h.Write([]byte(id))
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		rng.Shuffle(len(ls), func(i, j int) { ls[i], ls[j] = ls[j], ls[i] })
	}
	return p
}

// ask sends pair id to people once: it reveals up to overlap of its
// labels (fewer if the file has fewer) and reports whether this was a new
// request.
func (p *people) ask(id string) bool {
	if _, done := p.revealed[id]; done {
		return false
	}
	ls := p.labels[id]
	k := min(p.overlap, len(ls))
	p.revealed[id] = ls[:k:k]
	p.work += k
	return true
}

// asked reports whether pair id went to people.
func (p *people) asked(id string) bool { _, ok := p.revealed[id]; return ok }

// majority is people's winner of an asked pair from its revealed labels:
// ChoiceA or ChoiceB by majority, else ChoiceNone (no label, a tie of
// votes, or a majority of "tie").
func (p *people) majority(id string) filter.Choice {
	var a, b, t int
	for _, l := range p.revealed[id] {
		switch l.Winner {
		case "a":
			a++
		case "b":
			b++
		default:
			t++
		}
	}
	switch {
	case a > b && a > t:
		return filter.ChoiceA
	case b > a && b > t:
		return filter.ChoiceB
	}
	return filter.ChoiceNone
}

func (p *people) known() map[string]filter.Choice {
	out := map[string]filter.Choice{}
	for id := range p.revealed {
		if c := p.majority(id); c != filter.ChoiceNone {
			out[id] = c
		}
	}
	return out
}

// studyConfig is what the flags set.
type studyConfig struct {
	goal       filter.Goal
	audit      float64
	calib      int // random pairs to people before the first fit
	rounds     int
	seed       uint64
	bootstrap  int
	byDoubt    bool
	mapWeights bool    // the labels weigh as many pairs as they stand for in the confidence map's fit (designWeights, filter.Calibrator.MapWeights)
	auditOnly  bool    // with mapWeights: the older weights, the audit's alone by 1/pi scaled to a mean of 1
	doubtShare float64 // with byDoubt: the share of the audit's inclusion probability in proportion to doubt (filter.Goal.AuditDoubt)
	auditMin   int     // floor of the audit sample, in pairs
	blocks     bool    // a judge's model is one correlated block (filter.JudgeModel)
	lead       bool    // a block may lead, if the labels say so (filter.Calibrator.Leads)
	consLead   bool    // the most order-consistent block may lead before labels (filter.Calibrator.ConsistencyLead)
	consCeil   bool    // the ceiling bounded by the most order-consistent judge (filter.Calibrator.ConsistencyCeiling)
	difficulty bool    // a latent easy/hard class (filter.Calibrator.Difficulty)
	misfit     bool    // the consistency lead only where the panel's fit misjudges the block (filter.Calibrator.LeadMisfit)
}

// outcome is a finished study.
type outcome struct {
	lines     []outLine
	human     int // pairs sent to people
	predicted filter.Interval
	measured  filter.Interval // the audit: AI winner vs people's on audited pairs
	audited   int
	cal       *filter.Calibration
	rounds    int
}

type outLine struct {
	ID     string   `json:"id"`
	Winner string   `json:"winner"`
	By     string   `json:"by"`
	P      *float64 `json:"p,omitempty"`
}

// study routes the pairs: a random calibration sample goes to people
// first; then, in rounds, the calibrator is fitted on every label so far,
// the goal routes the pairs, and the routed and audited pairs go to
// people, until a round sends nobody new.
func study(pairs []filter.JudgedPair, pp *people, cfg studyConfig) (outcome, error) {
	evs := make([]filter.Evidence, len(pairs))
	for i, p := range pairs {
		evs[i] = p.Evidence()
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 0xc0ffee))
	if cfg.calib > 0 {
		for _, i := range rng.Perm(len(pairs))[:min(cfg.calib, len(pairs))] {
			pp.ask(pairs[i].ID)
		}
	}
	var out outcome
	var cal *filter.Calibration
	var rt filter.Routing
	audited := map[string]float64{} // ID: audit weight
	for round := 1; ; round++ {
		var err error
		c := filter.Calibrator{Seed: cfg.seed, Bootstrap: cfg.bootstrap}
		if cfg.blocks {
			c.JudgeGroup = filter.JudgeModel
		}
		c.Leads = cfg.lead
		c.ConsistencyLead = cfg.consLead
		c.ConsistencyCeiling = cfg.consCeil
		c.Difficulty = cfg.difficulty
		c.LeadMisfit = cfg.misfit
		known := pp.known()
		if cfg.mapWeights && len(audited) > 0 {
			c.MapWeights = designWeights(known, audited, cfg.auditOnly)
		}
		cal, err = c.Fit(evs, known)
		if err != nil {
			return out, err
		}
		g := cfg.goal
		if round == 1 {
			// The audit sample is drawn once, from the first routing's
			// AI-labeled pairs; its labels also calibrate the next fits.
			g.Audit, g.Seed, g.AuditByDoubt, g.AuditDoubt, g.AuditMin = cfg.audit, cfg.seed, cfg.byDoubt, cfg.doubtShare, cfg.auditMin
		}
		rt = filter.Route(cal, g)
		out.rounds = round
		if round > cfg.rounds {
			break
		}
		fresh := 0
		for _, d := range rt.Decisions {
			if d.Audit {
				audited[d.ID] = d.AuditWeight
			}
			if (d.Human || d.Audit) && pp.ask(d.ID) {
				fresh++
			}
		}
		if fresh == 0 {
			break
		}
	}
	// The measured accuracy: the audited pairs that the final routing
	// would label by AI (as confident as its least confident AI-labeled
	// pair), people's winner against the AI's.
	cutoff := 2.0
	for _, d := range rt.Decisions {
		if !d.Human {
			cutoff = math.Min(cutoff, d.P)
		}
	}
	var final []filter.Decision
	for i, d := range rt.Decisions {
		if a, ok := audited[d.ID]; ok && cal.Pairs[i].P >= cutoff {
			d.Audit, d.AuditWeight = true, a
			final = append(final, d)
		}
	}
	out.measured, out.audited = filter.Measured(final, pp.known())
	var aiIdx []int
	for i, d := range rt.Decisions {
		l := outLine{ID: d.ID, Winner: d.Winner.String(), By: "ai"}
		if pp.asked(d.ID) {
			l.By = "human"
			out.human++
			if m := pp.majority(d.ID); m != filter.ChoiceNone {
				l.Winner = m.String()
			}
		} else {
			p := round3(d.P)
			l.P = &p
			aiIdx = append(aiIdx, i)
		}
		out.lines = append(out.lines, l)
	}
	out.predicted = cal.Accuracy(aiIdx)
	out.cal = cal
	return out, nil
}

// designWeights weighs each labeled pair in the fit of the confidence map
// by the number of pairs of the whole set it stands for: an audited pair
// by its inverse audit probability 1/pi, any other labeled pair (routed
// to people, or in the calibration sample) by 1, since routing sends every
// pair of its doubtful region. The map is then fitted as on every pair,
// the AI-labeled ones too, and not mostly on the doubtful pairs people
// were sent. The weights are scaled to sum to Kish's effective sample size
// (sum w)^2 / sum w^2, so the labels count for no more than they are
// worth. auditOnly keeps the older weighting: only the audited pairs
// weighted, by 1/pi scaled to a mean of 1, the others 1.
func designWeights(known map[string]filter.Choice, audited map[string]float64, auditOnly bool) map[string]float64 {
	out := make(map[string]float64, len(known))
	// Sums in ID order, so that a run does not depend on map order.
	if auditOnly {
		var sum float64
		for _, id := range sortedIDs(audited) {
			sum += audited[id]
		}
		for id, w := range audited {
			out[id] = w * float64(len(audited)) / sum
		}
		return out
	}
	return filter.DesignWeights(known, audited)
}

func round3(x float64) float64 { return float64(int(x*1000+0.5)) / 1000 }

// sortedIDs returns the IDs of m in order.
func sortedIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
