package prompt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/prompt"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// lastUser returns the content of the request's last user message.
func lastUser(req openaitest.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == prefdata.RoleUser {
			return req.Messages[i].Content
		}
	}
	return ""
}

func newGen(t *testing.T, srv *openaitest.Server, model string, samples int) *response.Generator {
	t.Helper()
	g, err := response.New(response.Config{BaseURL: srv.URL, Model: model, Samples: samples, Retry: response.Retry{Attempts: 1}})
	require.NoError(t, err)
	return g
}

func TestClassifierAgainstFakeServer(t *testing.T) {
	answers := map[string]string{
		"How do I sort a slice in Go?":           "**Coding**.",
		"What is the integral of x^2?":           "I would say this one is math, clearly.",
		"Who was the first emperor of Rome?":     "Category: open_qa",
		"Summarize this: the cat sat on the mat": "category: Summarization\n(because it shortens a text)",
		"Blorp the snorfle":                      "banana banana",
		"Pretend you are a pirate captain":       "Roleplay",
	}
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, i int) openaitest.Reply {
		msg := lastUser(req)
		for q, a := range answers {
			if strings.Contains(msg, q) {
				return openaitest.Reply{Content: a}
			}
		}
		return openaitest.Reply{Content: "no idea"}
	}})
	defer srv.Close()
	c := &prompt.Classifier{Gen: newGen(t, srv, "judge", 1)}
	want := map[string]string{
		"How do I sort a slice in Go?":           "coding",
		"What is the integral of x^2?":           "math",
		"Who was the first emperor of Rome?":     "open qa",
		"Summarize this: the cat sat on the mat": "summarization",
		"Blorp the snorfle":                      "other",
		"Pretend you are a pirate captain":       "roleplay",
	}
	for q, cat := range want {
		p, err := c.FilterPrompt(context.Background(), userPrompt("x", q))
		require.NoError(t, err)
		assert.Equal(t, cat, p.Category, q)
		if cat == "other" {
			assert.Equal(t, "banana banana", p.Meta["category_raw"])
		} else {
			assert.Empty(t, p.Meta["category_raw"])
		}
	}
	require.Equal(t, len(want), srv.Requests())
	// The request lists the taxonomy and the prompt.
	req := srv.Log()[0]
	assert.Contains(t, lastUser(req), "- safety-sensitive:")
	assert.Contains(t, lastUser(req), "Category: <name>")

	// A prompt with a category keeps it and costs no call.
	p := userPrompt("y", "Anything")
	p.Category = "writing"
	p, err := c.FilterPrompt(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, "writing", p.Category)
	assert.Equal(t, len(want), srv.Requests())

	// A server that refuses is the prompt's failure, not a fallback.
	bad := openaitest.NewServer(openaitest.Config{Faults: []openaitest.Fault{openaitest.Fault400}})
	defer bad.Close()
	c = &prompt.Classifier{Gen: newGen(t, bad, "judge", 1)}
	_, err = c.FilterPrompt(context.Background(), userPrompt("z", "Hi"))
	require.Error(t, err)
	_, rejected := prefdata.Rejection(err)
	assert.False(t, rejected)
}

func TestParseCategory(t *testing.T) {
	tax := prompt.DefaultTaxonomy()
	for answer, want := range map[string]string{
		"closed_qa":                         "closed qa",
		"Closed-QA":                         "closed qa",
		"category: safety-sensitive":        "safety-sensitive",
		"The category is: writing.":         "writing",
		"brainstorming / writing":           "brainstorming",
		"I think coding. Category: math":    "math",
		"Rewriting (translation)":           "rewriting",
		"  EXTRACTION  ":                    "extraction",
		"classification, not summarization": "classification",
	} {
		got, ok := prompt.ParseCategory(answer, tax)
		assert.True(t, ok, answer)
		assert.Equal(t, want, got, answer)
	}
	for _, nonsense := range []string{"", "42", "qa", "I cannot help with that"} {
		_, ok := prompt.ParseCategory(nonsense, tax)
		assert.False(t, ok, nonsense)
	}
	custom := []prompt.Category{{Name: "Legal"}, {Name: "Medical"}}
	got, ok := prompt.ParseCategory("This is a medical question", custom)
	assert.True(t, ok)
	assert.Equal(t, "Medical", got)
}

