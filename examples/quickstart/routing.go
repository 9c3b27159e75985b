package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/label"
	"github.com/prefdata/prefdata/response"
)

// panelModels are the judges beside -judge: -judges and -strong-judge.
func (o options) panelModels() []string {
	var ms []string
	for _, m := range strings.Split(o.judges, ",") {
		if m = strings.TrimSpace(m); m != "" {
			ms = append(ms, m)
		}
	}
	if o.strongJudge != "" {
		ms = append(ms, o.strongJudge)
	}
	return ms
}

// judgePanel is the pairwise step when -judges or -strong-judge name more
// judges: a panel of -judge and -judges, each in both orders, with
// -strong-judge asked only where they leave doubt. Nil when there is only
// -judge. Every judge call is journaled as its answer arrives.
func judgePanel(judge prefdata.Generator, o options, newJudge func(model string) (*response.Generator, error)) (*filter.Panel, error) {
	if len(o.panelModels()) == 0 {
		return nil, nil
	}
	pairwise := func(g prefdata.Generator) *filter.PairwiseJudge {
		return &filter.PairwiseJudge{Generator: prefdata.JournalGenerator(g), Scale: filter.ThreeWay, Mode: filter.ConsistentOnly, MaxResponses: pairwiseMax}
	}
	panel := &filter.Panel{Judges: []*filter.PairwiseJudge{pairwise(judge)}}
	for _, m := range strings.Split(o.judges, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		g, err := newJudge(m)
		if err != nil {
			return nil, err
		}
		panel.Judges = append(panel.Judges, pairwise(g))
	}
	if o.strongJudge != "" {
		g, err := newJudge(o.strongJudge)
		if err != nil {
			return nil, err
		}
		panel.Cascade = &filter.Cascade{Strong: []*filter.PairwiseJudge{pairwise(g)}}
	}
	return panel, nil
}

// goal is the routing goal of the flags: the fixed threshold (-confidence)
// when set, else a human budget (-human-budget) when set, else the target
// accuracy (-target); with the audit fraction (-audit).
func (o options) goal() filter.Goal {
	var g filter.Goal
	switch {
	case o.humanBudget > 0:
		g = filter.HumanBudget(o.humanBudget)
	default:
		g = filter.TargetAccuracy(o.target)
	}
	g.Audit, g.Seed = o.audit, 1
	return g
}

// peopleSaid reads what people said so far from the run directory: the
// queue and, for each queued pair people decided (by the label server's
// policy), the response they preferred.
func peopleSaid(dir *prefdata.RunDir, policy label.Policy) (filter.PeopleSaid, error) {
	queue, err := label.OpenQueue(dir)
	if err != nil {
		return filter.PeopleSaid{}, err
	}
	store, err := label.OpenStore(dir)
	if err != nil {
		return filter.PeopleSaid{}, err
	}
	defer store.Close()
	said := filter.PeopleSaid{Preferred: map[string]string{}, Queue: queue.Pairs()}
	for _, p := range said.Queue {
		d := policy.Decide(p, store.ForPair(p.ID))
		if d.Status == label.Decided && d.Verdict == label.VerdictPrefer {
			said.Preferred[p.ID] = d.Preferred
		}
	}
	return said, nil
}

