package response_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
	"github.com/prefdata/prefdata/runstore"
)

// served counts the samples the server answered in log (entries from
// `from` on), for a server that ignores (one choice) or refuses n.
func served(log []openaitest.Request, from int, mode openaitest.NMode) int {
	n := 0
	for _, r := range log[from:] {
		if r.Fault != openaitest.FaultNone || (mode == openaitest.NRefuse && r.N > 1) {
			continue
		}
		n++
	}
	return n
}

// samplesPipeline is a pipeline of one prompt whose generator asks for 4
// samples of the server at url, in the run directory at root.
func samplesPipeline(root, url string) (*prefdata.Pipeline, *prefdata.RunDir, error) {
	dir, err := prefdata.OpenRunDir(root)
	if err != nil {
		return nil, nil, err
	}
	g, err := response.New(response.Config{BaseURL: url, Model: "m", Samples: 4})
	if err != nil {
		return nil, nil, err
	}
	return &prefdata.Pipeline{
		Source:     prefdata.Prompts(prompt("Name four primes.")),
		Generators: []prefdata.Generator{g},
		Labeler:    prefdatatest.Labeler{},
		Dir:        dir,
	}, dir, nil
}

// samplesRun runs samplesPipeline.
func samplesRun(t *testing.T, ctx context.Context, root string, srv *openaitest.Server) (prefdata.Stats, error) {
	t.Helper()
	p, dir, err := samplesPipeline(root, srv.URL)
	require.NoError(t, err)
	defer dir.Close()
	return p.Run(ctx)
}

// checkSamples checks that the run directory has the prompt's 4 samples.
func checkSamples(t *testing.T, root string) {
	t.Helper()
	s, err := runstore.OpenDir(root)
	require.NoError(t, err)
	var samples []int
	require.NoError(t, s.Responses(func(_ prefdata.CacheRecord, rs []prefdata.Response) error {
		for _, r := range rs {
			samples = append(samples, r.Sample)
		}
		return nil
	}))
	assert.Equal(t, []int{0, 1, 2, 3}, samples)
}

// A server that ignores n: the first request brings one sample, the others
// are asked one by one. The run is cancelled (as a kill would stop it)
// while those three are in flight; the sample already answered is in the
// call journal, and the next run pays only for the three that were not.
func TestSamplesJournaledWhenNIgnoredAndRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first atomic.Bool
	first.Store(true)
	var hung atomic.Int32
	srv := openaitest.NewServer(openaitest.Config{N: openaitest.NIgnore, Fault: func(req openaitest.Request) openaitest.Fault {
		if !first.Load() || req.N > 1 {
			return openaitest.FaultNone
		}
		if hung.Add(1) == 3 { // every single-sample request is in flight
			cancel()
		}
		return openaitest.FaultHang
	}})
	defer srv.Close()
	root := t.TempDir()

	_, err := samplesRun(t, ctx, root, srv)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, served(srv.Log(), 0, openaitest.NIgnore), "the first run got one sample")

	first.Store(false)
	from := len(srv.Log())
	_, err = samplesRun(t, context.Background(), root, srv)
	require.NoError(t, err)
	assert.Equal(t, 3, served(srv.Log(), from, openaitest.NIgnore), "the rerun pays for the 3 samples the first run did not get, not 4")
	checkSamples(t, root)
}

// A server that refuses n: the samples go one request each; two are
// answered and two fail. The next run asks only for the two that failed.
func TestSamplesJournaledWhenNRefused(t *testing.T) {
	var first atomic.Bool
	first.Store(true)
	var singles atomic.Int32
	srv := openaitest.NewServer(openaitest.Config{N: openaitest.NRefuse, Fault: func(req openaitest.Request) openaitest.Fault {
		if !first.Load() || req.N > 1 {
			return openaitest.FaultNone
		}
		if singles.Add(1) > 2 {
			return openaitest.Fault400
		}
		return openaitest.FaultNone
	}})
	defer srv.Close()
	root := t.TempDir()

	st, err := samplesRun(t, context.Background(), root, srv)
	require.NoError(t, err)
	require.Equal(t, 1, st.Generate.Failed)
	require.Equal(t, 2, served(srv.Log(), 0, openaitest.NRefuse))

	first.Store(false)
	from := len(srv.Log())
	st, err = samplesRun(t, context.Background(), root, srv)
	require.NoError(t, err)
	assert.Equal(t, 0, st.Generate.Failed)
	assert.Equal(t, 2, served(srv.Log(), from, openaitest.NRefuse), "the rerun pays for the 2 failed samples, not 4")
	assert.Equal(t, 2, st.Cached.Calls, "the 2 answered samples come from the call journal")
	checkSamples(t, root)
}

