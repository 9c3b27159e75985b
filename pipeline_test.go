package prefdata_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

func lengthScores() prefdata.Filter {
	return scoreFilter{}
}

// scoreFilter appends length scores; it has a fingerprint so the pipeline
// caches its output.
type scoreFilter struct{}

func (scoreFilter) Name() string        { return "length-score" }
func (scoreFilter) Fingerprint() string { return "length-score/v1" }
func (f scoreFilter) Filter(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	scores, err := prefdatatest.LengthScorer{}.Score(ctx, c.Prompt, c.Responses)
	c.Scores = append(append([]prefdata.Score(nil), c.Scores...), scores...)
	return c, err
}

func testPrompts(n int) []prefdata.Prompt {
	ps := make([]prefdata.Prompt, n)
	for i := range ps {
		ps[i] = prefdatatest.NewPrompt(fmt.Sprintf("question number %d", i))
	}
	return ps
}

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var v T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "line %q", sc.Text())
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	return out
}

func pairIDs(ps []prefdata.Pair) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	sort.Strings(ids)
	return ids
}

func TestPipelineStagesAndStats(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	ps := testPrompts(20)
	ps = append(ps, ps[0], ps[1], ps[2]) // three duplicates for the stage-1 filter
	seen := map[string]bool{}
	dedup := prefdata.NamedPromptFilter("exact-dup", prefdata.PromptFilterFunc(func(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
		if seen[p.ID] {
			return p, prefdata.Reject("duplicate of " + p.ID)
		}
		seen[p.ID] = true
		return p, nil
	}))
	// Drops every response of sample 1 from model b.
	dropB1 := prefdata.ResponseFilterFunc("drop-b1", func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		if r.Model == "b" && r.Sample == 1 {
			return "sample 1 of b", nil
		}
		return "", nil
	})
	sink := &prefdatatest.Sink{}
	var done, failed atomic.Int64
	p := &prefdata.Pipeline{
		Source:        prefdata.Prompts(ps...),
		PromptFilters: []prefdata.PromptFilter{dedup},
		Generators:    []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}, &prefdatatest.Generator{Model: "b", Samples: 2}},
		Filters:       []prefdata.Filter{dropB1, lengthScores()},
		Labeler:       prefdatatest.Labeler{HumanBelow: 3},
		Sink:          sink,
		Dir:           dir,
		Hooks: prefdata.Hooks{
			ItemDone:   func(e prefdata.Event) { done.Add(1) },
			ItemFailed: func(prefdata.Failure) { failed.Add(1) },
		},
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err)

	assert.Equal(t, 23, st.Prompt.In)
	assert.Equal(t, 20, st.Prompt.Out)
	assert.Equal(t, map[string]int{"exact-dup": 3}, st.Prompt.Dropped)
	assert.Equal(t, 40, st.Generate.In)
	assert.Equal(t, 40, st.Generate.Out)
	assert.Equal(t, 80, st.Responses)
	assert.Equal(t, 80, st.Filter.In)
	assert.Equal(t, 60, st.Filter.Out)
	assert.Equal(t, map[string]int{"drop-b1": 20}, st.Filter.Dropped)
	assert.Equal(t, 0, st.Failures())
	assert.Zero(t, failed.Load())
	assert.Equal(t, 40, st.Usage["a"].Requests)
	assert.Positive(t, st.Usage["b"].CompletionTokens)

	pairs := sink.Pairs()
	assert.Equal(t, st.PairsAI, len(pairs))
	assert.Positive(t, st.PairsAI)
	assert.Positive(t, st.PairsHuman, "some pairs have a small gap")
	assert.Equal(t, map[string]int{"ai/unspecified": st.PairsAI, "human/unspecified": st.PairsHuman}, st.Routes)
	for _, pr := range pairs {
		assert.False(t, pr.NeedsHuman)
		assert.Equal(t, prefdata.StageFilter, pr.Provenance.Stage)
		assert.Greater(t, pr.ScoreChosen, pr.ScoreRejected)
		assert.NotEqual(t, 1, map[bool]int{true: pr.Chosen.Sample}[pr.Chosen.Model == "b"], "dropped responses never reach a pair")
	}
	queue := readJSONL[prefdata.Pair](t, dir.Path(prefdata.FileQueue))
	assert.Len(t, queue, st.PairsHuman)
	for _, pr := range queue {
		assert.True(t, pr.NeedsHuman)
	}
	// Every prompt is recorded, the dropped ones with their reason.
	plines := readJSONL[prefdata.PromptRecord](t, dir.Path(prefdata.FilePrompts))
	assert.Len(t, plines, 20, "a duplicate ID is recorded once")
	m, ok, err := dir.ReadManifest()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []string{"a", "b"}, m.Generators)
	assert.Equal(t, []string{"drop-b1", "length-score"}, m.Filters)
	require.NotNil(t, m.Stats)
	assert.Equal(t, st.PairsAI, m.Stats.PairsAI)
	assert.Equal(t, 1, sink.Flushed())
	assert.EqualValues(t, 20+40+20+20, done.Load(), "ItemDone: 20 prompts, 40 generations, 20 filtered, 20 labeled")
}