func catPrompts(counts map[string]int) []prefdata.Prompt {
	var cats []string
	for c := range counts {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	var ps []prefdata.Prompt
	for _, c := range cats {
		for i := range counts[c] {
			p := userPrompt(fmt.Sprintf("%s-%d", c, i), c+" question "+strconv.Itoa(i))
			if c != "none" {
				p.Category = c
			}
			ps = append(ps, p)
		}
	}
	return ps
}

func selected(t *testing.T, b *prompt.Balancer) map[string]int {
	t.Helper()
	ps, bad, err := readAll(t, b)
	require.NoError(t, err)
	require.Empty(t, bad)
	out := map[string]int{}
	for _, p := range ps {
		c := p.Category
		if c == "" {
			c = "other"
		}
		out[c]++
	}
	return out
}

func TestBalanceEvenSpreadOfTotal(t *testing.T) {
	// 60% coding: a run of 100 must not be 60% coding.
	in := catPrompts(map[string]int{"coding": 600, "math": 200, "writing": 150, "roleplay": 20, "none": 30})
	b := prompt.Balance(prefdata.Prompts(in...), prompt.BalanceConfig{Total: 100, Seed: 1})
	got := selected(t, b)
	assert.Equal(t, map[string]int{"coding": 20, "math": 20, "writing": 20, "roleplay": 20, "other": 20}, got)

	b = prompt.Balance(prefdata.Prompts(in...), prompt.BalanceConfig{Total: 300, Seed: 1})
	got = selected(t, b)
	// roleplay (20) and other (30) give their unused share to the rest.
	assert.Equal(t, map[string]int{"coding": 84, "math": 83, "writing": 83, "roleplay": 20, "other": 30}, got)
	counts := b.Counts()
	assert.Equal(t, prompt.CategoryCount{Available: 20, Selected: 20, Missing: 40}, counts["roleplay"])
	assert.Equal(t, 600, counts["coding"].Available)
}

func TestBalanceCapsAndQuotas(t *testing.T) {
	in := catPrompts(map[string]int{"coding": 60, "math": 25, "writing": 15})
	b := prompt.Balance(prefdata.Prompts(in...), prompt.BalanceConfig{MaxShare: 0.3, Quotas: map[string]int{"writing": 5, "safety-sensitive": 10}})
	got := selected(t, b)
	assert.Equal(t, map[string]int{"coding": 30, "math": 25, "writing": 5}, got)
	assert.Equal(t, 10, b.Counts()["safety-sensitive"].Missing, "a quota with no prompts shows what to synthesize")

	// Deterministic for a seed, and the input order is kept.
	run := func(seed uint64) []string {
		ps, _, err := readAll(t, prompt.Balance(prefdata.Prompts(in...), prompt.BalanceConfig{Total: 30, Seed: seed}))
		require.NoError(t, err)
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		return ids
	}
	a := run(3)
	assert.Equal(t, a, run(3))
	assert.NotEqual(t, a, run(4))
	assert.Len(t, a, 30)
	pos := map[string]int{}
	for i, p := range in {
		pos[p.ID] = i
	}
	assert.True(t, sort.SliceIsSorted(a, func(i, j int) bool { return pos[a[i]] < pos[a[j]] }))
}

// rewardServer is a fake server with two models: "policy" answers
// "<prompt> | answer <choice>" and "rm" answers the reward scripted for
// that prompt and choice.
type rewardScript map[string][]float64 // prompt text → reward per sample

func rewardServer(t *testing.T, script rewardScript, fail string) *openaitest.Server {
	srv := openaitest.NewServer(openaitest.Config{
		Reply: func(req openaitest.Request, i int) openaitest.Reply {
			msg := lastUser(req)
			switch req.Model {
			case "policy":
				return openaitest.Reply{Content: fmt.Sprintf("%s | answer %d", msg, i)}
			case "rm":
				text := strings.TrimPrefix(msg, "Rate this answer: ")
				q, k, _ := strings.Cut(text, " | answer ")
				n, _ := strconv.Atoi(k)
				return openaitest.Reply{Content: fmt.Sprintf("%g", script[q][n])}
			}
			return openaitest.Reply{Content: "?"}
		},
		Fault: func(req openaitest.Request) openaitest.Fault {
			if fail != "" && req.Model == "policy" && lastUser(req) == fail {
				return openaitest.Fault400
			}
			return openaitest.FaultNone
		},
	})
	t.Cleanup(srv.Close)
	return srv
}

// llmScorer is a reward scorer that asks a model for a number per response.
func llmScorer(gen prefdata.Generator) prefdata.Scorer {
	return prefdata.ScorerFunc(func(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
		var out []prefdata.Score
		var errs []error
		for _, r := range rs {
			got, err := gen.Generate(ctx, userPrompt("rate-"+r.ID, "Rate this answer: "+r.Text))
			if err != nil || len(got) == 0 {
				errs = append(errs, fmt.Errorf("response %s: %w", r.ID, err))
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(got[0].Text), 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("response %s: %w", r.ID, err))
				continue
			}
			out = append(out, prefdata.Score{ResponseID: r.ID, Scorer: "rm", Value: v})
		}
		return out, errors.Join(errs...)
	})
}

