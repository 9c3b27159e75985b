package filter_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// judgeServer starts a fake OpenAI server whose replies come from reply and
// returns a generator for it named "judge".
func judgeServer(t *testing.T, sampling prefdata.Sampling, reply func(req openaitest.Request, i int) openaitest.Reply) (*response.Generator, *openaitest.Server) {
	t.Helper()
	srv := openaitest.NewServer(openaitest.Config{Reply: reply})
	t.Cleanup(srv.Close)
	g, err := response.New(response.Config{BaseURL: srv.URL, Model: "judge", Sampling: sampling, Retry: response.Retry{Attempts: 2, Base: 1}})
	require.NoError(t, err)
	return g, srv
}

func lastUser(req openaitest.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == prefdata.RoleUser {
			return req.Messages[i].Content
		}
	}
	return ""
}

// between returns the trimmed text of s between start and end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	before, _, _ := strings.Cut(after, end)
	return strings.TrimSpace(before)
}

func aspectReply(vals ...int) string {
	var b strings.Builder
	for i, a := range filter.UltraFeedbackAspects() {
		fmt.Fprintf(&b, "### %s\nRationale: reason %d for %s.\nRating: [[%d]]\n\n", a.Name, vals[i], a.Name, vals[i])
	}
	return b.String()
}

func TestRubricJudgeAspects(t *testing.T) {
	g, srv := judgeServer(t, prefdata.Sampling{}, func(req openaitest.Request, _ int) openaitest.Reply {
		answer := between(req.Messages[1].Content, "[Answer]\n", "\n[End of answer]")
		switch answer {
		case "good":
			return openaitest.Reply{Content: aspectReply(5, 5, 4, 5)}
		case "bad":
			return openaitest.Reply{Content: aspectReply(2, 1, 3, 1)}
		case "off-scale":
			return openaitest.Reply{Content: aspectReply(5, 5, 7, 5)}
		case "loose-headings":
			return openaitest.Reply{Content: strings.NewReplacer("### instruction-following", "## **Instruction Following:**", "### honesty", "### Honesty").Replace(aspectReply(4, 4, 4, 4))}
		case "missing-aspect":
			return openaitest.Reply{Content: "### helpfulness\nRationale: fine.\nRating: [[4]]"}
		}
		return openaitest.Reply{Content: "I cannot decide."}
	})
	j := &filter.RubricJudge{Generator: g, Reasks: -1}
	c := candidate("What is 2+2?", resp("g", "good"), resp("b", "bad"), resp("o", "off-scale"), resp("m", "missing-aspect"), resp("x", "???"), resp("l", "loose-headings"))
	scores, err := j.Score(context.Background(), c.Prompt, c.Responses)
	require.Error(t, err)
	for id, kind := range map[string]error{"o": filter.ErrOutOfRange, "m": filter.ErrNoVerdict, "x": filter.ErrNoVerdict} {
		var found bool
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var re *filter.ResponseError
			if errors.As(e, &re) && re.ResponseID == id {
				found = true
				assert.ErrorIs(t, re, kind, id)
				var pe *filter.ParseError
				require.ErrorAs(t, re, &pe)
				assert.NotEmpty(t, pe.Raw, "raw reply kept")
			}
		}
		assert.True(t, found, "no error for %s", id)
	}
	byResp := map[string][]float64{}
	for _, s := range scores {
		assert.Equal(t, "judge:judge", s.Scorer)
		assert.NotEmpty(t, s.Raw)
		assert.Equal(t, fmt.Sprintf("reason %g for %s.", s.Value, s.Aspect), s.Rationale)
		byResp[s.ResponseID] = append(byResp[s.ResponseID], s.Value)
	}
	assert.Equal(t, map[string][]float64{"g": {5, 5, 4, 5}, "b": {2, 1, 3, 1}, "l": {4, 4, 4, 4}}, byResp)
	assert.Equal(t, 6, srv.Requests(), "one call per response, no re-asks")

	t.Run("through Scores and pairs", func(t *testing.T) {
		out, err := filter.Scores(j).Filter(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, []string{"g", "b", "l"}, ids(out.Responses))
		assert.Equal(t, map[string]string{"o": "judge:judge", "m": "judge:judge", "x": "judge:judge"}, droppedIDs(out))
		ps := filter.Pairs{Strategy: filter.BestVsWorst}.Build(out)
		require.Len(t, ps, 1)
		assert.Equal(t, "g", ps[0].Chosen.ID)
		assert.InDelta(t, 4.75-1.75, ps[0].Margin, 1e-9)
	})
}