func TestPipelineBoundedConcurrency(t *testing.T) {
	gen := &prefdatatest.Generator{Model: "m", Latency: 2 * time.Millisecond}
	gen2 := &prefdatatest.Generator{Model: "n", Latency: 2 * time.Millisecond}
	p := &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(200),
		Generators: []prefdata.Generator{gen, gen2},
		Labeler:    prefdatatest.Labeler{},
		Sink:       &prefdatatest.Sink{},
		Limits:     prefdata.Limits{Generate: 5},
	}
	_, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 200, gen.Calls())
	inFlight := gen.MaxInFlight() + gen2.MaxInFlight()
	assert.LessOrEqual(t, gen.MaxInFlight(), 5)
	assert.LessOrEqual(t, gen2.MaxInFlight(), 5)
	assert.GreaterOrEqual(t, inFlight, 2, "calls do run concurrently")
}

// waitFor polls cond until it holds or the deadline passes: a wait for a
// condition, not for a guessed duration.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPipelineCancelLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	block := make(chan struct{})
	defer close(block)
	gen := &prefdatatest.Generator{Model: "m", Block: block}
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	sink := &prefdatatest.Sink{}
	p := &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(1000),
		Generators: []prefdata.Generator{gen},
		Labeler:    prefdatatest.Labeler{},
		Sink:       sink,
		Dir:        dir,
		Limits:     prefdata.Limits{Generate: 8},
	}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		st  prefdata.Stats
		err error
	}
	res := make(chan result, 1)
	go func() {
		st, err := p.Run(ctx)
		res <- result{st, err}
	}()
	waitFor(t, "8 calls in flight", func() bool { return gen.Calls() >= 8 })
	cancel()
	r := <-res
	require.ErrorIs(t, r.err, context.Canceled)
	assert.Equal(t, 8, gen.Calls(), "no call beyond the limit was started")
	assert.Equal(t, 0, r.st.Failures(), "cancelled calls are not failures")
	assert.Empty(t, readJSONL[prefdata.Failure](t, dir.Path(prefdata.FileFailures)))
	assert.Equal(t, 1, sink.Flushed(), "the sink is flushed on cancel")
	require.NoError(t, dir.Close())
	waitFor(t, "goroutines to return to the baseline", func() bool { return runtime.NumGoroutine() <= before })
}

