package runstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/runstore"
)

// scoreBySample scores a response by its sample index, and model b's higher.
var scoreBySample = prefdata.FilterFunc(func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	for _, r := range c.Responses {
		v := float64(r.Sample)
		if r.Model == "b" {
			v += 10
		}
		c.Scores = append(c.Scores, prefdata.Score{ResponseID: r.ID, Scorer: "sample", Value: v})
	}
	return c, nil
})

func prompts(n int) []prefdata.Prompt {
	ps := make([]prefdata.Prompt, n)
	for i := range ps {
		ps[i] = prefdatatest.NewPrompt(fmt.Sprintf("question %d", i))
	}
	return ps
}

func run(t *testing.T, d *prefdata.RunDir, gens ...prefdata.Generator) {
	t.Helper()
	_, err := (&prefdata.Pipeline{
		Source: prefdata.Prompts(prompts(10)...), Generators: gens,
		Filters: []prefdata.Filter{scoreBySample}, Labeler: prefdatatest.Labeler{}, Dir: d,
	}).Run(context.Background())
	require.NoError(t, err)
}

// After a model is added the journal holds two pairs records per prompt;
// LatestPairs returns the latest run's only.
func TestLatestPairsSkipsStaleRecords(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer d.Close()
	run(t, d, &prefdatatest.Generator{Model: "a", Samples: 2})
	run(t, d, &prefdatatest.Generator{Model: "a", Samples: 2}, &prefdatatest.Generator{Model: "b", Samples: 1})

	s, err := runstore.Open(d)
	require.NoError(t, err)
	lines, current := 0, 0
	require.NoError(t, s.Pairs(func(r prefdata.PairsRecord, cur bool) error {
		lines++
		if cur {
			current++
		}
		return nil
	}))
	assert.Equal(t, 20, lines, "two runs of 10 prompts")
	assert.Equal(t, 10, current)
	pairs, err := s.LatestPairs()
	require.NoError(t, err)
	require.NotEmpty(t, pairs)
	for _, p := range pairs {
		models := p.Chosen.Model + p.Rejected.Model
		assert.Contains(t, []string{"ab", "ba", "aa"}, models)
	}
	n := 0
	require.NoError(t, s.Responses(func(rec prefdata.CacheRecord, rs []prefdata.Response) error {
		n += len(rs)
		return nil
	}))
	assert.Equal(t, 10*3, n, "the second run paid only for model b")
}

// A directory written before records had versions (no "v", no run key) is
// read: the last line of each prompt counts.
func TestReadsVersionZeroDirectory(t *testing.T) {
	root := t.TempDir()
	p := prefdatatest.NewPrompt("q")
	old := fmt.Sprintf(`{"key":"k1","prompt_id":%q,"pairs":[{"id":"old"}]}`+"\n"+`{"key":"k2","prompt_id":%q,"pairs":[{"id":"new"}]}`+"\n", p.ID, p.ID)
	require.NoError(t, os.WriteFile(filepath.Join(root, prefdata.FilePairs), []byte(old), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, prefdata.FileManifest), []byte(`{"version":1,"run_key":"x"}`), 0o644))
	s, err := runstore.OpenDir(root)
	require.NoError(t, err)
	pairs, err := s.LatestPairs()
	require.NoError(t, err)
	require.Len(t, pairs, 1)
	assert.Equal(t, "new", pairs[0].ID)
}

// A bad line is named by file and line.
func TestLineErrorNamesFileAndLine(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, prefdata.FileFailures), []byte("{\"item\":\"a\",\"error\":\"x\"}\n[1,2]\n"), 0o644))
	s, err := runstore.OpenDir(root)
	require.NoError(t, err)
	err = s.Failures(func(prefdata.Failure) error { return nil })
	var le *runstore.LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 2, le.Line)
	assert.Contains(t, err.Error(), prefdata.FileFailures+":2")
}

// Scores and judgments stored with references are read back whole.
func TestScoresExpandReferences(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer d.Close()
	score := prefdata.Named("by-sample", fingerprinted{scoreBySample})
	_, err = (&prefdata.Pipeline{
		Source: prefdata.Prompts(prompts(3)...), Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "a", Samples: 2}},
		Filters: []prefdata.Filter{score}, Labeler: prefdatatest.Labeler{}, Dir: d,
	}).Run(context.Background())
	require.NoError(t, err)
	s, err := runstore.Open(d)
	require.NoError(t, err)
	n := 0
	require.NoError(t, s.Scores(func(rec prefdata.CacheRecord, c prefdata.Candidate) error {
		assert.True(t, rec.Refs)
		for _, r := range c.Responses {
			assert.NotEmpty(t, r.Text)
			assert.Equal(t, "a", r.Model)
			n++
		}
		return nil
	}))
	assert.Equal(t, 6, n)
	require.NoError(t, s.Judgments(func(rec prefdata.CacheRecord, ps []prefdata.Pair) error {
		for _, p := range ps {
			assert.NotEmpty(t, p.Chosen.Text)
			assert.NotEmpty(t, p.Rejected.Text)
		}
		return nil
	}))
}

type fingerprinted struct{ f prefdata.Filter }

func (f fingerprinted) Filter(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	return f.f.Filter(ctx, c)
}
func (fingerprinted) Fingerprint() string { return "by-sample/v1" }
