package runstore_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/runstore"
)

// The pairs journal refers to responses.jsonl for its texts; the readers
// give the whole pairs back, read the whole pairs an older version wrote,
// and name the line whose responses cannot be read.
func TestPairsFillInReferences(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	_, err = (&prefdata.Pipeline{
		Source:     prefdata.Prompts(prompts(3)...),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}, &prefdatatest.Generator{Model: "b"}},
		Filters:    []prefdata.Filter{scoreBySample}, Labeler: prefdatatest.Labeler{}, Dir: d,
	}).Run(context.Background())
	require.NoError(t, err)

	s, err := runstore.Open(d)
	require.NoError(t, err)
	pairs, err := s.LatestPairs()
	require.NoError(t, err)
	require.Len(t, pairs, 3)
	for _, p := range pairs {
		for _, r := range []prefdata.Response{p.Chosen, p.Rejected} {
			assert.Equal(t, prefdatatest.Answer(r.Model, p.Prompt, r.Sample), r.Text, "pair %s response %s", p.ID, r.ID)
			assert.Equal(t, p.Prompt.ID, r.PromptID)
		}
	}
	raw, err := os.ReadFile(d.Path(prefdata.FilePairs))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), `"text":`, "the pairs refer to their responses")
	assert.Contains(t, string(raw), `"sources":[{"key":"`)

	// A line of the version before references: the whole pairs.
	m, _ := s.Manifest()
	old := pairs[0]
	old.ID = "old-pair"
	require.NoError(t, d.Append(prefdata.FilePairs, prefdata.PairsRecord{V: prefdata.RecordVersion, Key: "old-key", PromptID: "old", RunKey: m.RunKey, Pairs: []prefdata.Pair{old}}))
	raw, err = os.ReadFile(d.Path(prefdata.FilePairs))
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(raw), `"text":`), "only the old line holds texts: the whole pair")
	got, err := s.LatestPairs()
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, old, got[3])
	assert.Equal(t, pairs, got[:3])

	// A line whose source is not the record it names.
	bad := prefdata.PairsRecord{V: prefdata.RecordVersion, Key: "bad-key", PromptID: "bad", RunKey: m.RunKey,
		Pairs:   []prefdata.Pair{{ID: "lost", Chosen: prefdata.Response{ID: old.Chosen.ID}, Rejected: old.Rejected}},
		Sources: []prefdata.RecordRef{{Key: "no-such-key", Offset: 0}}}
	require.NoError(t, d.Append(prefdata.FilePairs, bad))
	_, err = s.LatestPairs()
	var le *runstore.LineError
	require.True(t, errors.As(err, &le), "%v", err)
	assert.Equal(t, 5, le.Line)
	assert.Equal(t, d.Path(prefdata.FilePairs), le.Path)
	assert.True(t, strings.Contains(err.Error(), prefdata.FilePairs+":5") && strings.Contains(err.Error(), "no-such-key"), err.Error())

	// With KeepRefs the references stay as stored, the line that cannot
	// be filled in too, each record with the Sources that locate them.
	s.KeepRefs = true
	kept, err := s.LatestPairs()
	require.NoError(t, err)
	require.Len(t, kept, 5)
	for i, p := range kept[:3] {
		assert.True(t, prefdata.IsRef(p.Chosen) && prefdata.IsRef(p.Rejected), "pair %s", p.ID)
		assert.Equal(t, pairs[i].Chosen.ID, p.Chosen.ID)
	}
	assert.Equal(t, old, kept[3], "a whole pair comes back whole")
	require.NoError(t, s.PairsRecords(func(line int, rec prefdata.PairsRecord) error {
		if line <= 3 {
			filled := append([]prefdata.Pair(nil), rec.Pairs...)
			require.NoError(t, d.FillRefs(filled, rec.Sources), "line %d", line)
			assert.Equal(t, pairs[line-1], filled[0], "line %d: its Sources fill it in", line)
		}
		return nil
	}))
}