func TestPipelineFailingItemIsRecordedAndRunGoesOn(t *testing.T) {
	ps := testPrompts(10)
	bad := ps[3].ID
	failing := &prefdatatest.Generator{Model: "flaky", Fail: func(p prefdata.Prompt) error {
		if p.ID == bad {
			return errors.New("server said 500 three times")
		}
		return nil
	}}
	steady := &prefdatatest.Generator{Model: "steady", Samples: 2}
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	sink := &prefdatatest.Sink{}
	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(ps...),
		Generators: []prefdata.Generator{failing, steady},
		Filters:    []prefdata.Filter{lengthScores()},
		Labeler:    prefdatatest.Labeler{},
		Sink:       sink,
		Dir:        dir,
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, st.Generate.Failed)
	assert.Equal(t, 19, st.Generate.Out)
	assert.Equal(t, prefdata.StageStats{In: 10, Out: 9, Failed: 1}, st.Generators["flaky"])
	assert.Equal(t, prefdata.StageStats{In: 10, Out: 10}, st.Generators["steady"])
	fails := readJSONL[prefdata.Failure](t, dir.Path(prefdata.FileFailures))
	require.Len(t, fails, 1)
	assert.Equal(t, prefdata.StageGenerate, fails[0].Stage)
	assert.Equal(t, bad+"/flaky", fails[0].Item)
	assert.Equal(t, "flaky", fails[0].Component)
	assert.Contains(t, fails[0].Error, "server said 500")
	// The failed prompt still gets a pair from the other model's samples,
	// and the nine others are complete.
	byPrompt := map[string]int{}
	for _, pr := range sink.Pairs() {
		byPrompt[pr.Prompt.ID]++
	}
	assert.Len(t, byPrompt, 10)

	// A rerun retries only the failed generation.
	failing2 := &prefdatatest.Generator{Model: "flaky"}
	steady2 := &prefdatatest.Generator{Model: "steady", Samples: 2}
	p.Source, p.Generators, p.Sink = prefdata.Prompts(ps...), []prefdata.Generator{failing2, steady2}, &prefdatatest.Sink{}
	st, err = p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, failing2.Calls())
	assert.Equal(t, 1, failing2.CallsFor(bad))
	assert.Equal(t, 0, steady2.Calls())
	assert.Equal(t, 9, st.Cached.Prompts)
	assert.Equal(t, 1, st.Cached.Generations)
}

func TestPipelineErrorBudget(t *testing.T) {
	gen := &prefdatatest.Generator{Model: "down", Fail: func(prefdata.Prompt) error { return errors.New("connection refused") }}
	p := &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(100),
		Generators: []prefdata.Generator{gen},
		Labeler:    prefdatatest.Labeler{},
		Sink:       &prefdatatest.Sink{},
		Budget:     prefdata.ErrorBudget{MaxFailures: 3},
		Limits:     prefdata.Limits{Generate: 1},
	}
	st, err := p.Run(context.Background())
	require.ErrorIs(t, err, prefdata.ErrBudgetExceeded)
	assert.Contains(t, err.Error(), "connection refused")
	assert.Equal(t, 4, st.Generate.Failed)
	assert.Less(t, gen.Calls(), 100, "the run stopped early")

	// A fraction: 1 in 4 failing is over a 10% budget.
	gen = &prefdatatest.Generator{Model: "flaky", Fail: func(p prefdata.Prompt) error {
		if p.Text()[len(p.Text())-1]%4 == 0 {
			return errors.New("503")
		}
		return nil
	}}
	p.Source, p.Generators = prefdatatest.CountingSource(100), []prefdata.Generator{gen}
	p.Budget = prefdata.ErrorBudget{MaxFraction: 0.1}
	_, err = p.Run(context.Background())
	require.ErrorIs(t, err, prefdata.ErrBudgetExceeded)

	// Within budget the same run finishes.
	p.Source = prefdatatest.CountingSource(100)
	p.Budget = prefdata.ErrorBudget{MaxFraction: 0.5}
	st, err = p.Run(context.Background())
	require.NoError(t, err)
	assert.Positive(t, st.Generate.Failed)
}

