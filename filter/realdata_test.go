package filter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// scriptedReward is a stand-in reward model for real answers: more words
// help a little, and a hash of the text adds noise in [-1, 1].
func scriptedReward(text string) float64 {
	h := fnv.New64a()
	h.Write([]byte(text))
	noise := float64(h.Sum64()%2001)/1000 - 1
	return math.Log1p(float64(len(strings.Fields(text)))) + noise
}

func scriptedScorer() prefdata.Scorer {
	return prefdata.ScorerFunc(func(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
		out := make([]prefdata.Score, len(rs))
		for i, r := range rs {
			out[i] = prefdata.Score{ResponseID: r.ID, Scorer: "rm:scripted", Value: scriptedReward(r.Text)}
		}
		return out, nil
	})
}

// scriptedJudge answers pairwise judge prompts: it prefers the answer with
// the higher scripted reward, but when the two are close it picks whichever
// was shown first (position bias), so swapped orders disagree.
func scriptedJudge() prefdata.Generator {
	return prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		u := p.Messages[len(p.Messages)-1].Content
		a := scriptedReward(between(u, "[Answer A]\n", "\n[End of answer A]"))
		b := scriptedReward(between(u, "[Answer B]\n", "\n[End of answer B]"))
		verdict := "[[A]]"
		if math.Abs(a-b) >= 0.3 && b > a {
			verdict = "[[B]]"
		}
		return []prefdata.Response{{ID: "j-" + p.ID, PromptID: p.ID, Model: "scripted-judge", Text: "Verdict: " + verdict}}, nil
	})
}

// recorded is a Generator that answers with one model's recorded outputs.
type recorded struct {
	model   string
	answers map[string]string // instruction → output
}

func (g recorded) Name() string { return g.model }

func (g recorded) Generate(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	text, ok := g.answers[p.Text()]
	if !ok {
		return nil, fmt.Errorf("%s has no recorded answer", g.model)
	}
	return []prefdata.Response{{
		ID: prefdata.ResponseID(p.ID, g.model, "", prefdata.Sampling{}, 0), PromptID: p.ID, Model: g.model,
		Text: text, FinishReason: "stop",
	}}, nil
}

// alpacaEval reads the recorded answers of the four models: one Generator
// per model, and every instruction once, in file order.
func alpacaEval(t testing.TB) ([]prefdata.Generator, []string) {
	dir := sharedData(t, "alpaca_eval")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 4)
	var gens []prefdata.Generator
	var order []string
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var rows []struct {
			Instruction string `json:"instruction"`
			Output      string `json:"output"`
			Generator   string `json:"generator"`
		}
		require.NoError(t, json.Unmarshal(b, &rows), f)
		g := recorded{model: rows[0].Generator, answers: map[string]string{}}
		for i, r := range rows {
			require.NotEmpty(t, r.Instruction, "%s: row %d has no instruction", f, i)
			g.answers[r.Instruction] = r.Output
			if !seen[r.Instruction] {
				seen[r.Instruction] = true
				order = append(order, r.Instruction)
			}
		}
		gens = append(gens, g)
	}
	return gens, order
}

