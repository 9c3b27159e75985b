package prefdata_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// unkeyedFilter counts its calls and has no fingerprint: the pipeline
// never caches its output, so a run that goes through stage 3 calls it.
type unkeyedFilter struct {
	inner prefdata.Filter
	mu    sync.Mutex
	n     int
}

func (f *unkeyedFilter) Name() string { return "unkeyed" }
func (f *unkeyedFilter) Filter(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	return f.inner.Filter(ctx, c)
}

func (f *unkeyedFilter) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// With a CandidateMemo, the labeling run after a FiltersOnly run labels
// the candidates that run kept, without going through stages 2 and 3 again
// (a filter with no fingerprint, which it would have to call again, is not
// called), and writes the very pairs a run without the memo writes. A
// candidate whose generation failed is not kept: the labeling run asks for
// it again.
func TestPipelineMemo(t *testing.T) {
	ps := testPrompts(6)
	type result struct {
		pairs      []prefdata.Pair
		gen, flt   [2]int // calls in the FiltersOnly run, then in both
		kept       int
		labelStats prefdata.Stats
		records    []prefdata.PairsRecord // the pairs journal's, run IDs left out
	}
	run := func(memo *prefdata.CandidateMemo) result {
		dir, err := prefdata.OpenRunDir(t.TempDir())
		require.NoError(t, err)
		defer dir.Close()
		failing := true
		gen := &prefdatatest.Generator{Model: "a", Samples: 3, Fail: func(p prefdata.Prompt) error {
			if failing && p.ID == ps[2].ID {
				return errors.New("server down")
			}
			return nil
		}}
		flt := &unkeyedFilter{inner: lengthScores()}
		p := prefdata.Pipeline{
			Source: prefdata.Prompts(ps...), Generators: []prefdata.Generator{gen},
			Filters: []prefdata.Filter{lengthScores(), flt}, Dir: dir, FiltersOnly: true, Memo: memo,
		}
		_, err = p.Run(context.Background())
		require.NoError(t, err)
		var res result
		res.gen[0], res.flt[0], res.kept = gen.Calls(), flt.calls(), memo.Len()
		failing = false
		sink := &prefdatatest.Sink{}
		p.Source, p.FiltersOnly, p.Labeler, p.Sink = prefdata.Prompts(ps...), false, prefdatatest.Labeler{}, sink
		res.labelStats, err = p.Run(context.Background())
		require.NoError(t, err)
		res.pairs, res.gen[1], res.flt[1] = sink.Pairs(), gen.Calls(), flt.calls()
		require.NoError(t, dir.Scan(prefdata.FilePairs, func(r prefdata.Record) error {
			rec, ok := prefdata.DecodePairsRecord(r.Data)
			require.True(t, ok, "pairs line %d", r.Line)
			// Each source is the responses record it names, and holds the
			// pairs' responses.
			filled := slices.Clone(rec.Pairs)
			require.NoError(t, dir.FillRefs(filled, rec.Sources), "pairs line %d", r.Line)
			for _, p := range rec.Pairs {
				assert.True(t, prefdata.IsRef(p.Chosen) && prefdata.IsRef(p.Rejected), "pairs line %d: the responses written as references", r.Line)
			}
			for _, p := range filled {
				assert.NotEmpty(t, p.Chosen.Text, "pairs line %d: chosen filled in", r.Line)
				assert.NotEmpty(t, p.Rejected.Text, "pairs line %d: rejected filled in", r.Line)
			}
			// Where the records stand differs from run to run (the
			// generations are written as they come): left out.
			rec.Run = ""
			for i := range rec.Sources {
				rec.Sources[i].Offset = 0
			}
			res.records = append(res.records, rec)
			return nil
		}))
		return res
	}
	without := run(nil)
	memo := &prefdata.CandidateMemo{}
	with := run(memo)

	assert.Equal(t, [2]int{6, 7}, without.gen, "generations are read back from the run directory, the failed one asked again")
	assert.Equal(t, [2]int{5, 11}, without.flt, "the filter without a fingerprint is called again")
	assert.Equal(t, 5, with.kept, "every candidate but the failed one is kept")
	assert.Equal(t, [2]int{6, 7}, with.gen, "only the failed generation is asked again")
	assert.Equal(t, [2]int{5, 6}, with.flt, "only its candidate is filtered again")
	assert.Zero(t, memo.Len(), "the labeling run let every candidate go")
	require.Len(t, with.pairs, 6)
	assert.Equal(t, without.pairs, with.pairs, "the same pairs, in the same order")
	// The pairs journal refers to the same responses records: the memo's
	// candidates carry where their generations are stored.
	require.Len(t, with.records, 6)
	assert.Equal(t, without.records, with.records, "the same pairs records, references and sources")
	for _, rec := range with.records {
		if rec.PromptID != ps[2].ID { // asked again: a generation of the labeling run
			assert.NotEmpty(t, rec.Sources, "prompt %s: its pairs refer to the responses journal", rec.PromptID)
		}
	}
	assert.Equal(t, 1, with.labelStats.Filter.In/3, "stage 3 counts only the candidate it filtered")
	assert.Equal(t, without.labelStats.PairsAI, with.labelStats.PairsAI)
}

