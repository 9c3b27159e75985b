package prefdata_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// Two deployments of one model (fp16 and int4) on two endpoints, named
// apart: their responses have IDs of their own, and the run makes pairs.
// Not named apart, the run refuses to start instead of making 0 pairs.
func TestGeneratorsOfOneModelOnTwoEndpoints(t *testing.T) {
	reply := func(tag string) func(openaitest.Request, int) openaitest.Reply {
		return func(req openaitest.Request, choice int) openaitest.Reply {
			r := openaitest.DefaultReply(req, choice)
			r.Content = tag + ": " + r.Content + strings.Repeat(" more", len(tag))
			return r
		}
	}
	fp16 := openaitest.NewServer(openaitest.Config{Reply: reply("fp16")})
	defer fp16.Close()
	int4 := openaitest.NewServer(openaitest.Config{Reply: reply("int4-awq")})
	defer int4.Close()
	gen := func(url, name string) prefdata.Generator {
		g, err := response.New(response.Config{BaseURL: url, APIKey: "k", Model: "llama", Name: name})
		require.NoError(t, err)
		return g
	}
	for _, dir := range []bool{false, true} {
		t.Run(fmt.Sprintf("dir=%v", dir), func(t *testing.T) {
			p := &prefdata.Pipeline{
				Source:     prefdatatest.CountingSource(10),
				Generators: []prefdata.Generator{gen(fp16.URL, "llama-fp16"), gen(int4.URL, "llama-int4")},
				Filters:    []prefdata.Filter{lengthScores()},
				Labeler:    prefdatatest.Labeler{},
				Sink:       &prefdatatest.Sink{},
			}
			if dir {
				d, err := prefdata.OpenRunDir(t.TempDir())
				require.NoError(t, err)
				defer d.Close()
				p.Dir = d
			}
			sink := p.Sink.(*prefdatatest.Sink)
			st, err := p.Run(context.Background())
			require.NoError(t, err)
			assert.Zero(t, st.Failures())
			require.Len(t, sink.Pairs(), 10)
			for _, pr := range sink.Pairs() {
				assert.NotEqual(t, pr.Chosen.ID, pr.Rejected.ID)
				assert.NotEqual(t, pr.Chosen.Text[:4], pr.Rejected.Text[:4], "one answer from each endpoint")
			}
			if !dir {
				return
			}
			// A rerun reads each deployment's own answers back.
			p.Source, p.Sink = prefdatatest.CountingSource(10), &prefdatatest.Sink{}
			before := fp16.Requests() + int4.Requests()
			_, err = p.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, before, fp16.Requests()+int4.Requests())
			assert.Equal(t, pairIDs(sink.Pairs()), pairIDs(p.Sink.(*prefdatatest.Sink).Pairs()))
		})
	}

	p := &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(10),
		Generators: []prefdata.Generator{gen(fp16.URL, ""), gen(int4.URL, "")},
		Labeler:    prefdatatest.Labeler{},
		Sink:       &prefdatatest.Sink{},
	}
	sent := fp16.Requests() + int4.Requests()
	_, err := p.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "distinct names")
	assert.Equal(t, sent, fp16.Requests()+int4.Requests(), "nothing sent by the refused run")
}

