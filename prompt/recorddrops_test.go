package prompt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/prompt"
	"github.com/prefdata/prefdata/runstore"
)

// droppedIn reads the run directory's prompts file through the run store:
// dropped prompt ID → "by: reason".
func droppedIn(t *testing.T, dir *prefdata.RunDir) map[string]string {
	t.Helper()
	st, err := runstore.Open(dir)
	require.NoError(t, err)
	out := map[string]string{}
	require.NoError(t, st.Prompts(func(rec prefdata.PromptRecord) error {
		if rec.DroppedBy != "" {
			out[rec.Prompt.ID] = rec.DroppedBy + ": " + rec.Reason
		}
		return nil
	}))
	return out
}

func TestBalanceRecordDropsInPipeline(t *testing.T) {
	in := catPrompts(map[string]int{"coding": 12, "math": 3})
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	st, err := (&prefdata.Pipeline{
		Source:     prompt.Balance(prefdata.Prompts(in...), prompt.BalanceConfig{Total: 8, Seed: 1, RecordDrops: true}),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m"}},
		Labeler:    prefdatatest.Labeler{}, Dir: dir,
	}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 15, st.Prompt.In)
	assert.Equal(t, 8, st.Prompt.Out)
	assert.Equal(t, map[string]int{"balance": 7}, st.Prompt.Dropped)
	dropped := droppedIn(t, dir)
	require.Len(t, dropped, 7)
	for _, why := range dropped {
		assert.Equal(t, `balance: category "coding" over its share: 5 of 12 kept`, why)
	}

	// Read directly, without RecordDrops, the Balancer yields the selection
	// and io.EOF, nothing else.
	ps, _, err := readAll(t, prompt.Balance(prefdata.Prompts(in...), prompt.BalanceConfig{Total: 8, Seed: 1}))
	require.NoError(t, err)
	assert.Len(t, ps, 8)
}

func TestDifficultyRecordDropsInPipeline(t *testing.T) {
	script := rewardScript{"p1": {0.1, 0.9}, "p2": {0.8, 0.9}, "p3": {0.2, 0.3}, "p4": {0.7, 0.7}}
	srv := rewardServer(t, script, "")
	rater := &prompt.Rater{Policy: newGen(t, srv, "policy", 2), Scorer: llmScorer(newGen(t, srv, "rm", 1))}
	var in []prefdata.Prompt
	for _, q := range []string{"p1", "p2", "p3", "p4"} {
		in = append(in, userPrompt(q, q))
	}
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	st, err := (&prefdata.Pipeline{
		Source:     prompt.Difficulty(prefdata.Prompts(in...), prompt.DifficultyConfig{Rater: rater, LowestMean: 0.5, RecordDrops: true}),
		Generators: []prefdata.Generator{rater},
		Labeler:    prefdatatest.Labeler{}, Dir: dir,
	}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 4, st.Prompt.In)
	assert.Equal(t, 2, st.Prompt.Out, "the two weakest prompts")
	assert.Equal(t, map[string]int{"difficulty": 2}, st.Prompt.Dropped)
	dropped := droppedIn(t, dir)
	assert.Len(t, dropped, 2)
	assert.Contains(t, dropped, "p2")
	assert.Contains(t, dropped, "p4")
}