func TestRubricJudgeSingleReask(t *testing.T) {
	tests := []struct {
		name    string
		replies []string // one per attempt
		reasks  int
		want    float64
		err     error
		calls   int
	}{
		{"first reply fine", []string{"Solid answer. Rating: [[8]]"}, 1, 8, nil, 1},
		{"no rating then fixed", []string{"It is fine.", "Rating: [[6]]"}, 1, 6, nil, 2},
		{"cut off then fixed", []string{"Mostly right. Rating: [[1", "Rating: [[10]]"}, 1, 10, nil, 2},
		{"cut off, no re-ask", []string{"Mostly right. Rating: [[1"}, -1, 0, filter.ErrTruncated, 1},
		{"contradictory twice", []string{"[[3]] or [[4]]", "[[5]] or [[6]]"}, 1, 0, filter.ErrContradictory, 2},
		{"off scale", []string{"Rating: [[11]]", "Rating: [[0]]", "Rating: [[12]]"}, 2, 0, filter.ErrOutOfRange, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, srv := judgeServer(t, prefdata.Sampling{}, func(req openaitest.Request, _ int) openaitest.Reply {
				attempt := 0
				for _, m := range req.Messages {
					if m.Role == prefdata.RoleAssistant {
						attempt++
					}
				}
				if attempt > 0 {
					assert.Contains(t, lastUser(req), "could not be read")
				}
				return openaitest.Reply{Content: tt.replies[attempt]}
			})
			j := &filter.RubricJudge{Generator: g, Style: filter.StyleSingle, Reasks: tt.reasks}
			scores, err := j.Score(context.Background(), prompt("q"), []prefdata.Response{resp("a", "answer")})
			assert.Equal(t, tt.calls, srv.Requests())
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				assert.Empty(t, scores)
				return
			}
			require.NoError(t, err)
			require.Len(t, scores, 1)
			assert.Equal(t, tt.want, scores[0].Value)
			assert.Equal(t, "", scores[0].Aspect)
		})
	}
}

// pairwiseServer scripts a judge: verdict returns the verdict for answers a
// (shown first) and b.
func pairwiseServer(t *testing.T, sampling prefdata.Sampling, verdict func(a, b string) openaitest.Reply) (*response.Generator, *openaitest.Server) {
	return judgeServer(t, sampling, func(req openaitest.Request, _ int) openaitest.Reply {
		u := req.Messages[1].Content
		return verdict(between(u, "[Answer A]\n", "\n[End of answer A]"), between(u, "[Answer B]\n", "\n[End of answer B]"))
	})
}

