package prefdata_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// A queue line reads back as the record it was, whole or with references,
// and a reference is written as {"id": ...}.
func TestQueueRecordRoundTrip(t *testing.T) {
	p := prefdatatest.NewPrompt("a <b> & \"c\"")
	full := prefdata.Pair{
		ID: "pair", Prompt: p,
		Chosen:   prefdata.Response{ID: "r1", PromptID: p.ID, Model: "m", Sample: 1, Text: "x <y>", Usage: prefdata.Usage{Requests: 1}},
		Rejected: prefdata.Response{ID: "r2", PromptID: p.ID, Model: "m", Text: "z", Sampling: prefdata.Sampling{Temperature: prefdata.Float(0)}},
		Margin:   1.5, Scores: []prefdata.Score{{ResponseID: "r1", Scorer: "s", Value: 2}}, NeedsHuman: true,
		Provenance: prefdata.Provenance{Stage: prefdata.StageFilter, Labeler: "l", Confidence: 0.25, Value: 0.5},
	}
	refs := full
	refs.Chosen = prefdata.Response{ID: "r1"}
	for _, q := range []prefdata.QueueRecord{
		{Pair: full},
		{Pair: full, V: prefdata.RecordVersion},
		{Pair: refs, V: prefdata.RecordVersion, Sources: []prefdata.RecordRef{{Key: "k1", Offset: 12}, {Key: "k2", Offset: 0}}},
	} {
		b, err := json.Marshal(q)
		require.NoError(t, err)
		var back prefdata.QueueRecord
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		assert.Equal(t, q, back)
		// The same as encoding/json writes for the pair's fields.
		type plain prefdata.QueueRecord
		want, err := json.Marshal(plain(q))
		require.NoError(t, err)
		var a, w map[string]any
		require.NoError(t, json.Unmarshal(b, &a))
		require.NoError(t, json.Unmarshal(want, &w))
		if len(q.Sources) == 0 {
			assert.Equal(t, w, a)
		}
	}
	b, err := json.Marshal(prefdata.QueueRecord{Pair: refs, Sources: []prefdata.RecordRef{{Key: "k", Offset: 1}}})
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `"chosen":{"id":"r1"},"rejected":{"id":"r2",`), "%s", b)
}
