package filter

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/prefdata/prefdata"
)

// Routing reasons of a [PlannedRouter]'s pairs (the key of
// Provenance.Reason, counted in [prefdata.Stats.Routes]).
const (
	ReasonCalibrated   = "calibrated"   // labeled by AI: the goal lets its winner stand
	ReasonDoubtful     = "doubtful"     // to people: the goal needs a person's label
	ReasonAudit        = "audit"        // labeled by AI, also sent to people to measure the AI's accuracy
	ReasonUncalibrated = "uncalibrated" // to people: the pair was not in the plan
)

// RoutePlanner routes by goal inside a [prefdata.Pipeline], which labels
// one candidate at a time while a goal (a target accuracy, a human budget)
// is a decision over every pair at once. Run the pipeline twice:
//
//  1. with FiltersOnly set and the planner as the last filter: stages 1-3
//     run (and are journaled), and the planner collects the evidence
//     ([EvidenceOf]) of every pair its Pairs builds, returning each
//     candidate unchanged;
//  2. then [RoutePlanner.Plan] fits the [Calibrator] on all of it, with
//     people's labels so far, and routes by the goal; the plan's
//     [PlannedRouter] is the Labeler of the second, normal run, which labels
//     the candidates the first run kept in its Pipeline.Memo and reads the
//     others' judgments back from the run directory.
//
// It is safe for concurrent use.
type RoutePlanner struct {
	// Pairs builds the pairs, as the PlannedRouter will; give the judges
	// the same (PairwiseJudge.PairsFrom, Panel.PairsFrom).
	Pairs Pairs

	mu    sync.Mutex
	pairs map[string]plannedPair
}

// plannedPair is what the plan keeps of a pair: its evidence and the two
// responses, a the AI's tentative winner (Pairs' chosen).
type plannedPair struct {
	ev   Evidence
	a, b string
}

var (
	_ prefdata.Filter = (*RoutePlanner)(nil)
	_ prefdata.Namer  = (*RoutePlanner)(nil)
)

// Name returns "route-planner".
func (pl *RoutePlanner) Name() string { return "route-planner" }

// Filter records the evidence of c's pairs and returns c unchanged. It has
// no fingerprint: the pipeline runs it every time.
func (pl *RoutePlanner) Filter(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	built := pl.Pairs.Build(c)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.pairs == nil {
		pl.pairs = map[string]plannedPair{}
	}
	for _, p := range built {
		if p.ID == "" {
			p.ID = prefdata.PairID(c.Prompt.ID, p.Chosen.ID, p.Rejected.ID)
		}
		pl.pairs[p.ID] = plannedPair{ev: EvidenceOf(c, p), a: p.Chosen.ID, b: p.Rejected.ID}
	}
	return c, nil
}

// Len returns the number of pairs collected.
func (pl *RoutePlanner) Len() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.pairs)
}

// PeopleSaid is what people have said so far, for [RoutePlanner.Plan]: the
// calibrator learns from it, and it measures the audit.
type PeopleSaid struct {
	// Preferred maps the ID of each pair people decided to the ID of the
	// response they preferred (ties and "both bad" left out). Build it from
	// the run directory's human labels (label.Policy.Decide) or a gold file.
	Preferred map[string]string
	// Queue holds the pairs sent to people before (the run directory's
	// queue file). An audited pair stays audited, and the audit's measured
	// accuracy is people's agreement with the AI's order recorded there.
	Queue []prefdata.Pair
}

