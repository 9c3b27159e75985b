package response_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

func ns(log []openaitest.Request) []int {
	var out []int
	for _, r := range log {
		out = append(out, max(r.N, 1))
	}
	return out
}

func TestNAutoDetectsIgnoredN(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{N: openaitest.NIgnore})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 3, Sampling: prefdata.Sampling{Seed: prefdata.Int(10)}})
	rs, err := g.Generate(context.Background(), prompt("one"))
	require.NoError(t, err)
	require.Len(t, rs, 3)
	for i, r := range rs {
		assert.Equal(t, i, r.Sample)
	}
	assert.Equal(t, []int{3, 1, 1}, ns(srv.Log()), "n=3 got one choice; the two missing samples asked one by one")
	seeds := map[int]bool{}
	for _, r := range srv.Log()[1:] {
		seeds[*r.Seed] = true
	}
	assert.Equal(t, map[int]bool{11: true, 12: true}, seeds, "separate samples get seed+sample")

	_, err = g.Generate(context.Background(), prompt("two"))
	require.NoError(t, err)
	assert.Equal(t, []int{3, 1, 1, 1, 1, 1}, ns(srv.Log()), "after detection, separate requests from the start")
}

func TestNAutoFallsBackWhenNRefused(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{N: openaitest.NRefuse})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 2})
	rs, err := g.Generate(context.Background(), prompt("one"))
	require.NoError(t, err)
	assert.Len(t, rs, 2)
	assert.Equal(t, []int{2, 1, 1}, ns(srv.Log()))
	_, err = g.Generate(context.Background(), prompt("two"))
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1, 1, 1, 1}, ns(srv.Log()))
}

func TestNUseReportsFewerChoices(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{N: openaitest.NIgnore})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 3, N: response.NUse})
	rs, err := g.Generate(context.Background(), prompt("one"))
	assert.Len(t, rs, 1, "the sample that came back is kept")
	assert.ErrorIs(t, err, response.ErrFewerChoices)
	assert.Equal(t, 1, srv.Requests())
}

func TestNSeparate(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 3, N: response.NSeparate})
	rs, err := g.Generate(context.Background(), prompt("one"))
	require.NoError(t, err)
	assert.Len(t, rs, 3)
	assert.Equal(t, []int{1, 1, 1}, ns(srv.Log()))
	total := prefdata.Usage{}
	for _, r := range rs {
		total = total.Add(r.Usage)
	}
	assert.Equal(t, 3, total.Requests)
}

func TestNHonouredUsageSplit(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, i int) openaitest.Reply {
		return openaitest.Reply{Content: "x", PromptTokens: 10, CompletionTokens: 5 + i}
	}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 3, Prices: &response.Prices{Input: 1e6, Output: 2e6}})
	rs, err := g.Generate(context.Background(), prompt("one"))
	require.NoError(t, err)
	total := prefdata.Usage{}
	for _, r := range rs {
		total = total.Add(r.Usage)
	}
	assert.Equal(t, prefdata.Usage{Requests: 1, PromptTokens: 10, CompletionTokens: 18, Cost: 10 + 36}, total, "usage adds up to the request's")
}
