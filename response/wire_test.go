package response_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// field returns the raw JSON of a top-level field of a request's body.
func field(t *testing.T, req openaitest.Request, name string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(req.Body, &m))
	return string(m[name])
}

func TestTemperatureZeroOnTheWire(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "judge", Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), TopP: prefdata.Float(0)}})
	_, err := g.Generate(context.Background(), prompt("x"))
	require.NoError(t, err)
	req := srv.Log()[0]
	assert.Equal(t, "0", field(t, req, "temperature"), "temperature 0 is sent as 0, not as the smallest float32")
	assert.Equal(t, "0", field(t, req, "top_p"))

	g2 := newGen(t, response.Config{BaseURL: srv.URL, Model: "judge", Sampling: prefdata.Sampling{Temperature: prefdata.Float(0.7)}})
	_, err = g2.Generate(context.Background(), prompt("x"))
	require.NoError(t, err)
	assert.Equal(t, "0.7", field(t, srv.Log()[1], "temperature"), "no float32 rounding (0.699999988079071)")
}

func TestMaxCompletionTokensConfigured(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "o3", MaxTokensField: response.MaxCompletionTokens, Sampling: prefdata.Sampling{MaxTokens: 50}})
	_, err := g.Generate(context.Background(), prompt("x"))
	require.NoError(t, err)
	req := srv.Log()[0]
	assert.Equal(t, "50", field(t, req, "max_completion_tokens"))
	assert.False(t, req.Sent("max_tokens"), "the deprecated field is not sent")

	legacy := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", MaxTokensField: response.MaxTokensLegacy, Sampling: prefdata.Sampling{MaxTokens: 50}})
	_, err = legacy.Generate(context.Background(), prompt("x"))
	require.NoError(t, err)
	assert.Equal(t, "50", field(t, srv.Log()[1], "max_tokens"))
	assert.False(t, srv.Log()[1].Sent("max_completion_tokens"))
}

// A reasoning model refuses max_tokens with a 400 naming it: the generator
// sends the request again at once with max_completion_tokens, and keeps
// doing so on that endpoint.
func TestMaxTokensFieldDetectedFromA400(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{MaxTokensParam: "max_completion_tokens"})
	defer srv.Close()
	var slept int
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "o3", Sampling: prefdata.Sampling{MaxTokens: 40},
		Retry: response.Retry{Attempts: 1}, Sleep: func(context.Context, time.Duration) error { slept++; return nil }})
	rs, err := g.Generate(context.Background(), prompt("x"))
	require.NoError(t, err, "one attempt allowed: the switch is not a failed attempt")
	require.Len(t, rs, 1)
	assert.Equal(t, 2, rs[0].Usage.Requests, "both requests are counted")
	assert.Zero(t, slept, "sent again at once")
	log := srv.Log()
	require.Len(t, log, 2)
	assert.True(t, log[0].Sent("max_tokens"))
	assert.Equal(t, "40", field(t, log[1], "max_completion_tokens"))
	assert.False(t, log[1].Sent("max_tokens"))

	_, err = g.Generate(context.Background(), prompt("y"))
	require.NoError(t, err)
	require.Len(t, srv.Log(), 3, "the endpoint remembers the field")
	assert.True(t, srv.Log()[2].Sent("max_completion_tokens"))

	// A server that takes only max_tokens, asked with max_completion_tokens.
	old := openaitest.NewServer(openaitest.Config{MaxTokensParam: "max_tokens"})
	defer old.Close()
	g2 := newGen(t, response.Config{BaseURL: old.URL, Model: "m", MaxTokensField: response.MaxCompletionTokens, Sampling: prefdata.Sampling{MaxTokens: 40}, Retry: response.Retry{Attempts: 1}})
	_, err = g2.Generate(context.Background(), prompt("x"))
	require.Error(t, err, "a field set by configuration is not switched")
	assert.Contains(t, err.Error(), "max_completion_tokens")
}