func TestPipelineBadSourceItems(t *testing.T) {
	ps := testPrompts(3)
	i := 0
	src := prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
		i++
		switch {
		case i == 2:
			return prefdata.Prompt{}, &prefdata.ItemError{Stage: prefdata.StagePrompt, Item: "in.jsonl:2", Err: errors.New("invalid JSON")}
		case i > 4:
			return prefdata.Prompt{}, io.EOF
		case i > 2:
			return ps[i-2], nil
		}
		return ps[0], nil
	})
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	p := &prefdata.Pipeline{Source: src, Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 2}}, Labeler: prefdatatest.Labeler{}, Dir: dir}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 4, st.Prompt.In)
	assert.Equal(t, 1, st.Prompt.Failed)
	assert.Equal(t, 3, st.Prompt.Out)
	fails := readJSONL[prefdata.Failure](t, dir.Path(prefdata.FileFailures))
	require.Len(t, fails, 1)
	assert.Equal(t, "in.jsonl:2", fails[0].Item)
	assert.Equal(t, "invalid JSON", fails[0].Error)

	// A source error that is not an item error ends the run.
	p.Source = prefdata.PromptSourceFunc(func(context.Context) (prefdata.Prompt, error) { return prefdata.Prompt{}, errors.New("disk gone") })
	_, err = p.Run(context.Background())
	require.ErrorContains(t, err, "disk gone")
}

func TestPipelineRerunPaysOnlyForWhatIsNew(t *testing.T) {
	root := t.TempDir()
	dir, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	ps := testPrompts(15)
	run := func(gens ...prefdata.Generator) (prefdata.Stats, []prefdata.Pair) {
		sink := &prefdatatest.Sink{}
		p := &prefdata.Pipeline{
			Source:     prefdata.Prompts(ps...),
			Generators: gens,
			Filters:    []prefdata.Filter{lengthScores()},
			Labeler:    prefdatatest.Labeler{},
			Sink:       sink,
			Dir:        dir,
		}
		st, err := p.Run(context.Background())
		require.NoError(t, err)
		return st, sink.Pairs()
	}
	a1 := &prefdatatest.Generator{Model: "a", Samples: 2}
	_, first := run(a1)
	assert.Equal(t, 15, a1.Calls())

	// Adding a model: a is read back, only b is asked.
	a2, b2 := &prefdatatest.Generator{Model: "a", Samples: 2}, &prefdatatest.Generator{Model: "b", Samples: 2}
	st2, second := run(a2, b2)
	assert.Equal(t, 0, a2.Calls())
	assert.Equal(t, 15, b2.Calls())
	assert.Equal(t, 15, st2.Cached.Generations)
	assert.NotEqual(t, pairIDs(first), pairIDs(second), "the new model's answers change the pairs")

	// The same configuration again: nothing is asked, the pairs are replayed.
	a3, b3 := &prefdatatest.Generator{Model: "a", Samples: 2}, &prefdatatest.Generator{Model: "b", Samples: 2}
	st3, third := run(a3, b3)
	assert.Equal(t, 0, a3.Calls()+b3.Calls())
	assert.Equal(t, 15, st3.Cached.Prompts)
	assert.Equal(t, pairIDs(second), pairIDs(third))

	// Other sampling settings (another fingerprint) are new work.
	a4 := &prefdatatest.Generator{Model: "a", Samples: 3}
	run(a4, &prefdatatest.Generator{Model: "b", Samples: 2})
	assert.Equal(t, 15, a4.Calls())
	require.NoError(t, dir.Close())
}

func TestPipelineFingerprintedFilterIsCached(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	calls := 0
	judge := fpFilter{fp: "judge/v1", f: func(c prefdata.Candidate) (prefdata.Candidate, error) {
		calls++
		for _, r := range c.Responses {
			c.Scores = append(c.Scores, prefdata.Score{ResponseID: r.ID, Scorer: "judge", Value: float64(len(r.Text) % 7)})
		}
		return c, nil
	}}
	ps := testPrompts(6)
	var labelInputs []prefdata.Candidate
	lab := prefdata.LabelerFunc(func(ctx context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
		labelInputs = append(labelInputs, c)
		// Leave every pair to people so no prompt is done and the rerun
		// must go through the judge again.
		pairs, err := prefdatatest.Labeler{HumanBelow: 1e9}.Label(ctx, c)
		return pairs, err
	})
	p := &prefdata.Pipeline{
		Source: prefdata.Prompts(ps...), Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 3}},
		Filters: []prefdata.Filter{judge}, Labeler: lab, Dir: dir, Limits: prefdata.Limits{Filter: 1},
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 6, calls)
	assert.Equal(t, 6, st.PairsHuman)
	firstInputs := labelInputs
	labelInputs = nil
	p.Source = prefdata.Prompts(ps...)
	st, err = p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 6, calls, "the judge is not asked again")
	assert.Equal(t, 6, st.Cached.Filters)
	assert.Len(t, readJSONL[prefdata.Pair](t, dir.Path(prefdata.FileQueue)), 6, "queued pairs are not queued twice")
	require.Len(t, labelInputs, 6)
	byID := map[string]prefdata.Candidate{}
	for _, c := range firstInputs {
		byID[c.Prompt.ID] = c
	}
	for _, c := range labelInputs {
		assert.Equal(t, byID[c.Prompt.ID], c, "the cached scores are the same scores")
	}
}

