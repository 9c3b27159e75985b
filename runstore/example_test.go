package runstore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/runstore"
)

// Read the pairs of a run directory's latest run.
func Example() {
	root, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(root)
	d, _ := prefdata.OpenRunDir(root)
	_, err := (&prefdata.Pipeline{
		Source:     prefdata.Prompts(prefdatatest.NewPrompt("Name a prime."), prefdatatest.NewPrompt("Name a color.")),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 2}},
		Filters:    []prefdata.Filter{scoreBySample}, Labeler: prefdatatest.Labeler{}, Dir: d,
	}).Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	d.Close()

	s, err := runstore.OpenDir(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	pairs, err := s.LatestPairs()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pairs {
		fmt.Println(p.Prompt.Text(), p.Chosen.Model, p.Rejected.Model)
	}
	// Output:
	// Name a prime. m m
	// Name a color. m m
}
