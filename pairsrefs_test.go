package prefdata_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/runstore"
)

// textCount returns how many times the JSON string s occurs in the files of
// the directory root.
func textCount(t *testing.T, root, s string) (n int, where []string) {
	t.Helper()
	enc, err := json.Marshal(s)
	require.NoError(t, err)
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name()))
		require.NoError(t, err)
		if k := bytes.Count(b, enc); k > 0 {
			n += k
			where = append(where, e.Name())
		}
	}
	return n, where
}

// After a run whose prompts all made pairs, each response text of the
// pairs is stored once in the run directory: pairs.jsonl refers to
// responses.jsonl. A response a filter changed is not in responses.jsonl as
// it is, so pairs.jsonl holds it whole. The readers and a resumed run give
// the pairs back whole, equal to those of the first run.
func TestPairsResponseTextStoredOnce(t *testing.T) {
	root := t.TempDir()
	// Not fingerprinted, so its output is not journaled: changes the text
	// of model b's first sample.
	edit := prefdata.FilterFunc(func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		rs := append([]prefdata.Response(nil), c.Responses...)
		for i := range rs {
			if rs[i].Model == "b" && rs[i].Sample == 0 {
				rs[i].Text += " (edited)"
			}
		}
		c.Responses = rs
		return c, nil
	})
	run := func() ([]prefdata.Pair, *prefdata.RunDir) {
		dir, err := prefdata.OpenRunDir(root)
		require.NoError(t, err)
		sink := &prefdatatest.Sink{}
		_, err = (&prefdata.Pipeline{
			Source:     prefdata.Prompts(prefdatatest.NewPrompt("one"), prefdatatest.NewPrompt("two"), prefdatatest.NewPrompt("three"), prefdatatest.NewPrompt("four")),
			Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}, &prefdatatest.Generator{Model: "b", Samples: 2}},
			Filters:    []prefdata.Filter{edit, lengthScores()},
			Labeler:    prefdatatest.Labeler{},
			Sink:       sink,
			Dir:        dir,
		}).Run(context.Background())
		require.NoError(t, err)
		return sink.Pairs(), dir
	}
	first, dir := run()
	require.Len(t, first, 4)
	edited := 0
	for _, p := range first {
		for _, r := range []prefdata.Response{p.Chosen, p.Rejected} {
			want := prefdatatest.Answer(r.Model, p.Prompt, r.Sample)
			if r.Model == "b" && r.Sample == 0 {
				want += " (edited)"
				edited++
			}
			require.Equal(t, want, r.Text, "pair %s response %s", p.ID, r.ID)
			if n, where := textCount(t, root, r.Text); n != 1 {
				t.Errorf("%q is stored %d times (%v), want once", r.Text, n, where)
			}
		}
	}
	require.Positive(t, edited, "a pair with an edited response")
	raw, err := os.ReadFile(dir.Path(prefdata.FilePairs))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"sources":[{"key":"`)

	s, err := runstore.Open(dir)
	require.NoError(t, err)
	latest, err := s.LatestPairs()
	require.NoError(t, err)
	assert.Equal(t, first, latest)
	require.NoError(t, dir.Close())

	// Resumed: every prompt is replayed from pairs.jsonl, whole.
	again, dir := run()
	assert.Equal(t, first, again)
	require.NoError(t, dir.Close())
}

// A pairs line whose source is not the record it names (here, a key
// changed in place) is not replayed: the resumed run does the prompt again
// from the caches, pays nothing, and gives the sink the same pairs.
func TestResumeRedoesPromptWithBadSource(t *testing.T) {
	root := t.TempDir()
	gen := &prefdatatest.Generator{Model: "a", Samples: 2}
	run := func() []prefdata.Pair {
		dir, err := prefdata.OpenRunDir(root)
		require.NoError(t, err)
		defer dir.Close()
		sink := &prefdatatest.Sink{}
		_, err = (&prefdata.Pipeline{
			Source:     prefdata.Prompts(prefdatatest.NewPrompt("one"), prefdatatest.NewPrompt("two")),
			Generators: []prefdata.Generator{gen},
			Filters:    []prefdata.Filter{lengthScores()},
			Labeler:    prefdatatest.Labeler{},
			Sink:       sink,
			Dir:        dir,
		}).Run(context.Background())
		require.NoError(t, err)
		return sink.Pairs()
	}
	first := run()
	require.NotEmpty(t, first)
	path := filepath.Join(root, prefdata.FilePairs)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	i := bytes.Index(raw, []byte(`"sources":[{"key":"`))
	require.Positive(t, i)
	lines := bytes.Count(raw, []byte("\n"))
	i += len(`"sources":[{"key":"`)
	if raw[i] == '0' { // another hex digit: the line keeps its length
		raw[i] = '1'
	} else {
		raw[i] = '0'
	}
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	calls := gen.Calls()

	again := run()
	assert.Equal(t, first, again)
	assert.Equal(t, calls, gen.Calls(), "nothing paid again")
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, lines+1, bytes.Count(raw, []byte("\n")), "the prompt done again has a new line")
}
