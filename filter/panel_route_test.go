package filter_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// simJudge is a simulated judge: in each order it picks the response shown
// first with probability bias, else the better one with probability acc.
type simJudge struct {
	name      string
	acc, bias float64
}

// simCandidates returns n candidates of two responses each, with a noisy
// score (the scores' order is right 65% of the time), the comparisons of
// the judges in both orders, and the truth: the ID of the better response.
func simCandidates(n int, seed uint64, judges ...simJudge) ([]prefdata.Candidate, map[string]string) {
	rng := rand.New(rand.NewPCG(seed, 7))
	truth := map[string]string{}
	var cands []prefdata.Candidate
	for i := range n {
		p := prefdata.Prompt{ID: fmt.Sprintf("p%04d", i), Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "q"}}}
		good, bad := prefdata.Response{ID: p.ID + "-good", PromptID: p.ID, Text: "good"}, prefdata.Response{ID: p.ID + "-bad", PromptID: p.ID, Text: "bad"}
		rs := []prefdata.Response{good, bad}
		if rng.IntN(2) == 0 {
			rs[0], rs[1] = bad, good
		}
		c := prefdata.Candidate{Prompt: p, Responses: rs}
		sg, sb := 1.0, 0.0
		if rng.Float64() > 0.65 {
			sg, sb = 0, 1
		}
		c.Scores = []prefdata.Score{{ResponseID: good.ID, Scorer: "rm", Value: sg}, {ResponseID: bad.ID, Scorer: "rm", Value: sb}}
		a, b := rs[0], rs[1]
		for _, j := range judges {
			pick := func(first, second prefdata.Response) string {
				if rng.Float64() < j.bias {
					return first.ID
				}
				if rng.Float64() < j.acc {
					return good.ID
				}
				return bad.ID
			}
			pref := func(id string) *float64 {
				if id == a.ID {
					return prefdata.Float(1)
				}
				return prefdata.Float(-1)
			}
			o1, o2 := pref(pick(a, b)), pref(pick(b, a))
			cmp := prefdata.Comparison{A: a.ID, B: b.ID, Scorer: "judge:" + j.name, Orders: []*float64{o1, o2}, Consistent: *o1 == *o2}
			if cmp.Consistent {
				cmp.Preference = *o1
			}
			c.Comparisons = append(c.Comparisons, cmp)
		}
		truth[prefdata.PairID(p.ID, a.ID, b.ID)] = good.ID
		cands = append(cands, c)
	}
	return cands, truth
}

// plannerOf passes cands through a new RoutePlanner, which only looks.
func plannerOf(t *testing.T, cands []prefdata.Candidate) *filter.RoutePlanner {
	t.Helper()
	planner := &filter.RoutePlanner{}
	for _, c := range cands {
		out, err := planner.Filter(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, c, out, "the planner only looks")
	}
	return planner
}

func TestRoutePlanMeetsTheTargetAndAudits(t *testing.T) {
	cands, truth := simCandidates(600, 1,
		simJudge{"strong", 0.9, 0.05}, simJudge{"biased", 0.8, 0.4}, simJudge{"weak", 0.7, 0.1})
	planner := plannerOf(t, cands)
	ctx := context.Background()
	require.Equal(t, 600, planner.Len())
	goal := filter.TargetAccuracy(0.95)
	goal.Audit, goal.Seed = 0.05, 3
	plan, err := planner.Plan(filter.Calibrator{Seed: 1}, goal, filter.PeopleSaid{})
	require.NoError(t, err)
	st := plan.Stats()
	assert.Equal(t, "target", st.Goal)
	assert.Equal(t, 0.95, st.Target)
	assert.GreaterOrEqual(t, st.Predicted.Est, 0.95)
	assert.Positive(t, st.Human)
	assert.Less(t, st.Human, 600)
	assert.Zero(t, st.HumanLabels)
	assert.Nil(t, st.Audited, "nobody has labeled an audit yet")
	assert.NotEmpty(t, st.Curve)
	assert.LessOrEqual(t, len(st.Curve), 103)
	assert.Len(t, st.Judges, 3)

	router := planner.Router(plan)
	var ai, aiRight, audits, human int
	var queue []prefdata.Pair
	for _, c := range cands {
		pairs, err := router.Label(ctx, c)
		require.NoError(t, err)
		require.Len(t, pairs, 1)
		p := pairs[0]
		assert.Equal(t, prefdata.StageFilter, p.Provenance.Stage)
		assert.InDelta(t, 1-p.Provenance.Confidence, p.Provenance.Value, 1e-3)
		switch {
		case p.Provenance.Audit:
			audits++
			assert.True(t, p.NeedsHuman, "an audited pair goes to people too")
			assert.Equal(t, "human/"+filter.ReasonAudit, prefdata.RouteKey(p))
		case p.NeedsHuman:
			human++
			assert.Equal(t, "human/"+filter.ReasonDoubtful, prefdata.RouteKey(p))
		default:
			assert.Equal(t, "ai/"+filter.ReasonCalibrated, prefdata.RouteKey(p))
		}
		if !p.NeedsHuman || p.Provenance.Audit {
			ai++
			if truth[p.ID] == p.Chosen.ID {
				aiRight++
			}
		}
		if p.NeedsHuman {
			queue = append(queue, p)
		}
	}
	assert.Equal(t, st.Human, human)
	assert.Equal(t, st.Audit, audits)
	assert.InDelta(t, 0.05*float64(ai), float64(audits), 1.5, "a 5%% audit of the AI-labeled pairs")
	measured := float64(aiRight) / float64(ai)
	t.Logf("human %d, audit %d, AI %d; predicted %v, measured %.3f", human, audits, ai, st.Predicted, measured)
	assert.GreaterOrEqual(t, measured, 0.92, "the AI-labeled pairs keep (about) the target")
	assert.InDelta(t, st.Predicted.Est, measured, 0.03, "predicted %.3f, measured %.3f", st.Predicted.Est, measured)

	// People label the queue (truthfully): the next plan learns from
	// them, keeps the audits, and measures them.
	preferred := map[string]string{}
	for _, q := range queue {
		preferred[q.ID] = truth[q.ID]
	}
	plan2, err := planner.Plan(filter.Calibrator{Seed: 1}, goal, filter.PeopleSaid{Preferred: preferred, Queue: queue})
	require.NoError(t, err)
	st2 := plan2.Stats()
	assert.Equal(t, len(queue), st2.HumanLabels, "recalibrated on people's labels")
	assert.Equal(t, len(queue), st2.Labeled)
	require.NotNil(t, st2.Audited)
	assert.Equal(t, audits, st2.Audited.N)
	assert.LessOrEqual(t, st2.Audited.Lo, st2.Audited.Est)
	assert.GreaterOrEqual(t, st2.Audited.Hi, st2.Audited.Est)
	for _, q := range queue {
		d, ok := plan2.Decision(q.ID)
		require.True(t, ok)
		assert.True(t, d.Human, "a pair people decided stays theirs")
		assert.Equal(t, q.Provenance.Audit, d.Audit, "an audited pair stays audited")
	}
	relabeled, err := planner.Router(plan2).Label(ctx, cands[0])
	require.NoError(t, err)
	if _, asked := preferred[relabeled[0].ID]; asked {
		assert.True(t, relabeled[0].NeedsHuman, "so label.Human applies people's label")
	}
}

