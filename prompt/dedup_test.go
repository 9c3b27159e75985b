package prompt_test

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
)

func userPrompt(id, text string) prefdata.Prompt {
	return prefdata.Prompt{ID: id, Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}}
}

// decide runs f over texts and returns, for each, "" when kept or the
// rejection reason.
func decide(t *testing.T, f prefdata.PromptFilter, texts ...string) []string {
	t.Helper()
	var out []string
	for i, s := range texts {
		_, err := f.FilterPrompt(context.Background(), userPrompt("p"+string(rune('0'+i)), s))
		reason, ok := prefdata.Rejection(err)
		if !ok {
			require.NoError(t, err)
		}
		out = append(out, reason)
	}
	return out
}

func TestNormalize(t *testing.T) {
	assert.Equal(t, "hello world 42", prompt.Normalize("  Hello,\tWORLD!! (42) "))
	assert.Equal(t, "café über", prompt.Normalize("Café — Über."))
	assert.Equal(t, "", prompt.Normalize(" ?! "))
}

func TestExactDedup(t *testing.T) {
	got := decide(t, prompt.NewExactDedup(),
		"Hello, World!",
		"hello   world",
		"Hello world, again",
		"HELLO WORLD.",
	)
	assert.Equal(t, []string{"", "exact duplicate of p0", "", "exact duplicate of p0"}, got)
}

var paraphrases = [][2]string{
	{"Write a short poem about the ocean at night and the stars that shine above it.",
		"Write a short poem about the sea at night and the stars that shine above it."},
	{"Explain how a hash table works, and give a small example in Python.",
		"Explain how a hash table works and give a small example in Python please."},
	{"Summarize the following article in three short sentences for a busy executive.",
		"Summarise the following article in three short sentences for a busy executive."},
	{"What are the main differences between TCP and UDP, and when should I use each one?",
		"What are the main differences between TCP and UDP, and when should I use each?"},
	{"Give me a recipe for a vegan chocolate cake that does not need an oven.",
		"Give me a recipe for a vegan chocolate cake that doesn't need an oven."},
}

var unrelated = []string{
	"What is the capital of Australia?",
	"Write a haiku about autumn leaves falling in a quiet park.",
	"Prove that the square root of two is irrational.",
	"Translate 'good morning, how are you' into Spanish and German.",
	"Write a poem about cats.",
	"Write a poem about dogs.",
	"List five tips for a successful job interview at a software company.",
	"How do I reverse a linked list in Go without allocating?",
}

func TestNearDedupCatchesParaphrases(t *testing.T) {
	d := prompt.MustNearDedup(prompt.NearDedupConfig{Seed: 1})
	for _, pp := range paraphrases {
		got := decide(t, d, pp[0], pp[1])
		assert.Equal(t, "", got[0], pp[0])
		assert.Contains(t, got[1], "near-duplicate of p0 (jaccard 0.", "%q vs %q: similarity %.2f", pp[0], pp[1], d.Similarity(pp[0], pp[1]))
	}
}

func TestNearDedupKeepsUnrelated(t *testing.T) {
	d := prompt.MustNearDedup(prompt.NearDedupConfig{Seed: 1})
	got := decide(t, d, unrelated...)
	for i, r := range got {
		assert.Equal(t, "", r, unrelated[i])
	}
	assert.Equal(t, len(unrelated), d.Len())
	assert.Less(t, d.Similarity(unrelated[4], unrelated[5]), 0.7, "one changed word in a short prompt is a different request")
}

func TestNearDedupDeterministicForSeed(t *testing.T) {
	texts := append([]string{}, unrelated...)
	for _, pp := range paraphrases {
		texts = append(texts, pp[0], pp[1])
	}
	run := func(seed uint64) ([]string, []uint32) {
		d := prompt.MustNearDedup(prompt.NearDedupConfig{Seed: seed})
		return decide(t, d, texts...), d.Signature(texts[0])
	}
	r1, s1 := run(42)
	r2, s2 := run(42)
	assert.Equal(t, r1, r2)
	assert.Equal(t, s1, s2)
	_, s3 := run(43)
	assert.NotEqual(t, s1, s3, "another seed, other hash functions")
}

