package prefdata_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// collect is a last filter that records the candidates it sees.
type collect struct {
	mu    sync.Mutex
	cands map[string]prefdata.Candidate
}

func (c *collect) Filter(_ context.Context, cand prefdata.Candidate) (prefdata.Candidate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cands == nil {
		c.cands = map[string]prefdata.Candidate{}
	}
	c.cands[cand.Prompt.ID] = cand
	return cand, nil
}

// A FiltersOnly run sees every candidate after stage 3, journals the
// filters' work, labels nothing and finishes no prompt; the next, normal
// run reads the filters back and labels every prompt. A second FiltersOnly
// run after it still sees the prompts that run finished.
func TestPipelineFiltersOnly(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	gen := &prefdatatest.Generator{Model: "a", Samples: 3}
	ps := testPrompts(6)
	scores := &countingFilter{unkeyedFilter{inner: lengthScores()}}
	pass1 := func() (*collect, prefdata.Stats) {
		c := &collect{}
		st, err := (&prefdata.Pipeline{
			Source: prefdata.Prompts(ps...), Generators: []prefdata.Generator{gen},
			Filters: []prefdata.Filter{scores, c}, Dir: dir, FiltersOnly: true,
		}).Run(context.Background())
		require.NoError(t, err)
		return c, st
	}
	c, st := pass1()
	assert.Len(t, c.cands, 6, "every candidate reaches the last filter")
	for _, cand := range c.cands {
		assert.Len(t, cand.Scores, 3, "with the earlier filters' output")
	}
	assert.Zero(t, st.PairsAI+st.PairsHuman+st.Label.In)
	assert.Empty(t, readJSONL[map[string]any](t, filepath.Join(dir.Dir(), prefdata.FilePairs)), "no prompt is finished")

	sink := &prefdatatest.Sink{}
	var added prefdata.Stats
	st, err = (&prefdata.Pipeline{
		Source: prefdata.Prompts(ps...), Generators: []prefdata.Generator{gen},
		Filters: []prefdata.Filter{scores}, Labeler: prefdatatest.Labeler{}, Sink: sink, Dir: dir,
		AddStats: func(s *prefdata.Stats) { s.Cascade.Saved = 7; added = *s },
	}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 6, gen.Calls(), "the normal run generated nothing again")
	assert.Equal(t, 6, scores.calls(), "nor filtered again")
	assert.Equal(t, 6, st.PairsAI)
	assert.Len(t, sink.Pairs(), 6)
	assert.Equal(t, 7, st.Cascade.Saved, "AddStats adds to the run's stats")
	assert.Equal(t, 6, added.PairsAI, "after the pipeline's own counts")
	m, ok, err := dir.ReadManifest()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 7, m.Stats.Cascade.Saved, "and to the manifest")

	c, _ = pass1()
	assert.Len(t, c.cands, 6, "finished prompts are filtered (from the journal) again, not replayed")
	assert.Equal(t, 6, scores.calls())
}

func TestPipelineNeedsLabelerUnlessFiltersOnly(t *testing.T) {
	_, err := (&prefdata.Pipeline{Source: prefdata.Prompts(), Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "a"}}, Sink: &prefdatatest.Sink{}}).Run(context.Background())
	require.ErrorContains(t, err, "Labeler is nil")
}

// countingFilter is an unkeyedFilter with its inner filter's fingerprint:
// the pipeline caches its output.
type countingFilter struct{ unkeyedFilter }

func (f *countingFilter) Fingerprint() string {
	return f.inner.(prefdata.Fingerprinter).Fingerprint()
}
func (f *countingFilter) Name() string { return "counting" }
