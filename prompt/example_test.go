package prompt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
)

func ExampleNewReader() {
	in := `{"id": "q1", "prompt": "Name three rivers in Africa."}
{"instruction": "Translate to French.", "input": "Good night"}
{"prompt": "oops
{"conversations": [{"from": "human", "value": "Tell me a joke"}, {"from": "gpt", "value": "..."}]}
`
	r := prompt.NewReader(strings.NewReader(in), prompt.ReaderConfig{Name: "mixed.jsonl", SkipBad: true})
	for {
		p, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		var bad *prefdata.ItemError
		if errors.As(err, &bad) {
			fmt.Println("bad:", bad.Item)
			continue
		}
		fmt.Printf("%s %q\n", p.ID, p.Text())
	}
	rep := r.Report()
	fmt.Printf("records %d, prompts %d, bad %d\n", rep.Records, rep.Prompts, rep.Bad)
	// Output:
	// q1 "Name three rivers in Africa."
	// p-807a65b3148c99bd "Translate to French.\n\nGood night"
	// bad: mixed.jsonl:3
	// p-9137676987da9fef "Tell me a joke"
	// records 4, prompts 3, bad 1
}

func ExampleNearDedup() {
	d, err := prompt.NewNearDedup(prompt.NearDedupConfig{Seed: 1})
	if err != nil {
		fmt.Println(err) // an impossible setting, such as Threshold 1.5
		return
	}
	for i, text := range []string{
		"Explain how a hash table works, and give a small example in Python.",
		"Explain how a hash table works and give a small example in Python please.",
		"What is the capital of Australia?",
	} {
		p := prefdata.Prompt{ID: fmt.Sprint("p", i), Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}}
		_, err := d.FilterPrompt(context.Background(), p)
		if reason, ok := prefdata.Rejection(err); ok {
			fmt.Println(p.ID, "dropped:", reason)
		} else {
			fmt.Println(p.ID, "kept")
		}
	}
	// Output:
	// p0 kept
	// p1 dropped: near-duplicate of p0 (jaccard 0.87)
	// p2 kept
}

// Stage 1 on its own: filters in front of a balanced selection, with the
// funnel counted.
func ExampleFiltered() {
	var ps []prefdata.Prompt
	add := func(cat, text string) {
		ps = append(ps, prefdata.Prompt{Category: cat, Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}})
	}
	for i := range 6 {
		add("coding", fmt.Sprintf("Write a program number %d that prints the %s prime.", i, []string{"first", "second", "third", "fourth", "fifth", "sixth"}[i]))
	}
	add("coding", "write a program number 0 that prints the FIRST prime!")
	add("math", "What is 17 times 23?")
	add("writing", "Write a sonnet about the autumn rain in the city.")
	filtered := prompt.Filtered(prefdata.Prompts(ps...), nil, prompt.NewExactDedup(), prompt.MustNearDedup(prompt.NearDedupConfig{}))
	sel := prompt.Balance(filtered, prompt.BalanceConfig{Total: 6, Seed: 1})
	n := 0
	for {
		_, err := sel.Next(context.Background())
		if err != nil {
			break
		}
		n++
	}
	f := filtered.Funnel()
	fmt.Println("read", f.Read, "exact", f.Dropped["exact-dedup"], "near", f.Dropped["near-dedup"], "selected", n)
	for _, c := range []string{"coding", "math", "writing"} {
		fmt.Printf("%s %+v\n", c, sel.Counts()[c])
	}
	// Output:
	// read 9 exact 1 near 0 selected 6
	// coding {Available:6 Selected:4 Missing:0}
	// math {Available:1 Selected:1 Missing:1}
	// writing {Available:1 Selected:1 Missing:1}
}

// Keep the prompts on which the policy's answers get the lowest reward; the
// Rater replays the policy's answers to stage 2.
func ExampleDifficulty() {
	policy := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		var rs []prefdata.Response
		for i := range 2 {
			rs = append(rs, prefdata.Response{ID: fmt.Sprintf("%s/%d", p.ID, i), PromptID: p.ID, Text: p.Text()})
		}
		return rs, nil
	})
	// A stand-in reward model: longer prompts are harder for this policy.
	rm := prefdata.ScorerFunc(func(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
		var out []prefdata.Score
		for _, r := range rs {
			out = append(out, prefdata.Score{ResponseID: r.ID, Value: 1 / float64(len(r.Text))})
		}
		return out, nil
	})
	rater := &prompt.Rater{Policy: policy, Scorer: rm}
	src := prefdata.Prompts(
		prefdata.Prompt{ID: "short", Messages: []prefdata.Message{{Role: "user", Content: "Hi"}}},
		prefdata.Prompt{ID: "long", Messages: []prefdata.Message{{Role: "user", Content: "Prove Fermat's little theorem"}}},
	)
	sel := prompt.Difficulty(src, prompt.DifficultyConfig{Rater: rater, LowestMean: 0.5})
	for {
		p, err := sel.Next(context.Background())
		if err != nil {
			break
		}
		fmt.Println("kept", p.ID, "mean reward", p.Meta["reward_mean"])
	}
	rs, _ := rater.Generate(context.Background(), prefdata.Prompt{ID: "long"})
	fmt.Println("replayed", len(rs), "responses")
	// Output:
	// kept long mean reward 0.03448
	// replayed 2 responses
}

func ExampleRougeL() {
	fmt.Printf("%.2f\n", prompt.RougeL("Write a poem about the sea", "Write a short poem about the sea at night"))
	// Output: 0.80
}

// Grow a thin category: Balance reports how many prompts a category lacks,
// and SelfInstruct writes that many from seeds (a stand-in model here; use
// the response package's generator for a real one).
func ExampleSelfInstruct() {
	var pool []prefdata.Prompt
	for i := range 4 {
		pool = append(pool, prefdata.Prompt{ID: fmt.Sprint("c", i), Category: "coding",
			Messages: []prefdata.Message{{Role: "user", Content: fmt.Sprintf("Write a program that prints %d primes.", i+2)}}})
	}
	pool = append(pool, prefdata.Prompt{ID: "m0", Category: "math",
		Messages: []prefdata.Message{{Role: "user", Content: "What is the derivative of x^3?"}}})
	bal := prompt.Balance(prefdata.Prompts(pool...), prompt.BalanceConfig{Total: 6})
	for {
		if _, err := bal.Next(context.Background()); err != nil {
			break
		}
	}
	missing := bal.Counts()["math"].Missing

	model := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{ID: "r1", PromptID: p.ID, Text: "2. Solve 3x + 7 = 22 for x.\n3. What is the derivative of x^3 today?\n4. Sum the integers from 1 to 100."}}, nil
	})
	si := prompt.SelfInstruct(prompt.SelfInstructConfig{Gen: model, Seeds: pool, Category: "math", N: missing, InContext: 1})
	for {
		p, err := si.Next(context.Background())
		if err != nil {
			break
		}
		fmt.Printf("%s %q method=%s\n", p.Category, p.Text(), p.Meta["method"])
	}
	fmt.Printf("missing %d, discarded %v\n", missing, si.Stats().Discarded)
	// Output:
	// math "Solve 3x + 7 = 22 for x." method=self-instruct
	// math "Sum the integers from 1 to 100." method=self-instruct
	// missing 2, discarded map[similar:1]
}
