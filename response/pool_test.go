package response_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

func TestPoolDrawIsReproducibleAndStable(t *testing.T) {
	mk := func(names ...string) *response.Pool {
		var ms []prefdata.Generator
		for _, n := range names {
			ms = append(ms, newGen(t, response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: n}))
		}
		p, err := response.NewPool(response.PoolConfig{Models: ms, K: 2, Seed: 42})
		require.NoError(t, err)
		return p
	}
	p := mk("a", "b", "c", "d")
	again := mk("d", "c", "b", "a")
	counts := map[string]int{}
	for i := range 400 {
		id := fmt.Sprint("p", i)
		d := p.Draw(id)
		require.Len(t, d, 2)
		assert.ElementsMatch(t, d, again.Draw(id), "the draw does not depend on member order")
		for _, n := range d {
			counts[n]++
		}
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		assert.InDelta(t, 200, counts[n], 60, "model %s drawn about half the time", n)
	}
	// Adding a model changes only the draws it wins a place in.
	grown := mk("a", "b", "c", "d", "e")
	for i := range 400 {
		id := fmt.Sprint("p", i)
		d := grown.Draw(id)
		if !contains(d, "e") {
			assert.Equal(t, p.Draw(id), d)
		}
	}
	other, err := response.NewPool(response.PoolConfig{Models: []prefdata.Generator{newGen(t, response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "a"}), newGen(t, response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "b"})}, K: 1, Seed: 1})
	require.NoError(t, err)
	differ := 0
	p1, _ := response.NewPool(response.PoolConfig{Models: []prefdata.Generator{newGen(t, response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "a"}), newGen(t, response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "b"})}, K: 1, Seed: 2})
	for i := range 100 {
		if other.Draw(fmt.Sprint(i))[0] != p1.Draw(fmt.Sprint(i))[0] {
			differ++
		}
	}
	assert.Positive(t, differ, "the seed changes the draws")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestNewPoolErrors(t *testing.T) {
	a := newGen(t, response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "a"})
	_, err := response.NewPool(response.PoolConfig{})
	assert.ErrorContains(t, err, "no models")
	_, err = response.NewPool(response.PoolConfig{Models: []prefdata.Generator{a, a}})
	assert.ErrorContains(t, err, `both named "a"`)
	_, err = response.NewPool(response.PoolConfig{Models: []prefdata.Generator{a}, K: 2})
	assert.ErrorContains(t, err, "K=2 of 1")
}

func TestPoolWithCacheAddsOneModelPaysOnlyForNew(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	runDir := t.TempDir()
	const n = 30
	run := func(names ...string) (*response.Pool, prefdata.Stats) {
		dir, err := prefdata.OpenRunDir(runDir)
		require.NoError(t, err)
		defer dir.Close()
		cache, err := response.NewCache(dir)
		require.NoError(t, err)
		var ms []prefdata.Generator
		for _, name := range names {
			ms = append(ms, newGen(t, response.Config{BaseURL: srv.URL, Model: name, Samples: 2, Cache: cache,
				Principles: []string{"Be honest.", "Be helpful.", "Be brief."}, Seed: 3}))
		}
		pool, err := response.NewPool(response.PoolConfig{Models: ms, K: 2, Seed: 9})
		require.NoError(t, err)
		p := &prefdata.Pipeline{Source: prefdatatest.CountingSource(n), Generators: []prefdata.Generator{pool}, Labeler: prefdatatest.Labeler{}, Dir: dir}
		st, err := p.Run(context.Background())
		require.NoError(t, err)
		return pool, st
	}
	_, st := run("a", "b", "c")
	assert.Equal(t, 2*n*2, st.Responses)
	first := srv.Requests()
	pool, st := run("a", "b", "c", "d")
	assert.Equal(t, 2*n*2, st.Responses)
	newDraws := 0
	for i := range n {
		if contains(pool.Draw(prefdatatest.NewPrompt(fmt.Sprintf("prompt %d", i)).ID), "d") {
			newDraws++
		}
	}
	require.Positive(t, newDraws)
	for _, r := range srv.Log()[first:] {
		assert.Equal(t, "d", r.Model, "only the new model is asked")
	}
	// Each d draw: 2 samples, with principles that may differ (one request per
	// distinct principle).
	assert.LessOrEqual(t, srv.Requests()-first, 2*newDraws)
	assert.GreaterOrEqual(t, srv.Requests()-first, newDraws)
}