// A server that honours n answers the 4 samples in one request: nothing
// goes to the call journal, and each text is stored once (in the
// generation record).
func TestSamplesOfOneRequestNotJournaled(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	root := t.TempDir()
	st, err := samplesRun(t, context.Background(), root, srv)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Requests())
	assert.Equal(t, 0, st.Calls)
	s, err := runstore.OpenDir(root)
	require.NoError(t, err)
	calls := 0
	require.NoError(t, s.CacheRecords(prefdata.FileCalls, func(prefdata.CacheRecord) error { calls++; return nil }))
	assert.Equal(t, 0, calls)
	checkSamples(t, root)
}

// With principles, the samples of each system prompt go in a request of
// their own: a run where one of those requests fails keeps the others'
// samples, and the rerun asks only for the failed system prompt's.
func TestSamplesJournaledPerPrinciple(t *testing.T) {
	cfg := response.Config{Model: "m", Samples: 4, Principles: []string{"Be brief.", "Be thorough."}}
	// A prompt whose samples draw both principles.
	probe := openaitest.NewServer(openaitest.Config{})
	defer probe.Close()
	cfg.BaseURL = probe.URL
	var p prefdata.Prompt
	bySystem := map[string]int{}
	for i := 0; len(bySystem) < 2; i++ {
		require.Less(t, i, 50, "no prompt draws both principles")
		p = prompt(fmt.Sprintf("Name four primes (%d).", i))
		rs, err := newGen(t, cfg).Generate(context.Background(), p)
		require.NoError(t, err)
		bySystem = map[string]int{}
		for _, r := range rs {
			bySystem[r.System]++
		}
	}

	var first atomic.Bool
	first.Store(true)
	srv := openaitest.NewServer(openaitest.Config{Fault: func(req openaitest.Request) openaitest.Fault {
		if first.Load() && req.Messages[0].Content == "Be thorough." {
			return openaitest.Fault400
		}
		return openaitest.FaultNone
	}})
	defer srv.Close()
	cfg.BaseURL = srv.URL
	root := t.TempDir()
	run := func() prefdata.Stats {
		dir, err := prefdata.OpenRunDir(root)
		require.NoError(t, err)
		defer dir.Close()
		st, err := (&prefdata.Pipeline{Source: prefdata.Prompts(p), Generators: []prefdata.Generator{newGen(t, cfg)},
			Labeler: prefdatatest.Labeler{}, Dir: dir}).Run(context.Background())
		require.NoError(t, err)
		return st
	}
	st := run()
	require.Equal(t, 1, st.Generate.Failed)
	first.Store(false)
	from := len(srv.Log())
	st = run()
	assert.Equal(t, 0, st.Generate.Failed)
	assert.Equal(t, bySystem["Be brief."], st.Cached.Calls, "the brief samples come from the call journal")
	var asked []string
	for _, r := range srv.Log()[from:] {
		asked = append(asked, fmt.Sprintf("%s n=%d", r.Messages[0].Content, max(r.N, 1)))
	}
	assert.Equal(t, []string{fmt.Sprintf("Be thorough. n=%d", bySystem["Be thorough."])}, asked)
	checkSamples(t, root)
}

// With a per-sample Cache the samples are kept there as they arrive, not a
// second time in the call journal.
func TestSamplesWithCacheNotJournaledTwice(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{N: openaitest.NRefuse})
	defer srv.Close()
	root := t.TempDir()
	dir, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	cache, err := response.NewCache(dir)
	require.NoError(t, err)
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 4, Cache: cache})
	st, err := (&prefdata.Pipeline{Source: prefdata.Prompts(prompt("Name four primes.")), Generators: []prefdata.Generator{g},
		Labeler: prefdatatest.Labeler{}, Dir: dir}).Run(context.Background())
	require.NoError(t, err)
	require.NoError(t, dir.Close())
	assert.Equal(t, 4, cache.Len())
	assert.Equal(t, 0, st.Calls)
	s, err := runstore.OpenDir(root)
	require.NoError(t, err)
	calls := 0
	require.NoError(t, s.CacheRecords(prefdata.FileCalls, func(prefdata.CacheRecord) error { calls++; return nil }))
	assert.Equal(t, 0, calls)
}