func TestDifficultyAgainstFakeServer(t *testing.T) {
	script := rewardScript{
		"easy":     {0.9, 0.95, 0.9},
		"hard":     {0.1, 0.2, 0.15},
		"erratic":  {0.9, 0.1, 0.8},
		"medium":   {0.5, 0.6, 0.55},
		"hardest":  {0.05, 0.0, 0.1},
		"too easy": {1, 1, 1},
	}
	srv := rewardServer(t, script, "broken")
	rater := &prompt.Rater{Policy: newGen(t, srv, "policy", 3), Scorer: llmScorer(newGen(t, srv, "rm", 1))}
	var in []prefdata.Prompt
	for _, q := range []string{"easy", "hard", "erratic", "broken", "medium", "hardest", "too easy"} {
		in = append(in, userPrompt("id-"+strings.ReplaceAll(q, " ", "-"), q))
	}
	d := prompt.Difficulty(prefdata.Prompts(in...), prompt.DifficultyConfig{Rater: rater, LowestMean: 0.33, HighestVar: 0.16})
	ps, bad, err := readAll(t, d)
	require.NoError(t, err)
	var kept []string
	for _, p := range ps {
		kept = append(kept, p.ID)
	}
	// Of 6 rated prompts: the 2 lowest means (hardest, hard) and the 1
	// highest variance (erratic), in input order.
	assert.Equal(t, []string{"id-hard", "id-erratic", "id-hardest"}, kept)
	require.Len(t, bad, 1, "the prompt the policy fails on is one item error")
	assert.Equal(t, "id-broken", bad[0].Item)
	assert.Equal(t, "0.15", ps[0].Meta["reward_mean"])

	res := d.Results()
	require.Len(t, res, 6)
	for _, r := range res {
		if r.Prompt.ID == "id-erratic" {
			assert.InDelta(t, 0.6, r.Rating.Mean, 1e-9)
			assert.InDelta(t, (0.09+0.25+0.04)/3, r.Rating.Var, 1e-9)
			assert.Equal(t, 1, r.Rating.Worst)
			assert.Contains(t, r.Reason, "met: variance in highest 16%")
		}
	}

	// Stage 2 reuses the policy's responses: no new request.
	before := srv.Requests()
	rs, err := rater.Generate(context.Background(), in[1])
	require.NoError(t, err)
	require.Len(t, rs, 3)
	assert.Equal(t, "hard | answer 2", rs[2].Text)
	assert.Equal(t, "id-hard", rs[0].PromptID)
	assert.Equal(t, before, srv.Requests())

	// Threshold mode, all criteria required.
	d = prompt.Difficulty(prefdata.Prompts(in[:3]...), prompt.DifficultyConfig{Rater: rater, MeanBelow: prefdata.Float(0.7), VarAbove: prefdata.Float(0.01), All: true})
	ps, _, err = readAll(t, d)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, "id-erratic", ps[0].ID)
	assert.Equal(t, before, srv.Requests(), "prompts rated before are not rated again")
}