type fpFilter struct {
	fp string
	f  func(prefdata.Candidate) (prefdata.Candidate, error)
}

func (f fpFilter) Fingerprint() string { return f.fp }
func (f fpFilter) Filter(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	return f.f(c)
}

func TestPipelineRejectAndFailInStage3(t *testing.T) {
	ps := testPrompts(8)
	rip := prefdata.Named("rip", prefdata.FilterFunc(func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		if c.Prompt.ID == ps[0].ID {
			return c, prefdata.Reject("all answers poor")
		}
		if c.Prompt.ID == ps[1].ID {
			return c, errors.New("judge timed out")
		}
		return c, nil
	}))
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	p := &prefdata.Pipeline{
		Source: prefdata.Prompts(ps...), Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 2}},
		Filters: []prefdata.Filter{rip, lengthScores()}, Labeler: prefdatatest.Labeler{}, Dir: dir,
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"rip": 2}, st.Filter.Dropped)
	assert.Equal(t, 2, st.Filter.Failed)
	assert.Equal(t, 12, st.Filter.Out)
	fails := readJSONL[prefdata.Failure](t, dir.Path(prefdata.FileFailures))
	require.Len(t, fails, 1)
	assert.Equal(t, prefdata.StageFilter, fails[0].Stage)
	assert.Equal(t, "rip", fails[0].Component)
	assert.Equal(t, ps[1].ID, fails[0].Item)
}

func TestPipelineValidates(t *testing.T) {
	for name, p := range map[string]*prefdata.Pipeline{
		"no source":    {Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m"}}, Labeler: prefdatatest.Labeler{}, Sink: &prefdatatest.Sink{}},
		"no generator": {Source: prefdatatest.CountingSource(1), Labeler: prefdatatest.Labeler{}, Sink: &prefdatatest.Sink{}},
		"no labeler":   {Source: prefdatatest.CountingSource(1), Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m"}}, Sink: &prefdatatest.Sink{}},
		"no output":    {Source: prefdatatest.CountingSource(1), Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m"}}, Labeler: prefdatatest.Labeler{}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Run(context.Background())
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "prefdata: "), err.Error())
		})
	}
}

