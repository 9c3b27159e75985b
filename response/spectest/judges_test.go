package spectest

import (
	"context"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// judgeReply answers judge prompts the way each verdict format asks: a JSON
// verdict under a schema, a ranking as a function call, a bracket verdict
// or a rating in text (with logprobs when asked).
func judgeReply(req openaitest.Request, _ int) openaitest.Reply {
	last := req.Messages[len(req.Messages)-1].Content
	switch {
	case len(req.Tools) > 0:
		return openaitest.Reply{ToolCalls: []prefdata.ToolCall{{Name: req.Tools[0].Function.Name, Arguments: `{"ordered_models":[{"model":"m","rank":1},{"model":"M","rank":2}]}`}}}
	case req.ResponseFormat != nil:
		return openaitest.Reply{Content: `{"verdict":"A"}`}
	case strings.Contains(last, "Rating"):
		return openaitest.Reply{Content: "Clear and correct.\nRating: [[8]]"}
	}
	return openaitest.Reply{Content: "A is better.\n[[A]]"}
}

// TestJudgesRequestsKeepTheSpec runs the judges of package filter through
// the generator: the requests they make (structured verdicts, forced
// function calls, logprobs, plain text) and the answers are validated.
func TestJudgesRequestsKeepTheSpec(t *testing.T) {
	c := newChecker(t)
	srv := openaitest.NewServer(openaitest.Config{Reply: judgeReply})
	defer srv.Close()
	gen := func(s prefdata.Sampling) *response.Generator {
		g, err := response.New(response.Config{BaseURL: srv.URL, Model: "judge", HTTPClient: c.client(), Sampling: s, Retry: response.Retry{Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	zero := prefdata.Sampling{Temperature: prefdata.Float(0), MaxTokens: 512}
	p := prompt("What is the capital of France?")
	rs := []prefdata.Response{
		{ID: "r-a", PromptID: p.ID, Model: "m", Text: "Paris."},
		{ID: "r-b", PromptID: p.ID, Model: "M", Text: "Lyon."},
	}
	cand := prefdata.Candidate{Prompt: p, Responses: rs}
	ctx := context.Background()
	judges := map[string]prefdata.Filter{
		"default (JSON schema)": &filter.PairwiseJudge{Generator: gen(zero)},
		"five levels":           &filter.PairwiseJudge{Generator: gen(zero), Scale: filter.FiveLevel},
		"plain text":            &filter.PairwiseJudge{Generator: gen(zero), PlainText: true},
		"soft (logprobs)":       &filter.PairwiseJudge{Generator: gen(prefdata.Sampling{Temperature: prefdata.Float(0), Logprobs: true, TopLogprobs: 5}), Soft: true},
		"ranking as a call":     &filter.PairwiseJudge{Generator: gen(zero), Parser: filter.RankingVerdict{A: "m", B: "M", Tool: "make_partial_leaderboard"}},
		"one token (m/M)":       &filter.PairwiseJudge{Generator: gen(zero), Parser: filter.LogprobVerdict{A: "m", B: "M"}},
	}
	for name, j := range judges {
		if _, err := j.Filter(ctx, cand); err != nil {
			t.Logf("%s: %v (the wire is what is checked here)", name, err)
		}
	}
	rubric := &filter.RubricJudge{Generator: gen(zero), Style: filter.StyleSingle}
	if _, err := rubric.Score(ctx, p, rs); err != nil {
		t.Logf("rubric: %v", err)
	}
	c.done("/chat/completions 200")
	log := srv.Log()
	var schema, tools, logprobs bool
	for _, r := range log {
		schema = schema || r.ResponseFormat != nil
		tools = tools || len(r.Tools) > 0
		logprobs = logprobs || r.Logprobs
	}
	if !schema || !tools || !logprobs {
		t.Errorf("the judges did not send every kind: schema %v, tools %v, logprobs %v", schema, tools, logprobs)
	}
	t.Logf("%d judge requests", len(log))
}
