package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
)

// runInto runs the same pipeline into the run directory at path, with the
// given prompt filters first, and returns what its sink received as Pair
// JSON lines.
func runInto(t *testing.T, path string, first ...prefdata.PromptFilter) []byte {
	t.Helper()
	dir, err := prefdata.OpenRunDir(path)
	require.NoError(t, err)
	defer dir.Close()
	var buf bytes.Buffer
	w := newPairWriter(&buf)
	_, err = (&prefdata.Pipeline{
		Source:        prefdatatest.CountingSource(90),
		PromptFilters: first,
		Generators:    []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}, &prefdatatest.Generator{Model: "b"}},
		Filters:       []prefdata.Filter{filter.Scores(prefdatatest.LengthScorer{})},
		Labeler:       prefdatatest.Labeler{},
		Sink:          w,
		Dir:           dir,
	}).Run(context.Background())
	require.NoError(t, err)
	return buf.Bytes()
}

// Three shard runs merged equal one unsharded run, byte for byte.
func TestThreeShardsMergedEqualOneRun(t *testing.T) {
	root := t.TempDir()
	whole := runInto(t, filepath.Join(root, "whole"))
	require.NotEmpty(t, whole)
	var shards []string
	var parts int
	for i := range 3 {
		sf, err := response.ShardFilter(i, 3)
		require.NoError(t, err)
		path := filepath.Join(root, "shard", string(rune('0'+i)))
		out := runInto(t, path, sf)
		require.NotEmpty(t, out, "every shard has work")
		require.Less(t, len(out), len(whole))
		parts += len(out)
		shards = append(shards, path)
	}
	require.Equal(t, len(whole), parts, "the shards split the work")

	var merged bytes.Buffer
	w := newPairWriter(&merged)
	n, err := Merge(context.Background(), shards, w)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	assert.Positive(t, n)
	assert.Equal(t, string(whole), merged.String())

	// The command writes the same file.
	out := filepath.Join(root, "out", "pairs.jsonl")
	require.NoError(t, run(append([]string{"-out", out}, shards...), io.Discard, io.Discard))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(whole), string(got))

	// Overlapping shards are refused, and the output is left as it was.
	err = run(append([]string{"-out", out, filepath.Join(root, "whole")}, shards...), io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "overlap")
	again, rerr := os.ReadFile(out)
	require.NoError(t, rerr)
	assert.Equal(t, string(got), string(again))
}

func TestMergeNeedsRunDirectories(t *testing.T) {
	err := run([]string{"-out", filepath.Join(t.TempDir(), "p.jsonl"), t.TempDir()}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a run directory")
	assert.Error(t, run(nil, io.Discard, io.Discard))
}