// calibratedPlan runs stages 1-3 once with the pipeline in FiltersOnly mode
// and the planner as its last filter (paying for what the run directory
// does not hold yet), then fits the calibrator on every pair, with people's
// labels, and routes by the goal. The fit starts when the pipeline is done
// with the stages (every candidate has passed the planner then), while the
// run's records are synced to disk. It returns once the run has, with the
// plan still being fitted.
//
// The plan is fitted twice: first without the bootstrap behind its
// intervals, which is all the routing needs (the pairs' probabilities and
// so the decisions are the point fit's), so the labeling pass can start;
// then with it, for the predicted accuracy and the judges' intervals in
// the stats and on the card. The two decisions are checked to be the same.
func calibratedPlan(ctx context.Context, p prefdata.Pipeline, planner *filter.RoutePlanner, o options) (*pendingPlan, prefdata.Stats, error) {
	p.Filters = append(append([]prefdata.Filter(nil), p.Filters...), planner)
	p.Labeler, p.Sink, p.Queue, p.FiltersOnly = nil, nil, nil, true
	var plan *pendingPlan
	p.AddStats = func(*prefdata.Stats) {
		plan = &pendingPlan{routed: make(chan struct{}), done: make(chan struct{})}
		go func() {
			defer close(plan.done)
			said, err := peopleSaid(p.Dir, label.Policy{})
			if err == nil {
				plan.routing, err = planner.Plan(filter.Calibrator{Seed: 1, Bootstrap: -1}, o.goal(), said)
			}
			plan.routingErr = err
			close(plan.routed)
			if err != nil {
				plan.err = err
				return
			}
			plan.plan, plan.err = planner.Plan(filter.Calibrator{Seed: 1}, o.goal(), said)
			if plan.err == nil && !slices.Equal(plan.plan.Routing.Decisions, plan.routing.Routing.Decisions) {
				plan.err = errors.New("quickstart: the route plan's decisions changed with its bootstrap")
			}
		}()
	}
	st, err := p.Run(ctx)
	if err == nil && plan == nil {
		err = errors.New("quickstart: the first pass ended without its stats")
	}
	if err != nil {
		if plan != nil {
			plan.wait(context.Background()) // before the directory is closed
		}
		return nil, st, err
	}
	return plan, st, nil
}

// pendingPlan is a route plan being fitted: its routing (the point fit,
// no intervals) when routed is closed, the whole plan when done is.
type pendingPlan struct {
	routed     chan struct{}
	routing    *filter.RoutePlan
	routingErr error
	done       chan struct{}
	plan       *filter.RoutePlan
	err        error
}

// waitRouting returns the plan's decisions (a plan without intervals) once
// they are made, or ctx's error first.
func (p *pendingPlan) waitRouting(ctx context.Context) (*filter.RoutePlan, error) {
	return waitFor(ctx, p.routed, &p.routing, &p.routingErr)
}

// wait returns the plan once it is fitted, or ctx's error first.
func (p *pendingPlan) wait(ctx context.Context) (*filter.RoutePlan, error) {
	return waitFor(ctx, p.done, &p.plan, &p.err)
}