func TestRunDirIgnoresHalfWrittenLine(t *testing.T) {
	root := t.TempDir()
	d, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	require.NoError(t, d.Append("x.jsonl", map[string]int{"n": 1}))
	require.NoError(t, d.Append("x.jsonl", map[string]int{"n": 2}))
	require.NoError(t, d.Close())
	// A crash in the middle of a write leaves a line without its newline.
	f, err := os.OpenFile(filepath.Join(root, "x.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"n":`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	var got []string
	scan := func() {
		got = nil
		require.NoError(t, d.Scan("x.jsonl", func(r prefdata.Record) error {
			got = append(got, fmt.Sprintf("%d@%d:%s", r.Line, r.Offset, r.Data))
			return nil
		}))
	}
	scan()
	assert.Equal(t, []string{`1@0:{"n":1}`, `2@8:{"n":2}`}, got)
	line, err := d.ReadLine("x.jsonl", 8)
	require.NoError(t, err)
	assert.Equal(t, `{"n":2}`, string(line))

	// The next append ends the broken tail (it is never cut: another
	// process may be appending) and reports it; scans skip it.
	require.NoError(t, d.Append("x.jsonl", map[string]int{"n": 3}))
	require.NoError(t, d.Close())
	scan()
	assert.Equal(t, []string{`1@0:{"n":1}`, `2@8:{"n":2}`, `4@22:{"n":3}`}, got)
	b, err := os.ReadFile(filepath.Join(root, "x.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, "{\"n\":1}\n{\"n\":2}\n{\"n\":\n{\"n\":3}\n", string(b))
	require.NotEmpty(t, d.Fragments())
	assert.Equal(t, prefdata.Fragment{Path: filepath.Join(root, "x.jsonl"), Offset: 16, Size: 5}, d.Fragments()[0])

	// A long line survives the scanner's buffer.
	long := strings.Repeat("x", 200_000)
	require.NoError(t, d.Append("long.jsonl", long))
	var n int
	require.NoError(t, d.Scan("long.jsonl", func(r prefdata.Record) error { n = len(r.Data); return nil }))
	assert.Equal(t, len(long)+2, n)
}

func TestStageText(t *testing.T) {
	for s := prefdata.StagePrompt; s <= prefdata.StageLabel; s++ {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back prefdata.Stage
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, s, back)
	}
	var s prefdata.Stage
	require.NoError(t, s.UnmarshalText([]byte("3")))
	assert.Equal(t, prefdata.StageFilter, s)
	assert.Error(t, s.UnmarshalText([]byte("stage five")))
	// An unset stage survives a JSON round trip.
	b, err := json.Marshal(prefdata.Provenance{})
	require.NoError(t, err)
	var back prefdata.Provenance
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, prefdata.Stage(0), back.Stage)
	_, err = json.Marshal(prefdata.Provenance{Stage: 7})
	assert.Error(t, err)
}

func TestCheckGenerator(t *testing.T) {
	require.NoError(t, prefdatatest.CheckGenerator(context.Background(), &prefdatatest.Generator{Model: "m", Samples: 3}, prefdatatest.NewPrompt("hi")))
	// A generator that ignores its context and forgets IDs breaks the contract.
	bad := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{PromptID: "other", Model: "m"}}, nil
	})
	err := prefdatatest.CheckGenerator(context.Background(), bad, prefdatatest.NewPrompt("hi"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no ID")
	assert.Contains(t, err.Error(), "PromptID")
	assert.Contains(t, err.Error(), "cancelled context")
}

func TestPipelineRepeatedPromptHitsCacheWithinARun(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	p0 := prefdatatest.NewPrompt("the same question")
	gen := &prefdatatest.Generator{Model: "m", Samples: 4}
	sink := &prefdatatest.Sink{}
	st, err := (&prefdata.Pipeline{
		Source: prefdata.Prompts(p0, p0), Generators: []prefdata.Generator{gen},
		Filters: []prefdata.Filter{lengthScores()}, Labeler: prefdatatest.Labeler{}, Sink: sink, Dir: dir,
		Limits: prefdata.Limits{Generate: 1, Filter: 1},
	}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, gen.Calls())
	// The second copy is read back either as a cached generation or, when
	// the first copy finished before it was selected, as a finished prompt
	// replayed: which one depends on scheduling, never both, never neither.
	assert.Equal(t, 1, st.Cached.Generations+st.Cached.Prompts, "cached %+v", st.Cached)
	require.Len(t, sink.Pairs(), 2)
	assert.Equal(t, sink.Pairs()[0].ID, sink.Pairs()[1].ID)
}

func TestPipelineRecordsPromptsWithTheSameIDApart(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	a, b := prefdatatest.NewPrompt("first file's question 81"), prefdatatest.NewPrompt("second file's question 81")
	a.ID, b.ID = "81", "81"
	_, err = (&prefdata.Pipeline{
		Source: prefdata.Prompts(a, b, a), Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 2}},
		Labeler: prefdatatest.Labeler{}, Dir: dir,
	}).Run(context.Background())
	require.NoError(t, err)
	lines := readJSONL[prefdata.PromptRecord](t, dir.Path(prefdata.FilePrompts))
	require.Len(t, lines, 2)
	assert.NotEqual(t, lines[0].Prompt.Text(), lines[1].Prompt.Text())
}