func TestPairwiseJudge(t *testing.T) {
	quality := map[string]int{"best": 3, "mid": 2, "worst": 1}
	tests := []struct {
		name    string
		scale   filter.VerdictScale
		mode    filter.Consistency
		verdict func(a, b string) string
		want    []prefdata.Comparison // Raw not compared
	}{
		{"fair judge", filter.ThreeWay, filter.ConsistentOnly, func(a, b string) string {
			if quality[a] > quality[b] {
				return "A is better. [[A]]"
			}
			return "B is better. [[B]]"
		}, []prefdata.Comparison{{A: "b", B: "m", Preference: 1, Consistent: true}, {A: "b", B: "w", Preference: 1, Consistent: true}, {A: "m", B: "w", Preference: 1, Consistent: true}}},
		{"position bias is inconsistent", filter.ThreeWay, filter.ConsistentOnly, func(a, b string) string { return "[[A]]" },
			[]prefdata.Comparison{{A: "b", B: "m"}, {A: "b", B: "w"}, {A: "m", B: "w"}}},
		{"position bias averaged cancels", filter.ThreeWay, filter.Averaged, func(a, b string) string { return "[[A]]" },
			[]prefdata.Comparison{{A: "b", B: "m"}, {A: "b", B: "w"}, {A: "m", B: "w"}}},
		{"ties", filter.ThreeWay, filter.ConsistentOnly, func(a, b string) string { return "Same. [[C]]" },
			[]prefdata.Comparison{{A: "b", B: "m", Consistent: true}, {A: "b", B: "w", Consistent: true}, {A: "m", B: "w", Consistent: true}}},
		{"five level strengths averaged", filter.FiveLevel, filter.ConsistentOnly, func(a, b string) string {
			switch d := quality[a] - quality[b]; {
			case d >= 2:
				return "[[A>>B]]"
			case d == 1:
				return "[[A>B]]"
			case d == -1:
				return "[[B>A]]"
			default:
				return "[[B>>A]]"
			}
		}, []prefdata.Comparison{{A: "b", B: "m", Preference: 0.5, Consistent: true}, {A: "b", B: "w", Preference: 1, Consistent: true}, {A: "m", B: "w", Preference: 0.5, Consistent: true}}},
		{"swapped order disagreement", filter.FiveLevel, filter.Averaged, func(a, b string) string {
			if a == "best" {
				return "[[A>>B]]" // sure when best is first
			}
			return "[[A>B]]" // but prefers whatever comes first otherwise
		}, []prefdata.Comparison{{A: "b", B: "m", Preference: 0.25}, {A: "b", B: "w", Preference: 0.25}, {A: "m", B: "w"}}},
		{"malformed replies are undecided", filter.ThreeWay, filter.ConsistentOnly, func(a, b string) string {
			if a == "mid" || b == "mid" {
				return "Both have merit, hard to say. [[A"
			}
			if quality[a] > quality[b] {
				return "[[A]]"
			}
			return "[[B]]"
		}, []prefdata.Comparison{{A: "b", B: "m"}, {A: "b", B: "w", Preference: 1, Consistent: true}, {A: "m", B: "w"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, srv := pairwiseServer(t, prefdata.Sampling{}, func(a, b string) openaitest.Reply { return openaitest.Reply{Content: tt.verdict(a, b)} })
			j := &filter.PairwiseJudge{Generator: g, Scale: tt.scale, Mode: tt.mode, Reasks: -1}
			c := candidate("q", resp("b", "best"), resp("m", "mid"), resp("w", "worst"))
			out, err := j.Filter(context.Background(), c)
			require.NoError(t, err)
			assert.Equal(t, 6, srv.Requests(), "3 pairs x 2 orders")
			require.Len(t, out.Comparisons, 3)
			for i, cmp := range out.Comparisons {
				require.Len(t, cmp.Raw, 2)
				assert.Equal(t, "judge:judge", cmp.Scorer)
				// Each order's parsed verdict is kept; a consistent
				// comparison's preference is their mean.
				require.Len(t, cmp.Orders, 2)
				if tt.want[i].Consistent {
					require.NotNil(t, cmp.Orders[0])
					require.NotNil(t, cmp.Orders[1])
					assert.InDelta(t, tt.want[i].Preference, (*cmp.Orders[0]+*cmp.Orders[1])/2, 1e-9)
				}
				if tt.name == "position bias is inconsistent" {
					assert.Equal(t, []float64{1, -1}, []float64{*cmp.Orders[0], *cmp.Orders[1]}, "A first wins, then B first wins")
				}
				cmp.Raw, cmp.Scorer, cmp.Orders = nil, "", nil
				assert.Equal(t, tt.want[i], cmp, "comparison %d", i)
			}
			assert.Empty(t, c.Comparisons, "input not changed")
		})
	}
}

func TestPairwiseJudgeReaskAndFailure(t *testing.T) {
	t.Run("re-ask fixes a cut-off verdict", func(t *testing.T) {
		var calls atomic.Int32
		g, _ := judgeServer(t, prefdata.Sampling{}, func(req openaitest.Request, _ int) openaitest.Reply {
			calls.Add(1)
			if len(req.Messages) == 2 {
				return openaitest.Reply{Content: "My final verdict is: [[A>", FinishReason: "length"}
			}
			return openaitest.Reply{Content: "[[A=B]]"}
		})
		j := &filter.PairwiseJudge{Generator: g, Scale: filter.FiveLevel}
		out, err := j.Filter(context.Background(), candidate("q", resp("a", "x"), resp("b", "y")))
		require.NoError(t, err)
		assert.Equal(t, int32(4), calls.Load())
		assert.Equal(t, []string{"[[A=B]]", "[[A=B]]"}, out.Comparisons[0].Raw)
		assert.True(t, out.Comparisons[0].Consistent)
	})
	t.Run("a failed judge call fails the candidate", func(t *testing.T) {
		srv := openaitest.NewServer(openaitest.Config{Fault: func(openaitest.Request) openaitest.Fault { return openaitest.Fault400 }})
		t.Cleanup(srv.Close)
		g, err := response.New(response.Config{BaseURL: srv.URL, Model: "judge", Retry: response.Retry{Attempts: 1}})
		require.NoError(t, err)
		_, err = (&filter.PairwiseJudge{Generator: g}).Filter(context.Background(), candidate("q", resp("a", "x"), resp("b", "y")))
		assert.ErrorContains(t, err, "a vs b: judge call")
	})
}

func TestPairwiseJudgeSoft(t *testing.T) {
	// The judge leans to "best" with probability 0.8 in either position.
	verdictTokens := func(pa, pb, pc float64, letter string) []prefdata.TokenLogprob {
		return []prefdata.TokenLogprob{
			{Token: "Verdict:"}, {Token: " [["},
			{Token: letter, Top: []prefdata.TokenLogprob{{Token: "A", Logprob: ln(pa)}, {Token: "B", Logprob: ln(pb)}, {Token: "C", Logprob: ln(pc)}}},
			{Token: "]]"},
		}
	}
	g, _ := pairwiseServer(t, prefdata.Sampling{Logprobs: true, TopLogprobs: 3}, func(a, b string) openaitest.Reply {
		if a == "best" {
			return openaitest.Reply{Content: "Verdict: [[A]]", Logprobs: verdictTokens(0.8, 0.1, 0.1, "A")}
		}
		return openaitest.Reply{Content: "Verdict: [[B]]", Logprobs: verdictTokens(0.1, 0.8, 0.1, "B")}
	})
	j := &filter.PairwiseJudge{Generator: g, Soft: true}
	out, err := j.Filter(context.Background(), candidate("q", resp("b", "best"), resp("w", "worst")))
	require.NoError(t, err)
	require.Len(t, out.Comparisons, 1)
	assert.True(t, out.Comparisons[0].Consistent)
	assert.InDelta(t, 0.7, out.Comparisons[0].Preference, 1e-6)
}

func ln(p float64) float64 { return math.Log(p) }

func TestRubricJudgeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	j := &filter.RubricJudge{Generator: prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return nil, ctx.Err()
	}), Concurrency: 1}
	rs := []prefdata.Response{resp("a", "x"), resp("b", "y"), resp("c", "z")}
	scores, err := j.Score(ctx, prompt("q"), rs)
	assert.Empty(t, scores)
	assert.ErrorIs(t, err, context.Canceled)
	for _, r := range rs {
		assert.Contains(t, err.Error(), "response "+r.ID+":", "every unscored response is reported")
	}
}

