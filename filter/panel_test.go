package filter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// panelJudge is a fake pairwise judge: it reads the two answers of the
// judge prompt and prefers the one with more words, except on close calls
// (fewer than closeGap words apart), where it picks the answer shown first.
// It counts its calls and keeps the system messages it was sent.
type panelJudge struct {
	name     string
	closeGap int
	fail     error

	calls   atomic.Int64
	mu      sync.Mutex
	systems map[string]int
}

func (j *panelJudge) Model() string { return j.name }

func (j *panelJudge) Generate(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	j.calls.Add(1)
	if j.fail != nil {
		return nil, j.fail
	}
	j.mu.Lock()
	if j.systems == nil {
		j.systems = map[string]int{}
	}
	for _, m := range p.Messages {
		if m.Role == prefdata.RoleSystem {
			j.systems[m.Content]++
		}
	}
	j.mu.Unlock()
	text := p.Messages[len(p.Messages)-1].Content
	a := len(strings.Fields(between(text, "[Answer A]", "[End of answer A]")))
	b := len(strings.Fields(between(text, "[Answer B]", "[End of answer B]")))
	verdict := "[[A]]"
	if b-a >= j.closeGap {
		verdict = "[[B]]"
	}
	return []prefdata.Response{{ID: "v-" + p.ID, PromptID: p.ID, Model: j.name, Text: "Compared.\n" + verdict}}, nil
}

func words(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }

// panelCandidate has four answers of 10, 2, 20 and 3 words: of its six
// pairs, only 2 vs 3 words is a close call.
func panelCandidate() prefdata.Candidate {
	p := prefdata.Prompt{ID: "p1", Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "Say a lot."}}}
	c := prefdata.Candidate{Prompt: p}
	for i, n := range []int{10, 2, 20, 3} {
		c.Responses = append(c.Responses, prefdata.Response{ID: fmt.Sprintf("r%d", i), PromptID: p.ID, Model: "m", Text: words(n)})
	}
	return c
}

func TestPanelAsksEveryJudgeInBothOrders(t *testing.T) {
	j1, j2 := &panelJudge{name: "small", closeGap: 1}, &panelJudge{name: "large", closeGap: 1}
	panel := &filter.Panel{Judges: []*filter.PairwiseJudge{{Generator: j1}, {Generator: j2}}}
	c := panelCandidate()
	out, err := panel.Filter(context.Background(), c)
	require.NoError(t, err)
	assert.EqualValues(t, 12, j1.calls.Load(), "six pairs, two orders")
	assert.EqualValues(t, 12, j2.calls.Load())
	require.Len(t, out.Comparisons, 12, "one comparison per judge and pair")
	by := map[string]int{}
	for _, cmp := range out.Comparisons {
		by[cmp.Scorer]++
		require.Len(t, cmp.Orders, 2, "both orders kept")
		require.Len(t, cmp.Raw, 2)
		assert.True(t, cmp.Consistent, "%s %s vs %s", cmp.Scorer, cmp.A, cmp.B)
	}
	assert.Equal(t, map[string]int{"judge:small": 6, "judge:large": 6}, by)
	assert.Equal(t, prefdata.CascadeStats{Asked: 24}, panel.Stats())
	require.NoError(t, filter.CheckFilter(context.Background(), panel, c))

	// The calibrator reads every judge's verdicts of a pair.
	ev := filter.EvidenceOf(out, prefdata.Pair{ID: "x", Chosen: c.Responses[2], Rejected: c.Responses[0]})
	assert.Len(t, ev.Judgments, 4, "two judges, two orders")
	for _, jd := range ev.Judgments {
		assert.Equal(t, filter.ChoiceA, jd.Verdict, "20 words beat 10")
	}
}