func TestReasoningKeptApartFromTheAnswer(t *testing.T) {
	reply := func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Reasoning: "The user wants a number. 2+2 is 4.", Content: "4", ReasoningTokens: 9, CompletionTokens: 10}
	}
	for _, f := range []string{"reasoning_content", "reasoning", "think"} {
		t.Run(f, func(t *testing.T) {
			srv := openaitest.NewServer(openaitest.Config{Reply: reply, ReasoningField: f})
			defer srv.Close()
			g := newGen(t, response.Config{BaseURL: srv.URL, Model: "deepseek-r1", Sampling: prefdata.Sampling{ReasoningEffort: "low"}})
			rs, err := g.Generate(context.Background(), prompt("What is 2+2?"))
			require.NoError(t, err)
			require.Len(t, rs, 1)
			r := rs[0]
			assert.Equal(t, "4", r.Text, "the answer alone")
			assert.Equal(t, "The user wants a number. 2+2 is 4.", r.Reasoning)
			assert.Equal(t, 10, r.Usage.CompletionTokens)
			assert.Equal(t, 9, r.Usage.ReasoningTokens, "the server's count")
			assert.Equal(t, `"low"`, field(t, srv.Log()[0], "reasoning_effort"))
		})
	}

	// No count from the server: estimated from the text.
	srv := openaitest.NewServer(openaitest.Config{Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Content: "<think>\nsixteen bytes ok\n</think>\n\nAnswer."}
	}})
	defer srv.Close()
	rs, err := newGen(t, response.Config{BaseURL: srv.URL, Model: "m"}).Generate(context.Background(), prompt("q"))
	require.NoError(t, err)
	assert.Equal(t, "Answer.", rs[0].Text)
	assert.Equal(t, "sixteen bytes ok", rs[0].Reasoning)
	assert.Equal(t, 4, rs[0].Usage.ReasoningTokens)

	kept, err := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", ThinkInText: true}).Generate(context.Background(), prompt("q"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(kept[0].Text, "<think>"), "ThinkInText leaves the block")
	assert.Empty(t, kept[0].Reasoning)
}

// A reply cut inside its reasoning has no answer: Text stays empty rather
// than holding the reasoning.
func TestReasoningCutByTheLimitIsNoAnswer(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{ReasoningField: "think", Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Reasoning: strings.Repeat("hmm ", 40), Content: "B is better."}
	}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "qwq", Sampling: prefdata.Sampling{MaxTokens: 10}})
	rs, err := g.Generate(context.Background(), prompt("q"))
	require.NoError(t, err)
	assert.Equal(t, "length", rs[0].FinishReason)
	assert.Empty(t, rs[0].Text)
	assert.NotEmpty(t, rs[0].Reasoning)
}

var verdictSchema = json.RawMessage(`{"type":"object","properties":{"winner":{"type":"string","enum":["A","B","tie"]}},"required":["winner"],"additionalProperties":false}`)

func TestJSONSchemaResponseFormat(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, _ int) openaitest.Reply {
		if req.ResponseFormat != nil {
			return openaitest.Reply{Content: `{"winner":"B"}`}
		}
		return openaitest.Reply{Content: "B"}
	}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "judge", Sampling: prefdata.Sampling{Temperature: prefdata.Float(0.5)}})
	p := prompt("Which is better?")
	plain, err := g.Generate(context.Background(), p)
	require.NoError(t, err)
	p.Options = &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{Name: "verdict", Schema: verdictSchema, Strict: true}, Temperature: prefdata.Float(0), MaxTokens: 30}
	rs, err := g.Generate(context.Background(), p)
	require.NoError(t, err)
	assert.JSONEq(t, `{"winner":"B"}`, rs[0].Text)
	assert.NotEqual(t, plain[0].ID, rs[0].ID, "a schema makes a different response")
	assert.Equal(t, 0.0, *rs[0].Sampling.Temperature, "the settings used are recorded")
	assert.Equal(t, 30, rs[0].Sampling.MaxTokens)

	req := srv.Log()[1]
	assert.JSONEq(t, `{"type":"json_schema","json_schema":{"name":"verdict","schema":`+string(verdictSchema)+`,"strict":true}}`, field(t, req, "response_format"))
	assert.Equal(t, "0", field(t, req, "temperature"))
	assert.Equal(t, "30", field(t, req, "max_tokens"))
	assert.False(t, srv.Log()[0].Sent("response_format"))
}

