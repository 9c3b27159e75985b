package prefdata_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// Wiring a pipeline: a source, a stage-1 filter, two generators, a scoring
// filter, a labeler and a sink.
func ExamplePipeline() {
	prompts := prefdata.Prompts(
		prefdatatest.NewPrompt("Name three prime numbers."),
		prefdatatest.NewPrompt("Write a haiku about rain."),
		prefdatatest.NewPrompt("Explain recursion to a child."),
	)
	// Stage 1: a custom prompt filter written as a func.
	noHaiku := prefdata.NamedPromptFilter("no-haiku", prefdata.PromptFilterFunc(
		func(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
			if strings.Contains(p.Text(), "haiku") {
				return p, prefdata.Reject("poetry is out of scope")
			}
			return p, nil
		}))
	// Stage 3: score every response (here by length; see package filter for
	// reward models and LLM judges).
	score := prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		scores, err := prefdatatest.LengthScorer{}.Score(ctx, c.Prompt, c.Responses)
		c.Scores = append(append([]prefdata.Score(nil), c.Scores...), scores...)
		return c, err
	})
	sink := &prefdatatest.Sink{}
	p := &prefdata.Pipeline{
		Source:        prompts,
		PromptFilters: []prefdata.PromptFilter{noHaiku},
		Generators: []prefdata.Generator{
			&prefdatatest.Generator{Model: "small", Samples: 2},
			&prefdatatest.Generator{Model: "large", Samples: 2},
		},
		Filters: []prefdata.Filter{score},
		Labeler: prefdatatest.Labeler{},
		Sink:    sink,
		Limits:  prefdata.Limits{Generate: 8, Filter: 4},
	}
	stats, err := p.Run(context.Background())
	if err != nil {
		fmt.Println("run:", err)
		return
	}
	fmt.Println("prompts read:", stats.Prompt.In, "dropped:", stats.Prompt.Dropped)
	fmt.Println("responses:", stats.Responses)
	fmt.Println("pairs:", len(sink.Pairs()))
	// Output:
	// prompts read: 3 dropped: map[no-haiku:1]
	// responses: 8
	// pairs: 2
}

// A custom stage-3 rule filter is one function: return a reason to drop a
// response, or "" to keep it. Its name shows in the run's stats.
func ExampleResponseFilterFunc() {
	noApology := prefdata.ResponseFilterFunc("no-apology",
		func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
			if strings.HasPrefix(r.Text, "I'm sorry") {
				return "starts with an apology", nil
			}
			return "", nil
		})
	c := prefdata.Candidate{
		Prompt: prefdatatest.NewPrompt("What is 2+2?"),
		Responses: []prefdata.Response{
			{ID: "r1", Text: "4"},
			{ID: "r2", Text: "I'm sorry, I cannot do math."},
		},
	}
	out, err := noApology.Filter(context.Background(), c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kept:", len(out.Responses), "first:", out.Responses[0].ID)
	for _, d := range out.Dropped {
		fmt.Printf("dropped %s by %s: %s\n", d.ResponseID, d.Filter, d.Reason)
	}
	// Output:
	// kept: 1 first: r1
	// dropped r2 by no-apology: starts with an apology
}

// A run directory makes a run resumable: the second run reads back what the
// first paid for and replays its pairs.
func ExampleRunDir() {
	root, err := os.MkdirTemp("", "prefdata-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	dir, err := prefdata.OpenRunDir(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dir.Close()
	prompts := []prefdata.Prompt{
		prefdatatest.NewPrompt("Name three prime numbers."),
		prefdatatest.NewPrompt("Explain recursion to a child."),
	}
	for run := 1; run <= 2; run++ {
		gen := &prefdatatest.Generator{Model: "m", Samples: 4} // has a Fingerprint: cacheable
		sink := &prefdatatest.Sink{}
		st, err := (&prefdata.Pipeline{
			Source:     prefdata.Prompts(prompts...),
			Generators: []prefdata.Generator{gen},
			Filters:    []prefdata.Filter{lengthScores()},
			Labeler:    prefdatatest.Labeler{},
			Sink:       sink,
			Dir:        dir,
		}).Run(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("run %d: %d generation calls, %d prompts replayed, %d pairs\n", run, gen.Calls(), st.Cached.Prompts, len(sink.Pairs()))
	}
	// Output:
	// run 1: 2 generation calls, 0 prompts replayed, 2 pairs
	// run 2: 0 generation calls, 2 prompts replayed, 2 pairs
}