func TestPanelOfOneModelWithTwoPrompts(t *testing.T) {
	model := &panelJudge{name: "gpt", closeGap: 1}
	panel := &filter.Panel{Judges: []*filter.PairwiseJudge{
		{Generator: filter.JudgeVariant(model, "gpt/strict", "Be strict.")},
		{Generator: filter.JudgeVariant(model, "gpt/lenient", "Be lenient.")},
	}}
	out, err := panel.Filter(context.Background(), panelCandidate())
	require.NoError(t, err)
	assert.EqualValues(t, 24, model.calls.Load())
	assert.Equal(t, map[string]int{"Be strict.": 12, "Be lenient.": 12}, model.systems, "each variant's instructions replace the system message")
	scorers := map[string]bool{}
	for _, cmp := range out.Comparisons {
		scorers[cmp.Scorer] = true
	}
	assert.Equal(t, map[string]bool{"judge:gpt/strict": true, "judge:gpt/lenient": true}, scorers)
	other := &filter.Panel{Judges: []*filter.PairwiseJudge{{Generator: filter.JudgeVariant(model, "gpt/strict", "Be kind.")}}}
	assert.NotEqual(t, (&filter.Panel{Judges: panel.Judges[:1]}).Fingerprint(), other.Fingerprint(), "the instructions are in the fingerprint")
}

// Two cheap judges that lean to the first answer on close calls settle
// five of the six pairs; the strong judge is asked about the sixth only.
func TestPanelCascadeAsksTheStrongJudgeOnlyWhereInDoubt(t *testing.T) {
	cheap1, cheap2 := &panelJudge{name: "cheap1", closeGap: 3}, &panelJudge{name: "cheap2", closeGap: 3}
	strong := &panelJudge{name: "strong", closeGap: 1}
	panel := &filter.Panel{
		Judges:  []*filter.PairwiseJudge{{Generator: cheap1}, {Generator: cheap2}},
		Cascade: &filter.Cascade{Strong: []*filter.PairwiseJudge{{Generator: strong}}},
	}
	c := panelCandidate()
	out, err := panel.Filter(context.Background(), c)
	require.NoError(t, err)
	assert.EqualValues(t, 12, cheap1.calls.Load())
	assert.EqualValues(t, 12, cheap2.calls.Load())
	assert.EqualValues(t, 2, strong.calls.Load(), "one doubtful pair, two orders")
	assert.Equal(t, prefdata.CascadeStats{Asked: 26, Saved: 10}, panel.Stats())
	var strongCmps []prefdata.Comparison
	for _, cmp := range out.Comparisons {
		if cmp.Scorer == "judge:strong" {
			strongCmps = append(strongCmps, cmp)
		}
	}
	require.Len(t, strongCmps, 1)
	got := strongCmps[0]
	assert.ElementsMatch(t, []string{"r1", "r3"}, []string{got.A, got.B}, "the close call: 2 vs 3 words")
	assert.True(t, got.Consistent)
	better := got.A
	if got.Preference < 0 {
		better = got.B
	}
	assert.Equal(t, "r3", better, "the strong judge settles it")

	// A caller's probability decides instead: never sure, always asked.
	strong.calls.Store(0)
	never := &filter.Panel{Judges: panel.Judges, Cascade: &filter.Cascade{Strong: panel.Cascade.Strong, Probability: func(filter.Evidence) float64 { return 0.5 }}}
	_, err = never.Filter(context.Background(), c)
	require.NoError(t, err)
	assert.EqualValues(t, 12, strong.calls.Load())
	assert.Equal(t, 0, never.Stats().Saved)
	assert.NotEqual(t, panel.Fingerprint(), never.Fingerprint())
}

func TestPanelJudgeFailureFailsTheCandidate(t *testing.T) {
	bad := &panelJudge{name: "down", fail: errors.New("503 from upstream")}
	panel := &filter.Panel{Judges: []*filter.PairwiseJudge{{Generator: &panelJudge{name: "ok", closeGap: 1}}, {Generator: bad, Reasks: -1}}}
	c := panelCandidate()
	out, err := panel.Filter(context.Background(), c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "judge down")
	assert.Contains(t, err.Error(), "503 from upstream")
	assert.Equal(t, c.Comparisons, out.Comparisons, "nothing half-done is returned")
	_, err = (&filter.Panel{}).Filter(context.Background(), c)
	require.ErrorContains(t, err, "no judges")
}