// waitFor returns *plan and *err once ready is closed, or ctx's error
// first.
func waitFor(ctx context.Context, ready <-chan struct{}, plan **filter.RoutePlan, err *error) (*filter.RoutePlan, error) {
	select {
	case <-ready:
		return *plan, *err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// plannedLater is the labeling pass's AI labeler while its plan is being
// fitted: each Label waits for the plan's decisions, then routes by them. It is named
// as the plan's router is, so the labeling pass is the same run (run key,
// finished prompts) as one started after the fit.
type plannedLater struct {
	planner *filter.RoutePlanner
	plan    *pendingPlan
}

var (
	_ prefdata.Labeler = plannedLater{}
	_ prefdata.Namer   = plannedLater{}
)

func (l plannedLater) Name() string { return l.planner.Router(nil).Name() }

func (l plannedLater) Label(ctx context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
	plan, err := l.plan.waitRouting(ctx)
	if err != nil {
		// Not this candidate's failure: the run is stopped for it (see
		// run), so wait for that.
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	return l.planner.Router(plan).Label(ctx, c)
}

// firstPass carries the figures of the FiltersOnly pass into the stats of
// the labeling pass, which reads every generation back: the quickstart's
// two passes are one run.
func firstPass(s *prefdata.Stats, first prefdata.Stats) {
	s.Generate, s.Generators, s.Responses, s.Usage = first.Generate, first.Generators, first.Responses, first.Usage
	s.Filter = first.Filter
	s.Cached.PromptFilters, s.Cached.Generations, s.Cached.Filters = first.Cached.PromptFilters, first.Cached.Generations, first.Cached.Filters
}

// aiPairs is a Sink decorator that keeps the IDs of the pairs the AI
// labeled (written with Provenance.Stage 3), for the predicted accuracy of
// what was written.
type aiPairs struct {
	prefdata.Sink
	mu  sync.Mutex
	ids []string
}

func (s *aiPairs) WritePair(ctx context.Context, p prefdata.Pair) error {
	if p.Provenance.Stage == prefdata.StageFilter {
		s.mu.Lock()
		s.ids = append(s.ids, p.ID)
		s.mu.Unlock()
	}
	return s.Sink.WritePair(ctx, p)
}

func (s *aiPairs) Flush() error {
	if f, ok := s.Sink.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// routingStats are the plan's figures, counted as the output stands after
// the run: pairs of prompts finished by an earlier run keep the labels that
// run gave them, so the AI-labeled pairs are those written with
// Provenance.Stage 3 (their predicted accuracy under this run's
// calibration), and every other pair is with people (decided, or waiting).
func routingStats(plan *filter.RoutePlan, written []string) *prefdata.RoutingStats {
	st := plan.Stats()
	ai := map[string]bool{}
	var idx []int
	for _, id := range written {
		if i, ok := plan.Index(id); ok && !ai[id] {
			ai[id] = true
			idx = append(idx, i)
		}
	}
	st.Human, st.Labeled, st.Audit = 0, 0, 0
	for i, d := range plan.Routing.Decisions {
		if d.Audit {
			st.Audit++
		}
		switch {
		case ai[d.ID]:
		case plan.Calibration.Pairs[i].Labeled:
			st.Labeled++
		case !d.Audit:
			st.Human++
		}
	}
	if st.Pairs > 0 {
		st.HumanFraction = float64(st.Pairs-len(idx)) / float64(st.Pairs)
	}
	iv := plan.Calibration.Accuracy(idx)
	st.Predicted = prefdata.Estimate{Est: iv.Est, Lo: iv.Lo, Hi: iv.Hi}
	return st
}

// printRouting prints the goal, where the pairs went, the predicted and
// audited accuracy, and what the calibrator learned of each judge.
func printRouting(w io.Writer, st *prefdata.RoutingStats, cascade prefdata.CascadeStats) {
	if st == nil {
		return
	}
	goal := fmt.Sprintf("%s %g", st.Goal, st.Target)
	if st.Goal == "budget" {
		goal = fmt.Sprintf("human budget %d", st.Budget)
	}
	fmt.Fprintf(w, "Routing  goal: %s; %d pairs: %d with people for their label, %d decided by people, %d AI-labeled pairs audited by people (human share %.1f%%)\n",
		goal, st.Pairs, st.Human, st.Labeled, st.Audit, 100*st.HumanFraction)
	fmt.Fprintf(w, "         predicted accuracy of the AI-labeled pairs: %.3f [%.3f, %.3f]\n", st.Predicted.Est, st.Predicted.Lo, st.Predicted.Hi)
	if a := st.Audited; a != nil {
		fmt.Fprintf(w, "         audited accuracy: %.3f [%.3f, %.3f], people agreed on %d of %d audited pairs\n", a.Est, a.Lo, a.Hi, a.Agree, a.N)
	} else {
		fmt.Fprintln(w, "         audited accuracy: not yet measured (no audited pair labeled by people)")
	}
	if st.HumanLabels > 0 {
		fmt.Fprintf(w, "         calibrated with %d people's labels and the judges' agreement\n", st.HumanLabels)
	} else {
		fmt.Fprintln(w, "         calibrated from the judges' agreement alone (no people's labels yet)")
	}
	for _, j := range st.Judges {
		fmt.Fprintf(w, "         %s: accuracy %.3f [%.3f, %.3f], position bias %+.3f, consistent across orders %.0f%%\n",
			j.Judge, j.Accuracy.Est, j.Accuracy.Lo, j.Accuracy.Hi, j.PositionBias.Est, 100*j.Consistency)
	}
	if cascade.Asked > 0 {
		fmt.Fprintf(w, "         judge cascade: %d calls asked, %d saved\n", cascade.Asked, cascade.Saved)
	}
}