// alpacaFunnel is the stage-3 pipeline over the AlpacaEval answers: every
// rule filter, a scripted reward model and pairwise judge, RIP, and the
// router. Pairs labeled by AI and pairs for people land in ai and human.
func alpacaFunnel(tb testing.TB, ai, human *[]prefdata.Pair) (*prefdata.Pipeline, int) {
	gens, instructions := alpacaEval(tb)
	var prompts []prefdata.Prompt
	for _, in := range instructions {
		msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: in}}
		prompts = append(prompts, prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs, Source: "alpaca_eval"})
	}
	floor := 1.0
	rm := filter.Combine{Weights: map[string]float64{"rm:scripted": 1}}
	pairs := filter.Pairs{Seed: 1, Combine: rm}
	return &prefdata.Pipeline{
		Source:     prefdata.Prompts(prompts...),
		Generators: gens,
		Filters: []prefdata.Filter{
			filter.Empty(),
			filter.Truncated(),
			filter.Refusal(filter.RefusalConfig{}),
			filter.Repetition(filter.RepetitionConfig{}),
			filter.Length(filter.LengthConfig{MinWords: 3, MaxWords: 1500}),
			filter.NearDuplicate(filter.NearDuplicateConfig{}),
			filter.Script(filter.ScriptConfig{}),
			filter.Scores(scriptedScorer()),
			// The judge sees only the pair the router will build: 2 calls a
			// prompt instead of 12.
			&filter.PairwiseJudge{Generator: scriptedJudge(), Model: "scripted-judge", PairsFrom: &pairs},
			filter.RIP(filter.RIPConfig{MinRejected: &floor, Combine: rm}),
		},
		Labeler: filter.Router{Pairs: pairs},
		Sink:    prefdata.SinkFunc(func(_ context.Context, pr prefdata.Pair) error { *ai = append(*ai, pr); return nil }),
		Queue:   prefdata.SinkFunc(func(_ context.Context, pr prefdata.Pair) error { *human = append(*human, pr); return nil }),
		Limits:  prefdata.Limits{Filter: 4},
	}, len(instructions)
}

func TestAlpacaEvalFunnel(t *testing.T) {
	if testing.Short() {
		t.Skip("real-data funnel skipped in -short mode")
	}
	var ai, human []prefdata.Pair
	p, n := alpacaFunnel(t, &ai, &human)
	st, err := p.Run(context.Background())
	require.NoError(t, err)

	t.Logf("prompts %d, responses %d (generation failures %d: a model without an answer)", st.Prompt.In, st.Responses, st.Generate.Failed)
	t.Logf("stage 3: %d responses in, %d out, %d failed", st.Filter.In, st.Filter.Out, st.Filter.Failed)
	t.Logf("dropped by filter: %s", filter.FormatCounts(st.Filter.Dropped))
	t.Logf("pairs: %d labeled by AI, %d routed to people; by reason: %s", st.PairsAI, st.PairsHuman, filter.FormatCounts(filter.RouteReasons(append(ai, human...))))

	assert.Equal(t, n, st.Prompt.In)
	assert.Equal(t, 805, st.Prompt.In)
	assert.Equal(t, 4*805-1, st.Responses, "gpt35_turbo_instruct has 804 answers")
	assert.Equal(t, 1, st.Generate.Failed)
	assert.Zero(t, st.Filter.Failed+st.Label.Failed)
	dropped := 0
	for _, n := range st.Filter.Dropped {
		dropped += n
	}
	assert.Equal(t, st.Filter.In, st.Filter.Out+dropped, "every response is kept or dropped by a named filter")
	assert.Positive(t, st.Filter.Dropped[filter.NameRefusal], "Llama-2-chat refuses some AlpacaEval prompts")
	assert.Equal(t, st.PairsAI, len(ai))
	assert.Equal(t, st.PairsHuman, len(human))
	assert.Equal(t, st.Routes, filter.RouteReasons(append(ai, human...)), "the run's stats and the pairs tell the same routes")
	assert.Positive(t, len(ai))
	assert.Positive(t, len(human))
	for _, pr := range append(ai, human...) {
		assert.Equal(t, "judge:scripted-judge", pr.Provenance.Judge, "every pair was judged")
		assert.Greater(t, pr.ScoreChosen, pr.ScoreRejected, pr.ID)
		assert.Equal(t, pr.NeedsHuman, pr.Provenance.Confidence < 0.7, pr.ID)
		assert.NotEqual(t, pr.Chosen.ID, pr.Rejected.ID)
	}
}

// BenchmarkAlpacaEvalFunnel runs the whole stage-3 funnel over 805 prompts x
// 4 real answers; one op is one full run (3219 responses, 2 scripted judge
// calls a prompt).
func BenchmarkAlpacaEvalFunnel(b *testing.B) {
	var ai, human []prefdata.Pair
	for i := 0; i < b.N; i++ {
		b.StopTimer() // reading the answers is not part of the funnel
		ai, human = ai[:0], human[:0]
		p, _ := alpacaFunnel(b, &ai, &human)
		b.StartTimer()
		if _, err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*805), "ns/prompt")
}
