package prefdata_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/runstore"
)

// A directory as the version before references wrote it (manifest version
// 2, pairs lines of whole responses with "v": 2) resumes without a new
// generation and the same pairs, and its next run marks it version 3.
func TestRunDirVersion2DirectoryResumes(t *testing.T) {
	root := t.TempDir()
	run := func(g *prefdatatest.Generator) []prefdata.Pair {
		d, err := prefdata.OpenRunDir(root)
		require.NoError(t, err)
		defer d.Close()
		sink := &prefdatatest.Sink{}
		_, err = (&prefdata.Pipeline{
			Source:     prefdata.Prompts(testPrompts(5)...),
			Generators: []prefdata.Generator{g},
			Filters:    []prefdata.Filter{lengthScores()}, Labeler: prefdatatest.Labeler{}, Sink: sink, Dir: d,
		}).Run(context.Background())
		require.NoError(t, err)
		return sink.Pairs()
	}
	first := run(&prefdatatest.Generator{Model: "m", Samples: 2})
	require.NotEmpty(t, first)

	// Rewrite the directory as version 2 wrote it.
	st, err := runstore.OpenDir(root)
	require.NoError(t, err)
	var old bytes.Buffer
	require.NoError(t, st.PairsRecords(func(_ int, rec prefdata.PairsRecord) error {
		rec.V, rec.Sources = 2, nil
		b, err := json.Marshal(rec)
		old.Write(append(b, '\n'))
		return err
	}))
	require.NoError(t, st.Dir().Close())
	require.Contains(t, old.String(), strconv.Quote(first[0].Chosen.Text), "version 2 lines hold whole responses")
	require.NoError(t, os.WriteFile(filepath.Join(root, prefdata.FilePairs), old.Bytes(), 0o644))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "index")))
	mpath := filepath.Join(root, prefdata.FileManifest)
	b, err := os.ReadFile(mpath)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	m["version"] = 2
	b, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mpath, b, 0o644))

	g := &prefdatatest.Generator{Model: "m", Samples: 2}
	assert.Equal(t, first, run(g), "the same pairs, replayed from the version 2 lines")
	assert.Zero(t, g.Calls(), "nothing generated again")
	b, err = os.ReadFile(mpath)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `"version": 3`), "the next run marks the directory version 3: %s", b)
}
