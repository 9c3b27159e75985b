package dataset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// The sample run: a real prefdata.Pipeline over Func doubles, into a
// temporary run directory.

type namedGen struct {
	name string
	prefdata.GeneratorFunc
}

func (g namedGen) Name() string        { return g.name }
func (g namedGen) Fingerprint() string { return "test-gen:" + g.name }

type namedFilter struct {
	name string
	prefdata.FilterFunc
}

func (f namedFilter) Name() string        { return f.name }
func (f namedFilter) Fingerprint() string { return "test-filter:" + f.name }

type namedLabeler struct {
	prefdata.LabelerFunc
}

func (namedLabeler) Name() string        { return "best-worst" }
func (namedLabeler) Fingerprint() string { return "test-labeler" }

func samplePrompts() []prefdata.Prompt {
	mk := func(src, cat string, msgs ...prefdata.Message) prefdata.Prompt {
		return prefdata.Prompt{Messages: msgs, Source: src, Category: cat}
	}
	return []prefdata.Prompt{
		mk("seed.jsonl", "math", msg("user", "What is 12 times 12?")),
		mk("seed.jsonl", "math", msg("user", "Is 91 prime?")),
		mk("seed.jsonl", "coding", msg("user", "Reverse a string in Go.")),
		mk("mt_bench.jsonl", "writing", msg("system", "Be brief."), msg("user", "Write a title."), msg("assistant", "Dawn."), msg("user", "Now a subtitle <em>please</em>.")),
		mk("mt_bench.jsonl", "writing", msg("user", "Décris la mer en une phrase.")),
		mk("mt_bench.jsonl", "coding", msg("user", "DROP this one: too vague")),
		mk("seed.jsonl", "", msg("user", "FAILGEN: model-b breaks here")),
		mk("seed.jsonl", "math", msg("user", "HUMAN: what is the square root of 2, roughly?")),
	}
}

// sampleGenerator answers with two samples whose quality (the number of
// '+' signs) is fixed by the model, the sample and the prompt.
func sampleGenerator(name, model string, quality int) prefdata.Generator {
	return namedGen{name, func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		if model == "model-b" && strings.HasPrefix(p.Text(), "FAILGEN") {
			return nil, errors.New("server said 500")
		}
		var out []prefdata.Response
		for k := range 2 {
			s := prefdata.Sampling{Temperature: prefdata.Float(0.7), MaxTokens: 256}
			q := quality + 2*k
			if strings.HasPrefix(p.Text(), "HUMAN") {
				q = 3 // every answer alike: the labeler is unsure
			}
			text := fmt.Sprintf("%s answer %d %s", model, k, strings.Repeat("+", q))
			if model == "model-a" && k == 1 && strings.Contains(p.Text(), "prime") {
				text = "BAD " + text
			}
			out = append(out, prefdata.Response{
				ID:       prefdata.ResponseID(p.ID, model, "", s, k),
				PromptID: p.ID, Model: model, Sampling: s, Sample: k, Text: text,
				Usage: prefdata.Usage{Requests: 1, PromptTokens: 10 + len(p.Text()), CompletionTokens: len(text), Cost: 0.001 * float64(len(text))},
			})
		}
		return out, nil
	}}
}

// quality is the number of '+' at the end of a response.
func quality(r prefdata.Response) float64 {
	return float64(len(r.Text) - len(strings.TrimRight(r.Text, "+")))
}

func sampleFilters() []prefdata.Filter {
	noBad := namedFilter{"no-bad", func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		out := c
		for _, r := range c.Responses {
			if strings.HasPrefix(r.Text, "BAD") {
				out = out.Without(r.ID, "no-bad", "starts with BAD")
			}
		}
		return out, nil
	}}
	rm := namedFilter{"rm", func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		out := c
		out.Scores = append([]prefdata.Score(nil), c.Scores...)
		for _, r := range c.Responses {
			out.Scores = append(out.Scores, prefdata.Score{ResponseID: r.ID, Scorer: "rm:plus", Value: quality(r)})
		}
		return out, nil
	}}
	judge := namedFilter{"judge", func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		out := c
		out.Comparisons = append([]prefdata.Comparison(nil), c.Comparisons...)
		for i := 0; i+1 < len(c.Responses); i += 2 {
			a, b := c.Responses[i], c.Responses[i+1]
			d := quality(a) - quality(b)
			pref := 0.0
			if d != 0 {
				pref = d / (abs(d) + 1)
			}
			// The judge flips its verdict with the order when the answers
			// are alike: it is consistent only on clear differences.
			out.Comparisons = append(out.Comparisons, prefdata.Comparison{A: a.ID, B: b.ID, Scorer: "judge:j1", Preference: pref, Consistent: abs(d) >= 2})
		}
		return out, nil
	}}
	return []prefdata.Filter{noBad, rm, judge}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// sampleLabeler pairs the best with the worst response by rm score; a pair