// Max bounds the candidates kept; those beyond it are read back from the
// run directory as without a memo.
func TestPipelineMemoMax(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	ps := testPrompts(6)
	gen := &prefdatatest.Generator{Model: "a", Samples: 3}
	flt := &unkeyedFilter{inner: lengthScores()}
	memo := &prefdata.CandidateMemo{Max: 4}
	p := prefdata.Pipeline{
		Source: prefdata.Prompts(ps...), Generators: []prefdata.Generator{gen},
		Filters: []prefdata.Filter{flt}, Dir: dir, FiltersOnly: true, Memo: memo,
	}
	_, err = p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 4, memo.Len())
	sink := &prefdatatest.Sink{}
	p.Source, p.FiltersOnly, p.Labeler, p.Sink = prefdata.Prompts(ps...), false, prefdatatest.Labeler{}, sink
	_, err = p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 6, gen.Calls(), "the others' generations come from the run directory")
	assert.Equal(t, 8, flt.calls(), "two candidates filtered again")
	assert.Len(t, sink.Pairs(), 6)
}

// syncFails is a journal file whose next fsync fails once failNext is set;
// the one after succeeds, as a retry on Linux may with the lines lost.
type syncFails struct {
	*os.File
	failNext *atomic.Bool
	syncs    *atomic.Int32
}

func (f syncFails) Sync() error {
	f.syncs.Add(1)
	if f.failNext.CompareAndSwap(true, false) {
		return syscall.EIO
	}
	return f.File.Sync()
}

// A FiltersOnly run with a Memo leaves its sync to the labeling run after
// it, which runs it in the background; an fsync that failed there is not
// lost, even though the retry at the run's end succeeds: that run returns
// it, naming the file.
func TestPipelineMemoSyncErrorReported(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	var mu sync.Mutex
	var opened []*atomic.Bool
	syncs := map[string]*atomic.Int32{}
	dir.OpenFile = func(path string) (prefdata.JournalFile, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
		fail := new(atomic.Bool)
		mu.Lock()
		defer mu.Unlock()
		opened = append(opened, fail)
		if syncs[path] == nil {
			syncs[path] = new(atomic.Int32)
		}
		return syncFails{f, fail, syncs[path]}, err
	}
	ps := testPrompts(4)
	memo := &prefdata.CandidateMemo{}
	p := prefdata.Pipeline{
		Source: prefdata.Prompts(ps...), Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}},
		Filters: []prefdata.Filter{lengthScores()}, Dir: dir, FiltersOnly: true, Memo: memo,
	}
	_, err = p.Run(context.Background())
	require.NoError(t, err)
	mu.Lock()
	require.NotEmpty(t, opened)
	for _, f := range opened { // the files the FiltersOnly run wrote
		f.Store(true)
	}
	mu.Unlock()
	sink := &prefdatatest.Sink{}
	p.Source, p.FiltersOnly, p.Labeler, p.Sink = prefdata.Prompts(ps...), false, prefdatatest.Labeler{}, sink
	st, err := p.Run(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.EIO)
	assert.Contains(t, err.Error(), dir.Path(prefdata.FileResponses), "the error names a file whose sync failed")
	assert.NotZero(t, st.PairsAI)
	assert.Len(t, sink.Pairs(), st.PairsAI, "the pairs are made and written all the same")
	mu.Lock()
	n := syncs[dir.Path(prefdata.FileResponses)].Load()
	mu.Unlock()
	assert.Equal(t, int32(2), n, "the responses journal: the background fsync that failed, then the run end's retry")
	require.NoError(t, dir.Sync(), "the error is returned once")
}

// countedSource counts the prompts read from it.
type countedSource struct {
	src prefdata.PromptSource
	n   atomic.Int32
}

func (s *countedSource) Next(ctx context.Context) (prefdata.Prompt, error) {
	s.n.Add(1)
	return s.src.Next(ctx)
}

// dropFilter is a stateful prompt filter (no fingerprint) that drops the
// prompts it was told to and counts its calls; named apart by name.
type dropFilter struct {
	name string
	drop map[string]bool
	n    atomic.Int32
}

func (f *dropFilter) Name() string { return f.name }
func (f *dropFilter) FilterPrompt(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
	f.n.Add(1)
	if f.drop[p.ID] {
		return p, prefdata.Reject("told to")
	}
	return p, nil
}

