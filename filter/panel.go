package filter

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/prefdata/prefdata"
)

// Panel is one stage-3 step in which several pairwise judges compare the
// same pairs, each in both orders: different models, or one model with
// different instructions ([JudgeVariant]). It appends every judge's
// [prefdata.Comparison] to the candidate, so each verdict is kept with its
// judge (Comparison.Scorer) and its order (Comparison.Orders, Raw): the
// evidence a [Calibrator] reads with [EvidenceOf], beside the reward
// models' margins in the candidate's scores.
//
// With a Cascade, the Judges are the cheap first tier: the strong judges
// are asked only about the pairs where the cheap verdicts leave doubt, and
// the calls saved are counted ([Panel.Stats], for [prefdata.Stats].Cascade).
//
// The judges are asked at the same time; a judge call that fails fails the
// candidate (a rerun asks again), a reply with no verdict is recorded as an
// undecided order, as [PairwiseJudge] does. A Panel is safe for concurrent
// use; do not change it while it runs.
type Panel struct {
	// Judges compare every pair (each with its own settings: model,
	// template, parser, scale).
	Judges []*PairwiseJudge
	// PairsFrom, if set, makes the judges compare only the pairs this
	// builder makes, the chosen response shown first in the first order
	// (two calls a pair and judge); give it the Router's or the
	// RoutePlanner's Pairs and leave the judges' own PairsFrom nil. Nil:
	// each judge compares what it would alone (every two responses, or its
	// own PairsFrom).
	PairsFrom *Pairs
	// Cascade, if set, adds a strong tier asked only where needed.
	Cascade *Cascade
	// PanelName names the panel in stats (default "panel").
	PanelName string

	asked, saved atomic.Int64
}

// Cascade is a [Panel]'s second tier: strong (costly) judges asked about a
// pair only when the panel's first-tier judges leave doubt, that is when
// the probability that their winner is people's is below Sure.
type Cascade struct {
	Strong []*PairwiseJudge
	// Sure is the probability at or above which a pair needs no strong
	// judge (default 0.9).
	Sure float64
	// Probability turns a pair's first-tier evidence into the probability
	// that the AI's winner is people's winner. Nil: a [Calibrator] with its
	// default priors fitted on the candidate's pairs alone (no bootstrap);
	// give it a calibration fitted on an earlier run to use what that run
	// learned of the judges.
	Probability func(Evidence) float64
	// Version is mixed into the fingerprint: change it when Probability
	// changes.
	Version string
}

var (
	_ prefdata.Filter        = (*Panel)(nil)
	_ prefdata.Fingerprinter = (*Panel)(nil)
	_ prefdata.Namer         = (*Panel)(nil)
)

// Name returns PanelName, default "panel".
func (pn *Panel) Name() string {
	if pn.PanelName != "" {
		return pn.PanelName
	}
	return "panel"
}

// Fingerprint covers every judge's fingerprint, the pairs and the cascade,
// so a pipeline with a run directory caches the panel's verdicts.
func (pn *Panel) Fingerprint() string {
	parts := []any{"filter.Panel/v1", pn.Name()}
	if pn.PairsFrom != nil {
		parts = append(parts, pn.PairsFrom.fingerprint())
	}
	for _, j := range pn.Judges {
		parts = append(parts, j.Fingerprint())
	}
	if cs := pn.Cascade; cs != nil {
		parts = append(parts, "cascade", cs.sure(), cs.Probability != nil, cs.Version)
		for _, j := range cs.Strong {
			parts = append(parts, j.Fingerprint())
		}
	}
	return prefdata.Hash(parts...)
}

// Stats returns the judge calls the panel made since it was created
// (Asked: two per comparison, re-asks of unreadable replies not counted)
// and, with a cascade, the strong judges' calls
// it did not need (Saved). Set them in [prefdata.Pipeline.AddStats].
func (pn *Panel) Stats() prefdata.CascadeStats {
	return prefdata.CascadeStats{Asked: int(pn.asked.Load()), Saved: int(pn.saved.Load())}
}

func (cs *Cascade) sure() float64 {
	if cs.Sure <= 0 || cs.Sure > 1 {
		return 0.9
	}
	return cs.Sure
}

// Filter asks every judge about c's pairs and, with a cascade, the strong
// judges about the doubtful ones; it returns c with all their comparisons
// appended, in the judges' order.
func (pn *Panel) Filter(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	if len(pn.Judges) == 0 {
		return c, errors.New("filter: Panel has no judges")
	}
	units := []prefdata.Candidate{c}
	if pn.PairsFrom != nil {
		units = units[:0]
		for _, p := range pn.PairsFrom.Build(c) {
			units = append(units, twoOf(c, p.Chosen, p.Rejected))
		}
	}
	cmps, err := pn.askAll(ctx, pn.Judges, units)
	if err != nil {
		return c, err
	}
	out := c
	out.Comparisons = append(append([]prefdata.Comparison(nil), c.Comparisons...), cmps...)
	if pn.Cascade == nil || len(pn.Cascade.Strong) == 0 {
		return out, nil
	}
	strong, err := pn.escalate(ctx, out, cmps)
	if err != nil {
		return c, err
	}
	out.Comparisons = append(out.Comparisons, strong...)
	return out, nil
}

