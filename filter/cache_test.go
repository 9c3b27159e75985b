package filter_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response/openaitest"
)

// Judges have fingerprints: after changing only the routing threshold, a
// rerun in the same run directory reads the judge's scores and comparisons
// back instead of asking the judge again.
func TestJudgeOutputIsCachedAcrossReruns(t *testing.T) {
	g, srv := judgeServer(t, prefdata.Sampling{}, func(req openaitest.Request, _ int) openaitest.Reply {
		u := req.Messages[1].Content
		if a := between(u, "[Answer A]\n", "\n[End of answer A]"); a != "" {
			if len(a) > len(between(u, "[Answer B]\n", "\n[End of answer B]")) {
				return openaitest.Reply{Content: "[[A]]"}
			}
			return openaitest.Reply{Content: "[[B]]"}
		}
		return openaitest.Reply{Content: "Rating: [[" + string(rune('0'+len(between(u, "[Answer]\n", "\n[End of answer]"))%9+1)) + "]]"}
	})
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	run := func(threshold float64) prefdata.Stats {
		return runIn(t, dir, prefdata.Labeler(filter.Router{Threshold: threshold, Pairs: filter.Pairs{Strategy: filter.AllAboveMargin}}), g, nil)
	}
	first := run(0.7)
	calls := srv.Requests()
	require.Positive(t, calls)
	assert.Zero(t, first.Cached.Filters)
	second := run(0.2)
	assert.Equal(t, calls, srv.Requests(), "the judge was asked again")
	assert.Equal(t, 10, second.Cached.Filters, "5 prompts x 2 judge filters read back")

	// The stage-2 pair set of the same run: generations and scores are read
	// back, only the labeler is new.
	var stage2 []prefdata.Pair
	third := runIn(t, dir, filter.Stage2Pairs(filter.Pairs{}), g, &stage2)
	assert.Equal(t, calls, srv.Requests())
	assert.Equal(t, 5, third.Cached.Generations)
	require.Len(t, stage2, 5)
	for _, p := range stage2 {
		assert.Equal(t, prefdata.StageGenerate, p.Provenance.Stage)
	}
}

func runIn(t *testing.T, dir *prefdata.RunDir, l prefdata.Labeler, g prefdata.Generator, sink *[]prefdata.Pair) prefdata.Stats {
	p := &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(5),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m1", Samples: 3}},
		Filters: []prefdata.Filter{
			filter.Scores(&filter.RubricJudge{Generator: g, Style: filter.StyleSingle}),
			&filter.PairwiseJudge{Generator: g},
		},
		Labeler: l,
		Dir:     dir,
	}
	if sink != nil {
		p.Sink = prefdata.SinkFunc(func(_ context.Context, pr prefdata.Pair) error { *sink = append(*sink, pr); return nil })
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	return st
}
