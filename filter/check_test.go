package filter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/response/openaitest"
)

// Every filter of the package keeps the Filter contract.
func TestFiltersKeepTheContract(t *testing.T) {
	g, _ := pairwiseServer(t, prefdata.Sampling{}, func(a, b string) openaitest.Reply {
		if len(a) >= len(b) {
			return openaitest.Reply{Content: "[[A]]"}
		}
		return openaitest.Reply{Content: "[[B]]"}
	})
	floor := 0.0
	c := candidate("Explain photosynthesis briefly.",
		resp("a", "Plants turn light, water and carbon dioxide into sugar and oxygen."),
		resp("b", ""),
		resp("c", "I'm sorry, but I can't help with that."),
		resp("d", strings.Repeat("green leaves ", 30)),
		resp("e", "Plants turn light, water and carbon dioxide into sugar and oxygen!"),
		resp("f", "Фотосинтез — это процесс, при котором растения используют свет."),
	)
	c.Scores = []prefdata.Score{{ResponseID: "a", Scorer: "old", Value: 1}}
	c.Dropped = []prefdata.Drop{{ResponseID: "z", Filter: "earlier", Reason: "gone"}}
	scorer := prefdata.ScorerFunc(func(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
		var out []prefdata.Score
		for _, r := range rs {
			out = append(out, prefdata.Score{ResponseID: r.ID, Scorer: "len", Value: float64(len(r.Text))})
		}
		return out, nil
	})
	filters := []prefdata.Filter{
		filter.Empty(), filter.Truncated(), filter.Refusal(filter.RefusalConfig{}), filter.Repetition(filter.RepetitionConfig{}),
		filter.Length(filter.LengthConfig{MinWords: 5}), filter.NearDuplicate(filter.NearDuplicateConfig{}), filter.Script(filter.ScriptConfig{}),
		filter.AllOf(filter.Empty(), filter.Refusal(filter.RefusalConfig{})), filter.AnyOf(filter.Empty(), filter.Length(filter.LengthConfig{MinWords: 5})),
		filter.Not(filter.Empty()), filter.Scores(scorer), &filter.PairwiseJudge{Generator: g},
		filter.RIP(filter.RIPConfig{MinRejected: &floor, Combine: filter.Combine{Weights: map[string]float64{"old": 1}}}),
	}
	for _, f := range filters {
		t.Run(f.(prefdata.Namer).Name(), func(t *testing.T) {
			assert.NoError(t, filter.CheckFilter(context.Background(), f, c))
		})
	}
}

func TestCheckFilterCatchesBrokenFilters(t *testing.T) {
	c := candidate("q", resp("a", "x"), resp("b", "y"))
	tests := []struct {
		name string
		f    prefdata.FilterFunc
		want string
	}{
		{"mutates input", func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
			c.Responses[0].Text = "changed"
			return c, nil
		}, "the input candidate was changed"},
		{"drops silently", func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
			c.Responses = c.Responses[1:]
			return c, nil
		}, "response a was removed without a drop record"},
		{"adds a response", func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
			c.Responses = append(append([]prefdata.Response(nil), c.Responses...), resp("new", "z"))
			return c, nil
		}, "response new was added"},
		{"scores a stranger", func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
			c.Scores = []prefdata.Score{{ResponseID: "ghost", Value: 1}}
			return c, nil
		}, `a new score names "ghost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := candidate("q", resp("a", "x"), resp("b", "y"))
			err := filter.CheckFilter(context.Background(), tt.f, in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	assert.NoError(t, filter.CheckFilter(context.Background(), prefdata.FilterFunc(func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		return c.Without("a", "mine", "because"), nil
	}), c))
}