// The labeling run with the FiltersOnly run's Memo replays that run's stage
// 1: it reads nothing from its Source and calls no prompt filter, and
// writes the pairs, the pairs records and the stage-1 figures a run without
// the memo does. Its progress counts the prompts stage 1 dropped as done.
func TestPipelineMemoReplaysStage1(t *testing.T) {
	ps := testPrompts(8)
	drop := map[string]bool{ps[1].ID: true, ps[5].ID: true}
	type result struct {
		pairs   []prefdata.Pair
		stats   prefdata.Stats
		read    int32 // prompts the labeling run read
		filters int32 // its prompt filter calls
		done    int   // its last progress's Done
		records []string
	}
	run := func(memo *prefdata.CandidateMemo) result {
		dir, err := prefdata.OpenRunDir(t.TempDir())
		require.NoError(t, err)
		defer dir.Close()
		p := prefdata.Pipeline{
			Source: prefdata.Prompts(ps...), PromptFilters: []prefdata.PromptFilter{&dropFilter{name: "drop", drop: drop}},
			Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}},
			Filters:    []prefdata.Filter{lengthScores()}, Dir: dir, FiltersOnly: true, Memo: memo,
		}
		_, err = p.Run(context.Background())
		require.NoError(t, err)
		var res result
		src, flt, sink := &countedSource{src: prefdata.Prompts(ps...)}, &dropFilter{name: "drop", drop: drop}, &prefdatatest.Sink{}
		var mu sync.Mutex
		p.Hooks.Progress = func(pg prefdata.Progress) {
			mu.Lock()
			res.done = max(res.done, pg.Done)
			mu.Unlock()
		}
		p.Source, p.PromptFilters, p.FiltersOnly, p.Labeler, p.Sink = src, []prefdata.PromptFilter{flt}, false, prefdatatest.Labeler{}, sink
		res.stats, err = p.Run(context.Background())
		require.NoError(t, err)
		res.pairs, res.read, res.filters = sink.Pairs(), src.n.Load(), flt.n.Load()
		require.NoError(t, dir.Scan(prefdata.FilePairs, func(r prefdata.Record) error {
			rec, ok := prefdata.DecodePairsRecord(r.Data)
			require.True(t, ok, "pairs line %d", r.Line)
			res.records = append(res.records, rec.PromptID)
			return nil
		}))
		return res
	}
	without, with := run(nil), run(&prefdata.CandidateMemo{})

	assert.Equal(t, int32(9), without.read, "without the memo the labeling run reads its source (8 prompts and EOF)")
	assert.Equal(t, int32(8), without.filters)
	assert.Zero(t, with.read, "with it the source is not read")
	assert.Zero(t, with.filters, "nor the prompt filter called")
	require.NotEmpty(t, with.pairs)
	assert.Equal(t, without.pairs, with.pairs, "the same pairs, in the same order")
	assert.Equal(t, without.records, with.records, "the same pairs records, in the same order")
	assert.Equal(t, without.stats.Prompt, with.stats.Prompt, "the same stage-1 figures")
	assert.Equal(t, prefdata.StageStats{In: 8, Out: 6, Dropped: map[string]int{"drop": 2}}, with.stats.Prompt)
	assert.Equal(t, 8, with.done, "every prompt is done, the dropped ones too")
	assert.Equal(t, without.done, with.done)
}

// The memo's stage 1 is replayed only when it is whole and made by the same
// prompt filters: with other prompt filters, after a FiltersOnly run that
// failed, or beyond Max, the labeling run reads its source and runs its
// prompt filters itself.
func TestPipelineMemoStage1NotReplayed(t *testing.T) {
	ps := testPrompts(6)
	for _, tc := range []struct {
		name      string
		max       int
		labelWith string // the labeling run's prompt filter's name
		failFirst bool   // the FiltersOnly run's source fails after 3 prompts
	}{
		{name: "other prompt filters", labelWith: "other"},
		{name: "first run failed", labelWith: "drop", failFirst: true},
		{name: "beyond Max", max: 5, labelWith: "drop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := prefdata.OpenRunDir(t.TempDir())
			require.NoError(t, err)
			defer dir.Close()
			memo := &prefdata.CandidateMemo{Max: tc.max}
			var src prefdata.PromptSource = prefdata.Prompts(ps...)
			if tc.failFirst {
				inner, n := prefdata.Prompts(ps...), 0
				src = prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
					if n++; n > 3 {
						return prefdata.Prompt{}, errors.New("disk gone")
					}
					return inner.Next(ctx)
				})
			}
			p := prefdata.Pipeline{
				Source: src, PromptFilters: []prefdata.PromptFilter{&dropFilter{name: "drop"}},
				Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}},
				Filters:    []prefdata.Filter{lengthScores()}, Dir: dir, FiltersOnly: true, Memo: memo,
			}
			_, err = p.Run(context.Background())
			if tc.failFirst {
				require.ErrorContains(t, err, "disk gone")
			} else {
				require.NoError(t, err)
			}
			counted, flt, sink := &countedSource{src: prefdata.Prompts(ps...)}, &dropFilter{name: tc.labelWith}, &prefdatatest.Sink{}
			p.Source, p.PromptFilters, p.FiltersOnly, p.Labeler, p.Sink = counted, []prefdata.PromptFilter{flt}, false, prefdatatest.Labeler{}, sink
			st, err := p.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, int32(7), counted.n.Load(), "the source is read (6 prompts and EOF)")
			assert.Equal(t, int32(6), flt.n.Load(), "the prompt filter is called")
			assert.Equal(t, 6, st.Prompt.Out)
			assert.NotEmpty(t, sink.Pairs())
		})
	}
}
