package filter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/prefdata/prefdata"
)

// VerdictScale selects the verdicts a [PairwiseJudge] asks for.
type VerdictScale int

const (
	// ThreeWay asks for [[A]], [[B]] or [[C]] (tie), MT-Bench style.
	ThreeWay VerdictScale = iota
	// FiveLevel asks for Arena-Hard's [[A>>B]], [[A>B]], [[A=B]], [[B>A]],
	// [[B>>A]].
	FiveLevel
)

// Consistency says how a [PairwiseJudge] merges its two verdicts (one per
// order shown).
type Consistency int

const (
	// ConsistentOnly keeps a preference only when both orders agree on its
	// direction (both for the same response, or both a tie); the preference
	// is then the mean of the two. Otherwise the comparison is recorded
	// with preference 0 and Consistent false (Nemotron-4's recipe). The
	// default.
	ConsistentOnly Consistency = iota
	// Averaged always records the mean of the two orders' preferences,
	// which cancels a pure position bias; Consistent still says whether
	// they agreed.
	Averaged
)

// PairwiseJudge is a [prefdata.Filter] that asks an LLM judge to compare
// every two responses of a candidate, in both orders (to cancel the judge's
// preference for the first position), and appends one
// [prefdata.Comparison] per pair to the candidate.
//
// A reply that cannot be parsed with [ParseVerdict] is asked again up to
// Reasks times. If one order still has no verdict, the pair is recorded as
// undecided (preference 0, Consistent false) with the raw replies, so that
// the [Router] sends it to people (reason judge-no-verdict); nothing is
// guessed. A judge call that fails
// (after the generator's own retries) fails the candidate, so a rerun asks
// again.
//
// With Soft set and the ThreeWay scale, when the generator returns
// log-probabilities (ask for them with Sampling.Logprobs and TopLogprobs),
// each order's preference is P(A) - P(B) over the verdict letter's top
// alternatives, as in RLAIF, instead of the hard ±1.
type PairwiseJudge struct {
	Generator   prefdata.Generator
	Model       string // judge name in Comparison.Scorer ("judge:" + Model); default as RubricJudge
	Scale       VerdictScale
	Mode        Consistency
	Soft        bool
	Reasks      int // default 1; negative: never
	Concurrency int // judge calls at once for one candidate (default 4)
	// MaxResponses, if above 0, compares only the first MaxResponses
	// responses (the number of calls grows with the square of it).
	MaxResponses int
	// PairsFrom, if set, makes the judge compare only the pairs this
	// builder makes from the candidate's scores, chosen shown first in the
	// first order: two calls a pair instead of K(K-1). Give it the same
	// value as the Router's Pairs and put the judge after the scorers, so
	// the router finds a verdict for each pair it routes.
	PairsFrom *Pairs
	Version   string // as RubricJudge.Version
}

var _ prefdata.Filter = (*PairwiseJudge)(nil)

// Name returns "pairwise:" and the judge model.
func (j *PairwiseJudge) Name() string { return "pairwise:" + j.model() }

func (j *PairwiseJudge) scorer() string { return "judge:" + j.model() }

func (j *PairwiseJudge) model() string {
	if j.Model != "" {
		return j.Model
	}
	return modelOf(j.Generator)
}

// Fingerprint covers the configuration, prompt texts and the generator's
// fingerprint.
func (j *PairwiseJudge) Fingerprint() string {
	pairs := ""
	if j.PairsFrom != nil {
		pairs = j.PairsFrom.fingerprint()
	}
	return prefdata.Hash("filter.PairwiseJudge", judgePromptVersion, j.model(), j.Scale, j.Mode, j.Soft, j.reasks(), j.MaxResponses, pairs, genFingerprint(j.Generator), j.Version)
}

func (j *PairwiseJudge) reasks() int {
	switch {
	case j.Reasks < 0:
		return 0
	case j.Reasks == 0:
		return 1
	}
	return j.Reasks
}

type orderResult struct {
	reply string
	pref  float64 // preference for the response shown as A
	err   error
}

// Filter compares every two responses of c (up to MaxResponses), or the
// pairs of PairsFrom, and returns c with the comparisons appended.
func (j *PairwiseJudge) Filter(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	rs := c.Responses
	if j.MaxResponses > 0 && len(rs) > j.MaxResponses {
		rs = rs[:j.MaxResponses]
	}
	type job struct{ a, b int }
	var jobs []job
	if j.PairsFrom != nil {
		index := make(map[string]int, len(rs))
		for i, r := range rs {
			index[r.ID] = i
		}
		for _, p := range j.PairsFrom.Build(c) {
			a, okA := index[p.Chosen.ID]
			b, okB := index[p.Rejected.ID]
			if okA && okB {
				jobs = append(jobs, job{a, b}, job{b, a})
			}
		}
	} else {
		for a := range rs {
			for b := a + 1; b < len(rs); b++ {
				jobs = append(jobs, job{a, b}, job{b, a})
			}
		}
	}
	results := make([]orderResult, len(jobs))
	forEach(ctx, len(jobs), j.Concurrency, func(i int) {
		results[i] = j.judge(ctx, c.Prompt, rs[jobs[i].a], rs[jobs[i].b])
	})
	if err := ctx.Err(); err != nil {
		return c, err
	}
	out := c
	out.Comparisons = append([]prefdata.Comparison(nil), c.Comparisons...)
	var failed []error
	for i := 0; i < len(jobs); i += 2 {
		first, second := results[i], results[i+1]
		a, b := rs[jobs[i].a], rs[jobs[i].b]
		for _, r := range []orderResult{first, second} {
			var pe *ParseError
			if r.err != nil && !errors.As(r.err, &pe) {
				failed = append(failed, fmt.Errorf("%s vs %s: %w", a.ID, b.ID, r.err))
			}
		}
		out.Comparisons = append(out.Comparisons, j.merge(a.ID, b.ID, first, second))
	}
	if len(failed) > 0 {
		return c, errors.Join(failed...)
	}
	return out, nil
}