// Plan fits cal on the collected pairs and people's labels, routes them by
// goal, and returns the plan. Pairs people already decided stay with
// people; pairs audited before stay audited.
func (pl *RoutePlanner) Plan(cal Calibrator, goal Goal, people PeopleSaid) (*RoutePlan, error) {
	pl.mu.Lock()
	ids := make([]string, 0, len(pl.pairs))
	for id := range pl.pairs {
		ids = append(ids, id)
	}
	pairs := make([]plannedPair, 0, len(ids))
	sort.Strings(ids) // the fit and the audit draw do not depend on arrival order
	for _, id := range ids {
		pairs = append(pairs, pl.pairs[id])
	}
	pl.mu.Unlock()

	evs := make([]Evidence, len(pairs))
	labels := map[string]Choice{}
	for i, p := range pairs {
		evs[i] = p.ev
		switch people.Preferred[p.ev.ID] {
		case "":
		case p.a:
			labels[p.ev.ID] = ChoiceA
		case p.b:
			labels[p.ev.ID] = ChoiceB
		}
	}
	if cal.MapWeights == nil {
		// People's labels fit the confidence map as the pairs they stand
		// for: an audited pair's as many AI-labeled pairs as its audit
		// weight, a pair routed to people its own.
		audit := map[string]float64{}
		for _, q := range people.Queue {
			if _, ok := labels[q.ID]; ok && q.Provenance.Audit {
				audit[q.ID] = q.Provenance.AuditWeight
			}
		}
		if len(audit) > 0 {
			cal.MapWeights = DesignWeights(labels, audit)
		}
	}
	c, err := cal.Fit(evs, labels)
	if err != nil {
		return nil, fmt.Errorf("filter: route plan: %w", err)
	}
	rt := Route(c, goal)
	plan := &RoutePlan{Goal: goal, Calibration: c, Routing: rt, index: make(map[string]int, len(pairs)), pairs: pairs}
	for i, p := range pairs {
		plan.index[p.ev.ID] = i
	}
	// Audits of earlier runs stay audits, and are measured.
	agree, n := 0, 0
	for _, q := range people.Queue {
		if !q.Provenance.Audit {
			continue
		}
		if i, ok := plan.index[q.ID]; ok && !plan.Routing.Decisions[i].Audit {
			d := &plan.Routing.Decisions[i]
			if !d.Human || c.Pairs[i].Labeled {
				if !d.Human {
					plan.Routing.Audit++
				}
				d.Audit = true
			}
		}
		if pref, ok := people.Preferred[q.ID]; ok {
			n++
			if pref == q.Chosen.ID {
				agree++
			}
		}
	}
	if n > 0 {
		w := Wilson(agree, n)
		plan.Audited = &prefdata.Measured{Estimate: estimate(w), Agree: agree, N: n}
	}
	return plan, nil
}

// DesignWeights returns the weights ([Calibrator.MapWeights]) of the
// labeled pairs that fit the confidence map as the whole set would: each
// label weighs the pairs it stands for, an audited pair its audit weight
// (audit[id], the inverse of its probability of being drawn; 1 when not
// above 0), any other labeled pair (one routed to people, all of whose
// doubtful region went to people) 1. They are scaled to sum to their
// effective number, (sum w)^2 / sum w^2 (Kish), so they count for no more
// labels than they are worth. Without weights the labels of the routed
// pairs, many and all doubtful, outweigh the few audited ones, the only
// labels among the pairs the AI keeps. RoutePlanner.Plan uses them when
// the calibrator has none.
func DesignWeights[V any](labeled map[string]V, audit map[string]float64) map[string]float64 {
	weight := func(id string) float64 {
		if w, ok := audit[id]; ok && w > 0 {
			return w
		}
		return 1
	}
	ids := make([]string, 0, len(labeled))
	for id := range labeled {
		ids = append(ids, id)
	}
	sort.Strings(ids) // sums in ID order: a run does not depend on map order
	var s1, s2 float64
	for _, id := range ids {
		w := weight(id)
		s1 += w
		s2 += w * w
	}
	out := make(map[string]float64, len(ids))
	if s2 == 0 {
		return out
	}
	for _, id := range ids {
		out[id] = weight(id) * s1 / s2
	}
	return out
}

// RoutePlan is the result of [RoutePlanner.Plan].
type RoutePlan struct {
	Goal        Goal
	Calibration *Calibration
	Routing     Routing
	// Audited is the audit's measured accuracy: of the audited pairs people
	// decided, the share where they kept the AI's order; nil before any.
	Audited *prefdata.Measured

	index map[string]int
	pairs []plannedPair
}

// Index returns the position of the pair with the given ID in
// Calibration.Pairs and Routing.Decisions.
func (rp *RoutePlan) Index(pairID string) (int, bool) {
	i, ok := rp.index[pairID]
	return i, ok
}

// Decision returns the decision of the pair with the given ID.
func (rp *RoutePlan) Decision(pairID string) (Decision, bool) {
	i, ok := rp.index[pairID]
	if !ok {
		return Decision{}, false
	}
	return rp.Routing.Decisions[i], true
}

// Router returns the Labeler that applies the plan, building pairs with the
// planner's Pairs. Wrap it with label.Human so that people's labels settle
// the pairs it sends them.
func (pl *RoutePlanner) Router(plan *RoutePlan) PlannedRouter {
	return PlannedRouter{Pairs: pl.Pairs, Plan: plan}
}

// PlannedRouter is the stage-3 Labeler of a [RoutePlan]: it builds each
// candidate's pairs, orders each by the AI's calibrated winner, and sends it
// to people (NeedsHuman) when the plan routes it to them or audits it.
// Provenance.Confidence is the calibrated probability that the order is
// the one people would choose, Provenance.Audit marks the audit sample and
// Provenance.Value the expected gain from a person's label (the label
// server offers the highest first). Reasons: [ReasonCalibrated],
// [ReasonDoubtful], [ReasonAudit], [ReasonUncalibrated].
//
// It has no fingerprint: its output changes with the plan.
type PlannedRouter struct {
	Pairs Pairs
	Plan  *RoutePlan
	// LabelerName names it in stats and provenance (default
	// "router:calibrated").
	LabelerName string
}

