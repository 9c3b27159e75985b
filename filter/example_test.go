package filter_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/filter/rmtest"
)

// A custom rule written as a function, composed with built-in filters.
func ExampleAllOf() {
	noURL := prefdata.ResponseFilterFunc("no-url", func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		if strings.Contains(r.Text, "http://") || strings.Contains(r.Text, "https://") {
			return "contains a link", nil
		}
		return "", nil
	})
	basic := filter.AllOf(filter.Empty(), filter.Refusal(filter.RefusalConfig{}), noURL)

	c := prefdata.Candidate{
		Prompt: prefdata.Prompt{ID: "p1", Messages: []prefdata.Message{{Role: "user", Content: "Name a prime."}}},
		Responses: []prefdata.Response{
			{ID: "r1", Text: "7 is prime."},
			{ID: "r2", Text: "   "},
			{ID: "r3", Text: "I'm sorry, but I can't help with that."},
			{ID: "r4", Text: "See https://example.com for primes."},
		},
	}
	out, _ := basic.Filter(context.Background(), c)
	fmt.Println(basic.(prefdata.Namer).Name())
	for _, r := range out.Responses {
		fmt.Println("kept", r.ID)
	}
	for _, d := range out.Dropped {
		fmt.Printf("dropped %s by %s: %s\n", d.ResponseID, d.Filter, d.Reason)
	}
	// Output:
	// all(empty,refusal,no-url)
	// kept r1
	// dropped r2 by empty: empty or whitespace-only text
	// dropped r3 by refusal: refusal pattern "i'm sorry, but i can't"
	// dropped r4 by no-url: contains a link
}

func ExampleParseRating() {
	for _, reply := range []string{
		"Correct and clear.\n\nRating: [[9]]",
		"Mostly right, but... Rating: [[1",
		"I'd give it a 7.",
	} {
		v, err := filter.ParseRating(reply)
		fmt.Println(v, err)
	}
	// Output:
	// 9 <nil>
	// 0 judge reply cut off inside its verdict: reply ends with "[[1" (reply "Mostly right, but... Rating: [[1")
	// 0 no verdict in judge reply: no "[[N]]" rating (reply "I'd give it a 7.")
}

func ExampleParseVerdict() {
	for _, reply := range []string{"My final verdict is: [[A>B]]", "Tie. [[C]]", "[[A]] ... actually [[B]]"} {
		v, err := filter.ParseVerdict(reply)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s %+.1f\n", v.Label, v.Preference)
	}
	// Output:
	// A>B +0.5
	// C +0.0
	// error: contradictory verdicts in judge reply: verdicts [[A]] and [[B]] (reply "[[A]] ... actually [[B]]")
}

// A rubric judge on any backend: here a function that plays the judge.
func ExampleRubricJudge() {
	judge := prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		rating := "3"
		if strings.Contains(p.Messages[1].Content, "Paris") {
			rating = "10"
		}
		return []prefdata.Response{{Text: "Checked the facts.\nRating: [[" + rating + "]]"}}, nil
	})
	j := &filter.RubricJudge{Generator: judge, Model: "toy-judge", Style: filter.StyleSingle}
	p := prefdata.Prompt{ID: "p1", Messages: []prefdata.Message{{Role: "user", Content: "Capital of France?"}}}
	scores, err := j.Score(context.Background(), p, []prefdata.Response{{ID: "a", Text: "Paris."}, {ID: "b", Text: "Lyon."}})
	fmt.Println(err)
	for _, s := range scores {
		fmt.Println(s.ResponseID, s.Scorer, s.Value, s.Rationale)
	}
	// Output:
	// <nil>
	// a judge:toy-judge 10 Checked the facts.
	// b judge:toy-judge 3 Checked the facts.
}