func TestToolCalls(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, _ int) openaitest.Reply {
		return openaitest.Reply{ToolCalls: []prefdata.ToolCall{{Name: req.Tools[0].Function.Name, Arguments: `{"ordered_models":[{"model":"m","rank":1},{"model":"M","rank":2}]}`}}}
	}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "gpt-4"})
	p := prompt("Rank them.")
	params := json.RawMessage(`{"type":"object","properties":{"ordered_models":{"type":"array","items":{"type":"object"}}},"required":["ordered_models"]}`)
	p.Options = &prefdata.GenerateOptions{Tools: []prefdata.Tool{{Name: "make_partial_leaderboard", Description: "Rank the models.", Parameters: params}}, ToolChoice: "make_partial_leaderboard"}
	rs, err := g.Generate(context.Background(), p)
	require.NoError(t, err)
	r := rs[0]
	require.Len(t, r.ToolCalls, 1)
	assert.Equal(t, "make_partial_leaderboard", r.ToolCalls[0].Name)
	assert.NotEmpty(t, r.ToolCalls[0].ID)
	assert.JSONEq(t, `{"ordered_models":[{"model":"m","rank":1},{"model":"M","rank":2}]}`, r.ToolCalls[0].Arguments)
	assert.Empty(t, r.Text)
	assert.Equal(t, "tool_calls", r.FinishReason)

	req := srv.Log()[0]
	assert.JSONEq(t, `{"type":"function","function":{"name":"make_partial_leaderboard"}}`, field(t, req, "tool_choice"))
	assert.JSONEq(t, `[{"type":"function","function":{"name":"make_partial_leaderboard","description":"Rank the models.","parameters":`+string(params)+`}}]`, field(t, req, "tools"))

	p.Options.ToolChoice = "required"
	_, err = g.Generate(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, `"required"`, field(t, srv.Log()[1], "tool_choice"))
}

func TestPromptAsksForLogprobs(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Content: "m", Logprobs: []prefdata.TokenLogprob{{Token: "m", Logprob: -0.1, Top: []prefdata.TokenLogprob{{Token: "m", Logprob: -0.1}, {Token: "M", Logprob: -2.4}}}}}
	}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "judge"})
	p := prompt("m or M?")
	p.Options = &prefdata.GenerateOptions{TopLogprobs: 5, MaxTokens: 1}
	rs, err := g.Generate(context.Background(), p)
	require.NoError(t, err)
	require.Len(t, rs[0].Logprobs, 1)
	assert.Equal(t, []prefdata.TokenLogprob{{Token: "m", Logprob: -0.1}, {Token: "M", Logprob: -2.4}}, rs[0].Logprobs[0].Top)
	req := srv.Log()[0]
	assert.Equal(t, "true", field(t, req, "logprobs"))
	assert.Equal(t, "5", field(t, req, "top_logprobs"))
}

func TestRefusalKept(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Refusal: "I can't help with that."}
	}})
	defer srv.Close()
	rs, err := newGen(t, response.Config{BaseURL: srv.URL, Model: "m"}).Generate(context.Background(), prompt("q"))
	require.NoError(t, err)
	assert.Equal(t, "I can't help with that.", rs[0].Refusal)
	assert.Empty(t, rs[0].Text)
}

func TestUnsupportedOptionIsReported(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Unsupported: []string{"response_format"}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "llama"})
	p := prompt("q")
	p.Options = &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{Name: "v", Schema: verdictSchema}}
	_, err := g.Generate(context.Background(), p)
	require.Error(t, err)
	assert.True(t, errors.Is(err, prefdata.ErrUnsupportedOption), err.Error())
	assert.Contains(t, err.Error(), "response_format")
	assert.Equal(t, 1, srv.Requests(), "not retried")

	p.Options = nil
	_, err = g.Generate(context.Background(), p)
	assert.NoError(t, err, "the same prompt in plain text")
}

