package filter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"

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
// The judge prompt is a [Template] and the verdict is read by a
// [VerdictParser]; both can be replaced. By default the judge asks for a
// JSON verdict constrained by a schema where the server supports it.
// A reply that cannot be parsed is asked again up to Reasks times. If one order still has no verdict, the pair is recorded as
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

	// Template replaces the judge prompt (see [Template] for its
	// placeholders); nil means [DefaultPairwiseTemplate].
	Template *Template
	// Parser replaces the verdict parser; the judge sends the generation
	// options it asks for ([Optioner]). Nil means the default for Scale: a
	// JSON-schema verdict ([JSONVerdictFor]) asked as structured output,
	// read as brackets if the generator ignored the schema; with Soft,
	// PlainText, a Template, or after the server refused the schema
	// ([prefdata.ErrUnsupportedOption]), [BracketVerdict] in plain text.
	Parser VerdictParser
	// PlainText never asks for structured output.
	PlainText bool
	// Rubric, if set, is what the judge is to decide by, shown as
	// {{.Rubric}} (the default template's "more correct first, ...").
	Rubric string

	// plain is 1 once the server refused the parser's options; an int32
	// used with sync/atomic (not an atomic.Bool) so the judge may be copied.
	plain int32
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
	return prefdata.Hash("filter.PairwiseJudge", judgePromptVersion, j.model(), j.Scale, j.Mode, j.Soft, j.reasks(), j.MaxResponses, pairs, genFingerprint(j.Generator), j.Version,
		j.template(), parserFingerprint(j.parser(false)), j.PlainText, j.Rubric)
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
	var res orderResult
	plain := atomic.LoadInt32(&j.plain) == 1
	for {
		parser := j.parser(plain)
		msgs, err := j.messages(p, x, y, parser)
		if err != nil {
			res.err = err
			return res
		}
		opts := optionsOf(parser)
		reply, err := ask(ctx, j.Generator, p.ID, x.ID+"|"+y.ID, msgs, opts, j.reasks(), hintOf(parser), func(reply prefdata.Response) error {
			v, err := parser.Parse(reply)
			if err != nil {
				return err
			}
			res.pref = v.Preference
			return nil
		})
		if opts != nil && !plain && errors.Is(err, prefdata.ErrUnsupportedOption) {
			// The server refused what the parser asks for (a JSON schema,
			// logprobs): ask in plain text, and go on asking this judge's
			// later pairs in plain text.
			atomic.StoreInt32(&j.plain, 1)
			plain = true
			continue
		}
		res.reply, res.err = rawReply(reply), err
		return res
	}
}

// parser is the judge's Parser, or the default for its scale: a JSON
// verdict asked with a schema (read as brackets if the generator ignored
// the schema); brackets in plain text with PlainText, a Template, or once
// the server refused the schema; soft brackets with Soft. plain drops the
// parser's generation options.
func (j *PairwiseJudge) parser(plain bool) VerdictParser {
	var p VerdictParser
	switch {
	case j.Parser != nil:
		p = j.Parser
	case j.Soft && j.Scale == ThreeWay:
		p = softBracket{BracketVerdict{ThreeWay}}
	case j.Template != nil || j.PlainText || j.Soft:
		p = BracketVerdict{j.Scale}
	default:
		p = jsonOrBracket{JSONVerdictFor(j.Scale), BracketVerdict{j.Scale}}
	}
	if plain {
		if _, ok := p.(jsonOrBracket); ok {
			return BracketVerdict{j.Scale}
		}
		return withoutOptions{p}
	}
	return p
}

// Optioner is implemented by parsers that need generation options to read
// a verdict: a JSON schema (JSONVerdict), a forced function call, logprobs
// (LogprobVerdict). The judges send them with each judge prompt
// ([prefdata.Prompt.Options]); when the server refuses them
// ([prefdata.ErrUnsupportedOption]) the judge asks again without them.
type Optioner interface {
	GenerateOptions() *prefdata.GenerateOptions
}

func optionsOf(p any) *prefdata.GenerateOptions {
	if o, ok := p.(Optioner); ok {
		return o.GenerateOptions()
	}
	return nil
}

// withoutOptions hides a parser's options (the server refused them).
type withoutOptions struct{ VerdictParser }

func (w withoutOptions) FormatHint() string { return hintOf(w.VerdictParser) }

func (j *PairwiseJudge) template() Template {
	if j.Template != nil {
		return *j.Template
	}
	return DefaultPairwiseTemplate()
}

func (j *PairwiseJudge) messages(p prefdata.Prompt, a, b prefdata.Response, parser VerdictParser) ([]prefdata.Message, error) {
	return j.template().Render(TemplateData{
		Prompt:    renderConversation(p),
		Responses: []string{a.Text, b.Text},
		Reference: p.Meta[ReferenceKey],
		Rubric:    j.Rubric,
		Format:    hintOf(parser),
		Messages:  p.Messages,
	})
}

// jsonOrBracket reads a JSON verdict when the reply is JSON (or a tool
// call), else a bracketed one.
type jsonOrBracket struct {
	json    JSONVerdict
	bracket BracketVerdict
}

func (p jsonOrBracket) Parse(reply prefdata.Response) (Verdict, error) {
	t := strings.TrimSpace(reply.Text)
	if len(reply.ToolCalls) > 0 || strings.HasPrefix(t, "{") || strings.HasPrefix(t, "```") {
		return p.json.Parse(reply)
	}
	return p.bracket.Parse(reply)
}

func (p jsonOrBracket) FormatHint() string { return p.json.FormatHint() }

func (p jsonOrBracket) Fingerprint() string {
	return prefdata.Hash("filter.jsonOrBracket", p.json.Fingerprint(), p.bracket)
}

func (p jsonOrBracket) GenerateOptions() *prefdata.GenerateOptions { return p.json.GenerateOptions() }

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
