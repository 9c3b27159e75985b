package prompt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
)

// A negative MaxListed lists no bad record (they are still counted).
func TestReaderMaxListedNegativeListsNone(t *testing.T) {
	r := prompt.NewReader(strings.NewReader(badInput), prompt.ReaderConfig{Name: "data.jsonl", SkipBad: true, MaxListed: -1})
	_, bad, err := readAll(t, r)
	require.NoError(t, err)
	rep := r.Report()
	assert.Equal(t, len(bad), rep.Bad)
	assert.Positive(t, rep.Bad)
	assert.Empty(t, rep.Listed)

	r = prompt.NewReader(strings.NewReader(badInput), prompt.ReaderConfig{SkipBad: true, MaxListed: 2})
	_, _, err = readAll(t, r)
	require.NoError(t, err)
	assert.Len(t, r.Report().Listed, 2)
}

// A conversation whose last user turn is empty is an empty prompt, even if
// an earlier user turn has text: the model would be asked to answer nothing.
func TestReaderLastUserTurnEmpty(t *testing.T) {
	in := `{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "  "}]}` + "\n" +
		`{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}, {"from": "human", "value": ""}]}` + "\n"
	r := prompt.NewReader(strings.NewReader(in), prompt.ReaderConfig{Name: "c.jsonl", SkipBad: true})
	ps, bad, err := readAll(t, r)
	require.NoError(t, err)
	assert.Empty(t, ps)
	require.Len(t, bad, 2)
	assert.Equal(t, "c.jsonl:1", bad[0].Item)
	assert.ErrorContains(t, bad[0], "empty prompt")
}

// A rejection with an empty reason is still a rejection.
func TestFilteredEmptyRejectReason(t *testing.T) {
	f := prefdata.NamedPromptFilter("silent", prefdata.PromptFilterFunc(func(ctx context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
		if p.ID == "b" {
			return p, prefdata.Reject("")
		}
		return p, nil
	}))
	var dropped []string
	src := prompt.Filtered(prefdata.Prompts(userPrompt("a", "one"), userPrompt("b", "two")), func(p prefdata.Prompt, filter, reason string) {
		dropped = append(dropped, p.ID+" "+filter)
	}, f)
	ps, _, err := readAll(t, src)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, "a", ps[0].ID)
	assert.Equal(t, []string{"b silent"}, dropped)
	assert.Equal(t, map[string]int{"silent": 1}, src.Funnel().Dropped)
}

// A source error that ends a batch early is returned, even by a source
// that would not say it twice.
func TestFilteredKeepsSourceErrorOfPartialBatch(t *testing.T) {
	boom := errors.New("disk gone")
	calls := 0
	src := prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
		calls++
		switch calls {
		case 1:
			return userPrompt("a", "one"), nil
		case 2:
			return prefdata.Prompt{}, boom
		}
		return prefdata.Prompt{}, io.EOF
	})
	ps, _, err := readAll(t, prompt.Filtered(src, nil).Concurrency(4))
	assert.Len(t, ps, 1)
	assert.ErrorIs(t, err, boom)
}

// An impossible BalanceConfig is an error naming the field, not a panic.
func TestBalanceConfigErrors(t *testing.T) {
	in := catPrompts(map[string]int{"coding": 5, "math": 5})
	for _, tt := range []struct {
		cfg  prompt.BalanceConfig
		want string
	}{
		{prompt.BalanceConfig{Quotas: map[string]int{"math": -1}}, `BalanceConfig.Quotas["math"] is -1`},
		{prompt.BalanceConfig{Total: -3}, "BalanceConfig.Total is -3"},
		{prompt.BalanceConfig{MaxShare: -0.1}, "BalanceConfig.MaxShare is -0.1"},
		{prompt.BalanceConfig{MaxShare: 1.5}, "BalanceConfig.MaxShare is 1.5"},
	} {
		var err error
		require.NotPanics(t, func() { _, _, err = readAll(t, prompt.Balance(prefdata.Prompts(in...), tt.cfg)) }, "%+v", tt.cfg)
		assert.ErrorContains(t, err, tt.want)
	}
}

