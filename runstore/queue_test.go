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

// The queue's lines refer to responses.jsonl for their texts; Queue gives
// the whole pairs back, reads the whole pairs an older version wrote, and
// names a line whose responses cannot be found without hiding the others.
func TestQueueFillsInReferences(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	_, err = (&prefdata.Pipeline{
		Source:     prefdata.Prompts(prompts(3)...),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}, &prefdatatest.Generator{Model: "b"}},
		Filters:    []prefdata.Filter{scoreBySample}, Labeler: prefdatatest.Labeler{HumanBelow: 1e9}, Dir: d,
	}).Run(context.Background())
	require.NoError(t, err)

	s, err := runstore.Open(d)
	require.NoError(t, err)
	var queued []prefdata.Pair
	require.NoError(t, s.Queue(func(p prefdata.Pair) error { queued = append(queued, p); return nil }, nil))
	require.Len(t, queued, 3)
	for _, p := range queued {
		for _, r := range []prefdata.Response{p.Chosen, p.Rejected} {
			assert.Equal(t, prefdatatest.Answer(r.Model, p.Prompt, r.Sample), r.Text, "pair %s response %s", p.ID, r.ID)
		}
	}
	raw, err := os.ReadFile(d.Path(prefdata.FileQueue))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), queued[0].Chosen.Text)

	// A line of the version before references: the whole pair.
	old := queued[0]
	old.ID = "old-pair"
	require.NoError(t, d.Append(prefdata.FileQueue, old))
	// A line whose source is not the record it names.
	bad := prefdata.QueueRecord{Pair: prefdata.Pair{ID: "lost", Chosen: prefdata.Response{ID: old.Chosen.ID}, Rejected: old.Rejected},
		V: prefdata.RecordVersion, Sources: []prefdata.RecordRef{{Key: "no-such-key", Offset: 0}}}
	require.NoError(t, d.Append(prefdata.FileQueue, bad))

	var ids []string
	var bads []error
	require.NoError(t, s.Queue(func(p prefdata.Pair) error {
		ids = append(ids, p.ID)
		if p.ID == "old-pair" {
			assert.Equal(t, old, p)
		}
		return nil
	}, func(err error) { bads = append(bads, err) }))
	assert.Equal(t, []string{queued[0].ID, queued[1].ID, queued[2].ID, "old-pair"}, ids)
	require.Len(t, bads, 1)
	var le *runstore.LineError
	require.True(t, errors.As(bads[0], &le))
	assert.Equal(t, 5, le.Line)
	assert.True(t, strings.Contains(bads[0].Error(), "pair lost") && strings.Contains(bads[0].Error(), "no-such-key"), bads[0].Error())
}