func TestRIPAgainstFakeServer(t *testing.T) {
	script := rewardScript{
		"good":        {0.7, 0.8, 0.75},
		"low floor":   {0.1, 0.8, 0.7},
		"wide gap":    {0.5, 1.9, 0.6},
		"fine also":   {0.6, 0.6, 0.6},
		"short worst": {0.6, 0.9, 0.9},
	}
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, i int) openaitest.Reply {
		msg := lastUser(req)
		if req.Model == "policy" {
			if msg == "short worst" && i == 0 {
				return openaitest.Reply{Content: "short worst | answer 0"}
			}
			return openaitest.Reply{Content: msg + " | answer " + strconv.Itoa(i) + " with enough words to pass the length check"}
		}
		text := strings.TrimPrefix(msg, "Rate this answer: ")
		q, k, _ := strings.Cut(text, " | answer ")
		n, _ := strconv.Atoi(strings.Fields(k)[0])
		return openaitest.Reply{Content: fmt.Sprintf("%g", script[q][n])}
	}})
	defer srv.Close()
	rater := &prompt.Rater{Policy: newGen(t, srv, "policy", 3), Scorer: llmScorer(newGen(t, srv, "rm", 1))}
	rip := &prompt.RIP{Rater: rater, Floor: prefdata.Float(0.3), MinWorstWords: 6, MaxGap: prefdata.Float(1.0)}
	got := decide(t, rip, "good", "low floor", "wide gap", "fine also", "short worst")
	assert.Equal(t, "", got[0])
	assert.Regexp(t, `^worst response r-\w+ has reward 0.1, below the floor 0.3$`, got[1])
	assert.Equal(t, "best-worst reward gap 1.4 is above 1", got[2])
	assert.Equal(t, "", got[3])
	assert.Regexp(t, `has 5 words, fewer than 6$`, got[4])
}

func TestSelfInstructAgainstFakeServer(t *testing.T) {
	seeds := []prefdata.Prompt{
		userPrompt("s1", "Write a limerick about a forgetful wizard."),
		userPrompt("s2", "Explain the difference between a virus and a bacterium to a ten-year-old."),
		userPrompt("s3", "Give three tips for keeping houseplants alive in winter."),
	}
	var mu sync.Mutex
	calls := 0
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, i int) openaitest.Reply {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return openaitest.Reply{Content: "4. Write a limerick about a forgetful old wizard.\n" + // near copy of a seed
				"5. Describe how tides work,\n   using the moon as the main example.\n" + // continuation line
				"6. Sure, here is a poem about the sea.\n" + // an answer
				"7. Hi.\n" + // too short
				"8. Plan a three-day itinerary for Lisbon on a student budget."}
		}
		return openaitest.Reply{Content: "4. Describe how tides work using the moon as the main example.\n" + // similar to a kept one
			"5. Write a SQL query that finds duplicate emails in a users table.\n" +
			"6) Compose a haiku about rush hour traffic in Tokyo.\n" +
			"7. Suggest names for a bakery that sells only sourdough."}
	}})
	defer srv.Close()
	si := prompt.SelfInstruct(prompt.SelfInstructConfig{Gen: newGen(t, srv, "writer", 1), Seeds: seeds, N: 4, Category: "brainstorming", Seed: 9})
	ps, bad, err := readAll(t, si)
	require.NoError(t, err)
	require.Empty(t, bad)
	var texts []string
	for _, p := range ps {
		texts = append(texts, p.Text())
		assert.Equal(t, "synth:self-instruct", p.Source)
		assert.Equal(t, "self-instruct", p.Meta["method"])
		assert.Equal(t, "brainstorming", p.Category)
		parents := strings.Split(p.Meta["parent"], ",")
		assert.Len(t, parents, 3)
		assert.Equal(t, prefdata.ContentID(p.Messages), p.ID)
	}
	assert.Equal(t, []string{
		"Describe how tides work,\n   using the moon as the main example.",
		"Plan a three-day itinerary for Lisbon on a student budget.",
		"Write a SQL query that finds duplicate emails in a users table.",
		"Compose a haiku about rush hour traffic in Tokyo.",
	}, texts)
	st := si.Stats()
	assert.Equal(t, 2, st.Requests)
	assert.Equal(t, 4, st.Kept)
	assert.Equal(t, map[string]int{"similar": 2, "not an instruction": 1, "too short": 1}, st.Discarded)
	// The request shows the examples and asks for the category.
	req := lastUser(srv.Log()[0])
	assert.Contains(t, req, `the category "brainstorming"`)
	assert.Contains(t, req, "Continue the numbered list from 4 to 8")
}