// Evol and SelfInstruct without a model say so instead of panicking, and a
// prompt with no user turn is one failed item.
func TestSynthBadInput(t *testing.T) {
	gen := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{ID: "r", PromptID: p.ID, Text: "<prompt>Write a sonnet about a lighthouse keeper who counts ships at night.</prompt>"}}, nil
	})
	var err error
	require.NotPanics(t, func() {
		_, err = prompt.Evol(prefdata.Prompts(userPrompt("a", "Hi there friend")), prompt.EvolConfig{}).Next(context.Background())
	})
	assert.ErrorContains(t, err, "EvolConfig.Gen is nil")
	require.NotPanics(t, func() {
		_, err = prompt.SelfInstruct(prompt.SelfInstructConfig{Seeds: []prefdata.Prompt{userPrompt("s", "Write a poem.")}, N: 1}).Next(context.Background())
	})
	assert.ErrorContains(t, err, "SelfInstructConfig.Gen is nil")

	noUser := prefdata.Prompt{ID: "sys-only", Messages: []prefdata.Message{{Role: prefdata.RoleSystem, Content: "Be brief."}}}
	empty := prefdata.Prompt{ID: "empty"}
	var ps []prefdata.Prompt
	var bad []*prefdata.ItemError
	require.NotPanics(t, func() {
		ps, bad, err = readAll(t, prompt.Evol(prefdata.Prompts(noUser, empty, userPrompt("ok", "Write a poem about the sea.")), prompt.EvolConfig{Gen: gen}))
	})
	require.NoError(t, err)
	require.Len(t, bad, 2)
	assert.Equal(t, "sys-only", bad[0].Item)
	assert.ErrorContains(t, bad[0], "no user turn")
	assert.Equal(t, "empty", bad[1].Item)
	require.Len(t, ps, 1)
	assert.Equal(t, "ok", ps[0].Meta["parent"])
}

// A rewrite replaces the last user turn and drops what followed it, rather
// than overwriting a trailing assistant turn.
func TestEvolRewritesLastUserTurn(t *testing.T) {
	gen := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{ID: "r", PromptID: p.ID, Text: "<prompt>Write a sonnet about a lighthouse keeper who counts ships at night.</prompt>"}}, nil
	})
	p := prefdata.Prompt{ID: "conv", Messages: []prefdata.Message{
		{Role: prefdata.RoleSystem, Content: "Be kind."},
		{Role: prefdata.RoleUser, Content: "Write a poem."},
		{Role: prefdata.RoleAssistant, Content: "Roses are red."},
	}}
	ps, bad, err := readAll(t, prompt.Evol(prefdata.Prompts(p), prompt.EvolConfig{Gen: gen}))
	require.NoError(t, err)
	require.Empty(t, bad)
	require.Len(t, ps, 1)
	assert.Equal(t, []prefdata.Message{
		{Role: prefdata.RoleSystem, Content: "Be kind."},
		{Role: prefdata.RoleUser, Content: "Write a sonnet about a lighthouse keeper who counts ships at night."},
	}, ps[0].Messages)
}

// Two different prompts that share an ID (two files numbering alike) are
// rated apart, and the Rater never replays one's responses for the other.
func TestRaterTellsApartPromptsSharingAnID(t *testing.T) {
	asked := map[string]int{}
	policy := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		asked[p.Text()]++
		return []prefdata.Response{{ID: "r-" + p.Text(), PromptID: p.ID, Text: "answer to " + p.Text()}}, nil
	})
	scorer := prefdata.ScorerFunc(func(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
		return []prefdata.Score{{ResponseID: rs[0].ID, Value: float64(len(p.Text()))}}, nil
	})
	rater := &prompt.Rater{Policy: policy, Scorer: scorer}
	a, b := userPrompt("1", "short"), userPrompt("1", "a longer one")
	ra, err := rater.Rate(context.Background(), a)
	require.NoError(t, err)
	rb, err := rater.Rate(context.Background(), b)
	require.NoError(t, err)
	assert.Equal(t, 5.0, ra.Mean)
	assert.Equal(t, 12.0, rb.Mean)
	rs, err := rater.Generate(context.Background(), b)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "answer to a longer one", rs[0].Text)
	assert.Equal(t, map[string]int{"short": 1, "a longer one": 1}, asked, "each rated once; the replay asks nothing")
}

// An impossible DifficultyConfig is an error naming the field before the
// source is read, not a silent selection of nothing.
func TestDifficultyConfigErrors(t *testing.T) {
	rater := &prompt.Rater{}
	for _, tt := range []struct {
		cfg  prompt.DifficultyConfig
		want string
	}{
		{prompt.DifficultyConfig{}, "DifficultyConfig.Rater is nil"},
		{prompt.DifficultyConfig{Rater: rater, LowestMean: math.NaN()}, "DifficultyConfig.LowestMean is NaN"},
		{prompt.DifficultyConfig{Rater: rater, LowestMean: 1.2}, "DifficultyConfig.LowestMean is 1.2"},
		{prompt.DifficultyConfig{Rater: rater, HighestVar: -0.5}, "DifficultyConfig.HighestVar is -0.5"},
		{prompt.DifficultyConfig{Rater: rater, MeanBelow: prefdata.Float(math.NaN())}, "DifficultyConfig.MeanBelow is NaN"},
		{prompt.DifficultyConfig{Rater: rater, VarAbove: prefdata.Float(math.NaN())}, "DifficultyConfig.VarAbove is NaN"},
	} {
		read := 0
		src := prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
			read++
			return prefdata.Prompt{}, io.EOF
		})
		_, err := prompt.Difficulty(src, tt.cfg).Next(context.Background())
		assert.ErrorContains(t, err, tt.want)
		assert.Zero(t, read, "%+v: the source is not read", tt.cfg)
	}
}

