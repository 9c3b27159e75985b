package filter_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// A pairwise judge with a prompt of one's own (LLMBar's "Output (a)" /
// "Output (b)" form) and the parser for its replies. The judge here is a
// function that prefers the output naming the right capital; a real one is
// response.New on any OpenAI-compatible server.
func ExamplePairwiseJudge_template() {
	tmpl := filter.Template{
		System: "You are a helpful assistant in evaluating the quality of the outputs for a given instruction.",
		User: "Select the Output (a) or Output (b) that is better for the given instruction.\n\n" +
			"# Instruction:\n{{.Prompt}}\n" +
			"# Output (a):\n{{index .Responses 0}}\n\n" +
			"# Output (b):\n{{index .Responses 1}}\n\n" +
			"{{if .Reference}}# Reference:\n{{.Reference}}\n\n{{end}}" +
			"# Which is better, Output (a) or Output (b)? {{.Format}}",
	}
	var shown string
	judge := prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		u := p.Messages[1].Content
		a := u[strings.Index(u, "# Output (a):"):strings.Index(u, "# Output (b):")]
		if strings.Contains(a, "Lyon") {
			shown = u // the first order's prompt (only this call writes it)
		}
		if strings.Contains(a, "Paris") {
			return []prefdata.Response{{Text: "Output (a)"}}, nil
		}
		return []prefdata.Response{{Text: "Output (b)"}}, nil
	})
	j := &filter.PairwiseJudge{Generator: judge, Model: "llmbar-style", Template: &tmpl, Parser: filter.OutputVerdict{}}

	c := prefdata.Candidate{
		Prompt: prefdata.Prompt{ID: "p1", Messages: []prefdata.Message{{Role: "user", Content: "Capital of France?"}},
			Meta: map[string]string{filter.ReferenceKey: "Paris"}},
		Responses: []prefdata.Response{{ID: "lyon", Text: "Lyon."}, {ID: "paris", Text: "Paris."}},
	}
	out, err := j.Filter(context.Background(), c)
	fmt.Println(err)
	fmt.Println(shown)
	for _, cmp := range out.Comparisons {
		fmt.Printf("%s vs %s: preference %+.0f, consistent %v, replies %q\n", cmp.A, cmp.B, cmp.Preference, cmp.Consistent, cmp.Raw)
	}
	// Output:
	// <nil>
	// Select the Output (a) or Output (b) that is better for the given instruction.
	//
	// # Instruction:
	// user: Capital of France?
	//
	// # Output (a):
	// Lyon.
	//
	// # Output (b):
	// Paris.
	//
	// # Reference:
	// Paris
	//
	// # Which is better, Output (a) or Output (b)? Reply with "Output (a)" or "Output (b)" only, and nothing else.
	// lyon vs paris: preference -1, consistent true, replies ["Output (b)" "Output (a)"]
}

// The built-in parsers read a verdict however the judge gave it: brackets,
// a JSON object, a function call, a ranking, a one-token verdict with
// log-probabilities.
func ExampleVerdictParser() {
	replies := []struct {
		parser filter.VerdictParser
		reply  prefdata.Response
	}{
		{filter.BracketVerdict{Scale: filter.FiveLevel}, prefdata.Response{Text: "My final verdict is: [[B>A]]"}},
		{filter.JSONVerdictFor(filter.ThreeWay), prefdata.Response{Text: `{"explanation": "A cites its source.", "verdict": "A"}`}},
		{filter.RankingVerdict{A: "m", B: "M"}, prefdata.Response{ToolCalls: []prefdata.ToolCall{{Name: "make_partial_leaderboard",
			Arguments: `{"ordered_models": [{"model": "M", "rank": 1}, {"model": "m", "rank": 2}]}`}}}},
		{filter.LogprobVerdict{A: "m", B: "M"}, prefdata.Response{Text: "m", Logprobs: []prefdata.TokenLogprob{{Token: "m", Logprob: -0.105,
			Top: []prefdata.TokenLogprob{{Token: "m", Logprob: -0.105}, {Token: "M", Logprob: -2.303}}}}}},
		{filter.BracketVerdict{}, prefdata.Response{Text: "My verdict: [[A]]. [[Wait, [[B]]"}},
	}
	for _, r := range replies {
		v, err := r.parser.Parse(r.reply)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%-4s %+.2f\n", v.Label, v.Preference)
	}
	// Output:
	// B>A  -0.50
	// A    +1.00
	// B    -1.00
	// A    +0.80
	// error: contradictory verdicts in judge reply: verdicts [[A]] and [[B]] (reply "My verdict: [[A]]. [[Wait, [[B]]")
}
