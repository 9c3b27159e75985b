package response_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// A reasoning model: the limit goes out as max_completion_tokens, the
// reasoning effort is sent, and the reasoning text comes back apart from
// the answer, with its tokens counted.
func ExampleConfig_reasoning() {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Reasoning: "17 is prime: no divisor up to 4.", Content: "Yes.", ReasoningTokens: 12, CompletionTokens: 14}
	}})
	defer srv.Close()
	g, err := response.New(response.Config{
		BaseURL:        srv.URL,
		Model:          "deepseek-r1",
		MaxTokensField: response.MaxCompletionTokens,
		Sampling:       prefdata.Sampling{MaxTokens: 2048, ReasoningEffort: "low"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rs, err := g.Generate(context.Background(), examplePrompt("Is 17 prime?"))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := rs[0]
	fmt.Printf("answer %q\nreasoning %q\ntokens %d, of which reasoning %d\n", r.Text, r.Reasoning, r.Usage.CompletionTokens, r.Usage.ReasoningTokens)
	req := srv.Log()[0]
	fmt.Println("sent max_completion_tokens:", req.MaxCompletionTokens, "max_tokens sent:", req.Sent("max_tokens"), "effort:", req.ReasoningEffort)
	// Output:
	// answer "Yes."
	// reasoning "17 is prime: no divisor up to 4."
	// tokens 14, of which reasoning 12
	// sent max_completion_tokens: 2048 max_tokens sent: false effort: low
}

// A judge asks, through any prefdata.Generator, for a verdict that must
// match a JSON schema; the generator sends it as response_format. A server
// that refuses the option answers with an error matching
// prefdata.ErrUnsupportedOption, and the judge can ask in plain text.
func ExampleGenerator_Generate_jsonSchema() {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, _ int) openaitest.Reply {
		return openaitest.Reply{Content: `{"winner":"B","reason":"B answers the question."}`}
	}})
	defer srv.Close()
	var judge prefdata.Generator
	judge, err := response.New(response.Config{BaseURL: srv.URL, Model: "judge", Sampling: prefdata.Sampling{Temperature: prefdata.Float(0)}})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := examplePrompt("[Answer A] ... [Answer B] ... Which is better?")
	p.Options = &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{
		Name:   "verdict",
		Schema: json.RawMessage(`{"type":"object","properties":{"winner":{"enum":["A","B","tie"]},"reason":{"type":"string"}},"required":["winner","reason"],"additionalProperties":false}`),
		Strict: true,
	}}
	rs, err := judge.Generate(context.Background(), p)
	if errors.Is(err, prefdata.ErrUnsupportedOption) {
		fmt.Println("no structured output here: ask in plain text")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	var v struct{ Winner, Reason string }
	if err := json.Unmarshal([]byte(rs[0].Text), &v); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("winner:", v.Winner)
	req := srv.Log()[0]
	fmt.Println("response_format:", req.ResponseFormat.Type, req.ResponseFormat.JSONSchema.Name)
	var body map[string]json.RawMessage
	_ = json.Unmarshal(req.Body, &body)
	fmt.Println("temperature on the wire:", string(body["temperature"]))
	// Output:
	// winner: B
	// response_format: json_schema verdict
	// temperature on the wire: 0
}

// A judge forces a function call (AlpacaEval's ranking function, say); the
// call comes back in Response.ToolCalls with the model's arguments as JSON
// text.
func ExampleGenerator_Generate_toolCall() {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, _ int) openaitest.Reply {
		return openaitest.Reply{ToolCalls: []prefdata.ToolCall{{Name: "make_partial_leaderboard", Arguments: `{"ordered_models":[{"model":"M","rank":1},{"model":"m","rank":2}]}`}}}
	}})
	defer srv.Close()
	g, err := response.New(response.Config{BaseURL: srv.URL, Model: "gpt-4"})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := examplePrompt("Rank the outputs of models m and M.")
	p.Options = &prefdata.GenerateOptions{
		Tools: []prefdata.Tool{{
			Name:        "make_partial_leaderboard",
			Description: "Rank the models by the quality of their outputs.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"ordered_models":{"type":"array","items":{"type":"object","properties":{"model":{"type":"string"},"rank":{"type":"integer"}}}}},"required":["ordered_models"]}`),
		}},
		ToolChoice: "make_partial_leaderboard", // force this call
	}
	rs, err := g.Generate(context.Background(), p)
	if err != nil {
		fmt.Println(err)
		return
	}
	call := rs[0].ToolCalls[0]
	fmt.Println(rs[0].FinishReason, call.Name, call.Arguments)
	fmt.Println("tool_choice sent:", string(srv.Log()[0].ToolChoice))
	// Output:
	// tool_calls make_partial_leaderboard {"ordered_models":[{"model":"M","rank":1},{"model":"m","rank":2}]}
	// tool_choice sent: {"type":"function","function":{"name":"make_partial_leaderboard"}}
}

// A one-token verdict with the log-probabilities of its alternatives, asked
// by the prompt: the soft preference of AlpacaEval's m/M judges.
func ExampleGenerator_Generate_logprobs() {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Content: "m", Logprobs: []prefdata.TokenLogprob{{Token: "m", Logprob: -0.105, Top: []prefdata.TokenLogprob{{Token: "m", Logprob: -0.105}, {Token: "M", Logprob: -2.303}}}}}
	}})
	defer srv.Close()
	g, err := response.New(response.Config{BaseURL: srv.URL, Model: "judge"})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := examplePrompt("Which output is better, m or M? Answer with one token.")
	p.Options = &prefdata.GenerateOptions{TopLogprobs: 5, MaxTokens: 1, Temperature: prefdata.Float(0)}
	rs, err := g.Generate(context.Background(), p)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, alt := range rs[0].Logprobs[0].Top {
		fmt.Printf("%s %.3f\n", alt.Token, alt.Logprob)
	}
	// Output:
	// m -0.105
	// M -2.303
}
