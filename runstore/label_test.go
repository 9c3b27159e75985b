package runstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/runstore"
)

// The human label is one record: what package label writes is what the
// run store reads back, every field, with the retracted label left out.
func TestHumanLabelsAreLabelsRecord(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	p := prefdatatest.NewPrompt("q")
	pair := prefdata.Pair{ID: "pair-1", Prompt: p, Chosen: prefdata.Response{ID: "r1"}, Rejected: prefdata.Response{ID: "r2"}}
	st, err := label.OpenStore(d)
	require.NoError(t, err)
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	kept := label.Label{ID: "l1", PairID: pair.ID, PromptID: p.ID, Annotator: "ann", Verdict: label.VerdictPrefer,
		Preferred: "r2", Strength: label.Much, Comment: "clearer", Shown: []string{"r2", "r1"},
		Source: label.SourceApp, Time: when, LeadTime: 4.5}
	require.NoError(t, kept.Check(pair))
	require.NoError(t, st.Add(kept))
	undone := label.Label{ID: "l2", PairID: pair.ID, Annotator: "bob", Verdict: label.VerdictTie, Source: label.SourceApp, Time: when}
	require.NoError(t, st.Add(undone))
	require.NoError(t, st.Retract("bob", "l2", when))

	s, err := runstore.Open(d)
	require.NoError(t, err)
	var lines []runstore.Label
	require.NoError(t, s.HumanLabels(func(l runstore.Label) error { lines = append(lines, l); return nil }))
	require.Len(t, lines, 3) // two labels and the retraction
	assert.Equal(t, kept, lines[0])
	assert.Equal(t, "l2", lines[2].Undoes)

	cur, err := s.CurrentLabels()
	require.NoError(t, err)
	assert.Equal(t, map[string]runstore.Label{"l1": kept}, cur)
	assert.Equal(t, "much", cur["l1"].Strength.String())
}