func TestNearDedupConfig(t *testing.T) {
	b, r := prompt.OptimalBands(0.7, 128)
	assert.Equal(t, [2]int{18, 7}, [2]int{b, r})
	d := prompt.MustNearDedup(prompt.NearDedupConfig{})
	cfg := d.Config()
	assert.Equal(t, 0.7, cfg.Threshold)
	assert.Equal(t, 128, cfg.NumPerm)
	assert.Equal(t, 5, cfg.ShingleSize)
	assert.Equal(t, 18, cfg.Bands)
	assert.Len(t, d.Signature("x"), 128)
	assert.Equal(t, 1.0, d.Similarity("Hello there, world", "hello THERE world!"))

	// Word shingles: one changed word in 12 removes 3 of 10 trigrams.
	w := prompt.MustNearDedup(prompt.NearDedupConfig{Words: true, ShingleSize: 3, Threshold: 0.5})
	got := decide(t, w,
		"one two three four five six seven eight nine ten eleven twelve",
		"one two three four five six seven eight nine ten eleven dozen",
		"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")
	assert.Equal(t, "", got[0])
	assert.Contains(t, got[1], "near-duplicate of p0")
	assert.Equal(t, "", got[2])
}

// An impossible configuration is an error naming the field, not a panic.
func TestNearDedupConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg  prompt.NearDedupConfig
		want string
	}{
		{prompt.NearDedupConfig{Bands: 200}, "NearDedupConfig.Bands 200 is above NumPerm 128"},
		{prompt.NearDedupConfig{NumPerm: 16, Bands: 17}, "NearDedupConfig.Bands 17 is above NumPerm 16"},
		{prompt.NearDedupConfig{Threshold: 1.5}, "NearDedupConfig.Threshold 1.5"},
		{prompt.NearDedupConfig{Threshold: -0.2}, "NearDedupConfig.Threshold -0.2"},
		{prompt.NearDedupConfig{Threshold: math.NaN()}, "NearDedupConfig.Threshold NaN"},
		{prompt.NearDedupConfig{NumPerm: -1}, "NearDedupConfig.NumPerm -1"},
		{prompt.NearDedupConfig{ShingleSize: -3}, "NearDedupConfig.ShingleSize -3"},
		{prompt.NearDedupConfig{Bands: -2}, "NearDedupConfig.Bands -2"},
	} {
		d, err := prompt.NewNearDedup(tt.cfg)
		assert.Nil(t, d, "%+v", tt.cfg)
		assert.ErrorContains(t, err, tt.want)
		assert.ErrorContains(t, tt.cfg.Validate(), tt.want)
	}
	assert.NoError(t, prompt.NearDedupConfig{}.Validate())
	assert.NoError(t, prompt.NearDedupConfig{Threshold: 1, NumPerm: 16, Bands: 16}.Validate())
	assert.Panics(t, func() { prompt.MustNearDedup(prompt.NearDedupConfig{Bands: 200}) })
}

// Character shingles longer than 63 runes are used as set, not cut short:
// a text of exactly k runes is one shingle, and one more rune makes a
// second, so the two share one shingle of two (Jaccard 1/2).
func TestNearDedupLongCharShingles(t *testing.T) {
	d := prompt.MustNearDedup(prompt.NearDedupConfig{ShingleSize: 80, Seed: 1})
	assert.Equal(t, 80, d.Config().ShingleSize)
	a := strings.Repeat("abcdefghij", 8)
	assert.InDelta(t, 0.5, d.Similarity(a, a+"k"), 0.15)
}