func TestBadOptionsFailBeforeSending(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m"})
	p := prompt("q")
	p.Options = &prefdata.GenerateOptions{Tools: []prefdata.Tool{{Name: "has space"}}, ToolChoice: "other", JSONSchema: &prefdata.JSONSchema{Name: "v"}}
	_, err := g.Generate(context.Background(), p)
	require.Error(t, err)
	for _, want := range []string{p.ID, `Tools[0].Name "has space"`, `ToolChoice "other"`, "Schema is not a JSON object"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Zero(t, srv.Requests())
}

// The logprobs of a <think> block taken out of the content are dropped
// with it: the first entry is the answer's first token.
func TestLogprobsOfTheThinkBlockAreDropped(t *testing.T) {
	toks := []string{"<think>", "\n", "A", " or", " B", "?", "\n", "</think>", "\n\n", "B"}
	var lp []prefdata.TokenLogprob
	for _, tok := range toks {
		lp = append(lp, prefdata.TokenLogprob{Token: tok, Logprob: -0.5, Top: []prefdata.TokenLogprob{{Token: tok, Logprob: -0.5}}})
	}
	lp[len(lp)-1].Top = append(lp[len(lp)-1].Top, prefdata.TokenLogprob{Token: "A", Logprob: -1.2})
	srv := openaitest.NewServer(openaitest.Config{Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Content: strings.Join(toks, ""), Logprobs: lp}
	}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "qwq", Sampling: prefdata.Sampling{Logprobs: true, TopLogprobs: 2}})
	rs, err := g.Generate(context.Background(), prompt("A or B?"))
	require.NoError(t, err)
	assert.Equal(t, "B", rs[0].Text)
	assert.Equal(t, "A or B?", rs[0].Reasoning)
	require.Len(t, rs[0].Logprobs, 1)
	assert.Equal(t, "B", rs[0].Logprobs[0].Token)
	assert.Len(t, rs[0].Logprobs[0].Top, 2)
}

// The per-sample cache keys a sample by the prompt's options too: the same
// judge prompt asked for JSON and for logprobs is two answers, each read
// back on its own.
func TestCacheKeepsOptionsApart(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	cache, err := response.NewCache(dir)
	require.NoError(t, err)
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "judge", Cache: cache})
	p := prompt("A or B?")
	asks := []*prefdata.GenerateOptions{nil, {JSONSchema: &prefdata.JSONSchema{Name: "v", Schema: verdictSchema}}, {TopLogprobs: 3}}
	ids := map[string]bool{}
	for round := range 2 {
		for _, o := range asks {
			p.Options = o
			rs, err := g.Generate(context.Background(), p)
			require.NoError(t, err)
			ids[rs[0].ID] = true
		}
		assert.Equal(t, len(asks), srv.Requests(), "round %d: one request per ask, then all from the cache", round)
	}
	assert.Len(t, ids, len(asks))
}

// Reasoning models by their OpenAI names can be asked with a limit: the
// old go-openai path refused them before sending anything ("this model is
// not supported MaxTokens").
func TestReasoningModelNamesAreAsked(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{MaxTokensParam: "max_completion_tokens"})
	defer srv.Close()
	for _, model := range []string{"o1", "o3-mini", "gpt-5"} {
		g := newGen(t, response.Config{BaseURL: srv.URL, Model: model, Sampling: prefdata.Sampling{MaxTokens: 100, ReasoningEffort: "high"}})
		rs, err := g.Generate(context.Background(), prompt("x"))
		require.NoError(t, err, model)
		require.Len(t, rs, 1, model)
		last := srv.Log()[srv.Requests()-1]
		assert.Equal(t, 100, last.MaxCompletionTokens, model)
		assert.Equal(t, "high", last.ReasoningEffort, model)
	}
}

// TopLogprobs alone implies logprobs: the API refuses top_logprobs without
// logprobs true.
func TestTopLogprobsImpliesLogprobs(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "judge", Sampling: prefdata.Sampling{TopLogprobs: 2}})
	rs, err := g.Generate(context.Background(), prompt("x"))
	require.NoError(t, err)
	req := srv.Log()[0]
	assert.Equal(t, "true", field(t, req, "logprobs"))
	assert.Equal(t, "2", field(t, req, "top_logprobs"))
	require.NotEmpty(t, rs[0].Logprobs)
	assert.Len(t, rs[0].Logprobs[0].Top, 2)
}
