package filter_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// scored returns a candidate whose responses r0, r1, ... have the given
// values from scorer "rm".
func scored(vals ...float64) prefdata.Candidate {
	c := prefdata.Candidate{Prompt: prompt("q")}
	for i, v := range vals {
		id := fmt.Sprintf("r%d", i)
		c.Responses = append(c.Responses, resp(id, "answer "+id))
		c.Scores = append(c.Scores, prefdata.Score{ResponseID: id, Scorer: "rm", Value: v})
	}
	return c
}

type pairView struct {
	Chosen, Rejected string
	Margin           float64
}

func view(ps []prefdata.Pair) []pairView {
	out := []pairView{}
	for _, p := range ps {
		out = append(out, pairView{p.Chosen.ID, p.Rejected.ID, p.Margin})
	}
	return out
}

func TestPairsBuild(t *testing.T) {
	tests := []struct {
		name string
		b    filter.Pairs
		c    prefdata.Candidate
		want []pairView
	}{
		{"best vs worst", filter.Pairs{Strategy: filter.BestVsWorst}, scored(1, 3, 2, 0.5), []pairView{{"r1", "r3", 2.5}}},
		{"best vs worst all tied", filter.Pairs{Strategy: filter.BestVsWorst}, scored(2, 2, 2), []pairView{}},
		{"best vs worst gap not above margin", filter.Pairs{Strategy: filter.BestVsWorst, MinGap: 1}, scored(2, 1), []pairView{}},
		{"best vs random lower single", filter.Pairs{}, scored(1, 3, 3), []pairView{{"r1", "r0", 2}}},
		{"best vs random lower tie", filter.Pairs{}, scored(3, 3), []pairView{}},
		{"all above margin", filter.Pairs{Strategy: filter.AllAboveMargin, MinGap: 0.5}, scored(1, 3, 2, 2.25), []pairView{{"r1", "r3", 0.75}, {"r1", "r2", 1}, {"r1", "r0", 2}, {"r3", "r0", 1.25}, {"r2", "r0", 1}}},
		{"all pairs with ties dropped", filter.Pairs{Strategy: filter.AllAboveMargin}, scored(1, 1, 2), []pairView{{"r2", "r0", 1}, {"r2", "r1", 1}}},
		{"one response", filter.Pairs{}, scored(1), []pairView{}},
		// A response whose score is not a number takes no part, and does not
		// stop the others from pairing.
		{"NaN score left out", filter.Pairs{Strategy: filter.BestVsWorst}, scored(1, nan(), 3), []pairView{{"r2", "r0", 2}}},
		{"infinite score left out", filter.Pairs{Strategy: filter.AllAboveMargin}, scored(1, math.Inf(1), 3), []pairView{{"r2", "r0", 2}}},
		// A negative MinGap never lets equal scores (or a reversed order) through.
		{"negative margin, random lower", filter.Pairs{MinGap: -1}, scored(2, 2), []pairView{}},
		{"negative margin, best vs worst", filter.Pairs{Strategy: filter.BestVsWorst, MinGap: -1}, scored(2, 2), []pairView{}},
		{"negative margin, all pairs", filter.Pairs{Strategy: filter.AllAboveMargin, MinGap: -1}, scored(2, 1, 2), []pairView{{"r0", "r1", 1}, {"r2", "r1", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.b.Build(tt.c)
			assert.Equal(t, tt.want, view(got))
			for _, p := range got {
				assert.Equal(t, prefdata.PairID("p1", p.Chosen.ID, p.Rejected.ID), p.ID)
				assert.Greater(t, p.ScoreChosen, p.ScoreRejected)
				assert.Len(t, p.Scores, 2)
			}
		})
	}
}

func TestPairsRandomLowerIsSeededAndStrictlyLower(t *testing.T) {
	c := scored(5, 1, 2, 3, 4, 5)
	seen := map[string]int{}
	for seed := uint64(0); seed < 200; seed++ {
		b := filter.Pairs{Seed: seed}
		ps := b.Build(c)
		require.Len(t, ps, 1)
		assert.Equal(t, "r0", ps[0].Chosen.ID, "ties for best keep the first")
		assert.NotEqual(t, "r5", ps[0].Rejected.ID, "a tie is never a pair")
		seen[ps[0].Rejected.ID]++
		assert.Equal(t, view(ps), view(b.Build(c)), "same seed, same pair")
	}
	assert.Len(t, seen, 4, "every strictly lower response is drawn: %v", seen)
}

func TestCombine(t *testing.T) {
	c := prefdata.Candidate{Prompt: prompt("q"), Responses: []prefdata.Response{resp("a", "x"), resp("b", "y"), resp("c", "z")}}
	add := func(id, scorer, aspect string, v float64) {
		c.Scores = append(c.Scores, prefdata.Score{ResponseID: id, Scorer: scorer, Aspect: aspect, Value: v})
	}
	add("a", "judge", "helpfulness", 5)
	add("a", "judge", "honesty", 3)
	add("b", "judge", "helpfulness", 2)
	add("b", "judge", "honesty", 2)
	add("c", "judge", "helpfulness", 4)
	add("a", "rm", "", 1.5)
	add("b", "rm", "", -0.5)
	tests := []struct {
		name    string
		cb      filter.Combine
		want    map[string]float64
		missing map[string]string
	}{
		{"mean of aspects and scorers", filter.Combine{Weights: map[string]float64{"judge": 1}},
			map[string]float64{"a": 4, "b": 2, "c": 4}, map[string]string{}},
		{"weighted aspects", filter.Combine{Weights: map[string]float64{"judge/helpfulness": 3, "judge/honesty": 1}},
			map[string]float64{"a": 4.5, "b": 2, "c": 4}, map[string]string{}},
		{"missing rm score is not zero", filter.Combine{},
			map[string]float64{"a": 2.75, "b": 0.75}, map[string]string{"c": "no score from rm"}},
		{"minmax normalized", filter.Combine{Normalize: filter.MinMax, Weights: map[string]float64{"judge": 1, "rm": 1}},
			map[string]float64{"a": 1, "b": 0}, map[string]string{"c": "no score from rm"}},
		{"zscore normalized", filter.Combine{Normalize: filter.ZScore, Weights: map[string]float64{"rm": 1}},
			map[string]float64{"a": 1, "b": -1}, map[string]string{"c": "no score from rm"}},
		{"named scorer absent", filter.Combine{Weights: map[string]float64{"other": 1}},
			map[string]float64{}, map[string]string{"a": "no score from other", "b": "no score from other", "c": "no score from other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, missing := tt.cb.Scores(c)
			assert.InDeltaMapValues(t, tt.want, got, 1e-9)
			assert.Len(t, got, len(tt.want))
			assert.Equal(t, tt.missing, missing)
		})
	}
	t.Run("not a number is no score", func(t *testing.T) {
		cc := scored(1, nan(), 3)
		cc.Scores = append(cc.Scores, prefdata.Score{ResponseID: "r1", Scorer: "judge", Value: 2})
		got, missing := filter.Combine{}.Scores(cc)
		assert.Equal(t, map[string]string{"r0": "no score from judge", "r1": "no score from rm (not a number)", "r2": "no score from judge"}, missing)
		assert.Empty(t, got)
		got, missing = filter.Combine{Weights: map[string]float64{"rm": 1}}.Scores(cc)
		assert.Equal(t, map[string]float64{"r0": 1, "r2": 3}, got)
		assert.Equal(t, map[string]string{"r1": "no score from rm (not a number)"}, missing)
	})
	t.Run("comparisons as scores", func(t *testing.T) {
		cc := prefdata.Candidate{Prompt: prompt("q"), Responses: c.Responses, Comparisons: []prefdata.Comparison{
			{A: "a", B: "b", Scorer: "j", Preference: 1, Consistent: true},
			{A: "c", B: "a", Scorer: "j", Preference: 0.5, Consistent: true},
		}}
		got, _ := filter.Combine{}.Scores(cc)
		assert.InDeltaMapValues(t, map[string]float64{"a": 0.25, "b": -1, "c": 0.5}, got, 1e-9)
	})
}

func TestScoresAdapter(t *testing.T) {
	c := candidate("q", resp("a", "x"), resp("b", "y"), resp("c", "z"))
	tests := []struct {
		name    string
		scorer  prefdata.ScorerFunc
		policy  filter.ErrorPolicy
		kept    []string
		scores  int
		dropped map[string]string // id → reason substring
		err     string
	}{
		{"all scored", func(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
			var out []prefdata.Score
			for i, r := range rs {
				out = append(out, prefdata.Score{ResponseID: r.ID, Value: float64(i)})
			}
			return out, nil
		}, filter.DropFailed, []string{"a", "b", "c"}, 3, map[string]string{}, ""},
		{"one failed is dropped, not zero", func(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
			return []prefdata.Score{{ResponseID: "a", Value: 1}, {ResponseID: "c", Value: 2}},
				errors.Join(&filter.ResponseError{ResponseID: "b", Err: errors.New("context too long")})
		}, filter.DropFailed, []string{"a", "c"}, 2, map[string]string{"b": "not scored: context too long"}, ""},
		{"missing score without error", func(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
			return []prefdata.Score{{ResponseID: "a", Value: 1}, {ResponseID: "b", Value: 2}}, nil
		}, filter.DropFailed, []string{"a", "b"}, 2, map[string]string{"c": "no score"}, ""},
		{"NaN is a failure", func(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
			return []prefdata.Score{{ResponseID: "a", Value: 1}, {ResponseID: "b", Value: 2}, {ResponseID: "c", Value: nan()}}, nil
		}, filter.DropFailed, []string{"a", "b"}, 2, map[string]string{"c": "not a number"}, ""},
		{"all failed fails the candidate", func(context.Context, prefdata.Prompt, []prefdata.Response) ([]prefdata.Score, error) {
			return nil, errors.New("connection refused")
		}, filter.DropFailed, nil, 0, nil, "3 of 3 responses not scored: connection refused"},
		{"fail candidate policy", func(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
			return []prefdata.Score{{ResponseID: "a", Value: 1}}, errors.New("b, c: 503")
		}, filter.FailCandidate, nil, 0, nil, "2 of 3 responses not scored: b, c: 503"},
		{"unknown response", func(context.Context, prefdata.Prompt, []prefdata.Response) ([]prefdata.Score, error) {
			return []prefdata.Score{{ResponseID: "zzz", Value: 1}}, nil
		}, filter.DropFailed, nil, 0, nil, `unknown response "zzz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filter.ScoresWith(tt.scorer, filter.ScoresConfig{Name: "rm", OnError: tt.policy})
			got, err := f.Filter(context.Background(), c)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.kept, ids(got.Responses))
			assert.Len(t, got.Scores, tt.scores)
			for _, s := range got.Scores {
				assert.Equal(t, "rm", s.Scorer)
			}
			assert.Len(t, got.Dropped, len(tt.dropped))
			for _, d := range got.Dropped {
				assert.Equal(t, "rm", d.Filter)
				assert.Contains(t, d.Reason, tt.dropped[d.ResponseID])
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestRIP(t *testing.T) {
	floor := 0.0
	tests := []struct {
		name   string
		cfg    filter.RIPConfig
		c      prefdata.Candidate
		reject string
	}{
		{"keeps good prompt", filter.RIPConfig{MinRejected: &floor, MaxGap: 3}, scored(2, 1, 0.5), ""},
		{"low rejected reward", filter.RIPConfig{MinRejected: &floor}, scored(2, -1, 0.5), "rejected response r1 scores -1, below 0"},
		{"gap too wide", filter.RIPConfig{MaxGap: 2}, scored(3, 0.5), "score gap 2.5 between r0 and r1 is above 2"},
		{"short rejected", filter.RIPConfig{MinRejectedWords: 3}, scored(3, 0.5), "rejected response r1 has 2 words, fewer than 3"},
		{"single response left alone", filter.RIPConfig{MinRejected: &floor}, scored(-5), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filter.RIP(tt.cfg)
			assert.Equal(t, "rip", f.(prefdata.Namer).Name())
			_, err := f.Filter(context.Background(), tt.c)
			if tt.reject == "" {
				assert.NoError(t, err)
				return
			}
			reason, ok := prefdata.Rejection(err)
			require.True(t, ok, "not a rejection: %v", err)
			assert.Equal(t, "rip: "+tt.reject, reason)
		})
	}
}

func TestRouter(t *testing.T) {
	cmp := func(a, b string, pref float64, consistent bool) prefdata.Comparison {
		return prefdata.Comparison{A: a, B: b, Scorer: "judge:j", Preference: pref, Consistent: consistent}
	}
	tests := []struct {
		name   string
		rt     filter.Router
		c      prefdata.Candidate
		human  bool
		conf   float64
		reason string
	}{
		{"big gap no judge", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}}, scored(3, 1), false, 1, "confident: no judge, gap 2 of 1"},
		{"small gap no judge", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}}, scored(1.2, 1), true, 0.2, "small-gap: no judge"},
		{"judge agrees consistently", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}},
			with(scored(1.5, 1), cmp("r0", "r1", 1, true)), false, 0.833, "confident: judge judge:j consistent, preference +1.00"},
		{"judge agrees, swapped order in record", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}},
			with(scored(1.5, 1), cmp("r1", "r0", -0.5, true)), false, 0.833, "confident: judge judge:j consistent, preference +0.50"},
		{"judge inconsistent", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}},
			with(scored(3, 1), cmp("r0", "r1", 0, false)), true, 0.5, "judge-inconsistent"},
		{"judge gave no verdict in one order", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}},
			with(scored(3, 1), prefdata.Comparison{A: "r0", B: "r1", Scorer: "judge:j", Orders: []*float64{prefdata.Float(1), nil}}), true, 0.5, "judge-no-verdict: judge judge:j gave no verdict in one order"},
		{"judge disagrees", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}},
			with(scored(3, 1), cmp("r0", "r1", -1, true)), true, 0.25, "judge-disagrees"},
		{"judge tie", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}},
			with(scored(1.2, 1), cmp("r0", "r1", 0, true)), true, 0.567, "judge-tie"},
		{"require judge", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}, RequireJudge: true}, scored(3, 1), true, 0, "no-judge"},
		{"lower threshold", filter.Router{Pairs: filter.Pairs{Strategy: filter.BestVsWorst}, Threshold: 0.1}, scored(1.2, 1), false, 0.2, "confident"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := tt.rt.Label(context.Background(), tt.c)
			require.NoError(t, err)
			require.Len(t, ps, 1)
			p := ps[0]
			assert.Equal(t, tt.human, p.NeedsHuman)
			assert.InDelta(t, tt.conf, p.Provenance.Confidence, 1e-9)
			assert.Contains(t, p.Provenance.Reason, tt.reason)
			assert.Equal(t, prefdata.StageFilter, p.Provenance.Stage)
			assert.Equal(t, "router", p.Provenance.Labeler)
		})
	}
	t.Run("reason counts", func(t *testing.T) {
		var all []prefdata.Pair
		for _, tt := range tests {
			ps, _ := tt.rt.Label(context.Background(), tt.c)
			all = append(all, ps...)
		}
		assert.Equal(t, map[string]int{"ai/confident": 4, "human/small-gap": 1, "human/judge-inconsistent": 1,
			"human/judge-no-verdict": 1, "human/judge-disagrees": 1, "human/judge-tie": 1, "human/no-judge": 1}, filter.RouteReasons(all))
	})
}

func with(c prefdata.Candidate, cmps ...prefdata.Comparison) prefdata.Candidate {
	c.Comparisons = append(c.Comparisons, cmps...)
	return c
}

func TestStage2Pairs(t *testing.T) {
	l := filter.Stage2Pairs(filter.Pairs{Strategy: filter.AllAboveMargin})
	ps, err := l.Label(context.Background(), scored(1, 4, 2))
	require.NoError(t, err)
	assert.Equal(t, []pairView{{"r1", "r0", 3}}, view(ps))
	assert.Equal(t, prefdata.StageGenerate, ps[0].Provenance.Stage)
	assert.False(t, ps[0].NeedsHuman)
	assert.Equal(t, map[string]int{"ai/" + filter.ReasonScoresOnly: 1}, filter.RouteReasons(ps), "a one-word key, as the Router's")
	_, ok := l.(prefdata.Fingerprinter)
	assert.True(t, ok)
}

// RouteReasons counts exactly as the pipeline's Stats.Routes does, so a
// report built from a run's pairs matches its manifest.
func TestRouteReasonsMatchStatsRoutes(t *testing.T) {
	reasons := []string{"", "  ", " small-gap : padded", "confident: fine", "no-colon", "judge-tie: x: y"}
	var ai, human []prefdata.Pair
	p := &prefdata.Pipeline{
		Source: prefdata.Prompts(prompt("q")),
		Generators: []prefdata.Generator{prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
			return []prefdata.Response{resp("a", "x"), resp("b", "y")}, nil
		})},
		Labeler: prefdata.LabelerFunc(func(_ context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
			var out []prefdata.Pair
			for i, why := range reasons {
				out = append(out, prefdata.Pair{ID: fmt.Sprint("pair-", i), Prompt: c.Prompt, Chosen: c.Responses[0], Rejected: c.Responses[1],
					NeedsHuman: i%2 == 0, Provenance: prefdata.Provenance{Stage: prefdata.StageFilter, Reason: why}})
			}
			return out, nil
		}),
		Sink:  prefdata.SinkFunc(func(_ context.Context, pr prefdata.Pair) error { ai = append(ai, pr); return nil }),
		Queue: prefdata.SinkFunc(func(_ context.Context, pr prefdata.Pair) error { human = append(human, pr); return nil }),
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, append(ai, human...), len(reasons))
	assert.Equal(t, st.Routes, filter.RouteReasons(append(ai, human...)))
	assert.Equal(t, map[string]int{"human/unspecified": 1, "ai/unspecified": 1, "human/small-gap": 1, "ai/confident": 1, "human/no-colon": 1, "ai/judge-tie": 1},
		filter.RouteReasons(append(ai, human...)))
}