// merge turns the two orders' results into one comparison of a (shown first
// in the first order) and b.
func (j *PairwiseJudge) merge(a, b string, first, second orderResult) prefdata.Comparison {
	cmp := prefdata.Comparison{A: a, B: b, Scorer: j.scorer(), Raw: []string{first.reply, second.reply}}
	p1, p2 := first.pref, -second.pref // both as preference for a
	cmp.Orders = []*float64{nil, nil}
	if first.err == nil {
		cmp.Orders[0] = prefdata.Float(p1)
	}
	if second.err == nil {
		cmp.Orders[1] = prefdata.Float(p2)
	}
	if first.err != nil || second.err != nil {
		return cmp // undecided: preference 0, not consistent
	}
	cmp.Consistent = sign(p1) == sign(p2)
	mean := (p1 + p2) / 2
	if j.Mode == Averaged || cmp.Consistent {
		cmp.Preference = math.Round(mean*1e6) / 1e6
	}
	return cmp
}

func sign(x float64) int {
	const eps = 1e-9
	switch {
	case x > eps:
		return 1
	case x < -eps:
		return -1
	}
	return 0
}

// judge asks for one verdict with x shown as A and y as B.
func (j *PairwiseJudge) judge(ctx context.Context, p prefdata.Prompt, x, y prefdata.Response) orderResult {
	msgs := j.messages(p, x, y)
	var res orderResult
	var lastLogprobs []prefdata.TokenLogprob
	gen := prefdata.GeneratorFunc(func(ctx context.Context, jp prefdata.Prompt) ([]prefdata.Response, error) {
		rs, err := j.Generator.Generate(ctx, jp)
		if len(rs) > 0 {
			lastLogprobs = rs[0].Logprobs
		}
		return rs, err
	})
	reply, err := ask(ctx, gen, p.ID, x.ID+"|"+y.ID, msgs, j.reasks(), j.formatHint(), func(reply string) error {
		v, err := ParseVerdict(reply)
		if err != nil {
			return err
		}
		if j.Scale == ThreeWay && len(v.Label) > 1 {
			return &ParseError{Kind: ErrNoVerdict, Detail: "five-level verdict " + v.Label + " where [[A]], [[B]] or [[C]] was asked", Raw: reply}
		}
		res.pref = v.Preference
		if j.Soft && j.Scale == ThreeWay {
			if soft, ok := softPreference(lastLogprobs); ok {
				res.pref = soft
			}
		}
		return nil
	})
	res.reply, res.err = reply, err
	return res
}

func (j *PairwiseJudge) messages(p prefdata.Prompt, a, b prefdata.Response) []prefdata.Message {
	var sb strings.Builder
	sb.WriteString("Two AI assistants answered the conversation below. Decide which answer is better for the user: " +
		"more correct first, then more faithful to what was asked, then clearer and more useful. " +
		"The order of the answers is random and says nothing; a longer answer is not better for being longer.\n\n")
	writeConversation(&sb, p)
	sb.WriteString("\n[Answer A]\n")
	sb.WriteString(a.Text)
	sb.WriteString("\n[End of answer A]\n\n[Answer B]\n")
	sb.WriteString(b.Text)
	sb.WriteString("\n[End of answer B]\n\n")
	sb.WriteString("Compare them in a few sentences, then give your verdict on the last line. ")
	sb.WriteString(j.formatHint())
	return []prefdata.Message{
		{Role: prefdata.RoleSystem, Content: "You are a strict, impartial judge of AI assistant answers. You follow the requested reply format exactly."},
		{Role: prefdata.RoleUser, Content: sb.String()},
	}
}

func (j *PairwiseJudge) formatHint() string {
	if j.Scale == FiveLevel {
		return "Write exactly one of: [[A>>B]] (A is much better), [[A>B]] (A is better), [[A=B]] (about the same), [[B>A]] (B is better), [[B>>A]] (B is much better)."
	}
	return "Write exactly one of: [[A]] (A is better), [[B]] (B is better), [[C]] (a tie)."
}

// softPreference finds the verdict letter right after "[[" in the reply's
// tokens and returns P(A) - P(B), with the probabilities of A, B and C
// renormalized over the letter's top alternatives.
func softPreference(lps []prefdata.TokenLogprob) (float64, bool) {
	var text strings.Builder
	for i, t := range lps {
		before := text.String()
		text.WriteString(t.Token)
		if !strings.HasSuffix(strings.TrimRight(before, " "), "[[") {
			continue
		}
		letter := strings.TrimSpace(t.Token)
		if letter != "A" && letter != "B" && letter != "C" {
			continue
		}
		probs := map[string]float64{}
		alts := lps[i].Top
		if len(alts) == 0 {
			alts = []prefdata.TokenLogprob{{Token: t.Token, Logprob: t.Logprob}}
		}
		for _, alt := range alts {
			l := strings.TrimSpace(alt.Token)
			if l == "A" || l == "B" || l == "C" {
				probs[l] += math.Exp(alt.Logprob)
			}
		}
		total := probs["A"] + probs["B"] + probs["C"]
		if total == 0 {
			return 0, false
		}
		return (probs["A"] - probs["B"]) / total, true
	}
	return 0, false
}
