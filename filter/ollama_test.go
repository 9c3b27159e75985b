package filter_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/response"
)

// Judges against a real OpenAI-compatible server (Ollama with the tiny
// random-weights model of ../shared, started by .ci/ollama.sh). Its replies
// are gibberish: the judges must record them as parse failures with the raw
// text, never as ratings or verdicts.
func TestJudgesOnOllama(t *testing.T) {
	url := os.Getenv("PREFDATA_OLLAMA_URL")
	if url == "" {
		t.Skip("PREFDATA_OLLAMA_URL not set (see .ci/ollama.sh)")
	}
	model, _, _ := strings.Cut(os.Getenv("PREFDATA_OLLAMA_MODELS"), ",")
	if model == "" {
		model = "tiny-a"
	}
	g, err := response.New(response.Config{BaseURL: url, Model: model,
		Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), Seed: prefdata.Int(1), MaxTokens: 24},
		Retry:    response.Retry{Attempts: 2, Timeout: time.Minute}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := candidate("What is the capital of France?", resp("a", "Paris."), resp("b", "Lyon."))

	judge := &filter.RubricJudge{Generator: g, Style: filter.StyleSingle}
	scores, err := judge.Score(ctx, c.Prompt, c.Responses)
	for _, s := range scores { // a rating is only ever what the reply says
		v, perr := filter.ParseRating(s.Raw)
		require.NoError(t, perr, "score %v from an unparsable reply %q", s.Value, s.Raw)
		assert.Equal(t, v, s.Value)
	}
	if err != nil {
		var pe *filter.ParseError
		require.True(t, errors.As(err, &pe), "judge failed for another reason than its replies: %v", err)
		assert.NotEmpty(t, pe.Raw)
		t.Logf("rubric judge on %s: %d scored, failure kept with raw reply %q", model, len(scores), pe.Raw)
	}

	pj := &filter.PairwiseJudge{Generator: g}
	out, err := pj.Filter(ctx, c)
	require.NoError(t, err)
	require.Len(t, out.Comparisons, 1)
	cmp := out.Comparisons[0]
	require.Len(t, cmp.Raw, 2)
	for _, raw := range cmp.Raw {
		// The default judge asks for a JSON verdict (Ollama honours the
		// schema) and reads brackets too.
		_, jerr := filter.JSONVerdictFor(filter.ThreeWay).Parse(prefdata.Response{Text: raw})
		if _, perr := filter.ParseVerdict(raw); perr != nil && jerr != nil {
			assert.False(t, cmp.Consistent, "an unreadable order cannot be consistent")
			assert.Zero(t, cmp.Preference)
		}
	}
	t.Logf("pairwise judge on %s: preference %v consistent %v, replies %q", model, cmp.Preference, cmp.Consistent, cmp.Raw)
}
