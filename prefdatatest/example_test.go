package prefdatatest_test

import (
	"context"
	"fmt"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// Check that your own Generator keeps the contract the pipeline relies on.
func ExampleCheckGenerator() {
	mine := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []prefdata.Response{{
			ID:       prefdata.ResponseID(p.ID, "echo", "", prefdata.Sampling{}, 0),
			PromptID: p.ID, Model: "echo", Text: p.Text(),
		}}, nil
	})
	err := prefdatatest.CheckGenerator(context.Background(), mine, prefdatatest.NewPrompt("hello"))
	fmt.Println("contract kept:", err == nil)
	// Output: contract kept: true
}

// The test doubles count what the pipeline asked of them.
func ExampleGenerator() {
	gen := &prefdatatest.Generator{Model: "m", Samples: 3}
	sink := &prefdatatest.Sink{}
	_, err := (&prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(5),
		Generators: []prefdata.Generator{gen},
		Labeler:    prefdatatest.Labeler{},
		Sink:       sink,
	}).Run(context.Background())
	fmt.Println(err, gen.Calls(), sink.Flushed())
	// Output: <nil> 5 1
}