var (
	_ prefdata.Labeler = PlannedRouter{}
	_ prefdata.Namer   = PlannedRouter{}
)

// Name returns LabelerName, default "router:calibrated".
func (r PlannedRouter) Name() string {
	if r.LabelerName != "" {
		return r.LabelerName
	}
	return "router:calibrated"
}

// Label builds c's pairs and routes each by the plan.
func (r PlannedRouter) Label(_ context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
	pairs := r.Pairs.Build(c)
	for i := range pairs {
		p := &pairs[i]
		if p.ID == "" {
			p.ID = prefdata.PairID(c.Prompt.ID, p.Chosen.ID, p.Rejected.ID)
		}
		cmp, _, found := comparisonOf(c, p.Chosen.ID, p.Rejected.ID)
		judge := ""
		if found {
			judge = cmp.Scorer
		}
		prov := prefdata.Provenance{Stage: prefdata.StageFilter, Labeler: r.Name(), Judge: judge}
		var dec Decision
		ok := false
		if r.Plan != nil {
			dec, ok = r.Plan.Decision(p.ID)
		}
		if !ok {
			p.NeedsHuman = true
			prov.Reason = ReasonUncalibrated + ": the pair was not in the routing plan"
			p.Provenance = prov
			continue
		}
		if dec.Winner == ChoiceB {
			p.Chosen, p.Rejected = p.Rejected, p.Chosen
			p.ScoreChosen, p.ScoreRejected = p.ScoreRejected, p.ScoreChosen
			p.Margin = 0 // the scores did not decide this order: unknown
		}
		p.NeedsHuman = dec.Human || dec.Audit
		prov.Confidence = math.Round(dec.P*1e4) / 1e4
		prov.Audit = dec.Audit
		if dec.Audit {
			prov.AuditWeight = math.Round(dec.AuditWeight*1e4) / 1e4
		}
		prov.Value = math.Round(dec.Value*1e4) / 1e4
		goal := r.Plan.Goal
		goal.Audit = 0
		switch {
		case dec.Audit:
			prov.Reason = fmt.Sprintf("%s: P %.3f, one of the AI-labeled pairs drawn for people to check (%s)", ReasonAudit, dec.P, goal)
		case dec.Human:
			prov.Reason = fmt.Sprintf("%s: P %.3f, the %s needs a person here", ReasonDoubtful, dec.P, goal)
		default:
			prov.Reason = fmt.Sprintf("%s: P %.3f within the %s", ReasonCalibrated, dec.P, goal)
		}
		p.Provenance = prov
	}
	return pairs, nil
}

// Stats returns the plan's figures for [prefdata.Stats].Routing: the goal,
// where the pairs went, the predicted accuracy of the AI-labeled pairs, the
// audit's measured accuracy, the curve (at most about a hundred points, the
// chosen point among them) and each judge's estimates.
func (rp *RoutePlan) Stats() *prefdata.RoutingStats {
	rt := rp.Routing
	n := len(rt.Decisions)
	st := &prefdata.RoutingStats{
		Pairs:       n,
		Human:       rt.Human - rt.Labeled,
		Audit:       rt.Audit,
		Labeled:     rt.Labeled,
		Predicted:   estimate(rt.Predicted),
		Audited:     rp.Audited,
		HumanLabels: rp.Calibration.Labeled,
	}
	if n > 0 {
		st.HumanFraction = float64(rt.Human) / float64(n)
	}
	switch rp.Goal.Kind {
	case GoalTarget:
		st.Goal, st.Target = "target", rp.Goal.Target
	case GoalBudget:
		st.Goal, st.Budget = "budget", rp.Goal.Budget
	case GoalThreshold:
		st.Goal, st.Threshold = "threshold", rp.Goal.Threshold
	}
	curve := rp.Calibration.Curve()
	step := max(1, (len(curve)+99)/100)
	for i, pt := range curve {
		if i%step == 0 || i == len(curve)-1 || pt.Human == rt.Human {
			st.Curve = append(st.Curve, prefdata.CurvePoint{Human: pt.Human, Fraction: pt.Fraction, Predicted: pt.Predicted})
		}
	}
	for _, j := range rp.Calibration.Judges {
		st.Judges = append(st.Judges, prefdata.JudgeEstimate{
			Judge: j.Judge, Accuracy: estimate(j.Accuracy), PositionBias: estimate(j.PositionBias),
			Consistency: j.Consistency, Verdicts: j.Verdicts,
		})
	}
	return st
}

func estimate(iv Interval) prefdata.Estimate {
	return prefdata.Estimate{Est: iv.Est, Lo: iv.Lo, Hi: iv.Hi}
}