func TestDecontaminator(t *testing.T) {
	evals := []prefdata.Prompt{
		userPrompt("eval-1", "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting cultural experiences."),
		userPrompt("eval-2", "Name the tallest mountain."),
	}
	d := prompt.NewDecontaminator(0, evals...)
	got := decide(t, d,
		"Please compose an engaging travel blog post about a recent trip to Hawaii for my site.",
		"Compose a travel blog post about Hawaii.",
		"Quick quiz: name the tallest mountain!",
		"Name the tallest mountain range in Europe.",
		"Name the tallest",
	)
	assert.Equal(t, `shares 8-gram "compose an engaging travel blog post about a" with eval eval-1`, got[0])
	assert.Equal(t, "", got[1], "no shared 8-gram")
	assert.Contains(t, got[2], `contains eval prompt "name the tallest mountain" (eval-2)`)
	assert.Contains(t, got[3], "eval-2")
	assert.Equal(t, "", got[4])

	d4 := prompt.NewDecontaminator(4, evals...)
	assert.Contains(t, decide(t, d4, "Write about a recent trip to Hawaii")[0], `shares 4-gram "about a recent trip" with eval eval-1`)
}

func TestDecontaminateRealEvalSet(t *testing.T) {
	r, err := prompt.Open(sharedData(t, "alpaca_eval/gemma-7b-it.json"), prompt.ReaderConfig{})
	require.NoError(t, err)
	defer r.Close()
	evals, _, err := readAll(t, r)
	require.NoError(t, err)
	d := prompt.NewDecontaminator(8, evals...)
	// An eval instruction inside a longer prompt is caught.
	leaked := "Answer this for my homework: " + evals[100].Text()
	got := decide(t, d, leaked, "Write a limerick about a cat who learns to fly a small plane over the sea.")
	assert.Contains(t, got[0], "shares 8-gram")
	assert.Equal(t, "", got[1])
}

// The drops, and what each duplicates, land in the run directory's prompts
// file when the filters run inside a Pipeline.
func TestDedupInPipelineRecordsDrops(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	src := prefdata.Prompts(
		userPrompt("a", paraphrases[0][0]),
		userPrompt("b", strings.ToUpper(paraphrases[0][0])),
		userPrompt("c", paraphrases[0][1]),
		userPrompt("d", unrelated[0]),
	)
	p := &prefdata.Pipeline{
		Source:        src,
		PromptFilters: []prefdata.PromptFilter{prompt.NewExactDedup(), prompt.MustNearDedup(prompt.NearDedupConfig{})},
		Generators: []prefdata.Generator{prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
			return []prefdata.Response{{ID: "r-" + p.ID, PromptID: p.ID, Text: "ok"}}, nil
		})},
		Labeler: prefdata.LabelerFunc(func(ctx context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) { return nil, nil }),
		Dir:     dir,
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"exact-dedup": 1, "near-dedup": 1}, st.Prompt.Dropped)
	drops := droppedIn(t, dir)
	assert.Equal(t, "exact-dedup: exact duplicate of a", drops["b"])
	assert.Contains(t, drops["c"], "near-dedup: near-duplicate of a (jaccard ")
	assert.Len(t, drops, 2)
}

