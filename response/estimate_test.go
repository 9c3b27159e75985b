package response_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

func TestEstimateBoundsWhatARunUses(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{N: openaitest.NIgnore}) // one request per sample, as the estimate assumes
	defer srv.Close()
	prices := &response.Prices{Input: 2, Output: 8}
	g, err := response.New(response.Config{BaseURL: srv.URL, Model: "m", Samples: 3, System: "Be brief.",
		Sampling: prefdata.Sampling{MaxTokens: 40}, Prices: prices})
	require.NoError(t, err)
	p := prefdata.Prompt{ID: "p1", Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "Describe the water cycle in a few sentences, please."}}}

	est := g.Estimate(p)
	assert.Equal(t, 3, est.Requests)
	assert.Equal(t, 120, est.CompletionTokens, "every sample at max_tokens")
	assert.Positive(t, est.PromptTokens)
	assert.InDelta(t, prices.Cost(est), est.Cost, 1e-12)

	rs, err := g.Generate(context.Background(), p)
	require.NoError(t, err)
	var used prefdata.Usage
	for _, r := range rs {
		used = used.Add(r.Usage)
	}
	assert.LessOrEqual(t, used.CompletionTokens, est.CompletionTokens)
	assert.LessOrEqual(t, used.Cost, est.Cost, "the estimate is an upper bound")
	assert.Equal(t, srv.Requests(), est.Requests)

	// Without prices there is no cost; without max_tokens the default
	// completion length is assumed.
	g2, err := response.New(response.Config{BaseURL: srv.URL, Model: "m", Samples: 2})
	require.NoError(t, err)
	est = g2.Estimate(p)
	assert.Zero(t, est.Cost)
	assert.Equal(t, 2*response.DefaultCompletionTokens, est.CompletionTokens)
}