// twoOf is the candidate of c's prompt with only a and b (a first) and
// their scores: a judge with no PairsFrom compares exactly that pair.
func twoOf(c prefdata.Candidate, a, b prefdata.Response) prefdata.Candidate {
	sub := prefdata.Candidate{Prompt: c.Prompt, Responses: []prefdata.Response{a, b}}
	for _, s := range c.Scores {
		if s.ResponseID == a.ID || s.ResponseID == b.ID {
			sub.Scores = append(sub.Scores, s)
		}
	}
	return sub
}

// askAll runs every judge on every unit, at the same time (at most
// panelConcurrency judge-units at once, each judge with its own
// Concurrency), and returns the new comparisons, judge by judge.
func (pn *Panel) askAll(ctx context.Context, judges []*PairwiseJudge, units []prefdata.Candidate) ([]prefdata.Comparison, error) {
	n := len(judges) * len(units)
	outs := make([][]prefdata.Comparison, n)
	errs := make([]error, n)
	forEach(ctx, n, panelConcurrency, func(k int) {
		j, u := judges[k/len(units)], units[k%len(units)]
		out, err := j.Filter(ctx, u)
		if err != nil {
			errs[k] = fmt.Errorf("judge %s: %w", j.model(), err)
			return
		}
		outs[k] = out.Comparisons[len(u.Comparisons):]
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var cmps []prefdata.Comparison
	for _, o := range outs {
		cmps = append(cmps, o...)
	}
	pn.asked.Add(int64(2 * len(cmps)))
	return cmps, nil
}

// panelConcurrency bounds the (judge, pair) jobs of one candidate in flight.
const panelConcurrency = 8

// escalate asks the strong judges about the pairs of the first tier's
// comparisons cmps on which the first tier is not sure.
func (pn *Panel) escalate(ctx context.Context, c prefdata.Candidate, cmps []prefdata.Comparison) ([]prefdata.Comparison, error) {
	cs := pn.Cascade
	byID := make(map[string]prefdata.Response, len(c.Responses))
	for _, r := range c.Responses {
		byID[r.ID] = r
	}
	// The pairs, in the order the first tier first compared them.
	type pair struct{ a, b prefdata.Response }
	var pairs []pair
	seen := map[string]bool{}
	for _, cmp := range cmps {
		id := prefdata.PairID(c.Prompt.ID, cmp.A, cmp.B)
		ra, okA := byID[cmp.A]
		rb, okB := byID[cmp.B]
		if seen[id] || !okA || !okB {
			continue
		}
		seen[id] = true
		pairs = append(pairs, pair{ra, rb})
	}
	evs := make([]Evidence, len(pairs))
	for i, p := range pairs {
		evs[i] = EvidenceOf(c, prefdata.Pair{ID: prefdata.PairID(c.Prompt.ID, p.a.ID, p.b.ID), Chosen: p.a, Rejected: p.b})
	}
	probs, err := cs.probabilities(evs)
	if err != nil {
		return nil, err
	}
	var doubtful []prefdata.Candidate
	for i, p := range pairs {
		if probs[i] >= cs.sure() {
			pn.saved.Add(int64(2 * len(cs.Strong)))
			continue
		}
		doubtful = append(doubtful, twoOf(c, p.a, p.b))
	}
	if len(doubtful) == 0 {
		return nil, nil
	}
	return pn.askAll(ctx, cs.Strong, doubtful)
}

func (cs *Cascade) probabilities(evs []Evidence) ([]float64, error) {
	out := make([]float64, len(evs))
	if cs.Probability != nil {
		for i, ev := range evs {
			out[i] = cs.Probability(ev)
		}
		return out, nil
	}
	if len(evs) == 0 {
		return out, nil
	}
	cal, err := Calibrator{Bootstrap: -1}.Fit(evs, nil)
	if err != nil {
		return nil, fmt.Errorf("cascade: %w", err)
	}
	for i, p := range cal.Pairs {
		out[i] = p.P
	}
	return out, nil
}

// JudgeVariant returns gen as a judge of its own for a [Panel]: named name
// (its comparisons' Scorer is "judge:" + name) and with the system message
// of every judge prompt replaced by instructions (added when there is
// none). One model with several variants is several judges; since such
// judges tend to make the same mistakes, the [Calibrator]'s Temper
// corrects for it once people's labels arrive.
func JudgeVariant(gen prefdata.Generator, name, instructions string) prefdata.Generator {
	return variantGen{gen: gen, name: name, system: instructions}
}

type variantGen struct {
	gen          prefdata.Generator
	name, system string
}

func (g variantGen) Name() string  { return g.name }
func (g variantGen) Model() string { return g.name }
func (g variantGen) Fingerprint() string {
	return prefdata.Hash("filter.JudgeVariant", genFingerprint(g.gen), g.name, g.system)
}

func (g variantGen) Generate(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	msgs := make([]prefdata.Message, 0, len(p.Messages)+1)
	replaced := false
	for _, m := range p.Messages {
		if m.Role == prefdata.RoleSystem && !replaced {
			m.Content, replaced = g.system, true
		}
		msgs = append(msgs, m)
	}
	if !replaced {
		msgs = append([]prefdata.Message{{Role: prefdata.RoleSystem, Content: g.system}}, msgs...)
	}
	p.Messages = msgs
	// Its own prompt ID, so two variants' answers never share response IDs.
	p.ID = "judge-" + prefdata.Hash(p.ID, g.name, g.system)[:16]
	return g.gen.Generate(ctx, p)
}