// A component that breaks its contract fails the item with an error naming
// the component and the rule; the run goes on.
func TestPipelineChecksWhatComponentsReturn(t *testing.T) {
	good := &prefdatatest.Generator{Model: "good", Samples: 2}
	bad := func(edit func(p prefdata.Prompt, rs []prefdata.Response) []prefdata.Response) prefdata.Generator {
		inner := &prefdatatest.Generator{Model: "bad", Samples: 2}
		return prefdata.NamedGenerator("custom", prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
			rs, err := inner.Generate(ctx, p)
			return edit(p, rs), err
		}))
	}
	sameIDs := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		rs, err := good.Generate(ctx, p)
		for i := range rs {
			rs[i].Model = "copy" // a generator that copies another's IDs
		}
		return rs, err
	})
	for _, tc := range []struct {
		name      string
		gens      []prefdata.Generator
		filter    prefdata.Filter
		labeler   prefdata.Labeler
		component string
		rule      string
	}{
		{name: "no ID", gens: []prefdata.Generator{good, bad(func(_ prefdata.Prompt, rs []prefdata.Response) []prefdata.Response {
			rs[1].ID = ""
			return rs
		})}, component: "generator custom", rule: "has no ID"},
		{name: "another prompt", gens: []prefdata.Generator{good, bad(func(_ prefdata.Prompt, rs []prefdata.Response) []prefdata.Response {
			rs[0].PromptID = "p-other"
			return rs
		})}, component: "generator custom", rule: `answers prompt "p-other"`},
		{name: "duplicate ID", gens: []prefdata.Generator{good, bad(func(_ prefdata.Prompt, rs []prefdata.Response) []prefdata.Response {
			rs[1].ID = rs[0].ID
			return rs
		})}, component: "generator custom", rule: "two responses"},
		{name: "another generator's IDs", gens: []prefdata.Generator{good, prefdata.NamedGenerator("copycat", sameIDs)},
			component: "generator copycat", rule: "has the ID of a response of generator good"},
		{name: "filter changes the prompt", gens: []prefdata.Generator{good},
			filter: prefdata.Named("rewriter", prefdata.FilterFunc(func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
				c.Prompt.ID = "p-x"
				return c, nil
			})), component: "filter rewriter", rule: `candidate of prompt "p-x"`},
		{name: "labeler pairs a response with itself", gens: []prefdata.Generator{good},
			labeler: prefdata.LabelerFunc(func(_ context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
				return []prefdata.Pair{{Prompt: c.Prompt, Chosen: c.Responses[0], Rejected: c.Responses[0]}}, nil
			}), component: "labeler labeler[0]", rule: "with itself"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var failures []prefdata.Failure
			p := &prefdata.Pipeline{
				Source:     prefdatatest.CountingSource(5),
				Generators: tc.gens,
				Filters:    []prefdata.Filter{lengthScores()},
				Labeler:    prefdatatest.Labeler{},
				Sink:       &prefdatatest.Sink{},
				Hooks: prefdata.Hooks{ItemFailed: func(f prefdata.Failure) {
					mu.Lock()
					failures = append(failures, f)
					mu.Unlock()
				}},
			}
			if tc.filter != nil {
				p.Filters = append([]prefdata.Filter{tc.filter}, p.Filters...)
			}
			if tc.labeler != nil {
				p.Labeler = tc.labeler
			}
			st, err := p.Run(context.Background())
			require.NoError(t, err, "one item's failure never takes the run")
			assert.Equal(t, 5, st.FailedPrompts)
			require.Len(t, failures, 5)
			for _, f := range failures {
				assert.Contains(t, f.Error, tc.component+" broke its contract")
				assert.Contains(t, f.Error, tc.rule)
			}
		})
	}
}

// NewResponse gives a custom generator's responses the IDs the pipeline
// needs, apart from another generator's.
func TestNewResponse(t *testing.T) {
	custom := func(name string) prefdata.Generator {
		return prefdata.NamedGenerator(name, prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
			return []prefdata.Response{
				prefdata.NewResponse(name, p, 0, "short"),
				prefdata.NewResponse(name, p, 1, name+" gives a much longer answer"),
			}, nil
		}))
	}
	p := prefdatatest.NewPrompt("hi")
	r := prefdata.NewResponse("mine", p, 1, "x")
	assert.Equal(t, prefdata.ResponseID(p.ID, "mine", "", prefdata.Sampling{}, 1), r.ID)
	assert.Equal(t, p.ID, r.PromptID)
	assert.NotEqual(t, r.ID, prefdata.NewResponse("yours", p, 1, "x").ID)

	sink := &prefdatatest.Sink{}
	st, err := (&prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(4),
		Generators: []prefdata.Generator{custom("a"), custom("bb")},
		Filters:    []prefdata.Filter{lengthScores()},
		Labeler:    prefdatatest.Labeler{},
		Sink:       sink,
	}).Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, st.Failures())
	assert.Len(t, sink.Pairs(), 4)
	assert.Equal(t, 16, st.Filter.In)
}