func TestPipelineStopRunEndsTheRunCleanly(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	errBroke := fmt.Errorf("out of credit: %w", prefdata.ErrStopRun)
	var calls atomic.Int64
	gen := &prefdatatest.Generator{Model: "m", Samples: 2, Fail: func(prefdata.Prompt) error {
		if calls.Add(1) > 5 {
			return errBroke
		}
		return nil
	}}
	p := &prefdata.Pipeline{
		Source: prefdatatest.CountingSource(30), Generators: []prefdata.Generator{gen},
		Filters: []prefdata.Filter{lengthScores()}, Labeler: prefdatatest.Labeler{}, Dir: dir,
		Limits: prefdata.Limits{Generate: 1},
	}
	st, err := p.Run(context.Background())
	require.ErrorIs(t, err, prefdata.ErrStopRun)
	require.ErrorIs(t, err, errBroke)
	assert.Contains(t, err.Error(), "m stopped the run at generate")
	assert.Zero(t, st.Failures(), "a stop is not an item failure")
	assert.Empty(t, readJSONL[prefdata.Failure](t, dir.Path(prefdata.FileFailures)))
	assert.Equal(t, 5, st.Generate.Out)

	// The next run does the rest and pays nothing twice.
	gen2 := &prefdatatest.Generator{Model: "m", Samples: 2}
	p.Source, p.Generators = prefdatatest.CountingSource(30), []prefdata.Generator{gen2}
	st, err = p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 25, gen2.Calls())
	assert.Equal(t, 5, st.Cached.Generations+st.Cached.Prompts, "each of the 5 answered prompts is replayed or reuses its answers")
}

// classifier is a fingerprinted stage-1 filter that costs a call per prompt.
type classifier struct{ calls *atomic.Int64 }

func (classifier) Name() string        { return "classify" }
func (classifier) Fingerprint() string { return "classify/v1" }
func (c classifier) FilterPrompt(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
	c.calls.Add(1)
	if strings.HasSuffix(p.Text(), "7") {
		return p, prefdata.Reject("off-topic")
	}
	p.Category = "math"
	return p, nil
}

func TestPipelineFingerprintedPromptFilterIsCached(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	var calls atomic.Int64
	ps := testPrompts(10)
	run := func() prefdata.Stats {
		sink := &prefdatatest.Sink{}
		st, err := (&prefdata.Pipeline{
			Source: prefdata.Prompts(ps...), PromptFilters: []prefdata.PromptFilter{classifier{&calls}},
			Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 3}},
			Filters:    []prefdata.Filter{lengthScores()}, Labeler: prefdatatest.Labeler{}, Sink: sink, Dir: dir,
		}).Run(context.Background())
		require.NoError(t, err)
		for _, p := range sink.Pairs() {
			assert.Equal(t, "math", p.Prompt.Category, "the cached decision keeps the category")
		}
		return st
	}
	st := run()
	assert.EqualValues(t, 10, calls.Load())
	assert.Equal(t, map[string]int{"classify": 1}, st.Prompt.Dropped)
	st = run()
	assert.EqualValues(t, 10, calls.Load(), "the classifier is not asked again")
	assert.Equal(t, 10, st.Cached.PromptFilters)
	assert.Equal(t, map[string]int{"classify": 1}, st.Prompt.Dropped, "a cached rejection is still a rejection")
	assert.Equal(t, 9, st.Cached.Prompts)
}