// A weight that is not a number, or infinite, is an error naming the
// source; before, a NaN or +Inf weight quietly starved that source until
// the others ran dry.
func TestInterleaveBadWeight(t *testing.T) {
	one := func() prefdata.PromptSource { return prefdata.Prompts(userPrompt("a", "hello there")) }
	for _, w := range []float64{math.NaN(), math.Inf(1)} {
		_, err := prompt.Interleave(1, prompt.Weighted{Source: one(), Weight: 1}, prompt.Weighted{Source: one(), Weight: w}).Next(context.Background())
		assert.ErrorContains(t, err, "Interleave: source 1 has weight "+strconv.FormatFloat(w, 'g', -1, 64))
	}
}

// SelfInstruct asked for prompts with no seed to show says so, rather than
// ending at once as if it had made them.
func TestSelfInstructNoSeeds(t *testing.T) {
	gen := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return nil, errors.New("not called")
	})
	_, err := prompt.SelfInstruct(prompt.SelfInstructConfig{Gen: gen, N: 3}).Next(context.Background())
	assert.ErrorContains(t, err, "SelfInstructConfig.Seeds is empty")
	_, err = prompt.SelfInstruct(prompt.SelfInstructConfig{Gen: gen}).Next(context.Background())
	assert.ErrorIs(t, err, io.EOF, "N = 0 asks for nothing")
}

func TestDecontaminatorLen(t *testing.T) {
	d := prompt.NewDecontaminator(3,
		userPrompt("e1", "one two three four"), // 2 trigrams
		userPrompt("e2", "five six"),           // short: one
		userPrompt("e3", "Five, six!"),         // the same short text
	)
	assert.Equal(t, 3, d.Len())
	_, err := d.FilterPrompt(context.Background(), userPrompt("p", "say five six now"))
	reason, ok := prefdata.Rejection(err)
	assert.True(t, ok)
	assert.Equal(t, `contains eval prompt "five six" (e2)`, reason, "the first eval with that text")
}

// An error that wraps prefdata.ErrStopRun (a spent cost budget) ends a
// source instead of becoming one failed item per remaining prompt, so a
// Pipeline reading from it stops the run as it does for its own stages.
func TestSourcesPassStopRunOn(t *testing.T) {
	stop := fmt.Errorf("budget spent: %w", prefdata.ErrStopRun)
	gen := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return nil, stop
	})
	scorer := prefdata.ScorerFunc(func(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
		return nil, nil
	})
	two := func() prefdata.PromptSource {
		return prefdata.Prompts(userPrompt("a", "What is a compiler?"), userPrompt("b", "Name a river."))
	}
	for name, src := range map[string]prefdata.PromptSource{
		"filtered":     prompt.Filtered(two(), nil, &prompt.Classifier{Gen: gen}),
		"concurrent":   prompt.Filtered(two(), nil, &prompt.Classifier{Gen: gen}).Concurrency(2),
		"difficulty":   prompt.Difficulty(two(), prompt.DifficultyConfig{Rater: &prompt.Rater{Policy: gen, Scorer: scorer}}),
		"evol":         prompt.Evol(two(), prompt.EvolConfig{Gen: gen, KeepOriginal: true}),
		"selfinstruct": prompt.SelfInstruct(prompt.SelfInstructConfig{Gen: gen, Seeds: []prefdata.Prompt{userPrompt("s", "Write a poem.")}, N: 3}),
	} {
		_, bad, err := readAll(t, src)
		assert.ErrorIs(t, err, prefdata.ErrStopRun, name)
		var ie *prefdata.ItemError
		assert.False(t, errors.As(err, &ie), "%s: not an item error: %v", name, err)
		assert.Empty(t, bad, name)
	}

	// In a Pipeline, the run stops with the error.
	pl := &prefdata.Pipeline{
		Source:     prompt.Difficulty(two(), prompt.DifficultyConfig{Rater: &prompt.Rater{Policy: gen, Scorer: scorer}}),
		Generators: []prefdata.Generator{gen},
		Labeler:    prefdata.LabelerFunc(func(ctx context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) { return nil, nil }),
		Sink:       prefdata.SinkFunc(func(ctx context.Context, p prefdata.Pair) error { return nil }),
	}
	st, err := pl.Run(context.Background())
	assert.ErrorIs(t, err, prefdata.ErrStopRun)
	assert.Zero(t, st.Prompt.Failed)
}