// with a gap under 1 goes to people. Coding pairs are marked as decided at
// stage 2 (scores alone), to exercise the per-stage split.
func sampleLabeler() prefdata.Labeler {
	return namedLabeler{func(ctx context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
		rs := append([]prefdata.Response(nil), c.Responses...)
		score := map[string]float64{}
		for _, s := range c.Scores {
			score[s.ResponseID] = s.Value
		}
		sort.SliceStable(rs, func(i, j int) bool { return score[rs[i].ID] > score[rs[j].ID] })
		if len(rs) < 2 {
			return nil, nil
		}
		best, worst := rs[0], rs[len(rs)-1]
		p := prefdata.Pair{
			Prompt: c.Prompt, Chosen: best, Rejected: worst,
			ScoreChosen: score[best.ID], ScoreRejected: score[worst.ID], Margin: score[best.ID] - score[worst.ID],
			Scores:     append(c.ScoresOf(best.ID), c.ScoresOf(worst.ID)...),
			Provenance: prefdata.Provenance{Judge: "judge:j1", Confidence: 0.8},
		}
		if p.Margin < 1 {
			p.NeedsHuman = true
			p.Provenance.Reason = "small gap"
		}
		if c.Prompt.Category == "coding" {
			p.Provenance.Stage = prefdata.StageGenerate
		}
		return []prefdata.Pair{p}, nil
	}}
}

type sampleRun struct {
	dir   *prefdata.RunDir
	stats prefdata.Stats
	pairs []prefdata.Pair // as the sink received them, in order
}

func runSample(t *testing.T) sampleRun {
	t.Helper()
	d, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	// One at a time, so the sink sees the pairs in source order and the
	// golden files are stable.
	return runSampleOn(t, d, prefdata.Limits{Prompt: 1, Generate: 1, Filter: 1})
}

// runSampleOn runs the sample pipeline on d with limits, and the
// generators gens (none: the sample's two).
func runSampleOn(t *testing.T, d *prefdata.RunDir, limits prefdata.Limits, gens ...prefdata.Generator) sampleRun {
	t.Helper()
	if len(gens) == 0 {
		gens = []prefdata.Generator{sampleGenerator("gen-a", "model-a", 1), sampleGenerator("gen-b", "model-b", 4)}
	}
	var got []prefdata.Pair
	p := &prefdata.Pipeline{
		Source: prefdata.Prompts(samplePrompts()...),
		PromptFilters: []prefdata.PromptFilter{prefdata.NamedPromptFilter("not-vague", prefdata.PromptFilterFunc(
			func(ctx context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
				if strings.HasPrefix(p.Text(), "DROP") {
					return p, prefdata.Reject("too vague")
				}
				return p, nil
			}))},
		Generators: gens,
		Filters:    sampleFilters(),
		Labeler:    sampleLabeler(),
		Sink: prefdata.SinkFunc(func(ctx context.Context, p prefdata.Pair) error {
			got = append(got, p)
			return nil
		}),
		Dir:    d,
		Limits: limits,
	}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sampleRun{dir: d, stats: st, pairs: got}
}

func sampleRunPairs(t *testing.T) []prefdata.Pair {
	return runSample(t).pairs
}

func TestSampleRunShape(t *testing.T) {
	r := runSample(t)
	s := r.stats
	// The fixture must exercise what the report draws: a dropped prompt, a
	// failed generation, a dropped response, AI and human pairs.
	if s.Prompt.In != 8 || s.Prompt.Out != 7 || s.Generate.Failed != 1 || s.Filter.Dropped["no-bad"] != 1 || s.PairsHuman != 1 || s.PairsAI != 6 {
		t.Fatalf("sample run stats changed: %+v", s)
	}
	if len(r.pairs) != s.PairsAI {
		t.Fatalf("sink got %d pairs, stats say %d", len(r.pairs), s.PairsAI)
	}
}
