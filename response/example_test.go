package response_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

func examplePrompt(text string) prefdata.Prompt {
	msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}
	return prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs}
}

// One model, two samples per prompt, against the fake server. Point BaseURL
// at OpenAI, vLLM, Ollama or llama.cpp's server for real answers.
func ExampleNew() {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, choice int) openaitest.Reply {
		return openaitest.Reply{Content: fmt.Sprintf("answer %d from %s", choice, req.Model), PromptTokens: 12, CompletionTokens: 4}
	}})
	defer srv.Close()

	g, err := response.New(response.Config{
		BaseURL:  srv.URL,
		APIKey:   "sk-test",
		Model:    "small-model",
		Samples:  2,
		Sampling: prefdata.Sampling{Temperature: prefdata.Float(0.8), MaxTokens: 256},
		Prices:   &response.Prices{Input: 0.15, Output: 0.60}, // dollars per million tokens
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rs, err := g.Generate(context.Background(), examplePrompt("Why is the sky blue?"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rs {
		fmt.Printf("%s #%d: %q (%s) %d+%d tokens\n", r.Model, r.Sample, r.Text, r.FinishReason, r.Usage.PromptTokens, r.Usage.CompletionTokens)
	}
	fmt.Println("requests sent:", srv.Requests())
	// Output:
	// small-model #0: "answer 0 from small-model" (stop) 12+4 tokens
	// small-model #1: "answer 1 from small-model" (stop) 0+4 tokens
	// requests sent: 1
}

// Faults are retried with backoff; Retry-After is honoured; a 400 fails at
// once with the server's message.
func ExampleRetry() {
	srv := openaitest.NewServer(openaitest.Config{
		Faults:     []openaitest.Fault{openaitest.Fault429, openaitest.Fault503, openaitest.FaultNone, openaitest.Fault400},
		RetryAfter: 2 * time.Second,
	})
	defer srv.Close()
	g, _ := response.New(response.Config{
		BaseURL: srv.URL,
		Model:   "m",
		Retry:   response.Retry{Attempts: 4, Base: time.Second},
		Rand:    func() float64 { return 1 }, // no jitter, for the example
		Sleep: func(ctx context.Context, d time.Duration) error { // record instead of waiting
			fmt.Println("wait", d)
			return nil
		},
	})
	_, err := g.Generate(context.Background(), examplePrompt("first"))
	fmt.Println("first:", err)
	_, err = g.Generate(context.Background(), examplePrompt("second"))
	var se *response.StatusError
	fmt.Println("second failed at once:", errors.As(err, &se) && se.StatusCode == 400)
	// Output:
	// wait 2s
	// wait 2s
	// first: <nil>
	// second failed at once: true
}

// UltraFeedback's recipe: each prompt answered by 2 of 4 models, drawn
// reproducibly from a seed.
func ExamplePool() {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	var models []prefdata.Generator
	for _, name := range []string{"llama", "mistral", "qwen", "gemma"} {
		g, _ := response.New(response.Config{BaseURL: srv.URL, Model: name})
		models = append(models, g)
	}
	pool, err := response.NewPool(response.PoolConfig{Models: models, K: 2, Seed: 7})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := examplePrompt("Write a haiku about rain.")
	rs, _ := pool.Generate(context.Background(), p)
	fmt.Println(len(rs), "responses; drawn:", pool.Draw(p.ID))
	fmt.Println("same draw again:", fmt.Sprint(pool.Draw(p.ID)) == fmt.Sprint([]string{rs[0].Model, rs[1].Model}))
	// Output:
	// 2 responses; drawn: [llama gemma]
	// same draw again: true
}

// Shard 1 of 3: run one shard per machine; together they cover every prompt
// once.
func ExampleShardFilter() {
	f, _ := response.ShardFilter(1, 3)
	kept := 0
	for i := range 300 {
		if _, err := f.FilterPrompt(context.Background(), examplePrompt(fmt.Sprint("prompt ", i))); err == nil {
			kept++
		}
	}
	fmt.Println(kept > 80 && kept < 120)
	// Output: true
}

// Batch mode: submit, wait, then answer from the results. A restarted
// process calls the same three steps: nothing is submitted twice.
func ExampleBatchGenerator() {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	tmp, _ := os.MkdirTemp("", "batch-example")
	defer os.RemoveAll(tmp)
	dir, _ := prefdata.OpenRunDir(tmp)
	defer dir.Close()

	b, err := response.NewBatch(response.Config{BaseURL: srv.URL, Model: "gpt-4o-mini", Samples: 2},
		response.BatchConfig{Dir: dir, PollInterval: time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	prompts := []prefdata.Prompt{examplePrompt("one"), examplePrompt("two"), examplePrompt("three")}
	n, _ := b.Submit(context.Background(), prefdata.Prompts(prompts...))
	fmt.Println("submitted:", n)
	if err := b.Wait(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	n, _ = b.Submit(context.Background(), prefdata.Prompts(prompts...))
	fmt.Println("submitted again:", n)
	rs, err := b.Generate(context.Background(), prompts[1])
	fmt.Println(len(rs), "responses for prompt two,", err)
	fmt.Println("batches:", len(srv.Batches()))
	// Output:
	// submitted: 6
	// submitted again: 0
	// 2 responses for prompt two, <nil>
	// batches: 1
}

// A cost budget shared by the run's generators stops the run cleanly: the
// refusal wraps prefdata.ErrStopRun, so the pipeline ends the run by itself,
// keeps what finished in its run directory, and records no failure. A later
// run with a larger budget does the rest.
func ExampleBudget() {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Content: "ok", PromptTokens: 1000, CompletionTokens: 1000}
	}})
	defer srv.Close()
	budget := response.NewBudget(0.05, nil) // five cents
	g, _ := response.New(response.Config{BaseURL: srv.URL, Model: "m", Sampling: prefdata.Sampling{MaxTokens: 1000},
		Prices: &response.Prices{Input: 10, Output: 10}, Budget: budget})
	var prompts []prefdata.Prompt
	for i := range 10 {
		prompts = append(prompts, examplePrompt(fmt.Sprint("q", i)))
	}
	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(prompts...),
		Generators: []prefdata.Generator{g},
		Labeler:    prefdata.LabelerFunc(func(context.Context, prefdata.Candidate) ([]prefdata.Pair, error) { return nil, nil }),
		Sink:       prefdata.SinkFunc(func(context.Context, prefdata.Pair) error { return nil }),
		Limits:     prefdata.Limits{Generate: 1}, // one request at a time: a deterministic stop
	}
	st, err := p.Run(context.Background())
	fmt.Println("stopped by the budget:", errors.Is(err, response.ErrBudget), errors.Is(err, prefdata.ErrStopRun))
	fmt.Println("answered:", st.Generate.Out, "failed:", st.Generate.Failed)
	fmt.Printf("spent $%.2f\n", budget.Spent())
	// Output:
	// stopped by the budget: true true
	// answered: 2 failed: 0
	// spent $0.04
}