func TestRougeL(t *testing.T) {
	assert.Equal(t, 1.0, prompt.RougeL("The cat sat.", "the CAT sat"))
	assert.Equal(t, 0.0, prompt.RougeL("alpha beta", "gamma delta"))
	assert.Equal(t, 0.0, prompt.RougeL("", "gamma delta"))
	// LCS of "a b c d" and "a c d e" is "a c d": P = R = 3/4.
	assert.InDelta(t, 0.75, prompt.RougeL("a b c d", "a c d e"), 1e-12)
	// LCS 2, lengths 2 and 6: P = 1, R = 1/3, F = 0.5.
	assert.InDelta(t, 0.5, prompt.RougeL("red fox", "the quick red brown fox jumps"), 1e-12)
	assert.Equal(t, prompt.RougeL("x y z w", "y w"), prompt.RougeL("y w", "x y z w"))
}

func TestParseList(t *testing.T) {
	assert.Equal(t, []string{"First thing", "Second\nwith more", "Third"},
		prompt.ParseList("1. First thing\n2) Second\nwith more\n- Third\n"))
	assert.Equal(t, []string{"One request", "Another request"},
		prompt.ParseList("One request\n\nAnother request"))
	assert.Equal(t, []string{"Do this", "Do that"}, prompt.ParseList("Instruction 1: Do this\nInstruction 2: \"Do that\""))
}

func TestEvolAgainstFakeServer(t *testing.T) {
	orig := []prefdata.Prompt{
		userPrompt("a", "Write a function that reverses a string."),
		userPrompt("b", "Explain photosynthesis."),
		userPrompt("c", "Give me a packing list for a beach holiday."),
		userPrompt("d", "What is a prime number?"),
		userPrompt("e", "Describe the water cycle."),
		userPrompt("f", "Suggest a name for my cat."),
	}
	orig[0].Category = "coding"
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, i int) openaitest.Reply {
		msg := lastUser(req)
		switch {
		case strings.Contains(msg, "reverses a string"):
			return openaitest.Reply{Content: "<prompt>Write a Go function that reverses a UTF-8 string in place without allocating, and explain why it handles multi-byte runes correctly.</prompt>"}
		case strings.Contains(msg, "photosynthesis"):
			return openaitest.Reply{Content: "<prompt>Explain photosynthesis.</prompt>"} // a copy
		case strings.Contains(msg, "packing list"):
			return openaitest.Reply{Content: "Sure! Here is your packing list: sunscreen, towel, hat."} // an answer
		case strings.Contains(msg, "prime number"):
			return openaitest.Reply{Content: "<prompt></prompt>"} // empty
		case strings.Contains(msg, "water cycle"):
			return openaitest.Reply{Content: "Rewritten prompt: Describe the water cycle as the rewritten request."} // leftovers
		}
		return openaitest.Reply{Content: "I'm sorry, I can't help with that."}
	}})
	defer srv.Close()
	e := prompt.Evol(prefdata.Prompts(orig...), prompt.EvolConfig{Gen: newGen(t, srv, "writer", 1), Methods: []prompt.EvolMethod{prompt.EvolConstraints}, KeepOriginal: true, Seed: 1})
	ps, bad, err := readAll(t, e)
	require.NoError(t, err)
	require.Empty(t, bad)
	require.Len(t, ps, 7, "six originals and one surviving rewrite")
	child := ps[1]
	assert.Equal(t, "a", ps[0].ID)
	assert.Equal(t, "synth:evol", child.Source)
	assert.Equal(t, map[string]string{"method": "evol:constraints", "parent": "a"}, child.Meta)
	assert.Equal(t, "coding", child.Category)
	assert.True(t, strings.HasPrefix(child.Text(), "Write a Go function that reverses"))
	st := e.Stats()
	assert.Equal(t, 6, st.Requests)
	assert.Equal(t, 1, st.Kept)
	assert.Equal(t, map[string]int{"copy": 1, "answer": 2, "empty": 1, "instruction leftovers": 1}, st.Discarded)
	assert.Contains(t, lastUser(srv.Log()[0]), "adds one or two concrete requirements")
}