func TestPrinciplesPerSample(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	principles := []string{"Be honest.", "Be helpful.", "Be harmless.", "Be brief."}
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 4, Principles: principles, Seed: 5})
	seen := map[string]int{}
	for i := range 20 {
		rs, err := g.Generate(context.Background(), prompt(fmt.Sprint("q", i)))
		require.NoError(t, err)
		require.Len(t, rs, 4)
		again, err := g.Generate(context.Background(), prompt(fmt.Sprint("q", i)))
		require.NoError(t, err)
		for k, r := range rs {
			assert.Contains(t, principles, r.System)
			assert.Equal(t, r.System, again[k].System, "reproducible")
			assert.Equal(t, r.ID, again[k].ID)
			seen[r.System]++
		}
	}
	assert.Len(t, seen, 4, "every principle is drawn")
	for _, r := range srv.Log() {
		require.Equal(t, "system", r.Messages[0].Role)
		assert.Contains(t, principles, r.Messages[0].Content)
	}
}

func TestSharding(t *testing.T) {
	const n, shards = 300, 3
	seen := map[string]int{}
	for i := range shards {
		src, err := response.ShardSource(prefdatatest.CountingSource(n), i, shards)
		require.NoError(t, err)
		f, err := response.ShardFilter(i, shards)
		require.NoError(t, err)
		count := 0
		for {
			p, err := src.Next(context.Background())
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			_, ferr := f.FilterPrompt(context.Background(), p)
			assert.NoError(t, ferr, "the filter keeps what the source selects")
			seen[p.ID]++
			count++
		}
		assert.InDelta(t, n/shards, count, 40, "shard %d gets about a third", i)
	}
	assert.Len(t, seen, n, "every prompt is in some shard")
	for id, c := range seen {
		assert.Equal(t, 1, c, "prompt %s in exactly one shard", id)
	}
	f, _ := response.ShardFilter(0, 2)
	rejected := 0
	for i := range 50 {
		if _, err := f.FilterPrompt(context.Background(), prefdatatest.NewPrompt(fmt.Sprint(i))); err != nil {
			reason, ok := prefdata.Rejection(err)
			require.True(t, ok)
			assert.Equal(t, "shard", reason)
			rejected++
		}
	}
	assert.Positive(t, rejected)
	_, err := response.ShardFilter(2, 2)
	assert.ErrorContains(t, err, "shard 2 of 2")
	_, err = response.ShardSource(prefdatatest.CountingSource(1), 0, 0)
	assert.ErrorContains(t, err, "shard 0 of 0")
	for _, c := range [][2]int{{0, 0}, {0, -3}, {-1, 2}, {2, 2}} {
		assert.NotPanics(t, func() {
			assert.False(t, response.InShard("p-1", c[0], c[1]), "shard %d of %d holds nothing", c[0], c[1])
		})
	}
}

func TestReplicasSpreadAndAvoidFailing(t *testing.T) {
	good1 := openaitest.NewServer(openaitest.Config{})
	defer good1.Close()
	good2 := openaitest.NewServer(openaitest.Config{})
	defer good2.Close()
	bad := openaitest.NewServer(openaitest.Config{Fault: func(openaitest.Request) openaitest.Fault { return openaitest.Fault503 }})
	defer bad.Close()
	clk := newFakeClock()
	var sl sleeps
	g := newGen(t, response.Config{BaseURLs: []string{good1.URL, bad.URL, good2.URL}, Model: "m", Now: clk.now, Sleep: sl.sleep})
	for i := range 60 {
		_, err := g.Generate(context.Background(), prompt(fmt.Sprint("r", i)))
		require.NoError(t, err)
	}
	assert.Equal(t, 1, bad.Requests(), "the failing replica is avoided after its failure")
	assert.InDelta(t, 30, good1.Requests(), 3, "the others share the load")
	assert.InDelta(t, 30, good2.Requests(), 3)
	assert.Equal(t, []string{good1.URL, good2.URL}, g.Replicas())
	assert.Empty(t, sl.waits(), "the failed request went to a healthy replica at once")

	// After its cool-down it is tried again.
	clk.sleep(context.Background(), 10*60e9)
	for i := range 6 {
		_, err := g.Generate(context.Background(), prompt(fmt.Sprint("s", i)))
		require.NoError(t, err)
	}
	assert.Equal(t, 2, bad.Requests())
}

