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

// Read the pairs waiting for people, their response texts filled in from
// the responses journal, and the human labels that count.
func ExampleStore_Queue() {
	root, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(root)
	d, _ := prefdata.OpenRunDir(root)
	_, err := (&prefdata.Pipeline{
		Source:     prefdata.Prompts(prefdatatest.NewPrompt("Name a prime.")),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 2}},
		// Every pair goes to people.
		Filters: []prefdata.Filter{scoreBySample}, Labeler: prefdatatest.Labeler{HumanBelow: 100}, Dir: d,
	}).Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	// Someone prefers the rejected response (as package label's server
	// would write it).
	var queued prefdata.Pair
	s, _ := runstore.Open(d)
	_ = s.Queue(func(p prefdata.Pair) error { queued = p; return nil }, nil)
	_ = d.Append(runstore.FileHumanLabels, runstore.Label{ID: "l1", PairID: queued.ID, Annotator: "ann",
		Verdict: runstore.VerdictPrefer, Preferred: queued.Rejected.ID, Strength: runstore.Clearly, Source: runstore.SourceApp})
	d.Close()

	s, err = runstore.OpenDir(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = s.Queue(func(p prefdata.Pair) error {
		fmt.Printf("queued: %s\n  %s\n  %s\n", p.Prompt.Text(), p.Chosen.Text, p.Rejected.Text)
		return nil
	}, func(bad error) { fmt.Println("skipped:", bad) })
	if err != nil {
		fmt.Println(err)
		return
	}
	labels, err := s.CurrentLabels()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range labels {
		fmt.Println(l.Annotator, l.Verdict, l.Strength, l.Preferred == queued.Rejected.ID)
	}
	// Output:
	// queued: Name a prime.
	//   m answers "Name a prime.": w93 wdd w17 w78
	//   m answers "Name a prime.": wc3 w98 wcd w82 w90 wb4
	// ann prefer clearly true
}