func TestEvolFailureIsOneItem(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{
		Reply: func(req openaitest.Request, i int) openaitest.Reply {
			return openaitest.Reply{Content: "<prompt>Explain, step by step, how a compiler turns source code into machine code for an x86 processor.</prompt>"}
		},
		Faults: []openaitest.Fault{openaitest.Fault400},
	})
	defer srv.Close()
	e := prompt.Evol(prefdata.Prompts(userPrompt("a", "What is a compiler?"), userPrompt("b", "How do compilers work?")),
		prompt.EvolConfig{Gen: newGen(t, srv, "writer", 1), Methods: []prompt.EvolMethod{prompt.EvolReasoning}, KeepOriginal: true})
	var ids []string
	var items []string
	for {
		p, err := e.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		var ie *prefdata.ItemError
		if errors.As(err, &ie) {
			items = append(items, ie.Item+" "+ie.Component)
			continue
		}
		require.NoError(t, err)
		ids = append(ids, p.ID)
	}
	assert.Equal(t, []string{"a evol:reasoning"}, items)
	require.Len(t, ids, 3, "both originals and b's rewrite")
	assert.Equal(t, "a", ids[0])
	assert.Equal(t, "b", ids[1])
}

// Stage 1 picks the hard prompts with the policy's answers, and stage 2
// reuses those answers through the Rater inside a real Pipeline.
func TestDifficultyFeedsPipeline(t *testing.T) {
	script := rewardScript{"p1": {0.1, 0.9}, "p2": {0.8, 0.9}, "p3": {0.2, 0.3}, "p4": {0.7, 0.7}}
	srv := rewardServer(t, script, "")
	rater := &prompt.Rater{Policy: newGen(t, srv, "policy", 2), Scorer: llmScorer(newGen(t, srv, "rm", 1))}
	var in []prefdata.Prompt
	for _, q := range []string{"p1", "p2", "p3", "p4"} {
		in = append(in, userPrompt(q, q))
	}
	sink := &prefdatatest.Sink{}
	pl := &prefdata.Pipeline{
		Source:     prompt.Difficulty(prefdata.Prompts(in...), prompt.DifficultyConfig{Rater: rater, LowestMean: 0.5}),
		Generators: []prefdata.Generator{rater},
		Filters: []prefdata.Filter{prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
			sc, err := rater.Scorer.Score(ctx, c.Prompt, c.Responses)
			c.Scores = append(c.Scores, sc...)
			return c, err
		})},
		Labeler: prefdatatest.Labeler{},
		Sink:    sink,
	}
	st, err := pl.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, st.Prompt.In, "the two weakest prompts")
	assert.Equal(t, 4, st.Responses)
	pairs := sink.Pairs()
	require.Len(t, pairs, 2)
	got := map[string]string{}
	for _, p := range pairs {
		got[p.Prompt.ID] = p.Chosen.Text + " > " + p.Rejected.Text
	}
	assert.Equal(t, map[string]string{"p1": "p1 | answer 1 > p1 | answer 0", "p3": "p3 | answer 1 > p3 | answer 0"}, got)
	// Stage 1 asked the policy once per prompt (n=2); stage 2 asked it
	// nothing: the Rater replayed the answers.
	policy := 0
	for _, r := range srv.Log() {
		if r.Model == "policy" {
			policy++
		}
	}
	assert.Equal(t, 4, policy)
	assert.NoError(t, prefdatatest.CheckGenerator(context.Background(), rater, in[0]))
}

