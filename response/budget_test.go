package response_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

func TestBudgetStopsRunAndResumes(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Content: "ok", PromptTokens: 5, CompletionTokens: 5}
	}})
	defer srv.Close()
	runDir := t.TempDir()
	run := func(max float64) (prefdata.Stats, *response.Budget, error) {
		dir, err := prefdata.OpenRunDir(runDir)
		require.NoError(t, err)
		defer dir.Close()
		budget := response.NewBudget(max, nil) // the pipeline stops by itself
		// $1 a token: a request costs $10 and is estimated at most
		// $16 (6 prompt tokens guessed, 10 max_tokens).
		g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Sampling: prefdata.Sampling{MaxTokens: 10},
			Prices: &response.Prices{Input: 1e6, Output: 1e6}, Budget: budget})
		p := &prefdata.Pipeline{
			Source:     prefdatatest.CountingSource(20),
			Generators: []prefdata.Generator{g},
			Labeler:    prefdatatest.Labeler{},
			Dir:        dir,
			Limits:     prefdata.Limits{Generate: 1},
		}
		st, err := p.Run(context.Background())
		return st, budget, err
	}
	st, budget, err := run(100)
	require.ErrorIs(t, err, response.ErrBudget, "the run stopped")
	assert.True(t, budget.Exhausted())
	assert.Equal(t, 9, srv.Requests(), "9 x $10 spent; a 10th (~$16) would pass $100")
	assert.InDelta(t, 90, budget.Spent(), 1e-9)
	assert.LessOrEqual(t, budget.Spent(), 100.0)
	assert.Equal(t, 0, st.Generate.Failed, "refused items are not failures: they are left for the next run")
	assert.InDelta(t, 90, st.Usage["m"].Cost, 1e-9, "cost per model in the run's stats")

	_, budget, err = run(1000)
	require.NoError(t, err)
	assert.Equal(t, 20, srv.Requests(), "the second run paid only for the 11 prompts not done")
	assert.InDelta(t, 110, budget.Spent(), 1e-9)
}
