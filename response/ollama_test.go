package response_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
)

// ollama returns the base URL and model names of the real server started by
// .ci/ollama.sh, or skips the test.
func ollama(t *testing.T) (string, []string) {
	t.Helper()
	url := os.Getenv("PREFDATA_OLLAMA_URL")
	models := strings.Split(os.Getenv("PREFDATA_OLLAMA_MODELS"), ",")
	if url == "" || len(models) < 2 || models[0] == "" {
		t.Skip("PREFDATA_OLLAMA_URL and PREFDATA_OLLAMA_MODELS are unset: no real server (.ci/ollama.sh starts one)")
	}
	return url, models
}

func TestOllamaGenerate(t *testing.T) {
	url, models := ollama(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := prefdata.Sampling{Temperature: prefdata.Float(0), Seed: prefdata.Int(1), MaxTokens: 6}
	g := newGen(t, response.Config{BaseURL: url, Model: models[0], Samples: 2, Sampling: s, System: "Answer briefly."})
	p := prompt("Name three colours.")
	rs, err := g.Generate(ctx, p)
	require.NoError(t, err)
	require.Len(t, rs, 2, "n is ignored by Ollama: the generator asks for the missing sample on its own")
	for i, r := range rs {
		assert.Equal(t, i, r.Sample)
		assert.Equal(t, models[0], r.Model)
		assert.NotEmpty(t, r.Text)
		// A random model rarely ends by itself within 6 tokens: mostly cut
		// by max_tokens.
		assert.Contains(t, []string{"length", "stop"}, r.FinishReason)
		if r.FinishReason == "length" {
			assert.Equal(t, 6, r.Usage.CompletionTokens, "usage comes back from the server")
		} else {
			assert.Less(t, r.Usage.CompletionTokens, 6)
		}
		assert.Positive(t, r.Usage.PromptTokens)
		assert.Equal(t, 1, r.Usage.Requests, "one choice per request")
		assert.Positive(t, r.Latency)
	}
	// Greedy decoding with a fixed seed gives the same text again: proof
	// that temperature 0 reached the server.
	again, err := g.Generate(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, rs[0].Text, again[0].Text)
	assert.Equal(t, rs[1].Text, again[1].Text)
}

func TestOllamaUnknownModelFailsAtOnce(t *testing.T) {
	url, _ := ollama(t)
	var sl sleeps
	g := newGen(t, response.Config{BaseURL: url, Model: "no-such-model", Sleep: sl.sleep})
	_, err := g.Generate(context.Background(), prompt("hi"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 404")
	assert.Contains(t, err.Error(), "not found")
	assert.Empty(t, sl.waits(), "no retry")
}

func TestOllamaPipelineTwoModels(t *testing.T) {
	url, models := ollama(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	cache, err := response.NewCache(dir)
	require.NoError(t, err)
	var gens []prefdata.Generator
	for _, m := range models[:2] {
		gens = append(gens, newGen(t, response.Config{BaseURL: url, Model: m, Cache: cache, Sampling: prefdata.Sampling{Temperature: prefdata.Float(0.8), Seed: prefdata.Int(3), MaxTokens: 5}}))
	}
	pool, err := response.NewPool(response.PoolConfig{Models: gens, K: 2, Seed: 1})
	require.NoError(t, err)
	const n = 4
	p := &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(n),
		Generators: []prefdata.Generator{pool},
		Labeler:    prefdatatest.Labeler{},
		Dir:        dir,
		Limits:     prefdata.Limits{Generate: 2},
	}
	st, err := p.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2*n, st.Responses)
	assert.Zero(t, st.Failures())
	for _, m := range models[:2] {
		u := st.Usage[m]
		assert.Equal(t, n, u.Requests, "model %s: one request per prompt", m)
		assert.Positive(t, u.CompletionTokens, fmt.Sprintf("model %s usage", m))
		assert.LessOrEqual(t, u.CompletionTokens, 5*n, "max_tokens 5 per request")
	}
	// A rerun reads everything back.
	p.Source = prefdatatest.CountingSource(n)
	st, err = p.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, st.Cached.Prompts)
	assert.Empty(t, st.Usage, "nothing paid again")
}

// Ollama reads the generator's own request body: a JSON schema is taken
// (constrained decoding), and tools offered to a model whose template has
// none are refused with a 400 that the generator reports as an
// unsupported option.
func TestOllamaOptions(t *testing.T) {
	url, models := ollama(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := newGen(t, response.Config{BaseURL: url, Model: models[0], Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), MaxTokens: 8}})
	p := prompt("Which is better, A or B?")
	p.Options = &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{Name: "verdict", Schema: verdictSchema}}
	rs, err := g.Generate(ctx, p)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.LessOrEqual(t, rs[0].Usage.CompletionTokens, 8, "max_tokens reached Ollama")

	p.Options = &prefdata.GenerateOptions{Tools: []prefdata.Tool{{Name: "verdict", Parameters: verdictSchema}}}
	_, err = g.Generate(ctx, p)
	require.Error(t, err, "the tiny model's template has no tools")
	assert.ErrorIs(t, err, prefdata.ErrUnsupportedOption, "Ollama says \"does not support tools\"")
	assert.Contains(t, err.Error(), "tools")
}