// Pairs from scores, routed by confidence: the judge agreed with the reward
// model in both orders for one pair, and contradicted itself for the other.
func ExampleRouter() {
	c := prefdata.Candidate{
		Prompt:    prefdata.Prompt{ID: "p1"},
		Responses: []prefdata.Response{{ID: "a"}, {ID: "b"}, {ID: "c"}},
		Scores: []prefdata.Score{
			{ResponseID: "a", Scorer: "rm", Value: 2.5},
			{ResponseID: "b", Scorer: "rm", Value: 0.5},
			{ResponseID: "c", Scorer: "rm", Value: 2.0},
		},
		Comparisons: []prefdata.Comparison{
			{A: "a", B: "b", Scorer: "judge:j", Preference: 1, Consistent: true},
			{A: "a", B: "c", Scorer: "judge:j", Preference: 0, Consistent: false},
		},
	}
	rt := filter.Router{Pairs: filter.Pairs{Strategy: filter.AllAboveMargin, MinGap: 0.25}}
	pairs, _ := rt.Label(context.Background(), c)
	for _, p := range pairs {
		fmt.Printf("%s>%s margin %.1f human=%v confidence %.2f (%s)\n", p.Chosen.ID, p.Rejected.ID, p.Margin, p.NeedsHuman, p.Provenance.Confidence, p.Provenance.Reason)
	}
	fmt.Println(filter.FormatCounts(filter.RouteReasons(pairs)))
	// Output:
	// a>c margin 0.5 human=true confidence 0.33 (judge-inconsistent: judge judge:j inconsistent, preference +0.00, gap 0.5)
	// a>b margin 2.0 human=false confidence 1.00 (confident: judge judge:j consistent, preference +1.00, gap 2)
	// c>b margin 1.5 human=false confidence 1.00 (confident: no judge, gap 1.5 of 1)
	// ai/confident=2 human/judge-inconsistent=1
}

// The three binarization strategies on the same scores; ties never pair.
func ExamplePairs() {
	c := prefdata.Candidate{Prompt: prefdata.Prompt{ID: "p1"}}
	for id, v := range map[string]float64{"a": 4, "b": 3, "c": 3, "d": 1} {
		c.Responses = append(c.Responses, prefdata.Response{ID: id})
		c.Scores = append(c.Scores, prefdata.Score{ResponseID: id, Scorer: "judge", Value: v})
	}
	for _, s := range []filter.Strategy{filter.BestVsRandomLower, filter.BestVsWorst, filter.AllAboveMargin} {
		var got []string
		for _, p := range (filter.Pairs{Strategy: s}).Build(c) {
			got = append(got, p.Chosen.ID+">"+p.Rejected.ID)
		}
		fmt.Println(s, len(got), "pairs")
	}
	// Output:
	// best-vs-random-lower 1 pairs
	// best-vs-worst 1 pairs
	// all-above-margin 5 pairs
}

// A reward model served by vLLM's /classify (here the fake of package
// rmtest): raw logits, one batched request, wrapped as a filter.
func ExampleNewRewardModel() {
	srv := rmtest.NewServer(rmtest.Config{API: filter.VLLMClassify, Reward: func(s string) float64 {
		if strings.Contains(s, "Paris") {
			return 2.25
		}
		return -1.5
	}})
	defer srv.Close()
	rm, err := filter.NewRewardModel(filter.RewardModelConfig{
		API: filter.VLLMClassify, BaseURL: srv.URL, Model: "Skywork-Reward",
		// The reward model's chat template, applied by the caller.
		Render: func(p prefdata.Prompt, r prefdata.Response) string {
			return "<user>" + p.Text() + "<assistant>" + r.Text
		},
		RenderName: "toy-template-v1",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := prefdata.Candidate{
		Prompt:    prefdata.Prompt{ID: "p1", Messages: []prefdata.Message{{Role: "user", Content: "Capital of France?"}}},
		Responses: []prefdata.Response{{ID: "a", Text: "Paris."}, {ID: "b", Text: "Lyon."}},
	}
	out, err := filter.Scores(rm).Filter(context.Background(), c)
	fmt.Println(err, len(srv.Requests()), "request")
	for _, s := range out.Scores {
		fmt.Println(s.ResponseID, s.Scorer, s.Value)
	}
	// Output:
	// <nil> 1 request
	// a rm:Skywork-Reward 2.25
	// b rm:Skywork-Reward -1.5
}
