// Command custom-filter shows a stage-3 filter written as a plain function,
// composed with the built-in rule filters, a scorer and the routing labeler,
// in a pipeline that runs offline: the "models" are canned answers.
//
//	go run ./examples/custom-filter
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"regexp"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

func main() {
	if err := parseArgs(os.Args[1:], os.Stderr); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "custom-filter:", err)
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// parseArgs checks the command line: the command takes no flags or
// arguments; -h prints what it does (flag.ErrHelp).
func parseArgs(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("custom-filter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: custom-filter\n\nRuns a pipeline offline with a custom stage-3 filter (canned model answers) and prints the pairs. It takes no flags.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: the command takes no arguments", fs.Arg(0))
	}
	return nil
}

func run(w io.Writer) error {
	// Canned answers per prompt and model.
	answers := map[string]map[string]string{
		"Name three primary colors.": {
			"model-a": "Red, yellow and blue are the traditional primary colors.",
			"model-b": "Red, green and blue (for light).",
			"model-c": "I'm sorry, but I can't help with that.",
		},
		"What is 12 times 12?": {
			"model-a": "12 x 12 = 144.",
			"model-b": "The answer is 144, since 12 squared is 144.",
			"model-c": "144. Contact me at bob@example.com for more math help!",
		},
		"Give a one-word synonym for happy.": {
			"model-a": "",
			"model-b": "Joyful.",
			"model-c": "Cheerful, glad.",
		},
	}

	// The custom filter: a function that returns a reason to drop a
	// response, or "" to keep it. Its name shows in the run's stats.
	email := regexp.MustCompile(`[\w.+-]+@[\w-]+\.[\w.]+`)
	noEmail := prefdata.ResponseFilterFunc("no-email", func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		if m := email.FindString(r.Text); m != "" {
			return "contains an e-mail address: " + m, nil
		}
		return "", nil
	})

	// A toy scorer standing in for a reward model: more distinct words
	// score higher. A real run would use filter.NewRewardModel or a
	// filter.RubricJudge here.
	toyRM := prefdata.ScorerFunc(func(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
		out := make([]prefdata.Score, len(rs))
		for i, r := range rs {
			words := map[string]bool{}
			for _, w := range strings.Fields(strings.ToLower(r.Text)) {
				words[w] = true
			}
			out[i] = prefdata.Score{ResponseID: r.ID, Scorer: "rm:toy", Value: float64(len(words))}
		}
		return out, nil
	})

	var gens []prefdata.Generator
	for _, model := range []string{"model-a", "model-b", "model-c"} {
		gens = append(gens, prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
			text := answers[p.Text()][model]
			return []prefdata.Response{{
				ID: prefdata.ResponseID(p.ID, model, "", prefdata.Sampling{}, 0), PromptID: p.ID,
				Model: model, Text: text, FinishReason: "stop",
			}}, nil
		}))
	}
	var prompts []prefdata.Prompt
	for _, q := range []string{"Name three primary colors.", "What is 12 times 12?", "Give a one-word synonym for happy."} {
		msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: q}}
		prompts = append(prompts, prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs})
	}

	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(prompts...),
		Generators: gens,
		Filters: []prefdata.Filter{
			// Built-in rules and the custom one, as one named step whose
			// drops still count under each rule's own name.
			filter.Named("rules", filter.AllOf(filter.Empty(), filter.Refusal(filter.RefusalConfig{}), noEmail)),
			filter.Scores(toyRM),
		},
		// Pairs from the scores; a gap of 3 distinct words or more is
		// trusted, smaller gaps go to people.
		Labeler: filter.Router{GapScale: 3},
		Sink: prefdata.SinkFunc(func(_ context.Context, pr prefdata.Pair) error {
			fmt.Fprintf(w, "AI pair    %q: chosen %s over %s (confidence %.2f)\n", pr.Prompt.Text(), pr.Chosen.Model, pr.Rejected.Model, pr.Provenance.Confidence)
			return nil
		}),
		Queue: prefdata.SinkFunc(func(_ context.Context, pr prefdata.Pair) error {
			fmt.Fprintf(w, "for people %q: %s vs %s (%s)\n", pr.Prompt.Text(), pr.Chosen.Model, pr.Rejected.Model, pr.Provenance.Reason)
			return nil
		}),
		Limits: prefdata.Limits{Filter: 1},
	}
	st, err := p.Run(context.Background())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "responses %d, kept %d, dropped: %s\n", st.Filter.In, st.Filter.Out, filter.FormatCounts(st.Filter.Dropped))
	fmt.Fprintf(w, "pairs: %d by AI, %d for people\n", st.PairsAI, st.PairsHuman)
	return nil
}