func TestCacheReadsBackWithinAndAcrossRuns(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	runDir := t.TempDir()
	dir, err := prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	cache, err := response.NewCache(dir)
	require.NoError(t, err)
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 2, Cache: cache})
	var first [][]prefdata.Response
	for i := range 5 {
		rs, err := g.Generate(context.Background(), prompt(fmt.Sprint("c", i)))
		require.NoError(t, err)
		first = append(first, rs)
	}
	assert.Equal(t, 5, srv.Requests())
	assert.Equal(t, 10, cache.Len())
	for i := range 5 { // same process: read back at the offsets it wrote
		rs, err := g.Generate(context.Background(), prompt(fmt.Sprint("c", i)))
		require.NoError(t, err)
		assert.Equal(t, first[i], rs)
	}
	assert.Equal(t, 5, srv.Requests(), "nothing asked again")
	require.NoError(t, dir.Close())

	dir, err = prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	defer dir.Close()
	cache, err = response.NewCache(dir)
	require.NoError(t, err)
	g = newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 2, Cache: cache})
	for i := range 6 {
		rs, err := g.Generate(context.Background(), prompt(fmt.Sprint("c", i)))
		require.NoError(t, err)
		if i < 5 {
			assert.Equal(t, first[i], rs)
		}
	}
	assert.Equal(t, 6, srv.Requests(), "only the new prompt is asked")
}

func TestPoolAndBatchKeepGeneratorContract(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	var ms []prefdata.Generator
	for _, n := range []string{"a", "b", "c"} {
		ms = append(ms, newGen(t, response.Config{BaseURL: srv.URL, Model: n, Samples: 2}))
	}
	pool, err := response.NewPool(response.PoolConfig{Models: ms, K: 2, Seed: 1})
	require.NoError(t, err)
	require.NoError(t, prefdatatest.CheckGenerator(context.Background(), pool, prompt("contract")))

	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	b, err := response.NewBatch(response.Config{BaseURL: srv.URL, Model: "a", Samples: 2}, response.BatchConfig{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, b.Run(context.Background(), prefdata.Prompts(prompt("contract"))))
	require.NoError(t, prefdatatest.CheckGenerator(context.Background(), b, prompt("contract")))
}

func TestAddingAGeneratorPaysOnlyForIt(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	runDir := t.TempDir()
	run := func(models ...string) prefdata.Stats {
		dir, err := prefdata.OpenRunDir(runDir)
		require.NoError(t, err)
		defer dir.Close()
		var gens []prefdata.Generator
		for _, m := range models {
			gens = append(gens, newGen(t, response.Config{BaseURL: srv.URL, Model: m, Samples: 2, Sampling: prefdata.Sampling{Temperature: prefdata.Float(1), Seed: prefdata.Int(4)}}))
		}
		p := &prefdata.Pipeline{Source: prefdatatest.CountingSource(10), Generators: gens, Labeler: prefdatatest.Labeler{}, Dir: dir}
		st, err := p.Run(context.Background())
		require.NoError(t, err)
		return st
	}
	run("a", "b")
	before := srv.Requests()
	st := run("a", "b", "c")
	for _, r := range srv.Log()[before:] {
		assert.Equal(t, "c", r.Model)
	}
	assert.Equal(t, 10, srv.Requests()-before, "one request (n=2) per prompt for the new model")
	assert.Equal(t, 20, st.Cached.Generations, "a's and b's answers read back")
	assert.Equal(t, 60, st.Responses)
}