func TestFilteredConcurrency(t *testing.T) {
	const n = 4
	var mu sync.Mutex
	entered := 0
	all := make(chan struct{})
	// Each call waits until all n calls of the batch are in: a serial
	// implementation would never return.
	f := prefdata.NamedPromptFilter("tag", prefdata.PromptFilterFunc(func(ctx context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
		mu.Lock()
		entered++
		if entered == n {
			close(all)
		}
		mu.Unlock()
		<-all
		switch p.Text() {
		case "drop":
			return p, prefdata.Reject("not wanted")
		case "fail":
			return p, errors.New("model down")
		}
		p.Category = "tagged"
		return p, nil
	}))
	var drops []string
	src := prompt.Filtered(prefdata.Prompts(
		userPrompt("a", "one"), userPrompt("b", "drop"), userPrompt("c", "fail"), userPrompt("d", "four"),
	), func(p prefdata.Prompt, filter, reason string) { drops = append(drops, p.ID+" "+filter+": "+reason) }, f).Concurrency(n)
	ps, bad, err := readAll(t, src)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "a", ps[0].ID)
	assert.Equal(t, "d", ps[1].ID)
	assert.Equal(t, "tagged", ps[1].Category)
	require.Len(t, bad, 1)
	assert.Equal(t, "c", bad[0].Item)
	assert.Equal(t, "tag", bad[0].Component)
	assert.Equal(t, []string{"b tag: not wanted"}, drops)
	fn := src.Funnel()
	assert.Equal(t, prompt.Funnel{Read: 4, Failed: 1, Dropped: map[string]int{"tag": 1}, Kept: 2}, fn)
}

// Every source keeps returning io.EOF once it has.
func TestSourcesStayAtEOF(t *testing.T) {
	one := func() prefdata.PromptSource { return prefdata.Prompts(userPrompt("a", "hello there")) }
	gen := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{ID: "r-" + p.ID, PromptID: p.ID, Text: "<prompt>Say hello there to five different people in five languages.</prompt>"}}, nil
	})
	scorer := prefdata.ScorerFunc(func(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
		return []prefdata.Score{{ResponseID: rs[0].ID, Value: 1}}, nil
	})
	for name, src := range map[string]prefdata.PromptSource{
		"reader":       prompt.NewReader(strings.NewReader(`{"prompt": "x"}`), prompt.ReaderConfig{}),
		"concat":       prompt.Concat(one(), one()),
		"interleave":   prompt.Interleave(1, prompt.Weighted{Source: one()}, prompt.Weighted{Source: one()}),
		"filtered":     prompt.Filtered(one(), nil, prompt.NewExactDedup()),
		"balance":      prompt.Balance(one(), prompt.BalanceConfig{}),
		"difficulty":   prompt.Difficulty(one(), prompt.DifficultyConfig{Rater: &prompt.Rater{Policy: gen, Scorer: scorer}}),
		"evol":         prompt.Evol(one(), prompt.EvolConfig{Gen: gen}),
		"selfinstruct": prompt.SelfInstruct(prompt.SelfInstructConfig{Gen: gen, Seeds: []prefdata.Prompt{userPrompt("s", "Write a poem.")}, N: 1}),
	} {
		_, _, err := readAll(t, src)
		require.NoError(t, err, name)
		for range 2 {
			_, err := src.Next(context.Background())
			assert.ErrorIs(t, err, io.EOF, name)
		}
	}
}

// AlpacaEval holds a family of templated prompts ("I like to host guests
// at my home ... give me a recipe for X") that differ in one dish name:
// near-dedup at the default threshold folds them into one, and keeps the
// rest of the set.
func TestNearDedupRealEvalSet(t *testing.T) {
	r, err := prompt.Open(sharedData(t, "alpaca_eval/gemma-7b-it.json"), prompt.ReaderConfig{})
	require.NoError(t, err)
	defer r.Close()
	ps, _, err := readAll(t, r)
	require.NoError(t, err)
	var drops []string
	src := prompt.Filtered(prefdata.Prompts(ps...), func(p prefdata.Prompt, filter, reason string) {
		drops = append(drops, p.Text())
	}, prompt.NewExactDedup(), prompt.MustNearDedup(prompt.NearDedupConfig{Seed: 1}))
	kept, _, err := readAll(t, src)
	require.NoError(t, err)
	template := 0
	for _, d := range drops {
		if strings.HasPrefix(d, "I like to host guests at my home") {
			template++
		}
	}
	t.Logf("kept %d of %d; dropped %d, %d of them from the recipe template", len(kept), len(ps), len(drops), template)
	assert.GreaterOrEqual(t, template, 10)
	assert.Less(t, len(drops), 40, "the rest of the set is distinct")
}