func TestPipelineRecordsWhatASourceDropped(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	ps := testPrompts(6)
	i := 0
	// A source that keeps every other prompt, as a balancing wrapper would.
	src := prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
		if i >= len(ps) {
			return prefdata.Prompt{}, io.EOF
		}
		i++
		if i%2 == 0 {
			return prefdata.Prompt{}, prefdata.RejectPrompt(ps[i-1], "balance", "category quota full")
		}
		return ps[i-1], nil
	})
	st, err := (&prefdata.Pipeline{Source: src, Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m"}},
		Labeler: prefdatatest.Labeler{}, Dir: dir}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 6, st.Prompt.In)
	assert.Equal(t, 3, st.Prompt.Out)
	assert.Equal(t, map[string]int{"balance": 3}, st.Prompt.Dropped)
	assert.Zero(t, st.Failures())
	var dropped []string
	for _, l := range readJSONL[prefdata.PromptRecord](t, dir.Path(prefdata.FilePrompts)) {
		if l.DroppedBy != "" {
			assert.Equal(t, "category quota full", l.Reason)
			dropped = append(dropped, l.Prompt.ID)
		}
	}
	assert.Equal(t, []string{ps[1].ID, ps[3].ID, ps[5].ID}, dropped)

	// A source that must stop the run (its budget is spent) stops it, even
	// wrapped in an item error.
	stop := prefdata.PromptSourceFunc(func(context.Context) (prefdata.Prompt, error) {
		return prefdata.Prompt{}, &prefdata.ItemError{Stage: prefdata.StagePrompt, Item: "x", Err: fmt.Errorf("budget: %w", prefdata.ErrStopRun)}
	})
	st, err = (&prefdata.Pipeline{Source: stop, Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m"}},
		Labeler: prefdatatest.Labeler{}, Dir: dir}).Run(context.Background())
	require.ErrorIs(t, err, prefdata.ErrStopRun)
	assert.Zero(t, st.Failures())
}

func TestRunDirTwoWritersLoseNothing(t *testing.T) {
	root := t.TempDir()
	a, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	b, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	for i := range 10 {
		w := a
		if i%2 == 1 {
			w = b
		}
		require.NoError(t, w.Append("shared.jsonl", map[string]int{"n": i}))
	}
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	var got []int
	require.NoError(t, a.Scan("shared.jsonl", func(r prefdata.Record) error {
		var v struct{ N int }
		if err := json.Unmarshal(r.Data, &v); err != nil {
			return err
		}
		got = append(got, v.N)
		return nil
	}))
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got)
}

// slowClassifier is a stateless (fingerprinted) prompt filter that takes a
// while and counts the calls in flight.
type slowClassifier struct {
	inFlight, max *atomic.Int64
}

func (slowClassifier) Fingerprint() string { return "slow/v1" }
func (c slowClassifier) FilterPrompt(ctx context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	select {
	case <-time.After(time.Millisecond):
	case <-ctx.Done():
		return p, ctx.Err()
	}
	if strings.HasSuffix(p.Text(), "3") {
		return p, prefdata.Reject("ends in 3")
	}
	p.Category = "classified"
	return p, nil
}

func TestPipelineStatelessPromptFiltersRunConcurrentlyInOrder(t *testing.T) {
	for _, limit := range []int{1, 6} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var inFlight, maxIn atomic.Int64
			var seen []string // written by the stateful filter only: one goroutine
			order := prefdata.PromptFilterFunc(func(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
				if p.Category != "classified" {
					return p, errors.New("the classifier did not run first")
				}
				seen = append(seen, p.Text())
				return p, nil
			})
			ps := testPrompts(60)
			st, err := (&prefdata.Pipeline{
				Source:        prefdata.Prompts(ps...),
				PromptFilters: []prefdata.PromptFilter{slowClassifier{&inFlight, &maxIn}, order},
				Generators:    []prefdata.Generator{&prefdatatest.Generator{Model: "m"}},
				Labeler:       prefdatatest.Labeler{}, Sink: &prefdatatest.Sink{},
				Limits: prefdata.Limits{Prompt: limit},
			}).Run(context.Background())
			require.NoError(t, err)
			var want []string
			for _, p := range ps {
				if !strings.HasSuffix(p.Text(), "3") {
					want = append(want, p.Text())
				}
			}
			assert.Equal(t, want, seen, "the stateful filter sees the kept prompts in source order")
			assert.Equal(t, len(want), st.Prompt.Out)
			assert.Equal(t, map[string]int{"prompt-filter[0]": 60 - len(want)}, st.Prompt.Dropped)
			assert.LessOrEqual(t, maxIn.Load(), int64(limit))
			if limit > 1 {
				assert.Greater(t, maxIn.Load(), int64(1), "the classifier ran on several prompts at once")
			}
		})
	}
}