// Balance's water-filling, over random inputs: the selection never passes
// Total, a cap or what a category has; and when it selects fewer than Total,
// every category is at its limit.
func TestBalanceProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cats := []string{"a", "b", "c", "d", "e"}
	for trial := range 300 {
		counts := map[string]int{}
		for _, c := range cats[:1+rng.IntN(len(cats))] {
			counts[c] = rng.IntN(40)
		}
		cfg := prompt.BalanceConfig{Total: rng.IntN(120), Seed: uint64(trial)}
		if rng.IntN(2) == 0 {
			cfg.MaxShare = float64(1+rng.IntN(9)) / 10
		}
		if rng.IntN(3) == 0 {
			cfg.Quotas = map[string]int{cats[rng.IntN(len(cats))]: rng.IntN(30)}
		}
		b := prompt.Balance(prefdata.Prompts(catPrompts(counts)...), cfg)
		got := selected(t, b)
		total := cfg.Total
		all := 0
		for _, n := range counts {
			all += n
		}
		if total == 0 {
			total = all
		}
		limit := func(c string) int {
			l := counts[c]
			if q, ok := cfg.Quotas[c]; ok {
				return min(l, q)
			}
			if cfg.MaxShare > 0 {
				return min(l, int(cfg.MaxShare*float64(total)))
			}
			return l
		}
		sum := 0
		for c, n := range got {
			assert.LessOrEqual(t, n, limit(c), "trial %d category %s: %+v", trial, c, cfg)
			sum += n
		}
		assert.LessOrEqual(t, sum, total, "trial %d", trial)
		if sum < total {
			for c := range counts {
				if c == "none" {
					continue
				}
				assert.Equal(t, limit(c), got[c], "trial %d: %d < %d selected, yet %s is below its limit (%+v, %v)", trial, sum, total, c, cfg, counts)
			}
		}
	}
}

// fpGen is a generator with a fingerprint, counting its calls.
type fpGen struct {
	prefdata.GeneratorFunc
	fp string
}

func (g fpGen) Fingerprint() string { return g.fp }

// Inside a Pipeline with a run directory, the Classifier's categories are
// cached: a rerun does not ask the model again, and a prompt keeps its
// category.
func TestClassifierCachedInRunDir(t *testing.T) {
	var mu sync.Mutex
	asked := 0
	model := fpGen{fp: "judge-v1", GeneratorFunc: func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		mu.Lock()
		asked++
		mu.Unlock()
		return []prefdata.Response{{ID: "r-" + p.ID, PromptID: p.ID, Text: "Category: math"}}, nil
	}}
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	run := func() (prefdata.Stats, []string) {
		var cats []string
		gen := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
			mu.Lock()
			cats = append(cats, p.ID+"="+p.Category)
			mu.Unlock()
			return []prefdata.Response{{ID: "a-" + p.ID, PromptID: p.ID, Text: "x"}, {ID: "b-" + p.ID, PromptID: p.ID, Text: "x y"}}, nil
		})
		pl := &prefdata.Pipeline{
			Source:        prefdata.Prompts(userPrompt("q1", "What is 2+2?"), userPrompt("q2", "Integrate x^2.")),
			PromptFilters: []prefdata.PromptFilter{&prompt.Classifier{Gen: model}},
			Generators:    []prefdata.Generator{gen},
			Filters: []prefdata.Filter{prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
				sc, err := prefdatatest.LengthScorer{}.Score(ctx, c.Prompt, c.Responses)
				c.Scores = append(c.Scores, sc...)
				return c, err
			})},
			Labeler: prefdatatest.Labeler{},
			Dir:     dir,
		}
		st, err := pl.Run(context.Background())
		require.NoError(t, err)
		sort.Strings(cats)
		return st, cats
	}
	_, cats := run()
	assert.Equal(t, 2, asked)
	assert.Equal(t, []string{"q1=math", "q2=math"}, cats)
	st, _ := run()
	assert.Equal(t, 2, asked, "the rerun reads the categories back")
	assert.Equal(t, 2, st.Cached.PromptFilters)

	c := &prompt.Classifier{Gen: model}
	fp := c.Fingerprint()
	assert.NotEqual(t, fp, (&prompt.Classifier{Gen: model, Taxonomy: []prompt.Category{{Name: "math"}}}).Fingerprint())
	assert.NotEqual(t, fp, (&prompt.Classifier{Gen: model, Version: "2"}).Fingerprint())
	assert.NotEqual(t, fp, (&prompt.Classifier{Gen: fpGen{fp: "judge-v2", GeneratorFunc: model.GeneratorFunc}}).Fingerprint())
}