func TestPlannedRouterWithoutAPlanSendsToPeople(t *testing.T) {
	cands, _ := simCandidates(1, 2, simJudge{"j", 0.9, 0})
	pairs, err := filter.PlannedRouter{}.Label(context.Background(), cands[0])
	require.NoError(t, err)
	require.Len(t, pairs, 1)
	assert.True(t, pairs[0].NeedsHuman)
	assert.Equal(t, "human/"+filter.ReasonUncalibrated, prefdata.RouteKey(pairs[0]))
}

// An audited pair carries its audit weight in its provenance, and the next
// plan fits the confidence map on people's labels weighted by the pairs
// they stand for (DesignWeights): the audited pairs' labels count for the
// AI-labeled pairs they were drawn from, not once each like the routed
// pairs' labels.
func TestRoutePlanWeighsAuditLabels(t *testing.T) {
	cands, truth := simCandidates(600, 2,
		simJudge{"strong", 0.9, 0.05}, simJudge{"biased", 0.8, 0.4}, simJudge{"weak", 0.7, 0.1})
	planner := plannerOf(t, cands)
	ctx := context.Background()
	goal := filter.TargetAccuracy(0.95)
	goal.Audit, goal.Seed = 0.05, 3
	plan, err := planner.Plan(filter.Calibrator{Seed: 1}, goal, filter.PeopleSaid{})
	require.NoError(t, err)
	router := planner.Router(plan)
	var queue []prefdata.Pair
	preferred := map[string]string{}
	audit := map[string]float64{}
	for _, c := range cands {
		pairs, err := router.Label(ctx, c)
		require.NoError(t, err)
		p := pairs[0]
		if !p.NeedsHuman {
			continue
		}
		queue = append(queue, p)
		preferred[p.ID] = truth[p.ID]
		if p.Provenance.Audit {
			d, _ := plan.Decision(p.ID)
			assert.InDelta(t, d.AuditWeight, p.Provenance.AuditWeight, 1e-4, "the audit weight recorded")
			assert.Greater(t, p.Provenance.AuditWeight, 1.0)
			audit[p.ID] = p.Provenance.AuditWeight
		} else {
			assert.Zero(t, p.Provenance.AuditWeight, "a pair routed to people has none")
		}
	}
	require.NotEmpty(t, audit, "no audit: the test would test nothing")
	said := filter.PeopleSaid{Preferred: preferred, Queue: queue}

	posteriors := func(cal filter.Calibrator) []filter.Posterior {
		plan, err := planner.Plan(cal, goal, said)
		require.NoError(t, err)
		return plan.Calibration.Pairs
	}
	byDefault := posteriors(filter.Calibrator{Seed: 1})
	weighted := posteriors(filter.Calibrator{Seed: 1, MapWeights: filter.DesignWeights(preferred, audit)})
	unweighted := posteriors(filter.Calibrator{Seed: 1, MapWeights: map[string]float64{}})
	assert.Equal(t, weighted, byDefault, "the plan weighs the labels by DesignWeights")
	assert.NotEqual(t, unweighted, byDefault, "the weights change the map")

	// The weights: an audited label against a routed one as its audit
	// weight, summing to the labels' effective number.
	w := filter.DesignWeights(preferred, audit)
	var s1, s2, sum float64
	for id := range preferred {
		a := audit[id]
		if a == 0 {
			a = 1
		}
		s1, s2 = s1+a, s2+a*a
		sum += w[id]
	}
	assert.InDelta(t, s1*s1/s2, sum, 1e-9)
	for id, a := range audit {
		for rid := range preferred {
			if _, ok := audit[rid]; !ok {
				assert.InDelta(t, a, w[id]/w[rid], 1e-9)
				break
			}
		}
	}
}