// With PairsFrom, the judge only compares the pairs the router will build,
// and the router finds its verdict.
func TestPairwiseJudgePairsFrom(t *testing.T) {
	g, srv := pairwiseServer(t, prefdata.Sampling{}, func(a, b string) openaitest.Reply {
		if a < b {
			return openaitest.Reply{Content: "[[A]]"}
		}
		return openaitest.Reply{Content: "[[B]]"}
	})
	pairs := filter.Pairs{Strategy: filter.BestVsWorst}
	c := scored(2, 5, 1, 3) // r1 best, r2 worst; texts "answer r1" < "answer r2"
	out, err := (&filter.PairwiseJudge{Generator: g, PairsFrom: &pairs}).Filter(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Requests(), "one pair, both orders")
	require.Len(t, out.Comparisons, 1)
	one := 1.0
	assert.Equal(t, prefdata.Comparison{A: "r1", B: "r2", Scorer: "judge:judge", Preference: 1, Consistent: true, Raw: []string{"[[A]]", "[[B]]"}, Orders: []*float64{&one, &one}}, out.Comparisons[0])
	ps, err := filter.Router{Pairs: pairs}.Label(context.Background(), out)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, "judge:judge", ps[0].Provenance.Judge)
	assert.False(t, ps[0].NeedsHuman)
}

// A reply the judge could not be made to rate is recorded with its whole
// text in the drop record (the run directory), not only the error's excerpt.
func TestUnparsableReplyIsRecordedWhole(t *testing.T) {
	long := "The answer is partly right. " + strings.Repeat("It explains the method but skips a step. ", 5) + "Rating: [[7"
	j := &filter.RubricJudge{Style: filter.StyleSingle, Reasks: -1, Generator: prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{Text: long}}, nil
	})}
	c := candidate("q", resp("a", "x"), resp("b", "y"))
	out, err := filter.Scores(j).Filter(context.Background(), c)
	require.Error(t, err, "both responses failed: the candidate fails")
	var pe *filter.ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, long, pe.Raw)

	// With one response rated, the other is dropped with the whole reply.
	j.Generator = prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		if strings.Contains(p.Messages[1].Content, "[Answer]\nx\n") {
			return []prefdata.Response{{Text: "Fine. Rating: [[6]]"}}, nil
		}
		return []prefdata.Response{{Text: long}}, nil
	})
	out, err = filter.Scores(j).Filter(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, out.Dropped, 1)
	assert.Equal(t, "b", out.Dropped[0].ResponseID)
	assert.Contains(t, out.Dropped[0].Reason, filter.ErrTruncated.Error())
	assert.Contains(t, out.Dropped[0].Reason, strconv.Quote(long), "the whole reply is in the record")
}
